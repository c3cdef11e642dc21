"""Ports something is configured to listen on, per host: systemd units (their flags, else the
binary's default port), drop-ins for packaged units, nginx sites. Memoised on the scan context.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from chom_validate.api import Context
from chom_validate.artifacts.base import Artifact
from chom_validate.artifacts.nginx import listen_ports
from chom_validate.artifacts.systemd import merged_units
from chom_validate.findings import Evidence

from .hosts import Listener, where

# Ports a binary listens on when its unit does not say otherwise.
DEFAULT_PORTS = {
    "node_exporter": 9100,
    "mysqld_exporter": 9104,
    "nginx-prometheus-exporter": 9113,
    "nginx_exporter": 9113,
    "php-fpm_exporter": 9253,
    "phpfpm_exporter": 9253,
    "redis_exporter": 9121,
    "postgres_exporter": 9187,
    "blackbox_exporter": 9115,
    "prometheus": 9090,
    "alertmanager": 9093,
    "grafana-server": 3000,
    "grafana": 3000,
    "loki": 3100,
    "promtail": 9080,
    "mysqld": 3306,
    "mysql": 3306,
    "mariadb": 3306,
    "redis-server": 6379,
    "sshd": 22,
    "ssh": 22,
}
ROLE_PORTS = {"db": [3306], "cache": [6379], "web": [80, 443]}
_LISTEN_RE = re.compile(
    r"(?:listen[-_.]?addr(?:ess)?|--port|-port|--http[-.]port)[= ](?:\S*:)?(\d{2,5})\b", re.I
)


@dataclass
class HostListeners:
    """The configured listeners of one host by port (one ``facts.hosts.Listener`` type for trees,
    the deployment model and ``ss`` on hosts)."""

    ports: dict[int, list[Listener]] = field(default_factory=dict)

    def add(self, port: int, what: str, art: Artifact, line: int | None) -> None:
        self.ports.setdefault(port, []).append(Listener(where(art, line), port, None, what, art, line))


def listener_evidence(lsn: Listener) -> Evidence:
    """Where a listener is set: its unit, site or config line (the ``ss`` line for a socket)."""
    if lsn.artifact is not None:
        return lsn.artifact.evidence(lsn.line)
    return Evidence(excerpt=lsn.raw.strip() or None, note=lsn.at)


def listeners(ctx: Context) -> dict[str, HostListeners]:
    """Ports something is configured to listen on, per host (systemd units, nginx sites)."""

    def build() -> dict[str, HostListeners]:
        out: dict[str, HostListeners] = {}
        units = merged_units(ctx.parsed("systemd_unit"), ctx.parsed("systemd_dropin"))
        for art, unit in units:
            if unit.type != "service":
                continue
            host = art.host or ctx.name
            exec_start = unit.get("Service", "ExecStart") or ""
            d = unit.last("Service", "ExecStart")
            ports = [int(p) for p in _LISTEN_RE.findall(exec_start)]
            if not ports:
                binary = exec_start.split()[0].rsplit("/", 1)[-1] if exec_start.split() else ""
                default = DEFAULT_PORTS.get(binary) or DEFAULT_PORTS.get(unit.prefix)
                ports = [default] if default else []
            for p in ports:
                out.setdefault(host, HostListeners()).add(p, unit.name, art, d.line if d else None)
        names = {u.name for _, u in units}
        for art, drop in ctx.parsed("systemd_dropin"):
            if drop.name in names:
                continue
            stem = drop.prefix
            if stem in DEFAULT_PORTS:  # drop-in for a packaged unit with a known default port
                out.setdefault(art.host or ctx.name, HostListeners()).add(
                    DEFAULT_PORTS[stem], f"{drop.name} (packaged, drop-in)", art, 1
                )
        for art, site in ctx.parsed("nginx_site"):
            for server in site.servers:
                for port, ld in listen_ports(server):
                    if ld.args and ld.args[0].startswith(("127.", "[::1]", "localhost")):
                        continue
                    out.setdefault(art.host or ctx.name, HostListeners()).add(port, "nginx", art, ld.line)
        return out

    result: dict[str, HostListeners] = ctx.derived("net:listeners", build)
    return result
