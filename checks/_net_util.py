"""Models shared by the network and topology checks: firewalls, scrape targets and listeners per host.

All are memoised on the scan context (``ctx.derived``) so every check sees the same model.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field, replace

from chom_validate.api import Context as ScanContext
from chom_validate.artifacts.base import Artifact
from chom_validate.artifacts.firewall import Firewall, Rule, parse_ufw_script, parse_ufw_status
from chom_validate.artifacts.nginx import listen_ports
from chom_validate.artifacts.systemd import merged_units
from chom_validate.findings import Evidence

UFW_STATUS = ["ufw", "status", "verbose"]
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
class HostFirewall:
    host: str
    firewall: Firewall
    artifact: Artifact | None = None  # the script (None for live output)
    command: list[str] | None = None

    def evidence(self, line: int | None, note: str | None = None) -> Evidence:
        if self.artifact is not None:
            return self.artifact.evidence(line, note=note)
        return Evidence(host=self.host, command=self.command, note=note)

    def rule_evidence(self, rule: Rule, note: str | None = None) -> Evidence:
        """Evidence at a rule, in the script that adds it (rule sets can merge several scripts)."""
        if rule.origin is not None:
            return rule.origin.evidence(rule.line, note=note)  # type: ignore[no-any-return]
        return self.evidence(rule.line, note=note)


@dataclass
class ScrapeTarget:
    job: str
    host: str | None  # host name from config, None when unknown
    address: str
    port: int
    artifact: Artifact
    line: int
    scraper: str | None

    def evidence(self, note: str | None = None) -> Evidence:
        return self.artifact.evidence(self.line, note=note)


@dataclass
class Listener:
    port: int
    what: str
    artifact: Artifact
    line: int | None


@dataclass
class HostListeners:
    ports: dict[int, list[Listener]] = field(default_factory=dict)

    def add(self, lst: Listener) -> None:
        self.ports.setdefault(lst.port, []).append(lst)


def host_address(ctx: ScanContext, host: str) -> str | None:
    """An IP address of ``host`` from config (private_address preferred), or None."""
    h = ctx.config.hosts.get(host)
    if h is None:
        return None
    for a in (h.private_address, h.address):
        if a and _is_ip(a):
            return a
    return None


def _is_ip(a: str) -> bool:
    try:
        ipaddress.ip_address(a)
        return True
    except ValueError:
        return False


def host_of_address(ctx: ScanContext, addr: str, scraper: str | None) -> str | None:
    if addr in ("localhost", "127.0.0.1", "::1", "[::1]"):
        return scraper
    for name, h in ctx.config.hosts.items():
        if addr in (name, h.address, h.private_address):
            return name
    return None


def monitoring_addresses(ctx: ScanContext) -> dict[str, str]:
    """address -> monitoring host name."""
    names = ctx.config.topology.monitoring_hosts or ctx.config.hosts_with_role("monitoring")
    return {a: n for n in names if (a := host_address(ctx, n))}


def firewalls(ctx: ScanContext) -> dict[str, HostFirewall]:
    def build() -> dict[str, HostFirewall]:
        out: dict[str, HostFirewall] = {}
        per_host: dict[str, list[tuple[Artifact, Firewall]]] = {}
        for art, script in sorted(ctx.parsed("shell"), key=lambda p: p[0].path):
            fw = parse_ufw_script(script)
            if fw is None or not (fw.rules or fw.default_incoming):
                continue
            for r in fw.rules:
                r.origin = art
            per_host.setdefault(art.host or ctx.name, []).append((art, fw))
        for host, items in per_host.items():
            # The host's rule set: the script that owns it (sets the default policy) is the base;
            # scripts that only add rules add theirs on top. Two owners are a conflict (NET022),
            # the first by path is kept as the base so results are stable.
            owners = [(a, f) for a, f in items if f.default_incoming is not None]
            base_art, base = owners[0] if owners else items[0]
            extra = [r for a, f in items if a is not base_art and f.default_incoming is None for r in f.rules]
            if extra:
                base = replace(base, rules=[*base.rules, *extra])
            out[host] = HostFirewall(host, base, base_art)
        # A host (live, or a snapshot of one) without a script: its running ufw is the model.
        if "commands" in ctx.capabilities and ctx.name not in out:
            res = ctx.command(UFW_STATUS)
            if not res.missing and not res.timed_out and res.returncode == 0:
                out[ctx.name] = HostFirewall(ctx.name, parse_ufw_status(res.stdout), None, UFW_STATUS)
        return out

    result: dict[str, HostFirewall] = ctx.derived("net:firewalls", build)
    return result


def scrape_targets(ctx: ScanContext) -> list[ScrapeTarget]:
    """Static scrape targets of every Prometheus config, from the shared `prometheus_config` model."""

    def build() -> list[ScrapeTarget]:
        out = []
        mons = ctx.config.topology.monitoring_hosts or ctx.config.hosts_with_role("monitoring")
        for art, cfg in ctx.parsed("prometheus_config"):  # unparseable configs are reported by TGT002
            if art.templated:
                continue
            scraper = art.host or (mons[0] if mons else None)
            for job in cfg.jobs:
                for t in job.targets:
                    m = re.match(r"^\[?([^\]]+?)\]?:(\d+)$", t.address)
                    if not m:
                        continue
                    addr, port = m.group(1), int(m.group(2))
                    out.append(
                        ScrapeTarget(
                            job.name or "?",
                            host_of_address(ctx, addr, scraper),
                            addr,
                            port,
                            art,
                            t.line,
                            scraper,
                        )
                    )
        return out

    result: list[ScrapeTarget] = ctx.derived("net:scrape_targets", build)
    return result


def listeners(ctx: ScanContext) -> dict[str, HostListeners]:
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
                out.setdefault(host, HostListeners()).add(Listener(p, unit.name, art, d.line if d else None))
        names = {u.name for _, u in units}
        for art, drop in ctx.parsed("systemd_dropin"):
            if drop.name in names:
                continue
            stem = drop.prefix
            if stem in DEFAULT_PORTS:  # drop-in for a packaged unit with a known default port
                out.setdefault(art.host or ctx.name, HostListeners()).add(
                    Listener(DEFAULT_PORTS[stem], f"{drop.name} (packaged, drop-in)", art, 1)
                )
        for art, site in ctx.parsed("nginx_site"):
            for server in site.servers:
                for port, ld in listen_ports(server):
                    if ld.args and ld.args[0].startswith(("127.", "[::1]", "localhost")):
                        continue
                    out.setdefault(art.host or ctx.name, HostListeners()).add(
                        Listener(port, "nginx", art, ld.line)
                    )
        return out

    result: dict[str, HostListeners] = ctx.derived("net:listeners", build)
    return result


def fw_rule_evidence(hf: HostFirewall, rule_line: int | None, note: str) -> Evidence:
    return hf.evidence(rule_line, note=note)
