"""The typer application object and shared CLI helpers."""

from __future__ import annotations

import sys
from typing import NoReturn

import typer

from .. import __version__


def _version(value: bool) -> None:
    if value:
        typer.echo(f"chom-validate {__version__}")
        raise typer.Exit(0)


app = typer.Typer(
    name="chom-validate",
    help=(
        "Production-readiness validation backed by evidence.\n\n"
        "Scans deploy scripts, systemd units, firewall rules, Prometheus/Alertmanager/Grafana configs, "
        "backups, DR plans and runbooks, in a repository (--path) or on hosts over SSH (--host), and "
        "reports every result with its evidence (file:line or host and command).\n\n"
        "Exit codes: 0 gates passed, 1 gates failed, 2 usage, config or target error."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """chom-validate: evidence-backed production-readiness checks."""


def fail(message: str, code: int = 2) -> NoReturn:
    """Print a one-line error (no traceback) and exit."""
    sys.stderr.write(f"chom-validate: error: {message}\n")
    raise typer.Exit(code)
