"""Both cores: the forked check run gives the findings of a serial run; the per-file parse budget."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from chom_validate import engine
from chom_validate.artifacts import base as artifact_base
from chom_validate.results import RunReport

from .conftest import EXAMPLE, ROOT, findings, scan_tree

sys.path.insert(0, str(ROOT / "bench"))
import bench_scan


def _dump(report: RunReport) -> str:
    return json.dumps([f.model_dump(mode="json") for f in report.findings], sort_keys=True)


def _tree(root: Path) -> Path:
    bench_scan.generate(root, 1, fraction=0.05)
    return root


def _compare(where: str, tmp: str) -> None:
    """Run in a fresh interpreter: the engine never forks a process that has other threads (the
    SSH tests' transports, ShellCheck prefetch workers), so the comparison needs a clean process."""
    root, config = (EXAMPLE, EXAMPLE / "chom-validate.yaml") if where == "example" else (_tree(Path(tmp)), None)
    forks: list[int] = []
    real_fork = engine._fork_checks

    def counting(specs: Any, ctx: Any) -> Any:
        child = real_fork(specs, ctx)
        forks.append(len(specs))
        return child

    engine._fork_checks = counting  # type: ignore[assignment]
    engine.MIN_ARTIFACTS_TO_FORK = 1
    os.cpu_count = lambda: 2
    parallel = scan_tree(root, config, profile="certified")
    assert forks and forks[0] > 10, "the scan ran a share of the checks in a child process"
    serial = scan_tree(root, config, profile="certified", serial=True)
    assert len(forks) == 1
    assert _dump(parallel) == _dump(serial)
    assert parallel.summary == serial.summary and parallel.gate == serial.gate
    assert len(parallel.findings) > 50


@pytest.mark.parametrize("where", ["example", "generated"])
def test_forked_checks_equal_serial(tmp_path: Path, where: str) -> None:
    code = f"from tests.test_parallel_scan import _compare; _compare({where!r}, {str(tmp_path)!r})"
    res = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=600, check=False
    )
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]


def test_parse_over_budget_is_an_error_naming_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "slow.sh").write_text("#!/bin/bash\necho slow\n")
    (tmp_path / "fast.sh").write_text("#!/bin/bash\nset -euo pipefail\necho fast\n")
    real = artifact_base._PARSERS["shell"]

    def slow_on_one(art: Any) -> Any:
        if art.path == "slow.sh":
            while True:  # a parser that never finishes on this input
                time.sleep(0.01)
        return real(art)

    monkeypatch.setitem(artifact_base._PARSERS, "shell", slow_on_one)
    t0 = time.perf_counter()
    rep = scan_tree(tmp_path, only=["TGT002", "DEP001"], parse_budget=0.5)
    assert time.perf_counter() - t0 < 20
    errs = findings(rep, "TGT002", "error")
    assert [f.evidence[0].path for f in errs] == ["slow.sh"]
    assert "per-file budget" in errs[0].message
    assert not [f for f in findings(rep, "DEP001") if (f.subject or "").startswith("slow.sh")]
    assert [f for f in findings(rep, "DEP001") if (f.subject or "").startswith("fast.sh")]
