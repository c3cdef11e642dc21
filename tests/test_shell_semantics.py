"""Per-check cases for the shell-semantics checks DEP030-DEP053: bad fixtures fail at the line of
the defect, the corrected scripts beside them pass."""

from __future__ import annotations

from pathlib import Path

import pytest

from chom_validate.findings import Status
from chom_validate.results import RunReport

from .conftest import findings, scan_tree

FIX = Path(__file__).parent / "fixtures" / "shell_semantics"

# check id -> (file, line of the defect)
CASES = {
    "DEP030": ("run-wrapper.sh", 7),
    "DEP031": ("run-wrapper.sh", 13),
    "DEP032": ("setup-box.sh", 2),
    "DEP033": ("vpn-install.sh", 4),
    "DEP034": ("vpn-install.sh", 18),
    "DEP035": ("setup-box.sh", 5),
    "DEP036": ("run-wrapper.sh", 16),
    "DEP037": ("run-wrapper.sh", 21),
    "DEP038": ("run-wrapper.sh", 2),
    "DEP039": ("setup-box.sh", 11),
    "DEP040": ("setup-box.sh", 7),
    "DEP041": ("setup-box.sh", 8),
    "DEP042": ("setup-box.sh", 10),
    "DEP043": ("run-wrapper.sh", 20),
    "DEP044": ("errexit-deploy.sh", 8),
    "DEP045": ("errexit-deploy.sh", 11),
    "DEP046": ("vpn-uninstall.sh", 3),
    "DEP048": ("endpoint-install.sh", 11),
    "DEP049": ("selinux-port.sh", 8),
    "DEP050": ("node-box.sh", 4),
    "DEP051": ("errexit-steps.sh", 8),
    "DEP052": ("errexit-steps.sh", 11),
    "DEP053": ("errexit-steps.sh", 13),
}


@pytest.fixture(scope="module")
def bad() -> RunReport:
    return scan_tree(FIX / "bad", only=list(CASES))


@pytest.fixture(scope="module")
def good() -> RunReport:
    return scan_tree(FIX / "good", only=list(CASES))


@pytest.mark.parametrize("check_id", sorted(CASES))
def test_bad_fixture_fails_at_the_defect(bad: RunReport, check_id: str) -> None:
    path, line = CASES[check_id]
    fails = findings(bad, check_id, "fail")
    assert fails, f"{check_id} did not fail: {[f.message for f in findings(bad, check_id)]}"
    lines = {(e.path, e.line) for f in fails for e in f.evidence}
    assert (path, line) in lines, f"{check_id}: expected {path}:{line}, got {sorted(lines, key=str)}"


@pytest.mark.parametrize("check_id", sorted(CASES))
def test_good_fixture_has_no_failure(good: RunReport, check_id: str) -> None:
    res = findings(good, check_id)
    assert res, f"{check_id} produced no result on the good fixture"
    assert not [f for f in res if f.status == Status.FAIL], [f.message for f in res]


def test_cron_line_written_by_script_is_judged_under_sh(bad: RunReport) -> None:
    msgs = [f.message for f in findings(bad, "DEP032", "fail") if "cron" in f.message]
    assert msgs and "in the background" in msgs[0]


def test_readonly_message_names_the_option(bad: RunReport) -> None:
    (f,) = findings(bad, "DEP031", "fail")
    assert "--no-color" in f.message and "readonly" in f.message
    assert any(e.line == 3 for e in f.evidence), "declaration is the second evidence"


def _ev(f: object) -> set[tuple[str | None, int | None]]:
    return {(e.path, e.line) for e in f.evidence}  # type: ignore[attr-defined]


def test_detected_value_names_the_write_and_the_loopback_resolver(bad: RunReport) -> None:
    (f,) = findings(bad, "DEP048", "fail")
    # one finding for the program: both detections, each with the line that writes it
    assert {("endpoint-install.sh", n) for n in (11, 12, 17, 18)} <= _ev(f)
    assert "non-interactive path" in f.message and "127.0.0.1" in f.message
    assert "/etc/vpn/client.conf" in f.message


def test_security_step_names_the_missing_semanage_fallback(bad: RunReport) -> None:
    (f,) = findings(bad, "DEP049", "fail")
    assert "semanage port -m" in f.message and "run_cmd" in f.message
    assert ("selinux-port.sh", 9) in _ev(f), "`ufw allow ... || true` is the second location"
    assert ("selinux-port.sh", 10) not in _ev(f), "a removal that may fail harmlessly is not reported"


def test_floating_release_reports_both_lines(bad: RunReport) -> None:
    fails = findings(bad, "DEP050", "fail")
    assert {e.line for f in fails for e in f.evidence} == {4, 5}
    assert any("Node.js 21" in f.message for f in fails)
    assert any("releases/latest" in f.message for f in fails)


def test_errexit_cases_carry_the_other_side(bad: RunReport) -> None:
    (restored,) = findings(bad, "DEP051", "fail")
    assert ("errexit-steps.sh", 15) in _ev(restored) and "`probe`" in restored.message
    (bare,) = findings(bad, "DEP052", "fail")
    assert ("errexit-steps.sh", 5) in _ev(bare), "the non-error `return 1` is the second evidence"
    (left,) = findings(bad, "DEP053", "fail")
    assert "sha256sum -c" in left.message
