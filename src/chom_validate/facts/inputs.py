"""Typed inputs: the fact types a check can ask for by annotation, and their providers.

A check declares what it reads in its signature::

    @check("DEP047", ...)
    def server_options_in_user_file(writes: Writes) -> Iterator[Result]:

and the engine builds each input once per target (``chom_validate.api.provides``). An input that
is empty answers ``not_applicable`` for the check with its ``empty_reason``; a live-only input
(``CommandOutputs``) answers ``not_applicable`` on a repository or tree. The builders are the
facts' own memoised accessors, so a check taking ``writes: Writes`` and a helper calling
``all_writes(ctx)`` share one model.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TypeVar

from ..api import CommandResult, Context, FileEntry, provides
from .backups import CRONTAB_CMD, BackupModel, backup_model
from .deployment import Deployment, deployment
from .firewall import UFW_STATUS, HostFirewall, firewalls
from .listeners import HostListeners, listeners
from .shell_program import ShellProgram, shell_programs
from .shellcheck import ShellcheckFacts, shellcheck_facts
from .writes import FileWrite, all_writes


class ShellPrograms(tuple[ShellProgram, ...]):
    """Every shell program of the target: an entry script with the files it sources."""

    empty_reason = "no shell scripts in the target"


class Writes(tuple[FileWrite, ...]):
    """Every file the target's scripts write (path, content when known, mode, line)."""

    empty_reason = "no script in the target writes a file"


V = TypeVar("V")


class _ByHost(Mapping[str, V]):
    """A read-only view of a per-host fact (host name -> its model), empty when no host has one."""

    def __init__(self, by_host: Mapping[str, V]) -> None:
        self._by_host = by_host

    def __getitem__(self, host: str) -> V:
        return self._by_host[host]

    def __iter__(self) -> Iterator[str]:
        return iter(self._by_host)

    def __len__(self) -> int:
        return len(self._by_host)


class FirewallRules(_ByHost[HostFirewall]):
    """The firewall rule set per host: the scripts' ufw rules merged per host (the script that sets
    the default policy is the base), or on a live host without a script its running ufw."""

    empty_reason = "no firewall configuration found"


class Listeners(_ByHost[HostListeners]):
    """The ports something is configured to listen on, per host (units, drop-ins, nginx sites)."""

    empty_reason = "no unit or site files configure a listening port"


class Backups(BackupModel):
    """The backup model: backup scripts with what they archive, restore tests, schedules. Empty
    (not applicable) when the target has no backup script."""

    empty_reason = "no backup script found (no mysqldump/xtrabackup/restic/borg or backup*.sh)"

    def __bool__(self) -> bool:
        return bool(self.scripts)


class CommandOutputs(Mapping[tuple[str, ...], CommandResult]):
    """The allow-listed command outputs the engine collected from a host before the checks ran.

    Live-only: on a repository or tree the check answers not_applicable. Indexed by argv; a
    command no enabled check declared is absent (``get`` answers None).
    """

    empty_reason = "no command output was collected from this host"

    def __init__(self, outputs: Mapping[tuple[str, ...], CommandResult]) -> None:
        self._out = dict(outputs)

    def __getitem__(self, argv: tuple[str, ...]) -> CommandResult:
        return self._out[tuple(argv)]

    def __iter__(self) -> Iterator[tuple[str, ...]]:
        return iter(self._out)

    def __len__(self) -> int:
        return len(self._out)


@provides(ShellPrograms)
def _shell_programs(ctx: Context) -> ShellPrograms:
    return ShellPrograms(shell_programs(ctx))


@provides(Writes)
def _writes(ctx: Context) -> Writes:
    return Writes(all_writes(ctx))


@provides(ShellcheckFacts, needs=["shellcheck"])
def _shellcheck(ctx: Context) -> ShellcheckFacts:
    return shellcheck_facts(ctx)


@provides(FirewallRules, commands=[UFW_STATUS])
def _firewall_rules(ctx: Context) -> FirewallRules:
    return FirewallRules(firewalls(ctx))


@provides(Listeners)
def _listeners(ctx: Context) -> Listeners:
    return Listeners(listeners(ctx))


@provides(Backups, commands=[CRONTAB_CMD])
def _backups(ctx: Context) -> Backups:
    m = backup_model(ctx)  # the same lists: a helper calling backup_model(ctx) sees this model
    return Backups(m.scripts, m.restore_tests, m.schedules)


@provides(Deployment)
def _deployment(ctx: Context) -> Deployment:
    return deployment(ctx)


class HostFiles:
    """The files collected from a live host (SSH, or a snapshot of one): entries with their modes
    and owners, and their text. Live-only: a repository has no host file modes to judge."""

    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx

    def __iter__(self) -> Iterator[FileEntry]:
        return self._ctx.files()

    def stat(self, path: str) -> FileEntry | None:
        return self._ctx.stat(path)

    def read_text(self, path: str) -> str | None:
        """The file's text; None when not collected, binary or not UTF-8."""
        return self._ctx.read_text(path)


@provides(CommandOutputs, live_only=True)
def _command_outputs(ctx: Context) -> CommandOutputs:
    return CommandOutputs(ctx.commands())


@provides(HostFiles, live_only=True)
def _host_files(ctx: Context) -> HostFiles:
    return HostFiles(ctx)


__all__ = [
    "Backups",
    "CommandOutputs",
    "Deployment",
    "FirewallRules",
    "HostFiles",
    "Listeners",
    "ShellPrograms",
    "ShellcheckFacts",
    "Writes",
]
