"""Is this tree a deployment? Repository-wide obligations (a DR plan, an incident plan, escalation
contacts) belong to certifying a deployment, not to scanning an installer or a rule catalog.

A tree is a deployment when the config names hosts with roles, when an inventory lists hosts, or
when what it holds operates several parts of a running system: services it installs and enables,
host firewall rules, reverse-proxy sites, backups of stateful data, a Prometheus scraping targets.
One or two of those is an installer or a tool (a VPN installer writes a unit and a firewall rule);
three or more independent parts is somebody's production. ``--profile certified`` asks for the
obligations whatever the tree looks like. No I/O: everything comes from the artifact index.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .backups import backup_model

if TYPE_CHECKING:
    from ..api import Context

# An inventory file: Ansible INI/YAML inventories by their conventional names.
_INVENTORY_PATH = re.compile(
    r"(^|/)(inventory|inventories)(/|\.ini$|\.ya?ml$|$)|(^|/)hosts\.(ini|ya?ml)$", re.I
)
_INVENTORY_TEXT = re.compile(r"^[ \t]*\[[\w:-]+\][ \t]*$|^[ \t]*(all|children|hosts)[ \t]*:", re.M)
_ENABLES = re.compile(r"\bsystemctl\s+(?:--now\s+)?(enable|start|restart)\b")
_FIREWALL = re.compile(
    r"\bufw\s+(allow|deny|limit|enable|default)\b|\b(iptables|ip6tables)\s+(-[AIP]|--append|--insert)|"
    r"\bfirewall-cmd\b.*--add-|\bnft\s+(add|insert)\s+rule\b"
)
_STATEFUL = {"mysql", "postgresql", "app_storage", "redis", "grafana", "prometheus", "loki"}


@dataclass
class Deployment:
    is_deployment: bool
    reason: str
    signals: list[str] = field(default_factory=list)
    certified_only: bool = False  # a deployment only because --profile certified asks for it


def _signals(ctx: Context) -> list[str]:
    out = []
    shells = ctx.artifacts("shell")
    units = ctx.artifacts("systemd_unit")
    if units and any(_ENABLES.search(a.text) for a in shells):
        out.append("service units installed and enabled by scripts")
    if any(_FIREWALL.search(a.text) for a in shells):
        out.append("host firewall rules")
    if ctx.artifacts("nginx_site"):
        out.append("reverse-proxy sites")
    model = backup_model(ctx)
    if any(set(b.components) & _STATEFUL for b in model.scripts):
        out.append("backups of stateful data")
    if any(re.search(r"\btargets\s*:", a.text) for a in ctx.artifacts("prometheus_config")):
        out.append("a Prometheus scraping targets")
    return out


def _inventory(ctx: Context) -> str | None:
    for path, art in ctx.index.files.items():
        if _INVENTORY_PATH.search(path) and art is not None and _INVENTORY_TEXT.search(art.text):
            return path
    return None


def _build(ctx: Context) -> Deployment:
    hosts = [h for h, c in ctx.config.hosts.items() if c.roles or c.paths]
    if hosts:
        return Deployment(True, f"hosts with roles in the config ({', '.join(sorted(hosts)[:4])})")
    if ctx.live:
        return Deployment(True, "a live host")
    inv = _inventory(ctx)
    if inv:
        return Deployment(True, f"an inventory of hosts ({inv})")
    sig = _signals(ctx)
    if len(sig) >= 3:
        return Deployment(True, f"inferred from {', '.join(sig)}", sig)
    if ctx.options.profile == "certified":
        return Deployment(True, "--profile certified", sig, certified_only=True)
    what = f" (only {', '.join(sig)})" if sig else ""
    return Deployment(
        False,
        "this tree is not a deployment: no hosts or roles in chom-validate.yaml, no inventory, and it "
        f"does not operate several parts of a system{what}; use --profile certified to require it",
        sig,
    )


def deployment(ctx: Context) -> Deployment:
    """The memoised verdict for this target."""
    d: Any = ctx.derived("facts-deployment", lambda: _build(ctx))
    return d  # type: ignore[no-any-return]
