"""The Target protocol and the command allow-list shared by every transport."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Protocol, runtime_checkable

DEFAULT_MAX_FILE_SIZE = 5 * 1024 * 1024


class TargetError(Exception):
    """The target as a whole cannot be read (missing path, unreachable host...). Exit code 2."""

    def __init__(self, message: str) -> None:
        # Always one line: these quote paramiko, tar, sudo and OS messages that may span lines.
        super().__init__(" ".join(str(message).split()))


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

    def __post_init__(self) -> None:
        # One line each: reasons quote OS, tar and sudo messages that may span lines, and paths may
        # hold newlines or terminal escapes (shown escaped, never raw).
        object.__setattr__(self, "path", printable_path(self.path))
        object.__setattr__(self, "reason", " ".join(str(self.reason).split()))


def printable_path(path: str) -> str:
    """A path as shown in messages: control characters (newline, ESC...) escaped, the rest kept."""
    if path.isprintable():
        return path
    return "".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in path)


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


# Read-only commands a target may run: argv prefixes, each with a rule for the arguments that may
# follow. Everything is passed as argv (quoted with shlex.join for the remote shell), never as a
# shell string built from config values. Anything not matched here is refused before it is sent.
ALLOWED_COMMANDS: dict[tuple[str, ...], str] = {
    ("systemctl", "show"): "units",
    ("systemctl", "is-active"): "units",
    ("systemctl", "is-enabled"): "units",
    ("systemctl", "cat"): "units",
    ("systemctl", "list-timers"): "flags",
    ("systemctl", "list-units"): "flags",
    ("systemctl", "list-unit-files"): "flags",
    ("ufw", "status", "verbose"): "none",
    ("ufw", "status", "numbered"): "none",
    ("nft", "list", "ruleset"): "none",
    ("iptables-save",): "none",
    ("ip6tables-save",): "none",
    ("ss", "-ltnp"): "none",
    ("ss", "-lunp"): "none",
    ("ss", "-ltn"): "none",
    ("certbot", "certificates"): "none",
    ("openssl", "x509", "-noout", "-enddate", "-in"): "one-path",
    ("crontab", "-l"): "user",
    ("df", "-P"): "paths",
    ("df", "-Pi"): "paths",
    ("free", "-b"): "none",
    ("hostname",): "none",
    ("hostname", "-f"): "none",
    ("uname", "-a"): "none",
    ("cat", "/etc/os-release"): "none",
    ("tar", "-czf", "-"): "tar",  # the one-stream collector used by SshHost (see _tar_args_ok)
}

_SAFE_ARG = re.compile(r"^[A-Za-z0-9@._:/+=,-]+$")
_ANY_ARG = re.compile(r"^[A-Za-z0-9@._:/+=,*?-]+$")  # union of the classes below; rules narrow it
_UNIT = re.compile(r"^[A-Za-z0-9@._:*-]+$")  # unit names and patterns (systemctl matches '*' itself)
_ABS_PATH = re.compile(r"^/[A-Za-z0-9@._+,/-]*$")
_GLOB = re.compile(r"^[A-Za-z0-9@._+,/*?-]+$")
_USER = re.compile(r"^[a-z_][a-z0-9_.-]{0,31}$")
_SYSTEMCTL_FLAGS = ("--all", "--no-pager", "--no-legend", "--plain", "--full")
_SYSTEMCTL_VALUED = ("--type", "--state", "--property", "-p")
_TAR_FLAGS = ("--ignore-failed-read", "--one-file-system", "--no-recursion", "--numeric-owner")


def _abs_path_ok(a: str) -> bool:
    return bool(_ABS_PATH.match(a)) and ".." not in a.split("/")


def _tar_args_ok(rest: list[str]) -> bool:
    """``tar -czf - [flags] [--exclude=GLOB] -C / -- /abs/path...``: writes only to stdout.

    Every option that could execute something (--to-command, --checkpoint-action, -I,
    --use-compress-program, --rsh-command, --info-script...) or write a file is refused, simply by
    not being in the short list below.
    """
    i = 0
    seen_dir = False
    while i < len(rest) and rest[i] != "--":
        a = rest[i]
        if a in _TAR_FLAGS:
            i += 1
        elif a.startswith("--exclude="):
            if not _GLOB.match(a[len("--exclude=") :]):
                return False
            i += 1
        elif a == "-C" and i + 1 < len(rest) and _abs_path_ok(rest[i + 1]) and not seen_dir:
            seen_dir = True
            i += 2
        else:
            return False
    paths = rest[i + 1 :]
    return i < len(rest) and bool(paths) and all(_abs_path_ok(p) for p in paths)


def _systemctl_args_ok(rest: list[str], units: bool) -> bool:
    for a in rest:
        if a in _SYSTEMCTL_FLAGS:
            continue
        if a.startswith("-"):
            name, eq, value = a.partition("=")
            if name not in _SYSTEMCTL_VALUED or not eq or not re.match(r"^[A-Za-z0-9,_-]+$", value):
                return False
            continue
        if not units or not _UNIT.match(a):
            return False
    return True


def is_allowed(argv: list[str] | tuple[str, ...]) -> bool:
    """True when argv is an allow-listed read-only command with harmless arguments.

    Strict by construction: every argument must match a conservative character class (no spaces,
    quotes, ``;``, ``|``, ``&``, ``$``, backticks, redirections, newlines or NUL), the command must
    start with a known prefix, and what follows the prefix is checked by that prefix's rule.
    ``sudo -n`` may precede an allowed command (``--sudo``), nothing else may.
    """
    if not isinstance(argv, list | tuple) or not argv:
        return False
    args = list(argv)
    if not all(isinstance(a, str) for a in args):
        return False
    if args[0] == "sudo":
        if args[1:2] != ["-n"] or len(args) < 3 or args[2] == "sudo":
            return False
        args = args[2:]
    if not all(_ANY_ARG.match(a) for a in args):
        return False
    for prefix, rule in sorted(ALLOWED_COMMANDS.items(), key=lambda kv: -len(kv[0])):
        n = len(prefix)
        if tuple(args[:n]) != prefix:
            continue
        rest = args[n:]
        if rule == "none":
            return not rest
        if rule == "units":
            return _systemctl_args_ok(rest, units=True)
        if rule == "flags":
            return _systemctl_args_ok(rest, units=False)
        if rule == "one-path":
            return len(rest) == 1 and _abs_path_ok(rest[0])
        if rule == "paths":
            return all(_abs_path_ok(a) for a in rest)
        if rule == "user":
            return not rest or (len(rest) == 2 and rest[0] == "-u" and bool(_USER.match(rest[1])))
        if rule == "tar":
            return _tar_args_ok(rest)
        return False
    return False


class CollectedFiles:
    """The file half of the Target protocol over files already collected in memory.

    Shared by the transports that read everything up front (SshHost, SnapshotTarget): they fill
    ``_files`` (bytes) and ``_entries`` (metadata) keyed by relative path, and name the miss.
    """

    _files: dict[str, bytes]
    _entries: dict[str, FileEntry]

    def _not_collected(self, path: str) -> str:
        return f"{path} was not collected"

    def files(self) -> Iterator[FileEntry]:
        yield from sorted(self._entries.values(), key=lambda e: e.path)

    def read_bytes(self, path: str) -> bytes:
        rel = path.lstrip("/")
        if rel not in self._files:
            raise TargetError(self._not_collected(path))
        return self._files[rel]

    def read_text(self, path: str) -> str:
        return self.read_bytes(path).decode("utf-8")

    def exists(self, path: str) -> bool:
        return path.lstrip("/") in self._files

    def stat(self, path: str) -> FileEntry | None:
        return self._entries.get(path.lstrip("/"))

    def glob(self, pattern: str) -> list[str]:
        pat = pattern.lstrip("/")
        return sorted(p for p in self._entries if fnmatchcase(p, pat))


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
