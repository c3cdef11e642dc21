"""Backup round-trip facts: what a backup run does when a step fails, what a restore does to live
data, which jobs touch the same repository at the same time, which units they name.

Built from the parsed shell scripts (logical lines: backslash continuations joined, comments and
heredoc bodies left out, so a `docker run ... sh -c "a ; b"` is one piece of text), the systemd
units and the schedules of the backup model. No I/O; the checks in checks/backup.py report them.
"""

from __future__ import annotations

import datetime as dt
import posixpath
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..artifacts.backup import BackupModel, Schedule
from ..artifacts.cron import CronSyntaxError, fire_times, oncalendar_to_cron
from ..artifacts.shell import ShellScript
from ..artifacts.systemd import Unit

if TYPE_CHECKING:
    from ..artifacts import Artifact


@dataclass
class LogicalLine:
    start: int
    end: int
    text: str


def logical_lines(script: ShellScript) -> list[LogicalLine]:
    """Lines with `\\` continuations joined; comments, blank lines and heredoc bodies dropped."""
    out: list[LogicalLine] = []
    lines = script.lines
    i = 0
    while i < len(lines):
        n = i + 1
        if n in script.heredoc_lines or not lines[i].strip() or lines[i].lstrip().startswith("#"):
            i += 1
            continue
        parts = [lines[i].rstrip()]
        while parts[-1].endswith("\\") and i + 1 < len(lines):
            parts[-1] = parts[-1][:-1]
            i += 1
            parts.append(lines[i].strip())
        out.append(LogicalLine(n, i + 1, " ".join(p.strip() for p in parts)))
        i += 1
    return out


# -- backup steps whose failure must fail the run -----------------------------------------------------

# A step that produces backup data: a dump or backup tool, an archive being created, a copy of data.
_PRODUCER = re.compile(
    r"\b(mysqldump|mariadb-dump|mysqlpump|mariabackup|xtrabackup|mydumper|pg_dump|pg_dumpall|"
    r"pg_basebackup|mongodump)\b|\brestic\b[^|;&]*\bbackup\b|\bborg\s+create\b|"
    r"\btar\b[^|;&]*\s-?-?[a-zA-Z]*c[a-zA-Z]*f\b|\btar\b[^|;&]*--create\b|\brsync\b\s"
)
_CHECKED_AFTER = re.compile(r"^\s*(if|\[\[?|test)\b.*\$\?|^\s*(rc|ret|status|exit_code)=\$\?|\$\?\s*-(ne|eq)")
_HANDLED = re.compile(
    r"\|\|\s*(\{[^}]*\b(exit|return)\b|exit\b|return\b|die\b|fail\w*\b|abort\b|error\w*\b|false\b)|"
    r"^\s*(if|elif|until|while)\s|^\s*!\s|&&\s*\S"
)
_ERREXIT = re.compile(
    r"^\s*set\s+(-[a-zA-Z]*e[a-zA-Z]*\b|.*-o\s+errexit\b)|^\s*trap\b.*\bERR\b|^\s*#!.*\s-[a-zA-Z]*e\b"
)


@dataclass
class RunSafety:
    """How a backup script reacts to its own failures."""

    errexit: int | None  # line of `set -e` (or an ERR trap)
    unchecked: list[LogicalLine] = field(default_factory=list)  # producers whose failure is ignored
    producers: list[LogicalLine] = field(default_factory=list)
    retention: list[LogicalLine] = field(default_factory=list)  # steps deleting old backups


_DELETES_OLD = re.compile(
    r"\bfind\b.*-m(time|min)\b.*(-delete\b|-exec\s+rm\b|\|\s*xargs\s+rm\b)|"
    r"\bls\b[^|]*\|\s*(tail|head)\b.*\b(rm|xargs)\b|\brestic\b.*\bforget\b|\bborg\s+prune\b"
)


def run_safety(script: ShellScript) -> RunSafety:
    lines = logical_lines(script)
    errexit = next((ll.start for ll in lines if _ERREXIT.search(ll.text)), None)
    if errexit is None and script.lines and _ERREXIT.search(script.lines[0]):
        errexit = 1
    rs = RunSafety(errexit)
    for i, ll in enumerate(lines):
        if _DELETES_OLD.search(ll.text):
            rs.retention.append(ll)
            continue
        if not _PRODUCER.search(ll.text) or re.match(r"^\s*(echo|printf|log\w*|local|declare)\b", ll.text):
            continue
        rs.producers.append(ll)
        nxt = lines[i + 1].text if i + 1 < len(lines) else ""
        if errexit is None and not _HANDLED.search(ll.text) and not _CHECKED_AFTER.search(nxt):
            rs.unchecked.append(ll)
    return rs


# A dump chained to the next step with `;` inside one command string: its failure is archived.
_CHAINED = re.compile(
    r"(?P<dump>\b(mysqldump|mariadb-dump|mariabackup|xtrabackup|pg_dump|pg_dumpall|pg_basebackup|mongodump|"
    r"redis-cli)\b[^;&|\"']*)\s*;\s*(?P<next>[^;\"']*\b(tar|gzip|zstd|xz|cp|mv|rsync|chown|mariabackup|"
    r"xtrabackup|aws|rclone)\b)"
)


def chained_dumps(script: ShellScript) -> list[tuple[LogicalLine, str]]:
    out = []
    for ll in logical_lines(script):
        m = _CHAINED.search(ll.text)
        if m:
            out.append((ll, m.group("dump").split()[0]))
    return out


# -- restores that wipe live data first ----------------------------------------------------------------

_WIPE = re.compile(
    r"\brm\s+-[a-zA-Z]*[rR][a-zA-Z]*\s+(?:--\s+)?[\"']?(?P<p>/[\w./${}-]+?)(?:/\*)?[\"']?(?=[\s;\"']|$)"
)
_EXTRACT = re.compile(
    r"\btar\b[^;|&]*(\s-?-?[a-zA-Z]*x[a-zA-Z]*f?\b|--extract\b)|\bunzip\b|\b(restic|rustic)\b.*\brestore\b|"
    r"\bborg\s+extract\b|\brsync\b|\b(gunzip|zcat|zstdcat)\b.*\|\s*(mysql|psql)\b|\bmbstream\s+-x|\bxbstream\s+-x|"
    r"\bpg_restore\b|\bcp\s+-[a-zA-Z]*[ar]"
)
_INTEGRITY = re.compile(
    r"\b(gzip|gunzip|zstd|xz|bzip2|pigz)\s+(-[a-zA-Z]*t|--test)\b|\btar\b[^;|&]*\s-?-?[a-zA-Z]*t[a-zA-Z]*f?\b|"
    r"\bsha(1|256|512)sum\s+(-c|--check)\b|\bmd5sum\s+-c\b|\b(restic|borg)\b.*\bcheck\b|\bpg_restore\s+(-l|--list)\b"
)
_SCRATCH = re.compile(r"^/(tmp|var/tmp|run|dev/shm)(/|$)|\$\{?(TMP|TEMP|tmp|WORK|SCRATCH)")


@dataclass
class Wipe:
    wipe: LogicalLine
    path: str
    extract: LogicalLine
    verified: bool = False  # an integrity test ran before the removal: the safe order


def wipes_before_restore(script: ShellScript, *, with_verified: bool = False) -> list[Wipe]:
    """`rm -rf DIR/*` followed by extracting or copying into DIR, with no integrity test before
    (``with_verified``: also the wipes an integrity test precedes, marked ``verified``)."""
    lines = logical_lines(script)
    out = []
    verified = False
    for i, ll in enumerate(lines):
        if _INTEGRITY.search(ll.text):
            verified = True
        for m in _WIPE.finditer(ll.text):
            path = m.group("p").rstrip("/")
            if _SCRATCH.search(path) or (verified and not with_verified) or len(path) < 2:
                continue
            rest = LogicalLine(ll.start, ll.end, ll.text[m.end() :])
            for later in [rest, *lines[i + 1 : i + 6]]:
                em = _EXTRACT.search(later.text)
                # in the same command string (`rm -rf D/* ; tar -x ...`) the extraction is the
                # restore whatever it names; on a later line it must name the wiped directory
                if em and (later is rest or path in later.text[em.start() :]):
                    out.append(Wipe(ll, path, later, verified))
                    break
                if _INTEGRITY.search(later.text):
                    break
    return out


# -- `"${ARR[@]}"` of an array that may be a scalar empty string -------------------------------------


def empty_array_args(script: ShellScript) -> list[tuple[str, int, list[LogicalLine]]]:
    """Variables assigned the empty scalar (`X=`, `X=""`) and only conditionally an array, then
    expanded as `"${X[@]}"`: when the array branch is not taken, that is ONE empty argument."""
    text = script.lines
    out = []
    empties: dict[str, int] = {}
    for n, line in enumerate(text, 1):
        m = re.match(r"^\s*(?:local\s+|declare\s+)?([A-Za-z_]\w*)=(?:\"\"|'')?\s*(?:#.*)?$", line)
        if m:
            empties.setdefault(m.group(1), n)
    lines = logical_lines(script)
    for name, n in empties.items():
        if not any(re.search(rf"\b{name}=\(", ln) for ln in text):
            continue  # never an array: `"${X[@]}"` of a scalar is the same mistake, but rarer
        if any(re.search(rf"\b{name}=\(\s*\)", ln) for ln in text):
            continue
        uses = [ll for ll in lines if f'"${{{name}[@]}}"' in ll.text and ll.start != n]
        if uses:
            out.append((name, n, uses))
    return out


# -- verification that never reads the data ----------------------------------------------------------

_CHECK_CMD = re.compile(r"\b(restic|rustic)\b(?P<rest>[^|;&]*)\bcheck\b(?P<args>[^|;&]*)")


def repository_checks(script: ShellScript) -> list[tuple[LogicalLine, bool]]:
    """`restic check` commands and whether each reads (a subset of) the pack data."""
    out = []
    for ll in logical_lines(script):
        m = _CHECK_CMD.search(ll.text)
        if m and not re.match(r"^\s*(echo|printf)\b", ll.text):
            out.append((ll, bool(re.search(r"--read-data", ll.text))))
    return out


def shallow_checks(script: ShellScript) -> list[LogicalLine]:
    return [ll for ll, reads in repository_checks(script) if not reads]


# -- jobs that run at the same time on one repository -------------------------------------------------

_MAINT = re.compile(r"\b(check|prune|forget|verify|compact|cleanup|gc)\b|_check\b|-check\b", re.I)
_BACKUPISH = re.compile(r"backup|\bdump\b|snapshot", re.I)
_TOOLS = ("restic", "borg", "kopia", "duplicity", "rustic", "bup", "duplicati", "rclone")


@dataclass
class Job:
    schedule: Schedule
    role: str  # backup | maintenance
    family: str  # tool or common name stem
    service: Unit | None = None
    service_art: Artifact | None = None


# The lookbehind starts a match only at a word start: linear on a long run of letters (a 2 MB line).
_FAMILY_RE = re.compile(r"(?<![a-z0-9])([a-z][a-z0-9]+)[-_](backup|check|prune|verify)")


def _family(text: str) -> str | None:
    low = text.lower()
    for t in _TOOLS:
        if t in low:
            return t
    m = _FAMILY_RE.search(low)
    return m.group(1) if m else None


def _times(s: Schedule) -> set[dt.datetime]:
    spec = s.spec
    if s.kind == "timer":
        if "=" in spec:  # OnUnitActiveSec=: relative, no fixed clock time
            return set()
        cron = oncalendar_to_cron(spec)
        if not cron:
            return set()
        spec = cron
    try:
        return set(fire_times(spec, 400))
    except (CronSyntaxError, ValueError):
        return set()


def _randomized(unit: Unit | None) -> bool:
    return bool(unit and unit.get("Timer", "RandomizedDelaySec"))


@dataclass
class Collision:
    backup: Job
    maintenance: Job
    when: dt.datetime
    count: int


def schedule_collisions(model: BackupModel, units: dict[str, tuple[Artifact, Unit]]) -> list[Collision]:
    """A backup job and a check/prune job of the same tool that start at the same minute."""
    jobs: list[Job] = []
    for s in model.schedules:
        text = f"{s.command} {s.artifact.path}"
        fam = _family(text)
        if fam is None:
            continue
        timer = units.get(posixpath.basename(s.artifact.path))
        if s.kind == "timer" and _randomized(timer[1] if timer else None):
            continue
        role = "maintenance" if _MAINT.search(s.command) else "backup" if _BACKUPISH.search(text) else None
        if role:
            jobs.append(Job(s, role, fam))
    out = []
    for b in (j for j in jobs if j.role == "backup"):
        for m in (j for j in jobs if j.role == "maintenance" and j.family == b.family):
            if (b.schedule.kind == "timer") != (m.schedule.kind == "timer"):
                continue  # a cron file and timers are alternative installations, not both at once
            if _locked(b.schedule.command) and _locked(m.schedule.command):
                continue
            common = _times(b.schedule) & _times(m.schedule)
            if common:
                out.append(Collision(b, m, min(common), len(common)))
    return out


def _locked(command: str) -> bool:
    return bool(re.search(r"\bflock\b|\bchpst\s+-l|\bsetlock\b|\blckdo\b|\brun-one\b", command))


# -- units named by backup units that cannot exist ----------------------------------------------------

_REF_KEYS = (
    "Conflicts",
    "OnFailure",
    "OnSuccess",
    "Requires",
    "BindsTo",
    "Wants",
    "After",
    "Before",
    "PartOf",
)


@dataclass
class MissingUnit:
    artifact: Artifact
    unit: Unit
    key: str
    line: int
    name: str
    template: str


def missing_unit_refs(units: dict[str, tuple[Artifact, Unit]]) -> list[MissingUnit]:
    """`X.service` named where the tree defines only the template `X@.service` (whose instances
    are `X@NAME.service`): the plain name can never be loaded, so the dependency does nothing."""
    out = []
    for art, u in units.values():
        for key in _REF_KEYS:
            for d in u.entries("Unit", key):
                for name in d.value.split():
                    if "@" in name or "%" in name or name in units:
                        continue
                    stem, ext = posixpath.splitext(name)
                    tmpl = f"{stem}@{ext}"
                    if tmpl in units:
                        out.append(MissingUnit(art, u, key, d.line, name, tmpl))
    return out


def is_backup_unit(u: Unit) -> bool:
    text = " ".join([u.name, *u.values("Service", "ExecStart"), u.get("Unit", "Description") or ""])
    return bool(_BACKUPISH.search(text) or _family(text) in _TOOLS or re.search(r"\b(restic|borg)\b", text))


# -- Redis SAVE ---------------------------------------------------------------------------------------


def background_saves(script: ShellScript) -> list[LogicalLine]:
    """`redis-cli ... bgsave`: a Redis dump that does not block clients."""
    return [ll for ll in logical_lines(script) if re.search(r"\bredis-cli\b[^;|&]*\sbgsave\b", ll.text, re.I)]


def blocking_saves(script: ShellScript) -> list[LogicalLine]:
    return [
        ll
        for ll in logical_lines(script)
        if re.search(r"\bredis-cli\b[^;|&]*\s(save|SAVE)\b", ll.text)
        and not re.search(r"\bbgsave\b", ll.text, re.I)
    ]


def physical_line(script: ShellScript, ll: LogicalLine, pattern: str) -> int:
    """The physical line of a logical line where ``pattern`` first matches (for evidence)."""
    for n in range(ll.start, ll.end + 1):
        if re.search(pattern, script.lines[n - 1]):
            return n
    return ll.start


# -- wrappers that run a job and lose its exit status -------------------------------------------------


def lost_status_wrappers(script: ShellScript) -> list[int]:
    """Lines where a wrapper runs the command it was given (`"$@"`, or `eval` of a variable holding
    `$*`/`$@`) inside `x=$(...)` and never looks at `$?` afterwards (no `set -e` either): the
    wrapper exits with the status of whatever it does next, usually 0."""
    return [n for n, lost in status_wrappers(script) if lost]


def status_wrappers(script: ShellScript) -> list[tuple[int, bool]]:
    """(line, status lost) of every place a wrapper runs the command it was given inside `x=$(...)`;
    the status is kept under `set -e`, when `$?`/PIPESTATUS is read later, or with `||`/`&&`."""
    errexit = run_safety(script).errexit is not None
    argvars = {
        name
        for name, value, _ in script.assignments
        if re.fullmatch(r"[\"']?\$(\*|@|\{\*\}|\{@\})[\"']?", value.strip())
    }
    names = "|".join(re.escape(n) for n in sorted(argvars))
    run_args = r"\$\(\s*(?:\"\$@\"|\$@|eval\s+\"?\$(?:\*|@)"
    if names:
        run_args += rf"|eval\s+\"?\$\{{?(?:{names})\b"
    rx = re.compile(run_args + ")")
    out = []
    for i, line in enumerate(script.lines):
        if line.lstrip().startswith("#") or "=$(" not in line or not rx.search(line):
            continue
        after = script.lines[i:]
        kept = errexit or any(re.search(r"\$\?|\bPIPESTATUS\b", ln) for ln in after) or bool(
            re.search(r"\|\||&&", line)
        )
        out.append((i + 1, not kept))
    return out
