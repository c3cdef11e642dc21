"""Shared fixtures: run the CLI in-process or as a subprocess, scan a tree, find findings."""

from __future__ import annotations

import contextlib
import http.server
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from chom_validate.config import Config, load_config
from chom_validate.engine import RunOptions, TargetSpec, scan
from chom_validate.findings import Finding, Status
from chom_validate.registry import Registry, load_registry
from chom_validate.results import RunReport
from chom_validate.targets.local import LocalTree

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "chom-deployment"
FIXED_NOW = "2026-11-29T12:00:00+00:00"

# The ShellCheck result cache (checks/shellcheck.py) stays off for the suite, in-process and in CLI
# subprocesses: tests never read or write ~/.cache and each run really runs shellcheck.
# tests/test_shellcheck_cache.py turns it on against a temporary XDG_CACHE_HOME.
os.environ["CHOM_VALIDATE_NO_CACHE"] = "1"


def scan_tree(
    path: Path,
    config: Config | Path | None = None,
    *,
    profile: str = "certified",
    only: list[str] | None = None,
    categories: list[str] | None = None,
    registry: Registry | None = None,
    **extra: object,
) -> RunReport:
    """Scan a local tree in-process (fixed clock) and return the report (``registry``: an already
    loaded one, else the built-in checks are loaded afresh)."""
    import datetime as dt

    cfg = load_config(config) if isinstance(config, Path) else config or Config()
    opts = RunOptions(
        profile=profile,
        only=only or [],
        categories=categories or [],
        now=dt.datetime.fromisoformat(FIXED_NOW),
        extra=dict(extra),
    )
    return scan(
        [TargetSpec(str(path), "local", lambda: LocalTree(path, max_file_size=cfg.max_file_size))],
        registry or load_registry(),
        cfg,
        opts,
    )


def write_tree(root: Path, files: dict[str, str]) -> Path:
    """Write ``{relative path: text}`` under ``root`` (parents created); returns ``root``."""
    for rel, text in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    return root


@contextlib.contextmanager
def loopback_http(handler: type[http.server.BaseHTTPRequestHandler]) -> Iterator[str]:
    """A real HTTP server on 127.0.0.1 (a free port) for the block; yields its base URL."""
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


def findings(report: RunReport, check_id: str, status: Status | str | None = None) -> list[Finding]:
    return [
        f
        for f in report.findings
        if f.check_id == check_id and (status is None or f.status == Status(status))
    ]


@pytest.fixture(scope="session")
def example_report() -> RunReport:
    """One scan of the bundled example deployment, shared by tests that only read it."""
    return scan_tree(EXAMPLE, EXAMPLE / "chom-validate.yaml")


@pytest.fixture
def cli() -> Callable[..., subprocess.CompletedProcess[str]]:
    """Run the installed `chom-validate` console script as a user would."""
    exe = shutil.which("chom-validate", path=str(Path(sys.executable).parent)) or shutil.which(
        "chom-validate"
    )
    assert exe, "chom-validate console script not installed (pip install -e .)"

    def run(
        *args: str, cwd: Path | None = None, env: dict[str, str] | None = None, timeout: float = 300
    ) -> subprocess.CompletedProcess[str]:
        e = {**os.environ, "NO_COLOR": "1", **(env or {})}
        return subprocess.run(
            [exe, *args],
            cwd=cwd,
            env=e,
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
        )

    return run
