"""examples/EXPECTED.md is a contract: every listed defect is reported by the named check."""

from __future__ import annotations

import re

from chom_validate.findings import Status
from chom_validate.results import RunReport

from .conftest import ROOT

ROW = re.compile(
    r"^\|\s*(?P<check>[A-Z]{2,4}\d{3})\s*\|\s*`?(?P<file>[^|`]+?)`?\s*\|\s*(?P<line>\d*)\s*\|(?P<what>[^|]+)\|"
)


def expected_rows() -> list[tuple[str, str, int | None, str]]:
    rows = []
    for ln in (ROOT / "examples" / "EXPECTED.md").read_text().splitlines():
        m = ROW.match(ln)
        if m:
            rows.append(
                (m["check"], m["file"].strip(), int(m["line"]) if m["line"] else None, m["what"].strip())
            )
    return rows


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
