"""Command-line interface (typer). Thin: parse options, call the engine, pick the output.

Exit codes: 0 gates passed, 1 gates failed, 2 usage/config/target error.
"""

from __future__ import annotations

import importlib
import os
import sys
from typing import Any

# Command modules register themselves on `app` when imported; importing them (typer, rich,
# pydantic, the engine) is most of the start-up, so it happens on first use of `app`, not for
# `--version`.
COMMAND_MODULES = ("scan", "info", "report", "governance", "remote", "model")
# Which module registers each top-level command: `chom-validate list` imports typer and `info` only,
# not the engine, the parsers and the report stack. tests/test_startup.py keeps this map equal to
# what the modules register. Anything not named here (`--help`, a typo) loads every module.
COMMAND_HOMES = {
    "all": "scan",
    "list": "info",
    "explain": "info",
    "init": "info",
    "report": "report",
    "certify": "report",
    "verify-certificate": "report",
    "diff": "diff",
    "capture": "remote",
    "model": "model",
    "baseline": "governance",
}


def _load_app(command: str | None = None) -> Any:
    from .app import app

    home = COMMAND_HOMES.get(command or "")
    for name in (home,) if home else COMMAND_MODULES:
        try:
            importlib.import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as exc:  # a room not built yet
            if exc.name != f"{__name__}.{name}":
                raise
    return app


def load_app() -> Any:
    """The typer app with every command registered (tests, embedding)."""
    return _load_app()


def __getattr__(name: str) -> Any:
    if name == "app":
        return _load_app()
    if name == "fail":
        from .app import fail

        return fail
    raise AttributeError(name)


def main() -> None:
    if sys.argv[1:] == ["--version"]:  # the one answer that needs no command module
        from .. import __version__

        sys.stdout.write(f"chom-validate {__version__}\n")
        return
    try:
        from .listing import fast_main

        if fast_main(sys.argv[1:]):  # `list` without typer (same output; anything unusual: typer)
            return
        _load_app(sys.argv[1] if len(sys.argv) > 1 else None)(prog_name="chom-validate")
    except KeyboardInterrupt:
        sys.stderr.write("chom-validate: interrupted\n")
        sys.exit(130)
    except SystemExit:
        raise
    except Exception as exc:  # never a traceback for users; CHOM_DEBUG=1 shows it for developers
        if os.environ.get("CHOM_DEBUG"):
            raise
        sys.stderr.write(
            f"chom-validate: internal error: {type(exc).__name__}: {exc} "
            "(set CHOM_DEBUG=1 for a traceback and please report it)\n"
        )
        sys.exit(2)


__all__ = ["app", "fail", "load_app", "main"]
