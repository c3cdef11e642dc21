"""Hosts and roles: what each deployment script installs, grouped by the role it gives its host.

A role comes from ``chom-validate.yaml`` (a host's ``roles``, its scripts picked by the host's path
globs) when the config names hosts; otherwise from what each entry script installs (Prometheus,
Alertmanager, Grafana or Loki: ``observability``; nginx, php-fpm: ``app``; MySQL, PostgreSQL,
Redis: ``database``; WireGuard or OpenVPN: ``vpn``...). Per role: services and units (generated
ones with the heredoc or template line that makes them), listeners (port, bind address, line),
users created, files written with their modes, one firewall rule set per script (never "the script
with the most rules"), schedules (cron files, cron lines scripts write, timers), backups (what is
archived where under which name pattern; what restore looks for) and secret-bearing files with
their modes.

On a live host or a snapshot the same types are filled from collected command output: loaded
units (``systemctl show``), listening sockets (``ss -ltnp``), the active firewall (ufw, nft,
iptables-save), crontab lines, and file modes from the collected tree; every fact then says
``host: command``. No I/O: command output comes through ``ctx.run`` (collected up front).

API: ``deployment_model(ctx) -> DeploymentModel`` (memoised); ``parse_ss(text) -> [Listener]``.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..artifacts import Artifact
from ..artifacts.firewall import parse_iptables_save, parse_nft_ruleset, parse_ufw_script, parse_ufw_status
from .firewall import script_firewall
from .monitoring import compose_services
from .shell_program import ShellProgram, shell_programs
from .templates import Rendering, render_templates
from .writes import FileWrite, program_writes

if TYPE_CHECKING:
    from ..engine import ScanContext

# What an installed package, unit or written path says about the role of the host that runs it
# (first match is the role's name; a script matching several has them all).
ROLE_HINTS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(rx), role)
    for rx, role in (
        (r"\b(prometheus|alertmanager|grafana|loki|promtail)\b", "observability"),
        (r"\b(nginx|apache2|httpd|caddy|php\d*(\.\d+)?-fpm|php-fpm|gunicorn|uwsgi)\b", "app"),
        (r"\b(mysql|mariadb|postgresql|postgres|redis|memcached|mongodb)(-server)?\b", "database"),
        (r"\b(wireguard|wg-quick|openvpn|strongswan)\b", "vpn"),
        (r"\b(restic|borg|borgbackup|duplicity|rclone)\b", "backup"),
        (r"\b(docker|containerd|rke2|k3s|kubelet|podman)\b", "container-host"),
        (r"\b(postfix|dovecot|exim4?|mailpit)\b", "mail"),
        (r"\bnode[-_]exporter\b", "monitored"),
    )
)
_PKG_MANAGERS = ("apt-get", "apt", "dnf", "yum", "zypper", "apk", "pacman")
_FW_TOOLS = ("iptables", "ip6tables", "nft", "firewall-cmd", "ufw")
_FIELD = r"[\d*/,\-]+|\$\w+|\$\(\([^)]*\)\)"
_CRON_LINE = re.compile(
    rf"^\s*(@\w+|(?:{_FIELD})\s+(?:{_FIELD})\s+(?:{_FIELD})\s+(?:{_FIELD}|[a-zA-Z,]+)\s+(?:{_FIELD}|[a-zA-Z,\-]+))\s+(\S.*)$"
)
# listen settings in configs: nginx, WireGuard, OpenVPN, MySQL, PostgreSQL, Redis, sshd, exporters
_LISTEN_CONF = re.compile(
    r"^\s*(?P<key>listen|Listen|ListenPort|port|bind-address|bind|listen_addresses|ListenAddress|"
    r"http_listen_port|grpc_listen_port|http_port)\s*[=:\s]\s*(?P<val>[^;#\s][^;#]*?)\s*;?\s*$"
)
_LISTEN_FLAG = re.compile(
    r"--?(?:web\.listen-address|listen-address|listen|bind|port|http\.addr|http-port|web\.port)[= ]"
    r"(?P<val>\[?[\w.:*-]*\]?:?\d{2,5})\b"
)
_SECRET_PATH = re.compile(
    r"(?i)(\.env$|\.pem$|\.key$|(^|/)(id_rsa|id_ed25519)|secret|passw|credential|token|\.htpasswd$|"
    r"(^|/)wg\d*\.conf$|\.my\.cnf$|private)"
)
_SECRET_CONTENT = re.compile(r"(?im)^[ \t]*(PrivateKey|password|passwd|secret|api[_-]?key|token)[ \t]*[=:]")
_ARCHIVERS = (
    "tar",
    "mysqldump",
    "mariadb-dump",
    "pg_dump",
    "pg_dumpall",
    "restic",
    "borg",
    "rsync",
    "zip",
    "gzip",
)


@dataclass
class Fact:
    at: str  # `script:line`, or `host: command`


@dataclass
class Service(Fact):
    name: str
    unit_path: str | None = None  # where the unit is installed
    generated: str | None = None  # 'heredoc', 'template', 'file', 'loaded'
    state: str | None = None  # live: ActiveState/SubState


@dataclass
class Listener(Fact):
    """A port something listens on: from a config or unit (``artifact``/``line``) or from ``ss``."""

    port: int | None  # None: set from a value the scripts do not fix (``setting`` says which)
    address: str | None = None  # None: every address (or not stated)
    what: str = "?"  # unit, site, config file or process name
    artifact: Artifact | None = field(default=None, repr=False)
    line: int | None = None  # artifact-local line
    raw: str = ""  # the ss line (live)
    setting: str = ""  # the config line or flag as written

    @property
    def process(self) -> str:
        return self.what

    @property
    def loopback(self) -> bool:
        a = (self.address or "").strip("[]")
        return a.startswith("127.") or a in ("::1", "localhost")


@dataclass
class User(Fact):
    name: str
    system: bool = False


@dataclass
class File(Fact):
    path: str
    mode: str | None
    mode_assumed: bool = True
    owner: str | None = None
    op: str = ""
    mode_at: str | None = None
    content_known: bool = False


@dataclass
class FirewallRule(Fact):
    tool: str
    rule: str


@dataclass
class Schedule(Fact):
    kind: str  # cron | script-cron | timer | crontab
    spec: str
    command: str = ""


@dataclass
class Backup(Fact):
    tool: str
    what: str
    where: str | None  # output path or repository
    name_pattern: str | None = None
    restore: bool = False  # True: what a restore/rollback looks for


@dataclass
class Role:
    name: str
    hosts: list[str] = field(default_factory=list)
    scripts: list[str] = field(default_factory=list)
    packages: list[str] = field(default_factory=list)
    services: list[Service] = field(default_factory=list)
    listeners: list[Listener] = field(default_factory=list)
    users: list[User] = field(default_factory=list)
    files: list[File] = field(default_factory=list)
    firewall: dict[str, list[FirewallRule]] = field(default_factory=dict)  # rule set per script/source
    schedules: list[Schedule] = field(default_factory=list)
    backups: list[Backup] = field(default_factory=list)
    secrets: list[File] = field(default_factory=list)


@dataclass
class DeploymentModel:
    source: str  # 'tree' | 'host' | 'snapshot'
    name: str
    roles: list[Role] = field(default_factory=list)
    renderings: list[Rendering] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def role(self, name: str) -> Role | None:
        return next((r for r in self.roles if r.name == name), None)


# -- helpers -----------------------------------------------------------------------------------------


def where(art: Artifact, line: int | None) -> str:
    """`path:line` of an artifact-local line (heredoc and template lines mapped into their file)."""
    if line is None:
        line = 0 if art.embedded else 1
    return f"{art.path}:{line + art.line_offset}"


def _packages(prog: ShellProgram) -> list[str]:
    out = []
    for _, c in prog.effective_commands():
        if c.name in _PKG_MANAGERS and any(w in ("install", "add", "-S", "-Syu") for w in c.argv[1:3]):
            out += [w for w in c.argv[2:] if not w.startswith(("-", "$")) and w != "install"]
    return sorted(set(out))


def roles_of(words: list[str]) -> list[str]:
    hay = " ".join(words)
    return [role for rx, role in ROLE_HINTS if rx.search(hay)]


def _listeners_in(art: Artifact, what: str) -> list[Listener]:
    out = []
    for i, ln in enumerate(art.lines, 1):
        s = ln.strip()
        if not s or s.startswith(("#", ";", "//")):
            continue
        vals: list[str] = []
        m = _LISTEN_CONF.match(ln)
        if m:
            vals = [m.group("val").split()[0]]
        elif "Exec" in ln or "--" in ln:
            vals = [f.group("val") for f in _LISTEN_FLAG.finditer(ln)]
        for v in vals:
            v = v.strip("\"'")
            addr, _, port = v.rpartition(":")
            if not port.isdigit() and v.isdigit():
                addr, port = "", v
            if port.isdigit():
                p: int | None = int(port)
                if not 0 < int(port) < 65536:
                    continue
            elif re.fullmatch(r"\$\{?\w+\}?", port or v):
                p, addr = None, addr if port else ""
            else:
                continue
            out.append(Listener(where(art, i), p, addr.strip("[]") or None, what, art, i, setting=s[:120]))
    return out


_BACKUP_WORDS = re.compile(r"(?i)backup|restore|rollback|snapshot|dump|archive")


def _in_container(argv: list[str]) -> tuple[list[str], list[tuple[str, str]]]:
    """`docker run -v HOST:/backup image /bin/tar ...` -> (the inner argv, [(container, host) mounts])."""
    if len(argv) < 3 or argv[0] not in ("docker", "podman") or argv[1] not in ("run", "exec"):
        return argv, []
    mounts = []
    for i, w in enumerate(argv[:-1]):
        if w in ("-v", "--volume") and ":" in argv[i + 1]:
            host, _, rest = argv[i + 1].partition(":")
            mounts.append((rest.split(":", 1)[0], host))
    idx = next((i for i, w in enumerate(argv) if posixpath.basename(w) in _ARCHIVERS), None)
    return (argv[idx:], mounts) if idx is not None else (argv, [])


def _tar_file(argv: list[str]) -> tuple[str | None, bool]:
    """(archive path, extracting) of a tar argv: `-czf X`, `-Pcvpf X`, `-f X`, `--file=X`."""
    extract = False
    for i, w in enumerate(argv[1:], 1):
        if w.startswith("--file="):
            return w.split("=", 1)[1], extract
        if re.fullmatch(r"-?[A-Za-z]+", w) and not w.startswith("--"):
            letters = w.lstrip("-")
            extract = extract or "x" in letters
            if letters.endswith("f") and i + 1 < len(argv):
                return argv[i + 1], extract
    return None, extract


def _backups(prog: ShellProgram) -> list[Backup]:
    out = []
    backupish = bool(_BACKUP_WORDS.search(prog.entry.path))
    for art, c in _commands(prog):
        argv, mounts = _in_container(c.argv)
        name = posixpath.basename(argv[0]) if argv else ""
        if name in ("tar", "rsync", "zip", "gzip") and not (
            backupish or _BACKUP_WORDS.search(c.function or "") or _BACKUP_WORDS.search(c.logical or "")
        ):
            continue  # unpacking a download is not a backup
        if name not in _ARCHIVERS and name not in ("mysql", "psql"):
            continue
        text = c.logical or c.text
        at = where(art, c.line)
        restore = bool(re.search(r"\b(restore|rollback)\b", c.function or ""))
        dest = None
        if name == "tar":
            dest, extract = _tar_file(argv)
            restore = restore or extract
        elif name in ("restic", "borg"):
            sub = next((w for w in argv[1:] if not w.startswith("-")), "")
            if sub in ("restore", "extract", "mount"):
                restore = True
            elif sub not in ("backup", "create"):
                continue
            repo = next((w.split("=", 1)[1] for w in argv if w.startswith(("--repo=", "-r="))), None)
            dest = repo or ("$RESTIC_REPOSITORY" if name == "restic" else None)
        elif name == "rsync":
            dest = argv[-1] if len(argv) > 2 else None
        elif name in ("mysqldump", "mariadb-dump", "pg_dump", "pg_dumpall", "zip", "gzip"):
            dest = next((t for op, t in c.redirects if op in (">", ">>")), None)
        elif name in ("mysql", "psql") and any(op == "<" for op, _ in c.redirects):
            dest = next(t for op, t in c.redirects if op == "<")
            restore = True
        else:
            continue
        for inside, host in mounts:  # the archive path on the host, through the container's mount
            if dest and (dest == inside or dest.startswith(inside.rstrip("/") + "/")):
                dest = host.rstrip("/") + dest[len(inside.rstrip("/")) :]
                break
        resolved = prog.value(dest) if dest else None
        pattern = None
        if dest and resolved is None:
            pattern = re.sub(r"\$\([^)]*\)|\$\{[^}]*\}|\$\w+", "*", dest)
        what = " ".join(w for w in argv[1:] if not w.startswith("-"))[:80] or text[:80]
        out.append(Backup(at, name, what, resolved or dest, pattern, restore))
    return out


def _commands(prog: ShellProgram) -> list[tuple[Artifact, Any]]:
    """Every command as it runs, once: wrapped commands the parser already saw are not repeated."""
    seen: set[tuple[int, int, str]] = set()
    out = []
    for art, c in prog.effective_commands():
        key = (id(art), c.line, c.name)
        if key not in seen:
            seen.add(key)
            out.append((art, c))
    return out


def _users(prog: ShellProgram) -> list[User]:
    out = []
    for art, c in _commands(prog):
        if c.name not in ("useradd", "adduser", "groupadd", "addgroup"):
            continue
        names = [w for w in c.argv[1:] if not w.startswith("-")]
        opts_with_arg = (
            "-d",
            "-s",
            "-g",
            "-G",
            "-c",
            "-u",
            "-m",
            "--home",
            "--shell",
            "--gid",
            "--uid",
            "--gecos",
            "--ingroup",
        )
        args = [
            w
            for i, w in enumerate(c.argv[1:], 1)
            if not w.startswith("-") and c.argv[i - 1] not in opts_with_arg
        ]
        name = args[-1] if args else (names[-1] if names else None)
        if name and c.name.startswith(("user", "add")) and c.name != "addgroup":
            system = any(w in ("-r", "--system") for w in c.argv)
            out.append(User(where(art, c.line), prog.value(name) or name, system))
    return out


def _firewall(prog: ShellProgram) -> list[FirewallRule]:
    out: list[FirewallRule] = []
    seen: set[tuple[str, int]] = set()
    for art, script in prog.units:
        ufw = parse_ufw_script(script)
        for r in ufw.rules if ufw else []:
            key = (art.path, r.line or 0)
            if key not in seen:
                seen.add(key)
                out.append(FirewallRule(where(art, r.line), "ufw", r.text.strip()[:200]))
        if ufw and ufw.default_incoming:
            out.append(
                FirewallRule(where(art, ufw.default_line), "ufw", f"default {ufw.default_incoming} incoming")
            )
        fw = script_firewall(script)
        for nr in fw.rules:
            key = (art.path, nr.line)
            if key in seen:
                continue
            seen.add(key)
            into = "" if nr.origin == "command" else f" (written into {nr.origin})"
            out.append(FirewallRule(where(art, nr.line), "iptables", nr.text.strip()[:200] + into))
        for t in fw.nft_tables:
            for ch in t.chains:
                line = getattr(ch, "line", None)
                pol = getattr(ch, "policy", None)
                out.append(
                    FirewallRule(
                        where(art, line), "nft", f"table {t.family} {t.name} chain {ch.name} policy {pol}"
                    )
                )
        for op in fw.firewall_cmd:
            if not re.search(r"--(add|remove|set|new)-", op.text):
                continue  # queries (`--get-rules`, `--list-all`) change nothing
            out.append(FirewallRule(where(art, op.line), "firewall-cmd", op.text.strip()[:200]))
    # rules run through wrapper functions (`run "ufw allow 22"`)
    for art, c in prog.wrapped_commands():
        if c.name in _FW_TOOLS and (art.path, c.line) not in seen:
            seen.add((art.path, c.line))
            out.append(FirewallRule(where(art, c.line), c.name, c.text.strip()[:200]))
    return sorted(out, key=lambda r: _at_key(r.at))


def _at_key(at: str) -> tuple[str, int]:
    path, _, line = at.rpartition(":")
    return path, int(line) if line.isdigit() else 0


def _is_secret_file(path: str, content: str | None) -> bool:
    return bool(_SECRET_PATH.search(path)) or bool(content and _SECRET_CONTENT.search(content))


def _file(w: FileWrite) -> File:
    mode_at = f"{w.artifact.path}:{w.mode_line + w.artifact.line_offset}" if w.mode_line is not None else None
    return File(w.where, w.path, w.mode, w.mode_assumed, w.owner, w.op, mode_at, w.content is not None)


# -- the repository model ----------------------------------------------------------------------------


def _unit_service(art: Artifact, unit: Any) -> Service:
    if isinstance(art.meta.get("rendered_from"), str):
        how = "template"
    elif art.embedded:
        how = "heredoc"
    else:
        how = "file"
    return Service(where(art, None), unit.name, art.install_path or art.path, how)


def _schedules_in(art: Artifact, kind: str) -> list[Schedule]:
    out = []
    for i, ln in enumerate(art.lines, 1):
        if ln.lstrip().startswith("#"):
            continue
        m = _CRON_LINE.match(ln)
        if m:
            out.append(Schedule(where(art, i), kind, m.group(1), m.group(2).strip()[:160]))
    return out


def _tree_model(ctx: ScanContext) -> DeploymentModel:
    rs = render_templates(ctx)
    model = DeploymentModel("tree", ctx.name, renderings=rs)
    programs = [p for p in shell_programs(ctx) if not p.entry.embedded]
    cfg_hosts = {h: c for h, c in ctx.config.hosts.items() if c.roles or c.paths}
    roles: dict[str, Role] = {}

    def role_named(name: str) -> Role:
        if name not in roles:
            roles[name] = Role(name)
        return roles[name]

    prog_role: dict[int, Role] = {}
    for p in programs:
        pkgs = _packages(p)
        services = sorted(
            {
                w
                for _, c in p.effective_commands()
                if c.name == "systemctl"
                for w in c.argv[2:]
                if not w.startswith("-")
            }
        )
        writes = program_writes(p)
        if p.entry.host and p.entry.host in cfg_hosts:
            host = p.entry.host
            rnames = list(cfg_hosts[host].roles) or [host]
            name = "+".join(rnames)
        else:
            host = None
            found = roles_of(pkgs + services + [w.path for w in writes])
            if not found and any(not b.restore for b in _backups(p)):
                found = ["backup"]
            name = found[0] if found else "unassigned"
        role = role_named(name)
        if host and host not in role.hosts:
            role.hosts.append(host)
        prog_role[id(p)] = role
        role.scripts.append(p.entry.path)
        role.packages = sorted(set(role.packages) | set(pkgs))
        for _art, c in p.effective_commands():
            if (
                c.name == "systemctl"
                and len(c.argv) > 2
                and c.argv[1] in ("enable", "start", "restart", "reload")
            ):
                for word in c.argv[2:]:
                    if not word.startswith("-") and not any(
                        known.name in (word, f"{word}.service") for known in role.services
                    ):
                        role.services.append(Service(where(_art, c.line), word, None, "enabled"))
        role.users += _users(p)
        for w in writes:
            f = _file(w)
            role.files.append(f)
            content = w.content
            if _is_secret_file(w.path, content):
                role.secrets.append(f)
            if w.path.startswith(("/etc/cron", "/var/spool/cron")) and content:
                role.schedules += _schedules_in_text(content, w)
        rules = _firewall(p)
        if rules:
            role.firewall[p.entry.path] = rules
        role.backups += _backups(p)
        for art, c in p.effective_commands():
            if c.name in ("echo", "printf") and ("crontab" in c.logical or "/etc/cron" in c.logical):
                text = " ".join(c.argv[1:])
                m = _CRON_LINE.match(text)
                if m:
                    role.schedules.append(
                        Schedule(where(art, c.line), "script-cron", m.group(1), m.group(2)[:160])
                    )
    owner_of: dict[int, Role] = {}
    for p in programs:
        for a, _ in p.units:
            owner_of.setdefault(id(a), prog_role[id(p)])
    by_unit_name: dict[str, Role] = {}
    for role in roles.values():
        for known in role.services:
            by_unit_name.setdefault(known.name if "." in known.name else f"{known.name}.service", role)

    def role_for(art: Artifact, name: str | None = None, hints: str = "") -> Role:
        if art.parent is not None and id(art.parent) in owner_of:
            return owner_of[id(art.parent)]
        if name and name in by_unit_name:
            return by_unit_name[name]
        if art.host:
            for r in roles.values():
                if art.host in r.hosts:
                    return r
        found = roles_of([hints]) if hints and not cfg_hosts else []
        return role_named(found[0] if found else "unassigned")

    for art, unit in ctx.parsed("systemd_unit"):
        role = role_for(art, unit.name, f"{unit.name} {unit.get('Service', 'ExecStart') or ''}")
        svc = _unit_service(art, unit)
        same = next((s for s in role.services if s.name in (unit.name, unit.name.rsplit(".", 1)[0])), None)
        if same is not None and same.generated == "enabled":
            same.unit_path, same.generated, same.at = svc.unit_path, svc.generated, svc.at
        elif same is None or same.unit_path != svc.unit_path:
            role.services.append(svc)
        if unit.type == "service":
            role.listeners += _listeners_in(art, unit.name)
        if unit.type == "timer":
            cal = unit.last("Timer", "OnCalendar")
            if cal is not None:
                role.schedules.append(Schedule(where(art, cal.line), "timer", cal.value.strip(), unit.name))
    # Compose files: one file is one host's stack, of the role its images name first
    stacks: dict[int, list[Any]] = {}
    for cs in compose_services(ctx.artifacts("yaml")):
        stacks.setdefault(id(cs.art), []).append(cs)
    for stack in stacks.values():
        found = roles_of([w for cs in stack for w in (cs.image, cs.name)])
        stack_role = role_named(found[0]) if found else role_for(stack[0].art)
        if stack[0].art.path not in stack_role.scripts:
            stack_role.scripts.append(stack[0].art.path)
        for cs in stack:
            _compose_service(stack_role, cs)
    for art in ctx.artifacts("nginx_site"):
        role_for(art).listeners += _listeners_in(art, art.install_path or art.path)
    for art in ctx.artifacts("shell"):
        if art.embedded or art.parent is not None:
            continue
    for art in ctx.artifacts("cron"):
        role_for(art, None, art.text).schedules += _schedules_in(art, "cron")
    # generated configs that are not units (WireGuard, OpenVPN, MySQL...): listeners from their content
    for p in programs:
        for pw in program_writes(p):
            if (
                pw.content
                and not pw.path.endswith((".service", ".socket", ".timer"))
                and "nginx" not in pw.path
            ):
                fake = Artifact(pw.artifact.path, "text", pw.content, pw.artifact.digest, line_offset=pw.line)
                for li in _listeners_in(fake, pw.path):
                    li.artifact = None
                    prog_role[id(p)].listeners.append(li)
    # secret-bearing files of the tree itself (not written by a script)
    for path, fa in ctx.index.files.items():
        if fa is None or fa.embedded or fa.kind in ("markdown",):
            continue
        if _is_secret_file(path, None) and not path.endswith((".example", ".sample", ".md")):
            mode = f"0{fa.mode & 0o777:o}" if fa.mode is not None else None
            role_for(fa).secrets.append(File(where(fa, 1), path, mode, mode is None, op="file"))
    model.roles = sorted(roles.values(), key=lambda r: (r.name == "unassigned", r.name))
    for r in model.roles:
        r.listeners = _dedupe_listeners(r.listeners)
        _units_written(r)
    return model


def _units_written(role: Role) -> None:
    """A unit enabled by a script and written by echo/printf lines (not a heredoc): the first write."""
    written: dict[str, File] = {}
    for f in role.files:
        if f.path.endswith((".service", ".timer", ".socket")) and "/systemd/" in f.path:
            written.setdefault(posixpath.basename(f.path), f)
    for svc in role.services:
        if svc.generated != "enabled":
            continue
        wf = written.get(svc.name) or written.get(f"{svc.name}.service")
        if wf is not None:
            svc.unit_path, svc.generated, svc.at = wf.path, f"written ({wf.op})", wf.at


_PUBLISHED = re.compile(r"(?:(?P<addr>\d+\.[\d.]+|\[[\w:]+\]):)?(?P<host>\d+)(?::\d+)?(?:/\w+)?")


def _compose_service(role: Role, cs: Any) -> None:
    """A Compose service, its published ports (and host networking) as listeners."""
    role.services.append(Service(where(cs.art, cs.line), cs.name, cs.image or None, "compose"))
    for i, port in enumerate(cs.ports):
        m = _PUBLISHED.fullmatch(port.strip("\"'"))
        if m:
            line = cs.raw.line_of("ports") + 1 + i if "ports" in cs.raw else cs.line
            role.listeners.append(
                Listener(
                    where(cs.art, line),
                    int(m.group("host")),
                    m.group("addr"),
                    cs.name,
                    cs.art,
                    line,
                    setting=port,
                )
            )
    if cs.network_mode == "host":
        line = cs.line_of("network_mode")
        role.listeners.append(
            Listener(where(cs.art, line), None, None, cs.name, cs.art, line, setting="network_mode: host")
        )


def _schedules_in_text(content: str, w: FileWrite) -> list[Schedule]:
    out = []
    for i, ln in enumerate(content.splitlines(), 1):
        m = _CRON_LINE.match(ln)
        if m and not ln.lstrip().startswith("#"):
            line = w.line + i if w.op.startswith("heredoc") else w.line
            out.append(
                Schedule(
                    f"{w.artifact.path}:{line + w.artifact.line_offset}",
                    "script-cron",
                    m.group(1),
                    m.group(2)[:160],
                )
            )
    return out


def _dedupe_listeners(ls: list[Listener]) -> list[Listener]:
    seen: set[tuple[str, int | None]] = set()
    out = []
    for li in ls:
        key = (li.at, li.port)
        if key not in seen:
            seen.add(key)
            out.append(li)
    return out


# -- live facts --------------------------------------------------------------------------------------

SYSTEMCTL_SHOW = (
    "systemctl",
    "show",
    "--property=Id,Restart,ActiveState,SubState,UnitFileState,FragmentPath",
    "*.service",
)
SS = ("ss", "-ltnp")
FIREWALL_COMMANDS = (
    (("ufw", "status", "verbose"), "ufw"),
    (("nft", "list", "ruleset"), "nftables"),
    (("iptables-save",), "iptables"),
)
CRONTAB = ("crontab", "-l")
TIMERS = ("systemctl", "list-timers", "--all", "--no-pager")
LIVE_COMMANDS: tuple[tuple[str, ...], ...] = (SYSTEMCTL_SHOW, SS, *(a for a, _ in FIREWALL_COMMANDS), CRONTAB)


@dataclass
class SocketListener(Listener):
    """A listening socket read from ``ss -ltnp`` (its port is always known)."""

    port: int


def parse_ss(text: str) -> list[SocketListener]:
    """``ss -ltnp`` output -> listeners (address, port, process, the line)."""
    out: list[SocketListener] = []
    for line in text.splitlines():
        parts = line.split()
        if len(parts) < 5 or parts[0] != "LISTEN":
            continue
        addr, _, port = parts[3].rpartition(":")
        if not port.isdigit():
            continue
        addr = re.sub(r"%\S+$", "", addr)
        m = re.search(r'users:\(\("([^"]+)"', line)
        out.append(
            SocketListener(
                f"ss -ltnp: {line.strip()[:120]}", int(port), addr, m.group(1) if m else "?", raw=line
            )
        )
    return out


def parse_systemctl_show(text: str) -> dict[str, dict[str, str]]:
    """Blocks of ``Key=Value`` separated by blank lines -> {unit id: properties}."""
    out: dict[str, dict[str, str]] = {}
    for block in re.split(r"\n\s*\n", text.strip()):
        props: dict[str, str] = {}
        for line in block.splitlines():
            k, eq, v = line.partition("=")
            if eq:
                props[k.strip()] = v.strip()
        if props.get("Id"):
            out[props["Id"]] = props
    return out


def _ok(res: Any) -> bool:
    return not (res.missing or res.timed_out or res.returncode != 0)


def _live_model(ctx: ScanContext) -> DeploymentModel:
    host = ctx.name
    kind = "snapshot" if ctx.kind == "snapshot" else "host"
    model = DeploymentModel(kind, host)
    roles = list(ctx.config.hosts[host].roles) if host in ctx.config.hosts else []
    role = Role("+".join(roles) or host, hosts=[host])
    at = f"{host}: "
    res = ctx.command(list(SYSTEMCTL_SHOW))
    if _ok(res):
        for uid, props in sorted(parse_systemctl_show(res.stdout).items()):
            state = f"{props.get('ActiveState', '?')}/{props.get('SubState', '?')}"
            role.services.append(
                Service(
                    at + " ".join(SYSTEMCTL_SHOW[:2]), uid, props.get("FragmentPath") or None, "loaded", state
                )
            )
    else:
        model.notes.append(f"{host}: systemctl show not available ({_why(res)})")
    res = ctx.command(list(SS))
    if _ok(res):
        role.listeners = [
            Listener(
                at + f"ss -ltnp: {li.raw.strip()[:100]}", li.port, li.address or None, li.what, raw=li.raw
            )
            for li in parse_ss(res.stdout)
        ]
    else:
        model.notes.append(f"{host}: ss -ltnp not available ({_why(res)})")
    for argv, name in FIREWALL_COMMANDS:
        res = ctx.command(list(argv))
        if not _ok(res):
            continue
        if name == "ufw":
            fw = parse_ufw_status(res.stdout)
            if not fw.enabled:
                continue
        elif name == "nftables":
            fw = parse_nft_ruleset(res.stdout)
        else:
            fw = parse_iptables_save(res.stdout)
        if not fw.rules and fw.default_incoming in (None, "allow"):
            continue
        cmd = " ".join(argv)
        rules = [
            FirewallRule(f"{at}{cmd}:{r.line}" if r.line else at + cmd, name, r.text.strip()[:200])
            for r in fw.rules
        ]
        if fw.default_incoming:
            rules.insert(0, FirewallRule(at + cmd, name, f"default {fw.default_incoming} incoming"))
        role.firewall[f"{host} ({name}, active)"] = rules
        break
    res = ctx.command(list(CRONTAB))
    if _ok(res):
        for i, ln in enumerate(res.stdout.splitlines(), 1):
            m = _CRON_LINE.match(ln)
            if m and not ln.lstrip().startswith("#"):
                role.schedules.append(
                    Schedule(f"{at}crontab -l:{i}", "crontab", m.group(1), m.group(2)[:160])
                )
    # the collected tree: cron files, units on disk, file modes of secret-bearing files
    for art in ctx.artifacts("cron"):
        role.schedules += _schedules_in(art, "cron")
    for art, unit in ctx.parsed("systemd_unit"):
        if unit.type == "timer":
            cal = unit.last("Timer", "OnCalendar")
            if cal is not None:
                role.schedules.append(Schedule(where(art, cal.line), "timer", cal.value.strip(), unit.name))
    for path, fa in ctx.index.files.items():
        if fa is not None and not fa.embedded and _is_secret_file(path, fa.text):
            mode = f"0{fa.mode & 0o777:o}" if fa.mode is not None else None
            role.secrets.append(File(f"{host}:/{path}", "/" + path, mode, mode is None, op="collected"))
    model.roles = [role]
    tree = _tree_model(ctx)  # scripts collected from the host (deploy trees under /opt) add theirs
    for r in tree.roles:
        if r.scripts:
            model.roles.append(r)
    model.renderings = tree.renderings
    return model


def _why(res: Any) -> str:
    if res.missing:
        return "not collected or not installed"
    if res.timed_out:
        return "timed out"
    return f"exit {res.returncode}"


def deployment_model(ctx: ScanContext) -> DeploymentModel:
    """The deployment model of one target (a tree, a host or a snapshot), memoised."""
    live = "commands" in ctx.capabilities
    return ctx.derived(("facts.hosts",), lambda: _live_model(ctx) if live else _tree_model(ctx))  # type: ignore[no-any-return]


def secret_files(model: DeploymentModel) -> list[File]:
    return [f for r in model.roles for f in r.secrets]


def _basename(p: str) -> str:
    return posixpath.basename(p)
