"""Helpers shared by the deploy-script checks: which scripts they judge, printers, variable references
(the sourced libraries come from the shell program, facts/shell_program.py). Not a check module."""

from __future__ import annotations

import re
from collections.abc import Iterator

from chom_validate.api import Context as ScanContext
from chom_validate.artifacts import Artifact
from chom_validate.artifacts.shell import Command, ShellScript
from chom_validate.facts.shell_program import is_library, program_for

OPS_NAME = re.compile(
    r"(deploy|setup|install|provision|backup|restore|migrat|rollback|upgrade|bootstrap)", re.I
)
PRINTERS = ("echo", "printf", "log", "info", "warn", "error", "die", "log_info", "log_warn", "log_error")


LONG_RUNNING_NAME = re.compile(r"(deploy|provision|bootstrap|upgrade|backup|restore|migrat|rollback)", re.I)
# A short setup/install script (a firewall or certbot setup of a few dozen lines) is not expected to carry
# its own lock and log file; deploy, backup and restore jobs and any long script are.
LONG_SCRIPT_COMMANDS = 80


def ops_scripts(
    ctx: ScanContext, *, deploy_only: bool = False, long_running: bool = False
) -> Iterator[tuple[Artifact, ShellScript]]:
    """Operational scripts (deploy/setup/install/backup... by name), libraries and heredocs excluded.

    ``long_running`` narrows to deploy/backup/restore/migration jobs and scripts of at least
    ``LONG_SCRIPT_COMMANDS`` commands: the ones that run long or on a schedule, where overlapping runs
    and missing logs hurt.
    """
    pat = re.compile(r"(deploy|provision|bootstrap|upgrade)", re.I) if deploy_only else OPS_NAME
    for art, script in ctx.parsed("shell"):
        if art.embedded or not pat.search(art.path.rsplit("/", 1)[-1]) or is_library(script, art):
            continue
        # One-shot installers (`install.sh`, however long) are run by hand, once: the lock and log
        # file policy is for jobs that run repeatedly or on a schedule, which their name says.
        if long_running and not LONG_RUNNING_NAME.search(art.path.rsplit("/", 1)[-1]):
            continue
        yield art, script


def is_printer(cmd: Command) -> bool:
    n = cmd.name
    return n in PRINTERS or n.startswith("log") or (n in ("cat", "tee") and not cmd.redirects)


def var_refs(text: str) -> set[str]:
    return set(re.findall(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)", text))


def sourced_functions(ctx: ScanContext, art: Artifact) -> dict[str, tuple[Artifact, ShellScript]]:
    """Functions defined in the libraries this script sources (its shell program's other units:
    `source lib/x.sh`, `. "$DIR/lib/x.sh"`, `${BASH_SOURCE%/*}` paths resolved, transitively)."""
    prog = program_for(ctx, art)
    return {name: (a, s) for a, s in (prog.units[1:] if prog else []) for name in s.functions}


def effective_commands(
    ctx: ScanContext, art: Artifact, script: ShellScript
) -> list[tuple[Artifact, Command]]:
    """The script's commands plus those of the libraries it sources (its shell program's commands)."""
    prog = program_for(ctx, art)
    return prog.commands() if prog else [(art, c) for c in script.commands]
