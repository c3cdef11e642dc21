"""Per-check cases for the monitoring checks (MON001-MON022), as data.

`fixtures/monitoring/good/` is a small, carefully written monitoring tree: every MON check must
pass on it (no false positives). Each case in `fixtures/monitoring/cases.yaml` copies it, writes a
few files over it and expects the named check to fail at `path:line`.
"""

from __future__ import annotations

import http.server
import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from chom_validate.findings import Status
from chom_validate.registry import load_registry
from chom_validate.results import RunReport

from .conftest import loopback_http, scan_tree

FIX = Path(__file__).parent / "fixtures" / "monitoring"
GOOD = FIX / "good"
CASES: list[dict[str, Any]] = yaml.safe_load((FIX / "cases.yaml").read_text())
# The checks this fixture was written for; later MON checks (cross-artifact wiring, MON031+) have
# their good/bad variants in tests/cases/<ID>.yaml and tests/test_wiring.py, which every check has.
MON_IDS = sorted(k for k in load_registry().checks if k.startswith("MON") and int(k[3:]) <= 30)


def _scan(root: Path, only: list[str] | None = None, **extra: object) -> RunReport:
    return scan_tree(root, root / "chom-validate.yaml", only=only, **extra)


def _fails(report: RunReport, check: str) -> list[str]:
    return [
        f"{e.path}:{e.line}"
        for f in report.findings
        if f.check_id == check and f.status == Status.FAIL
        for e in f.evidence
    ]


@pytest.fixture(scope="module")
def good_report() -> RunReport:
    return _scan(GOOD)


@pytest.mark.parametrize("check", MON_IDS)
def test_good_tree_passes(good_report: RunReport, check: str) -> None:
    results = [f for f in good_report.findings if f.check_id == check]
    assert results, f"{check} yielded nothing"
    bad = [f"{f.status.value}: {f.message}" for f in results if f.status != Status.PASS]
    assert not bad, f"{check} on the good tree:\n" + "\n".join(bad)
    assert all(f.evidence for f in results), f"{check} passed without evidence"


def _materialise(case: dict[str, Any], tmp: Path) -> Path:
    root = tmp / "tree"
    shutil.copytree(GOOD, root)
    for rel, content in (case.get("files") or {}).items():
        p = root / rel
        if content is None:
            p.unlink()
            continue
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(content)
    return root


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_bad_case_fails_at_line(case: dict[str, Any], tmp_path: Path) -> None:
    report = _scan(_materialise(case, tmp_path), only=[case["check"]])
    want = f"{case['expect']['path']}:{case['expect']['line']}"
    got = _fails(report, case["check"])
    assert want in got, f"{case['check']} should fail at {want}; failed at {got}"


def test_every_check_has_a_bad_case() -> None:
    assert set(MON_IDS) <= {c["check"] for c in CASES}


def test_counts_are_in_result_data(good_report: RunReport) -> None:
    cfg = next(f for f in good_report.findings if f.check_id == "MON002" and f.status == Status.PASS)
    assert cfg.data["jobs"] == 8 and cfg.data["interval"] == "15s"
    rules = next(f for f in good_report.findings if f.check_id == "MON003")
    assert rules.data["alerts"] == 17 and rules.data["records"] == 1
    classes = {f.subject: f.data["alerts"] for f in good_report.findings if f.check_id == "MON010"}
    assert classes["backup_freshness"] == 1 and len(classes) == 14
    folders = {f.subject: f.data["dashboards"] for f in good_report.findings if f.check_id == "MON018"}
    assert folders == {"hosts": 1}


def test_example_deployment_counts(example_report: RunReport) -> None:
    cfg = [f for f in example_report.findings if f.check_id == "MON002" and f.status == Status.PASS]
    assert [(f.data["jobs"], f.data["interval"]) for f in cfg] == [(11, "15s")]
    alerts = sum(f.data["alerts"] for f in example_report.findings if f.check_id == "MON003")
    assert alerts == 26
    missing = [f for f in example_report.findings if f.check_id == "MON010" and f.status == Status.FAIL]
    assert [f.subject for f in missing] == ["backup_freshness"]
    dashboards = sum(f.data["dashboards"] for f in example_report.findings if f.check_id == "MON018")
    assert dashboards == 8


def test_critical_agreed_alerts_in_example(example_report: RunReport) -> None:
    """The backup/DR room relies on these names, severities and runbook links."""
    sev = {
        name: value
        for f in example_report.findings
        if f.check_id == "MON006" and f.status == Status.PASS
        for name, value in f.data["severities"].items()
    }
    passes = [f for f in example_report.findings if f.check_id == "MON006" and f.status == Status.PASS]
    assert sum(f.data["count"] for f in passes) == len(sev) == sum(len(f.data["names"]) for f in passes)
    for name in ("InstanceDown", "MySQLDown", "NginxDown", "PHPFPMDown", "RedisDown", "DiskWillFillIn4Hours"):
        assert sev.get(name) == "critical", name


def test_templated_rules_are_not_judged(tmp_path: Path) -> None:
    root = tmp_path / "t"
    (root / "prometheus").mkdir(parents=True)
    (root / "prometheus" / "prometheus.yml").write_text(
        "global:\n  scrape_interval: {{ scrape_interval }}\nscrape_configs:\n  - job_name: {{ job }}\n"
    )
    report = scan_tree(root, only=["MON002"])
    assert {f.status for f in report.findings} == {Status.NOT_APPLICABLE}


# -- --prometheus-url against a local fake Prometheus --------------------------------------------------


class _FakeProm(http.server.BaseHTTPRequestHandler):
    names: list[str] = []

    def do_GET(self) -> None:
        if self.path.startswith("/api/v1/label/__name__/values"):
            body = json.dumps({"status": "success", "data": self.names}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)
        else:
            self.send_response(500)
            self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def fake_prometheus() -> Iterator[str]:
    with loopback_http(_FakeProm) as base:
        yield base


def test_live_prometheus_answers(fake_prometheus: str) -> None:
    _FakeProm.names = ["up", "node_cpu_seconds_total", "nginx_up"]
    report = _scan(GOOD, only=["MON011"], prometheus_url=fake_prometheus)
    fails = {n.split(" ", 1)[0] for f in report.findings if f.status == Status.FAIL for n in f.data["names"]}
    assert "MySQLDown" in fails and "InstanceDown" not in fails and "NginxDown" not in fails
    # recording-rule outputs count as produced even when the live server lacks them
    assert "NginxTrafficSpike" not in fails


def test_live_prometheus_unreachable_is_an_error(fake_prometheus: str) -> None:
    report = _scan(GOOD, only=["MON011"], prometheus_url=fake_prometheus + "/broken/")
    assert [f.status for f in report.findings] == [Status.ERROR]
    report = _scan(GOOD, only=["MON011"], prometheus_url="http://127.0.0.1:9/")
    assert [f.status for f in report.findings] == [Status.ERROR]


def test_per_alert_checks_give_one_result_per_file_and_cause(tmp_path: Path) -> None:
    """30 alerts, 5 of them without a description, severity or runbook: each per-alert check gives
    one pass for the file (count and every name; capped evidence) and one finding per cause with
    every place to fix, and the score weighs them as the 25 and 5 alerts they stand for."""
    rules = ["groups:", "  - name: svc", "    rules:"]
    bad_lines: list[int] = []
    for i in range(30):
        bad = i % 6 == 0
        if bad:
            bad_lines.append(len(rules) + 1)
        rules += [f"      - alert: Svc{i}Down", f"        expr: up{{job=\"svc{i}\"}} == 0", "        for: 2m"]
        if not bad:
            rules += ["        labels:", "          severity: critical", "        annotations:"]
            rules += [f"          summary: svc{i} down", "          description: '{{ $labels.instance }}'"]
            rules += [f"          runbook_url: https://runbooks.example.com/svc{i}"]
    root = tmp_path / "t"
    (root / "prometheus" / "rules").mkdir(parents=True)
    (root / "prometheus" / "rules" / "svc.yml").write_text("\n".join(rules) + "\n")
    report = scan_tree(root, only=["MON001", "MON006", "MON007", "MON008"])
    by: dict[tuple[str, Status], list[Any]] = {}
    for f in report.findings:
        by.setdefault((f.check_id, f.status), []).append(f)
    (mon001,) = by[("MON001", Status.PASS)]
    assert mon001.data["count"] == 30 and len(mon001.data["names"]) == 30 and len(mon001.evidence) == 20
    assert ("MON001", Status.FAIL) not in by
    for cid in ("MON006", "MON007", "MON008"):
        (ok,) = by[(cid, Status.PASS)]
        (fail,) = by[(cid, Status.FAIL)]
        assert ok.data["count"] == 25 and fail.data["count"] == 5, cid
        assert sorted(e.line for e in fail.evidence) == bad_lines, cid
        assert not set(ok.data["names"]) & set(fail.data["names"]), cid
    assert by[("MON006", Status.PASS)][0].data["severities"] == {f"Svc{i}Down": "critical" for i in range(30) if i % 6}
    monitoring = report.scores.categories["monitoring"]
    # MON001 all pass (medium, 2); MON006 (medium, 2) and MON008 (medium: its low "absent" finding
    # counts as fail) 25/30; MON007 (low, 1) 25/30
    assert monitoring.score == round(100 * (2 + 2 * 25 / 30 + 2 * 25 / 30 + 25 / 30) / 7, 1)


def test_a_cause_in_thousands_of_places_lists_every_place_with_bounded_evidence(tmp_path: Path) -> None:
    """1,500 alerts without `for:`: one finding, 1,000 locations as evidence (excerpts), the other
    500 as [path, line] in `more_locations`; together exactly the 1,500 alert lines."""
    lines = ["groups:", "  - name: gen", "    rules:"]
    want: list[int] = []
    for i in range(1500):
        want.append(len(lines) + 1)
        lines += [f"      - alert: Gen{i}", f"        expr: up{{job=\"g{i}\"}} == 0"]
    root = tmp_path / "t"
    (root / "prometheus").mkdir(parents=True)
    (root / "prometheus" / "gen.rules.yml").write_text("\n".join(lines) + "\n")
    report = scan_tree(root, only=["MON001"])
    (fail,) = [f for f in report.findings if f.status == Status.FAIL]
    assert fail.data["count"] == 1500 and len(fail.evidence) == 1000
    assert all(e.excerpt and e.excerpt.startswith("- alert: Gen") for e in fail.evidence)
    more = fail.data["more_locations"]
    assert len(more) == 500 and {p for p, _ in more} == {"prometheus/gen.rules.yml"}
    assert sorted([e.line for e in fail.evidence] + [ln for _, ln in more]) == want


def test_short_rate_windows_are_one_finding_per_job_window_and_interval(tmp_path: Path) -> None:
    """[30s] over a 15s job in three rules is one cause (three places); [1m] over a 30s job is
    another; the long windows are one pass for the file."""
    root = tmp_path / "t"
    (root / "prometheus" / "rules").mkdir(parents=True)
    (root / "prometheus" / "prometheus.yml").write_text(
        "global: {scrape_interval: 15s}\nrule_files: [rules/*.yml]\nscrape_configs:\n"
        "  - job_name: web\n    static_configs: [{targets: ['10.0.0.2:9113']}]\n"
        "  - job_name: db\n    scrape_interval: 30s\n    static_configs: [{targets: ['10.0.0.3:9104']}]\n"
    )
    rules = ["groups:", "  - name: g", "    rules:"]
    for i, (job, window) in enumerate([("web", "30s")] * 3 + [("db", "1m"), ("web", "5m"), ("db", "5m")]):
        rules += [f"      - record: r{i}", f"        expr: rate(x_total{{job=\"{job}\"}}[{window}])"]
    (root / "prometheus" / "rules" / "r.yml").write_text("\n".join(rules) + "\n")
    report = scan_tree(root, only=["MON009"])
    fails = sorted((f for f in report.findings if f.status == Status.FAIL), key=lambda f: f.data["count"])
    assert [(f.data["window"], f.data["scrape_interval"], f.data["count"]) for f in fails] == [
        ("1m", "30s", 1),
        ("30s", "15s", 3),
    ]
    assert sorted(e.line for e in fails[1].evidence) == [5, 7, 9]
    (ok,) = [f for f in report.findings if f.status == Status.PASS]
    assert ok.data["count"] == 2
