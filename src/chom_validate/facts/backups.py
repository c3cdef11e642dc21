"""The backup model: what the scripts really back up, how often, for how long, and how safely.

Built once per scan (``backup_model(ctx)`` memoises it with ``ctx.derived``) from shell artifacts
(``ShellScript.commands`` with variables from ``assignments`` expanded) and from every schedule the
target holds: cron files, cron lines scripts install, and systemd timers with the service they start.
Checks compare this model with the documents (DR plan, runbooks) and the Prometheus rules.

Round-trip facts (below the model): what a backup run does when a step fails, what a restore does
to live data, which jobs touch the same repository at the same time, which units they name. Built from the parsed shell scripts (logical lines: backslash continuations joined, comments and
heredoc bodies left out, so a `docker run ... sh -c "a ; b"` is one piece of text), the systemd
units and the schedules of the backup model. No I/O; the checks in checks/backup.py report them.
"""

from __future__ import annotations

import datetime as dt
import posixpath
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..artifacts.base import Artifact, ArtifactParseError
from ..artifacts.cron import (
    CronFile,
    CronSyntaxError,
    cron_lines_in_script,
    fire_times,
    oncalendar_to_cron,
    parse_cron_text,
    schedule_interval,
    timer_schedules,
)
from ..artifacts.shell import Command, ShellScript, expand_vars
from ..artifacts.systemd import Unit
from ..artifacts.templating import untemplated
from ..artifacts.yamlfile import LineDict, load_yaml
from ..findings import sha256_hex
from .wiring import continued_lines

if TYPE_CHECKING:
    from ..api import Context

# component -> patterns over a command's expanded text
COMPONENT_PATTERNS: dict[str, list[str]] = {
    "mysql": [r"\b(mysqldump|mariadb-dump|mysqlpump|mariabackup|xtrabackup|mydumper)\b"],
    "postgresql": [r"\b(pg_dump|pg_dumpall|pg_basebackup)\b"],
    "app_storage": [r"\b(tar|rsync|cp|restic|borg|zip)\b.*(/storage\b|\sstorage(/|\b)|/uploads\b|/var/www/)"],
    "redis": [r"\bredis-cli\b.*\b(--rdb|bgsave|save)\b", r"dump\.rdb|/var/lib/redis\b|appendonly\.aof"],
    "grafana": [r"/var/lib/grafana\b|grafana\.db\b"],
    "prometheus": [r"/var/lib/prometheus\b|api/v1/admin/tsdb/snapshot"],
    "loki": [r"/var/lib/loki\b"],
    "configs": [r"\b(tar|rsync|cp|restic|borg)\b.*\s/etc/"],
}
_DUMP_TOOLS = re.compile(
    r"^(mysqldump|mariadb-dump|mysqlpump|mariabackup|xtrabackup|mydumper|pg_dump|pg_dumpall|restic|borg)$"
)
_VERIFY = re.compile(
    r"\b(gzip|gunzip|zstd|xz|bzip2)\s+(-[a-zA-Z]*t|--test)\b|\btar\s+-?[a-zA-Z]*t[a-zA-Z]*f?\b|"
    r"\bsha(256|512)sum\s+(-c|--check)\b|\bmd5sum\s+-c\b|\b(restic|borg)\b.*\bcheck\b|"
    r"\bgrep\b.*(Dump completed|CREATE TABLE)|\bmysqlcheck\b"
)
_ENCRYPT = re.compile(
    r"\bgpg2?\b.*(--encrypt|-e\b|--symmetric|-c\b|-r\b|--recipient)|\bopenssl\s+(enc|smime|cms)\b|"
    r"\bage\b\s+(-r|-R|-p|--recipient|--passphrase)|\brestic\b|\bborg\s+(create|init)\b"
)
_OFFSITE = re.compile(
    r"\brsync\b.*\s[\"']?[\w.@$\{\}-]+:\S*|\brclone\s+(copy|sync|move|copyto)\b|\baws\s+s3\s+(cp|sync|mv)\b|"
    r"\bs3cmd\s+(put|sync)\b|\bscp\b.*\s[\"']?[\w.@$\{\}-]+:\S*|\brestic\b.*\bbackup\b|\bborg\s+create\b.*::|"
    r"\bmc\s+(cp|mirror)\b|\bgsutil\s+(cp|rsync)\b"
)
_METRIC = re.compile(r"\b([a-z][a-z0-9_]*backup[a-z0-9_]*)\b(?=[{ ])")


@dataclass
class Retention:
    kind: str  # "age" (find -mtime), "count" (ls | tail -n +N), "tiers" (restic/borg --keep-*), "policy" (unknown values)
    line: int
    text: str
    days: int | None = None
    count: int | None = None
    tiers: dict[str, int] = field(default_factory=dict)  # daily/weekly/monthly/yearly -> number kept

    def describe(self) -> str:
        if self.kind == "age":
            if self.days is None:
                return "an age set at run time (age-based pruning, value unknown)"
            return f"{self.days} days (age-based pruning)"
        if self.kind == "count":
            return f"last {self.count} backups (count-based pruning)"
        if self.kind == "policy":
            return "a --keep-* policy whose values are set at run time"
        return " / ".join(f"{n} {t}" for t, n in self.tiers.items())


@dataclass
class Step:
    """A verification, encryption or off-site command and whether its failure fails the backup."""

    line: int
    text: str
    fails_backup: bool
    why: str


@dataclass
class BackupScript:
    artifact: Artifact
    components: dict[str, int] = field(default_factory=dict)  # component -> first line
    retention: list[Retention] = field(default_factory=list)
    verification: list[Step] = field(default_factory=list)
    encryption: list[Step] = field(default_factory=list)
    offsite: list[Step] = field(default_factory=list)
    metrics: dict[str, int] = field(default_factory=dict)  # metric name -> line
    errexit: int | None = None  # line of `set -e` / `set -o errexit`
    aliases: set[str] = field(default_factory=set)  # names it is installed under

    @property
    def name(self) -> str:
        return posixpath.basename(self.artifact.path)


@dataclass
class Schedule:
    artifact: Artifact
    line: int  # artifact-local
    spec: str
    command: str
    interval: int | None
    kind: str  # cron | script-cron | timer | crontab | ansible-cron

    @property
    def label(self) -> str:
        return f"{self.artifact.label}:{self.line + self.artifact.line_offset}"


@dataclass
class BackupModel:
    scripts: list[BackupScript] = field(default_factory=list)
    restore_tests: list[Artifact] = field(default_factory=list)
    schedules: list[Schedule] = field(default_factory=list)

    def schedules_for(self, script: BackupScript) -> list[Schedule]:
        names = {script.name, *script.aliases}
        stems = {posixpath.splitext(n)[0] for n in names}
        out = []
        for s in self.schedules:
            words = {posixpath.basename(w.strip("'\";")) for w in s.command.split()}
            if names & words or stems & words:
                out.append(s)
        return out

    def covering(self, component: str, host: str | None = None) -> list[tuple[BackupScript, int]]:
        return [
            (b, b.components[component])
            for b in self.scripts
            if component in b.components and (host is None or b.artifact.host in (None, host))
        ]


# -- building -------------------------------------------------------------------------------------------


def _variables(script: ShellScript) -> dict[str, str]:
    env: dict[str, str] = {}
    for name, value, _ in script.assignments:
        v = value.strip()
        m = re.match(r"^\"?\$\{[A-Za-z_][A-Za-z0-9_]*:?[-=](?P<d>[^}]*)\}\"?$", v)
        if m:
            v = m.group("d")
        v = v.strip("'\"")
        env.setdefault(name, expand_vars(v, env))
    return env


def _errexit(script: ShellScript) -> int | None:
    for c in script.commands_named("set"):
        opts = " ".join(c.words[1:])
        if re.search(r"(^|\s)-[a-zA-Z]*e", opts) or "errexit" in opts:
            return c.line
    return None


def _raw(script: ShellScript, cmd: Command) -> str:
    return " ".join(script.lines[cmd.line - 1 : cmd.end_line])


def _fails_backup(script: ShellScript, cmd: Command, errexit: int | None) -> tuple[bool, str]:
    raw = _raw(script, cmd)
    if re.search(r"\|\|\s*(true|:)\b", raw) or re.search(r"\|\|\s*(echo|log|warn)\w*\b[^;{]*$", raw):
        return False, "its failure is swallowed (`|| true` / only logged)"
    if re.search(r"\|\|\s*(\{[^}]*\b(exit|return)\b|exit\b|die\b|fail\w*\b|abort\b|error\w*\b)", raw):
        return True, "`|| exit`-style handling"
    if re.match(r"^\s*(if|elif|until|while)\s+!", raw):
        return True, "tested with `if !`"
    if re.match(r"^\s*(if|elif)\s", raw):
        return True, "tested with `if`"
    if errexit is not None:
        return True, f"`set -e` (line {errexit})"
    return False, "no `set -e` and no `|| exit`: a failure is ignored"


def _retention(cmd: Command, text: str) -> Retention | None:
    words = text.split()
    if words and words[0] == "find" and ("-delete" in words or "rm" in words):
        m = re.search(r"-mtime\s+\+?[\"']?(\d+)", text)
        if m:
            return Retention("age", cmd.line, cmd.text, days=int(m.group(1)))
        m = re.search(r"-mmin\s+\+?[\"']?(\d+)", text)
        if m:
            return Retention("age", cmd.line, cmd.text, days=max(1, int(m.group(1)) // 1440))
        if re.search(r"-m(time|min)\s+\S", text):  # `-mtime +"$DAYS"` / `{{ days }}`: prunes, age unknown
            return Retention("age", cmd.line, cmd.text, days=None)
    m = re.search(r"\bls\b[^|]*\|\s*tail\s+-n\s*\+(\d+).*\b(rm|xargs)\b", text)
    if m:
        return Retention("count", cmd.line, cmd.text, count=int(m.group(1)) - 1)
    m = re.search(r"\bls\b[^|]*\|\s*head\s+-n\s*-(\d+).*\b(rm|xargs)\b", text)
    if m:
        return Retention("count", cmd.line, cmd.text, count=int(m.group(1)))
    if re.search(r"\b(restic\b.*\bforget|borg\s+prune)\b", text):
        tiers = {
            t: int(n) for t, n in re.findall(r"--keep-(hourly|daily|weekly|monthly|yearly)[= ](\d+)", text)
        }
        m = re.search(r"--keep-last[= ](\d+)", text)
        if tiers:
            return Retention("tiers", cmd.line, cmd.text, tiers=tiers)
        if m:
            return Retention("count", cmd.line, cmd.text, count=int(m.group(1)))
        if re.search(r"--keep-(last|hourly|daily|weekly|monthly|yearly|within)", text):
            return Retention("policy", cmd.line, cmd.text)  # `--keep-daily "$DAYS"`: set at run time
    return None


_WRAPPED_TOOL = re.compile(
    r"\b(mysqldump|mariadb-dump|mariabackup|xtrabackup|pg_dump|pg_dumpall|pg_basebackup|tar|rsync)\b"
)


def _writes_backup(words: list[str]) -> bool:
    """A dump tool, or restic/borg/kopia with the subcommand that writes a backup (not check/prune)."""
    tool = posixpath.basename(words[0])
    if tool in ("restic", "borg", "kopia", "rustic"):
        return any(w in ("backup", "create", "snapshot") for w in words[1:])
    return bool(_DUMP_TOOLS.match(tool))


def is_backup_script(art: Artifact, script: ShellScript) -> bool:
    """A script that writes backups: it runs a dump/backup tool, or is named *backup* and archives
    (also through `docker run/exec ... tar`). A restore-only script is not; one that does both
    (`backup_and_restore.sh`) is."""
    name = posixpath.basename(art.path).lower()
    if "restore" in name and "backup" not in name:
        return False
    tools = any(c.words and _writes_backup(c.words) for c in script.commands)
    if tools:
        return True
    if "backup" not in name:
        return False
    return any(
        (c.words and c.words[0] in ("tar", "rsync"))
        or (c.words and c.words[0] in ("docker", "podman") and _WRAPPED_TOOL.search(c.text))
        for c in script.commands
    )


def is_restore_test(art: Artifact) -> bool:
    name = posixpath.basename(art.path).lower()
    return bool(
        re.search(r"restore.*(test|verify|drill|check)|(test|verify|drill).*restore|dr[-_]drill", name)
    )


def analyse_script(art: Artifact, script: ShellScript) -> BackupScript:
    b = BackupScript(artifact=art)
    env = _variables(script)
    b.errexit = _errexit(script)
    for cmd in script.commands:
        text = expand_vars(cmd.text, env)
        for comp, pats in COMPONENT_PATTERNS.items():
            if comp not in b.components and any(re.search(p, text, re.I) for p in pats):
                b.components[comp] = cmd.line
        ret = _retention(cmd, text)
        if ret:
            b.retention.append(ret)
        for regex, bucket in ((_VERIFY, b.verification), (_ENCRYPT, b.encryption), (_OFFSITE, b.offsite)):
            if regex.search(text) and not (bucket is b.offsite and re.search(r"\bforget\b|\bprune\b", text)):
                ok, why = _fails_backup(script, cmd, b.errexit)
                bucket.append(Step(cmd.line, cmd.text, ok, why))
    for n, line in enumerate(script.lines, 1):
        if n in script.heredoc_lines and not re.search(r"backup", line):
            continue
        for m in _METRIC.finditer(line):
            if not line.lstrip().startswith("#") or "# TYPE" in line or "# HELP" in line:
                b.metrics.setdefault(m.group(1), n)
    return b


_ANSIBLE_CRON_MODULES = ("cron", "ansible.builtin.cron", "ansible.legacy.cron")
_CRON_FIELDS = ("minute", "hour", "day", "month", "weekday")


def _ansible_cron(ctx: Context) -> list[Schedule]:
    """`ansible.builtin.cron` tasks (`job:` + minute/hour/... or `special_time:`) in playbooks and roles."""
    out: list[Schedule] = []
    for art in ctx.artifacts("yaml"):
        if "cron" not in art.text or "job" not in art.text:
            continue
        try:
            data = load_yaml(art.text)
        except ArtifactParseError:
            continue
        stack: list[Any] = [data]
        while stack:
            node = stack.pop()
            if isinstance(node, list):
                stack.extend(node)
            elif isinstance(node, dict):
                for mod in _ANSIBLE_CRON_MODULES:
                    task = node.get(mod)
                    if (
                        isinstance(task, dict)
                        and task.get("job")
                        and task.get("state", "present") != "absent"
                    ):
                        special = task.get("special_time")
                        spec = (
                            f"@{special}"
                            if special
                            else " ".join(str(task.get(f, "*")) for f in _CRON_FIELDS)
                        )
                        line = node.line_of(mod) if isinstance(node, LineDict) else 1
                        interval = None if "{" in spec else schedule_interval(spec)
                        out.append(Schedule(art, line, spec, str(task["job"]), interval, "ansible-cron"))
                stack.extend(v for v in node.values() if isinstance(v, (list, dict)))
    return out


def _aliases(scripts: list[BackupScript], shells: list[tuple[Artifact, ShellScript]]) -> None:
    by_name = {b.name: b for b in scripts}
    for b in scripts:  # a template (`backup.sh.j2`) is scheduled under the name it renders to
        plain = untemplated(b.name)
        if plain != b.name:
            b.aliases.add(plain)
    for _, sh in shells:
        for c in sh.commands_named("install", "cp", "ln", "mv"):
            args = [w for w in c.words[1:] if not w.startswith("-")]
            if len(args) < 2:
                continue
            src, dest = posixpath.basename(args[-2]), args[-1]
            if src in by_name and not dest.endswith("/"):
                by_name[src].aliases.add(posixpath.basename(dest))


def build_backup_model(ctx: Context) -> BackupModel:
    model = BackupModel()
    shells: list[tuple[Artifact, ShellScript]] = [
        (a, s) for a, s in ctx.parsed("shell") if isinstance(s, ShellScript) and not a.embedded
    ]
    for art, sh in shells:
        if is_restore_test(art):
            model.restore_tests.append(art)
        elif is_backup_script(art, sh):
            model.scripts.append(analyse_script(art, sh))
        for e in cron_lines_in_script(sh.lines, sh.heredoc_lines):
            model.schedules.append(
                Schedule(art, e.line, e.schedule, e.command, schedule_interval(e.schedule), "script-cron")
            )
    _aliases(model.scripts, shells)
    for art, cf in ctx.parsed("cron"):
        if isinstance(cf, CronFile):
            for e in cf.entries:
                model.schedules.append(Schedule(art, e.line, e.schedule, e.command, e.interval, "cron"))
    model.schedules += _live_crontab(ctx)
    model.schedules += _ansible_cron(ctx)
    units: dict[str, tuple[Artifact, Unit]] = {}
    for art, u in ctx.parsed("systemd_unit"):
        if isinstance(u, Unit):
            units[u.name] = (art, u)
    for art, u in units.values():
        if u.type != "timer":
            continue
        for ts in timer_schedules(u):
            svc = units.get(ts.service)
            command = " ".join(svc[1].values("Service", "ExecStart")) if svc else ts.service
            model.schedules.append(Schedule(art, ts.line, ts.spec, command, ts.interval, "timer"))
    return model


CRONTAB_CMD = ["crontab", "-l"]


def _live_crontab(ctx: Context) -> list[Schedule]:
    """The login user's crontab on a host (`crontab -l`, live or replayed from a snapshot of one), as
    a pseudo-artifact for evidence."""
    if "commands" not in ctx.capabilities:
        return []
    try:
        res = ctx.command(CRONTAB_CMD)
    except Exception:  # not collected / refused: the files still tell the story
        return []
    if res.returncode != 0 or res.missing or not res.stdout.strip():
        return []
    art = Artifact(
        path="$ crontab -l",
        kind="cron",
        text=res.stdout,
        digest=sha256_hex(res.stdout.encode()),
        host=ctx.name,
    )
    cf = parse_cron_text(res.stdout, system=False)
    return [Schedule(art, e.line, e.schedule, e.command, e.interval, "crontab") for e in cf.entries]


def backup_model(ctx: Context) -> BackupModel:
    model: Any = ctx.derived("backup-model", lambda: build_backup_model(ctx))
    return model  # type: ignore[no-any-return]


# -- round-trip facts ------------------------------------------------------------------------------


@dataclass
class LogicalLine:
    start: int
    end: int
    text: str


def logical_lines(script: ShellScript) -> list[LogicalLine]:
    """Lines with `\\` continuations joined; comments, blank lines and heredoc bodies dropped."""
    return [
        LogicalLine(start, end, text.strip())
        for start, end, text in continued_lines(script.lines, script.heredoc_lines)
        if text.strip() and not text.lstrip().startswith("#")
    ]


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
