"""The Target protocol and the command allow-list shared by every transport."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

DEFAULT_MAX_FILE_SIZE = 5 * 1024 * 1024


class TargetError(Exception):
    """The target as a whole cannot be read (missing path, unreachable host...). Exit code 2."""


class CommandNotAllowed(TargetError):
    """A command outside the allow-list was requested. Never executed."""


@dataclass(frozen=True)
class FileEntry:
    path: str  # relative, '/'-separated
    size: int
    mode: int = 0o644
    uid: int | None = None
    gid: int | None = None


@dataclass(frozen=True)
class TargetProblem:
    """Something in the target that could not be read safely; becomes an `error` finding."""

    path: str
    reason: str


@dataclass
class CommandResult:
    argv: list[str]
    returncode: int
    stdout: str
    stderr: str = ""
    duration: float = 0.0
    missing: bool = False  # command not installed on the target -> checks report not_applicable
    timed_out: bool = False


@dataclass
class TargetStats:
    files: int = 0
    bytes: int = 0
    round_trips: int = 0
    commands: int = 0
    seconds: float = 0.0
    extra: dict[str, float] = field(default_factory=dict)


# Read-only commands a target may run: argv prefixes. Everything is passed as argv, never via a shell
# built from strings. Arguments after the prefix are restricted per entry (None = no extra args).
ALLOWED_COMMANDS: dict[tuple[str, ...], str] = {
    ("systemctl", "show"): "unit-names",
    ("systemctl", "is-active"): "unit-names",
    ("systemctl", "is-enabled"): "unit-names",
    ("systemctl", "list-timers"): "flags",
    ("systemctl", "list-units"): "flags",
    ("systemctl", "list-unit-files"): "flags",
    ("ufw", "status", "verbose"): "none",
    ("nft", "list", "ruleset"): "none",
    ("iptables-save",): "none",
    ("ip6tables-save",): "none",
    ("ss", "-ltnp"): "none",
    ("ss", "-lunp"): "none",
    ("certbot", "certificates"): "none",
    ("openssl", "x509", "-noout", "-enddate", "-in"): "paths",
    ("crontab", "-l"): "user",
    ("df", "-P"): "paths",
    ("free", "-b"): "none",
    ("hostname",): "none",
    ("hostname", "-f"): "none",
    ("uname", "-a"): "none",
    ("cat", "/etc/os-release"): "none",
}

_SAFE_ARG = r"^[A-Za-z0-9@._:/+=,-]+$"


def is_allowed(argv: list[str] | tuple[str, ...]) -> bool:
    """True when argv is an allow-listed read-only command with harmless arguments."""
    import re

    argv = list(argv)
    if argv and argv[0] == "sudo":
        if argv[1:2] != ["-n"]:
            return False
        argv = argv[2:]
    for prefix, rule in sorted(ALLOWED_COMMANDS.items(), key=lambda kv: -len(kv[0])):
        n = len(prefix)
        if tuple(argv[:n]) != prefix:
            continue
        rest = argv[n:]
        if rule == "none":
            return not rest
        if any(not re.match(_SAFE_ARG, a) or (a.startswith("--") and "=" in a and "exec" in a) for a in rest):
            return False
        if rule == "unit-names":
            return all(
                not a.startswith("-") or a.startswith("--property=") or a == "--no-pager" for a in rest
            )
        if rule == "paths":
            return (all(not a.startswith("-") for a in rest) and bool(rest)) or prefix == ("df", "-P")
        if rule == "user":
            return not rest or (len(rest) == 2 and rest[0] == "-u")
        if rule == "flags":
            return all(
                a.startswith("--") and a.split("=")[0] in ("--all", "--no-pager", "--type", "--state")
                for a in rest
            )
    return False


@runtime_checkable
class Target(Protocol):
    """Read-only access to files and (for live targets) allow-listed commands."""

    name: str
    kind: str  # "local" | "ssh" | "snapshot"
    capabilities: frozenset[str]  # subset of {"files", "commands", "live"}
    problems: list[TargetProblem]
    stats: TargetStats

    def files(self) -> Iterator[FileEntry]: ...
    def read_bytes(self, path: str) -> bytes: ...
    def read_text(self, path: str) -> str: ...
    def exists(self, path: str) -> bool: ...
    def stat(self, path: str) -> FileEntry | None: ...
    def glob(self, pattern: str) -> list[str]: ...
    def run(self, argv: list[str]) -> CommandResult: ...
    def prepare(self, paths: list[str], commands: list[list[str]]) -> None: ...
    def close(self) -> None: ...
