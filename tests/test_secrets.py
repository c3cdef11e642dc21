"""SEC001-SEC005: bad fixtures fail at the right line, good ones (placeholders, stdin, umask) do not."""

from __future__ import annotations

from pathlib import Path

import pytest

from chom_validate.findings import Severity
from chom_validate.redact import redact
from chom_validate.results import RunReport

from .conftest import findings, scan_tree

FIX = Path(__file__).parent / "fixtures" / "secrets"
IDS = ["SEC001", "SEC002", "SEC003", "SEC004", "SEC005"]
CASES = [
    ("SEC001", "setup-auth.sh", 4),
    ("SEC001", "setup-auth.sh", 5),
    ("SEC001", "setup-auth.sh", 6),
    ("SEC002", ".env", 1),
    ("SEC002", ".env", 2),
    ("SEC003", "setup-auth.sh", 7),
    ("SEC004", "setup-auth.sh", 3),
    ("SEC005", "exporter.service", 5),
]


@pytest.fixture(scope="module")
def bad() -> RunReport:
    return scan_tree(FIX / "bad", only=IDS)


@pytest.fixture(scope="module")
def good() -> RunReport:
    return scan_tree(FIX / "good", only=IDS)


@pytest.mark.parametrize(("check_id", "path", "line"), CASES)
def test_bad_fails_at_line(bad: RunReport, check_id: str, path: str, line: int) -> None:
    got = {(e.path, e.line) for f in findings(bad, check_id, "fail") for e in f.evidence}
    assert (path, line) in got, f"{check_id} at {sorted(got, key=str)}"


def test_literal_credential_on_command_line_is_critical(bad: RunReport) -> None:
    sev = {f.evidence[0].line: f.effective_severity for f in findings(bad, "SEC001", "fail")}
    assert sev[5] == Severity.CRITICAL and sev[4] == Severity.MEDIUM


@pytest.mark.parametrize("check_id", IDS)
def test_good_has_no_failures(good: RunReport, check_id: str) -> None:
    assert not findings(good, check_id, "fail"), [f.message for f in findings(good, check_id, "fail")]


def test_placeholders_reported_as_placeholders(good: RunReport) -> None:
    na = [f for f in findings(good, "SEC002", "not_applicable") if "placeholder" in f.message]
    assert na and na[0].evidence[0].path == ".env.example"


def test_redaction_keeps_harmless_text_readable() -> None:
    assert redact("deploy/passwd: symlink to /etc/passwd") == "deploy/passwd: symlink to /etc/passwd"
    assert "hunter2x" not in redact("mysql -uroot -phunter2x")
    assert "pw123456" not in redact("https://bob:pw123456@example.org/")
