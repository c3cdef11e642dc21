"""Exposure scores agree with `systemd-analyze security --offline=true` (the oracle) on every unit."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from chom_validate.artifacts.base import Artifact
from chom_validate.artifacts.discover import embedded_artifacts
from chom_validate.artifacts.systemd import parse_unit_text
from chom_validate.artifacts.systemd_security import assess

from .conftest import EXAMPLE, ROOT

UNITS = sorted(
    [*EXAMPLE.glob("*/systemd/*.service"), *(ROOT / "tests" / "fixtures" / "systemd").rglob("*.service")]
)
SA = shutil.which("systemd-analyze")


def oracle(path: Path) -> tuple[str, str] | None:
    out = subprocess.run(
        [SA or "systemd-analyze", "security", "--offline=true", "--no-pager", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout
    m = re.search(r"Overall exposure level for \S+: (\d+\.\d)\s+(\w+)", out)
    return (m.group(1), m.group(2)) if m else None


def heredoc_units(tmp: Path) -> list[Path]:
    """Units written by example scripts via heredoc, materialised so systemd-analyze can read them."""
    out = []
    for script in EXAMPLE.glob("*/deploy/*.sh"):
        art = Artifact(path=str(script), kind="shell", text=script.read_text(), digest="")
        for child in embedded_artifacts(art):
            if child.kind == "systemd_unit" and (child.install_path or "").endswith(".service"):
                p = tmp / Path(child.install_path or "x.service").name
                p.write_text(child.text)
                out.append(p)
    return out


@pytest.mark.skipif(SA is None, reason="systemd-analyze not installed (CI installs the `systemd` package)")
def test_exposure_matches_systemd_analyze(tmp_path: Path) -> None:
    rows = []
    bad = []
    for path in [*UNITS, *heredoc_units(tmp_path)]:
        ours = assess(parse_unit_text(path.read_text(), path.name))
        got = oracle(path)
        if got is None:
            continue  # systemd refuses the unit (e.g. no ExecStart=); nothing to compare
        name = str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else f"(heredoc) {path.name}"
        ok = abs(float(got[0]) - ours.score) <= 0.1 and got[1] == ours.band
        rows.append(
            f"| {name} | {ours.score:.1f} {ours.band} | {got[0]} {got[1]} | {'yes' if ok else 'NO'} |"
        )
        if not ok:
            bad.append(name)
    print("\n| unit | chom-validate | systemd-analyze | agree |\n|---|---|---|---|\n" + "\n".join(rows))
    assert len(rows) >= 15
    assert not bad, f"exposure differs from systemd-analyze for {bad}"


def test_score_components() -> None:
    bare = assess(parse_unit_text("[Service]\nExecStart=/bin/true\n", "bare.service"))
    assert (bare.score, bare.band) == (9.6, "UNSAFE")
    assert bare.worst(1)[0].id == "PrivateNetwork="
    dyn = assess(parse_unit_text("[Service]\nDynamicUser=yes\nExecStart=/bin/true\n", "d.service"))
    assert dyn.score < bare.score
    nodeps = assess(
        parse_unit_text("[Unit]\nDefaultDependencies=no\n[Service]\nExecStart=/bin/true\n", "n.service")
    )
    assert next(a for a in nodeps.assessments if a.id == "ProtectSystem=").badness is None
