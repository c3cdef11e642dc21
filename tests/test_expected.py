"""examples/EXPECTED.md is a contract: every listed defect is reported by the named check."""

from __future__ import annotations

import re

from chom_validate.findings import Status
from chom_validate.results import RunReport

from .conftest import ROOT

ROW = re.compile(
    r"^\|\s*(?P<check>[A-Z]{2,4}\d{3})\s*\|\s*`?(?P<file>[^|`]+?)`?\s*\|\s*(?P<line>\d*)\s*\|(?P<what>[^|]+)\|"
)


GOOD_SECTION = "## Carefully written"


def _rows(good: bool) -> list[tuple[str, str, int | None, str]]:
    """Rows of the defect sections (good=False) or of the "Carefully written" section (good=True)."""
    rows = []
    in_good = False
    for ln in (ROOT / "examples" / "EXPECTED.md").read_text().splitlines():
        if ln.startswith("## "):
            in_good = ln.startswith(GOOD_SECTION)
        m = ROW.match(ln)
        if m and in_good == good:
            rows.append(
                (m["check"], m["file"].strip(), int(m["line"]) if m["line"] else None, m["what"].strip())
            )
    return rows


def expected_rows() -> list[tuple[str, str, int | None, str]]:
    return _rows(good=False)


def careful_rows() -> list[tuple[str, str, int | None, str]]:
    return _rows(good=True)


def test_expected_lists_enough_defects() -> None:
    rows = expected_rows()
    assert len(rows) >= 20, f"EXPECTED.md lists only {len(rows)} defects"
    prefixes = {r[0][:3] for r in rows}
    assert {"DEP", "SYS", "NET", "MON", "BAK"} <= prefixes | {p[:3] for p in prefixes}


def test_every_expected_defect_is_found(example_report: RunReport) -> None:
    missing = []
    fails = [f for f in example_report.findings if f.status == Status.FAIL]
    for check, file, line, what in expected_rows():
        hit = False
        for f in fails:
            if f.check_id != check:
                continue
            for ev in f.evidence:
                if ev.path == file and (line is None or ev.line == line):
                    hit = True
        if not hit:
            got = sorted({f"{e.path}:{e.line}" for f in fails if f.check_id == check for e in f.evidence})[:6]
            missing.append(f"{check} {file}:{line or '*'} ({what}); {check} reported at: {got}")
    assert not missing, "expected defects not reported:\n" + "\n".join(missing)


def test_careful_cases_do_not_fail(example_report: RunReport) -> None:
    rows = careful_rows()
    assert len(rows) >= 5, f"EXPECTED.md lists only {len(rows)} carefully written cases"
    wrong = []
    for check, file, line, what in rows:
        ran = [f for f in example_report.findings if f.check_id == check]
        if not ran:
            wrong.append(f"{check} did not run ({what})")
        for f in ran:
            if f.status != Status.FAIL:
                continue
            for ev in f.evidence:
                if ev.path == file and (line is None or ev.line == line):
                    wrong.append(f"{check} fails at {file}:{ev.line} ({what}): {f.message[:160]}")
    assert not wrong, "carefully written cases reported as failures:\n" + "\n".join(wrong)
