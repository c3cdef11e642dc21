"""The wheel ships every subpackage: a non-editable install (README's first command) must import all."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_every_subpackage_is_listed_in_pyproject() -> None:
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    src = ROOT / "src" / "chom_validate"
    found = {
        "chom_validate" + ("." + ".".join(p.parent.relative_to(src).parts) if p.parent != src else "")
        for p in src.rglob("__init__.py")
    }
    missing = sorted(found - listed)
    assert not missing, f"subpackages missing from [tool.setuptools] packages: {missing}"
