"""Every built-in check says why its severity (issue: severity means something)."""

from __future__ import annotations

import re

from chom_validate.registry import load_registry

_LEVEL = re.compile(r"^(Critical|High|Medium|Low|Info)\b", re.I)


def test_every_builtin_check_explains_its_severity() -> None:
    reg = load_registry()
    builtin = [s for s in reg.checks.values() if s.source.startswith("chom_validate.checks.")]
    assert len(builtin) > 150
    missing = sorted(s.id for s in builtin if not s.doc.get("Severity"))
    assert not missing, f"checks without a Severity section in their docstring: {missing}"
    # the rationale starts with the level it justifies, and that is the declared one
    wrong = sorted(
        (s.id, str(s.severity), s.doc["Severity"].strip()[:40])
        for s in builtin
        if not (m := _LEVEL.match(s.doc["Severity"].strip())) or m.group(1).lower() != str(s.severity).lower()
    )
    assert not wrong, f"Severity sections that do not start with the declared level: {wrong}"
