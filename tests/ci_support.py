"""Helpers shared by the CI/governance tests (SARIF, JUnit, GitLab, baselines, waivers).

The demo checks in ``tests/fixtures/ci/checks`` make these tests independent of the built-in checks,
which other work changes: CIX001 fails on every line with INSECURE in a shell script (two identical
lines in deploy.sh), CIX002 always errors, CIX003 is not applicable, CIX004 is a cross-artifact
(topology) failure in docs/plan.md, CIX005 fails with no file evidence.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path
from typing import Any

from chom_validate.config import Config, load_config
from chom_validate.engine import RunOptions, TargetSpec, scan
from chom_validate.registry import load_registry
from chom_validate.results import RunReport
from chom_validate.targets.local import LocalTree

from .conftest import FIXED_NOW, ROOT

CI_FIXTURES = ROOT / "tests" / "fixtures" / "ci"
DEMO_CHECKS = CI_FIXTURES / "checks"
DEMO_TREE = CI_FIXTURES / "tree"
DEMO_IDS = ["CIX001", "CIX002", "CIX003", "CIX004", "CIX005"]
DATA = ROOT / "tests" / "data"


def copy_tree(tmp_path: Path, name: str = "repo") -> Path:
    dest = tmp_path / name
    shutil.copytree(DEMO_TREE, dest)
    return dest


def demo_scan(
    path: Path,
    config: Config | Path | None = None,
    *,
    only: list[str] | None = None,
    use_waivers: bool = True,
    name: str | None = None,
    **extra: Any,
) -> RunReport:
    """Scan ``path`` in-process with the demo checks (fixed clock)."""
    cfg = load_config(config) if isinstance(config, Path) else config or Config()
    opts = RunOptions(
        profile="certified",
        only=only if only is not None else DEMO_IDS,
        now=dt.datetime.fromisoformat(FIXED_NOW),
        use_waivers=use_waivers,
        extra=dict(extra),
    )
    return scan(
        [TargetSpec(name or str(path), "local", lambda: LocalTree(path, max_file_size=cfg.max_file_size))],
        load_registry([DEMO_CHECKS]),
        cfg,
        opts,
    )


def sarif_schema() -> dict[str, Any]:
    return json.loads((DATA / "sarif-schema-2.1.0.json").read_text(encoding="utf-8"))


def insert_blank_lines(path: Path, before_line: int, count: int = 3) -> None:
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    lines[before_line - 1 : before_line - 1] = ["\n"] * count
    path.write_text("".join(lines), encoding="utf-8")
