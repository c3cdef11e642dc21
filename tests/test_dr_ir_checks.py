"""DR and IR checks: per-check bad/good fixtures, the example deployment, and a live health probe."""

from __future__ import annotations

import http.server
from collections.abc import Iterator
from pathlib import Path

import pytest

from chom_validate.findings import Status
from chom_validate.results import RunReport

from .conftest import findings, loopback_http, scan_tree

FIX = Path(__file__).parent / "fixtures" / "dr"
IDS = [f"DR00{i}" for i in range(1, 7)] + [f"IR00{i}" for i in range(1, 6)]


@pytest.fixture(scope="module")
def good() -> RunReport:
    return scan_tree(FIX / "good", FIX / "good" / "chom-validate.yaml", only=IDS)


@pytest.fixture(scope="module")
def bad() -> RunReport:
    return scan_tree(FIX / "bad", FIX / "bad" / "chom-validate.yaml", only=IDS)


BAD_CASES = [
    ("DR001", "docs/DISASTER_RECOVERY.md", 5),  # no row for app storage
    ("DR002", "docs/DISASTER_RECOVERY.md", 7),  # RPO 15 min ...
    ("DR002", "cron/backup", 1),  # ... vs a daily cron
    ("DR003", "docs/DISASTER_RECOVERY.md", None),  # no scenarios (the file, no line)
    ("DR004", "docs/DISASTER_RECOVERY.md", 20),  # last tested 2025-01-10, no schedule
    ("DR005", "docs/DISASTER_RECOVERY.md", 11),  # scripts/restore-db.sh missing
    ("DR006", "docs/DISASTER_RECOVERY.md", 11),  # runbooks/mysql.md dead link
    ("IR001", "prometheus/rules/alerts.yml", 4),  # RedisDown without runbook
    ("IR001", "prometheus/rules/alerts.yml", 15),  # runbook_url to a missing file
    ("IR002", "docs/runbooks/mysql-down.md", None),  # only "Fix" (the file, no line)
    ("IR003", "docs/DISASTER_RECOVERY.md", 17),  # TBD
    ("IR003", "docs/DISASTER_RECOVERY.md", 18),  # example.com / 555-
    ("IR004", "docs/DISASTER_RECOVERY.md", None),  # no incident-response plan
    ("IR005", "app/routes/web.php", 4),  # /health/ready not probed
]


@pytest.mark.parametrize(("check_id", "path", "line"), BAD_CASES)
def test_bad_fixture_fails_with_evidence(bad: RunReport, check_id: str, path: str, line: int | None) -> None:
    fails = findings(bad, check_id, Status.FAIL)
    locs = [(e.path, e.line) for f in fails for e in f.evidence]
    assert any(p == path and (line is None or ln == line) for p, ln in locs), locs


@pytest.mark.parametrize("check_id", IDS)
def test_good_fixture_passes(good: RunReport, check_id: str) -> None:
    got = findings(good, check_id)
    assert got, f"{check_id} yielded nothing"
    assert all(f.status == Status.PASS for f in got), [(f.status, f.message) for f in got]
    assert all(f.evidence for f in got)


def test_unknown_rpo_stays_unknown(tmp_path: Path) -> None:
    (tmp_path / "DISASTER_RECOVERY.md").write_text(
        "# DR\n\n| Component | RTO | RPO |\n|---|---|---|\n| MySQL | TBD | TBD |\n"
    )
    (tmp_path / "backup.sh").write_text("#!/bin/sh\nset -e\nmysqldump db > /b/db.sql\n")
    (tmp_path / "backup.cron").write_text("0 2 * * * /backup.sh\n")
    report = scan_tree(tmp_path, only=["DR002"])
    assert {f.status for f in report.findings} == {Status.NOT_APPLICABLE}


def test_example_must_show(example_report: RunReport) -> None:
    rpo = findings(example_report, "DR002", Status.FAIL)
    assert any(
        {("docs/DISASTER_RECOVERY.md", 13), ("landsraad/cron/chom-backup", 7)}
        <= {(e.path, e.line) for e in f.evidence}
        for f in rpo
    )
    refs = findings(example_report, "DR005", Status.FAIL)
    assert any(f.subject == "scripts/restore-redis.sh" for f in refs)


class _Health(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        code = 200 if self.path in ("/health", "/") else 503
        self.send_response(code)
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    with loopback_http(_Health) as base:
        yield base


def test_probe_http_live(server: str) -> None:
    good = scan_tree(FIX / "good", FIX / "good" / "chom-validate.yaml", only=["IR006"], probe_http=[server])
    (res,) = findings(good, "IR006")
    assert res.status == Status.PASS and res.evidence[1].path == "app/routes/web.php"
    bad = scan_tree(FIX / "bad", FIX / "bad" / "chom-validate.yaml", only=["IR006"], probe_http=[server])
    (res,) = findings(bad, "IR006")
    assert res.status == Status.FAIL and "503" in res.message
    down = scan_tree(FIX / "good", only=["IR006"], probe_http=["http://127.0.0.1:9/health"])
    assert findings(down, "IR006")[0].status == Status.FAIL
    none = scan_tree(FIX / "good", only=["IR006"])
    assert findings(none, "IR006")[0].status == Status.NOT_APPLICABLE
