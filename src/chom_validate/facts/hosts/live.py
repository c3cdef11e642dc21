"""The deployment model of a live host or a snapshot of one: loaded units (``systemctl show``),
listening sockets (``ss -ltnp``), the active firewall (ufw, nft, iptables-save), the login user's
crontab and the collected tree's cron files, timers and secret-bearing file modes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ...artifacts.firewall import parse_iptables_save, parse_nft_ruleset, parse_ufw_status
from .model import DeploymentModel, File, FirewallRule, Listener, Role, Schedule, Service, where
from .scripts import _CRON_LINE, _is_secret_file
from .tree import _schedules_in, _tree_model

if TYPE_CHECKING:
    from ...engine import ScanContext

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
