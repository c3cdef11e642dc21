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
        f.subject: f.data.get("severity")
        for f in example_report.findings
        if f.check_id == "MON006" and f.status == Status.PASS
    }
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
