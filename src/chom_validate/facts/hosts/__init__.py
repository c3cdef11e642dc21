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

Modules: ``model`` (the fact types), ``tree`` (a repository's model, from its scripts, configs
and templates), ``live`` (a host's or snapshot's model, from collected command output).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .live import (
    CRONTAB,
    FIREWALL_COMMANDS,
    LIVE_COMMANDS,
    SS,
    SYSTEMCTL_SHOW,
    TIMERS,
    SocketListener,
    _live_model,
    parse_ss,
    parse_systemctl_show,
)
from .model import (
    Backup,
    DeploymentModel,
    Fact,
    File,
    FirewallRule,
    Listener,
    Role,
    Schedule,
    Service,
    User,
    where,
)
from .scripts import ROLE_HINTS, roles_of
from .tree import _tree_model

if TYPE_CHECKING:
    from ...engine import ScanContext


def deployment_model(ctx: ScanContext) -> DeploymentModel:
    """The deployment model of one target (a tree, a host or a snapshot), memoised."""
    live = "commands" in ctx.capabilities
    return ctx.derived(("facts.hosts",), lambda: _live_model(ctx) if live else _tree_model(ctx))  # type: ignore[no-any-return]


def secret_files(model: DeploymentModel) -> list[File]:
    return [f for r in model.roles for f in r.secrets]


__all__ = [
    "CRONTAB",
    "FIREWALL_COMMANDS",
    "LIVE_COMMANDS",
    "ROLE_HINTS",
    "SS",
    "SYSTEMCTL_SHOW",
    "TIMERS",
    "Backup",
    "DeploymentModel",
    "Fact",
    "File",
    "FirewallRule",
    "Listener",
    "Role",
    "Schedule",
    "Service",
    "SocketListener",
    "User",
    "deployment_model",
    "parse_ss",
    "parse_systemctl_show",
    "roles_of",
    "secret_files",
    "where",
]
