"""The backup model: what the scripts really back up, how often, for how long, and how safely.

Built once per scan (``backup_model(ctx)`` memoises it with ``ctx.derived``) from shell artifacts
(``ShellScript.commands`` with variables from ``assignments`` expanded) and from every schedule the
target holds: cron files, cron lines scripts install, and systemd timers with the service they start.
Checks compare this model with the documents (DR plan, runbooks) and the Prometheus rules.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..findings import sha256_hex
from .base import Artifact, ArtifactParseError
from .cron import CronFile, cron_lines_in_script, parse_cron_text, schedule_interval, timer_schedules
from .shell import Command, ShellScript
from .systemd import Unit
from .templating import untemplated
from .yamlfile import LineDict, load_yaml

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
        env.setdefault(name, expand(v, env))
    return env


def expand(text: str, env: dict[str, str]) -> str:
    def sub(m: re.Match[str]) -> str:
        name = m.group(1) or m.group(2)
        return env.get(name, m.group(0))

    return re.sub(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?[-=][^}]*)?\}|\$([A-Za-z_][A-Za-z0-9_]*)", sub, text)


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
        text = expand(cmd.text, env)
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
