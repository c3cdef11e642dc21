"""The deployment model of a repository or tree: what each entry script installs, grouped by role.

Roles from ``chom-validate.yaml`` hosts when it names them, else from what the scripts install
(``ROLE_HINTS``); per role the units (generated ones with their heredoc or template line),
listeners, users, files with modes, one firewall rule set per script, schedules and backups.
"""

from __future__ import annotations

import posixpath
import re
from typing import TYPE_CHECKING, Any

from ...artifacts import Artifact
from ..monitoring import compose_services
from ..shell_program import shell_programs
from ..templates import render_templates
from ..writes import FileWrite, program_writes
from .model import DeploymentModel, File, Listener, Role, Schedule, Service, where
from .scripts import (
    _CRON_LINE,
    _backups,
    _file,
    _firewall,
    _is_secret_file,
    _listeners_in,
    _packages,
    _users,
    roles_of,
)

if TYPE_CHECKING:
    from ...engine import ScanContext

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
