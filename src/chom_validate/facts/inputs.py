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

from ..api import CommandResult, Context, FileEntry, provides
from .deployment import Deployment, deployment
from .shell_program import ShellProgram, shell_programs
from .shellcheck import ShellcheckFacts, shellcheck_facts
from .writes import FileWrite, all_writes


class ShellPrograms(tuple[ShellProgram, ...]):
    """Every shell program of the target: an entry script with the files it sources."""

    empty_reason = "no shell scripts in the target"


class Writes(tuple[FileWrite, ...]):
    """Every file the target's scripts write (path, content when known, mode, line)."""

    empty_reason = "no script in the target writes a file"


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


__all__ = ["CommandOutputs", "Deployment", "HostFiles", "ShellPrograms", "ShellcheckFacts", "Writes"]
