"""Command-line interface (typer). Thin: parse options, call the engine, pick the output.

Exit codes: 0 gates passed, 1 gates failed, 2 usage/config/target error.
"""

from __future__ import annotations

import importlib
import os
import sys

from .app import app, fail

# Command modules register themselves on `app` when imported.
for _name in ("scan", "info", "report", "governance", "remote", "model"):
    try:
        importlib.import_module(f"{__name__}.{_name}")
    except ModuleNotFoundError as _exc:  # a room not built yet
        if _exc.name != f"{__name__}.{_name}":
            raise


def main() -> None:
    try:
        app(prog_name="chom-validate")
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


__all__ = ["app", "fail", "main"]
