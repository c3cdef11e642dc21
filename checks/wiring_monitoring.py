"""Monitoring wiring: Prometheus and Alertmanager served under a route prefix, and every client that
calls them (Prometheus alerting, scrape jobs, Grafana datasources, scripts, runbooks, amtool)."""

from __future__ import annotations

import posixpath
from collections.abc import Iterator
from dataclasses import dataclass, field

from chom_validate.api import Context as ScanContext
from chom_validate.artifacts import Artifact
from chom_validate.artifacts.docs import Document
from chom_validate.artifacts.grafana import DatasourceProvisioning
from chom_validate.artifacts.prometheus import PromConfig
from chom_validate.artifacts.shell import ShellScript
from chom_validate.artifacts.systemd import Unit
from chom_validate.artifacts.yamlfile import LineDict
from chom_validate.facts.monitoring import compose_services
from chom_validate.facts.wiring import (
    LOCAL_HOSTS,
    amtool_urls,
    listen_port,
    path_under,
    route_prefix,
    urls_in_line,
    web_flags,
)
from chom_validate.findings import Evidence, Result, Severity
from chom_validate.registry import check

TOOLS = ("prometheus", "alertmanager")


@dataclass
class WebServer:
    tool: str
    port: int
    prefix: str  # '' for the root
    label: str
    evidence: Evidence
    names: set[str] = field(default_factory=set)  # host names that reach it besides localhost

    def reached_by(self, host: str) -> bool:
        return host in LOCAL_HOSTS or host in self.names


@dataclass
class Client:
    what: str
    tool: str | None  # the server kind it must talk to (None: whichever listens on the port)
    host: str
    port: int
    path: str
    exact: bool  # the path must be the prefix itself (clients that append the API path)
    evidence: Evidence
    severity: Severity
    consequence: str
    any_host: bool = False  # a dedicated client (alerting, datasource): the port alone identifies it
    expected_suffix: str = ""


def _servers(ctx: ScanContext) -> list[WebServer]:
    out: list[WebServer] = []
    for art, u in ctx.parsed("systemd_unit"):
        if not isinstance(u, Unit):
            continue
        for d in u.entries("Service", "ExecStart"):
            words = d.value.lstrip("-@:+!").split()
            tool = posixpath.basename(words[0]) if words else ""
            if tool not in TOOLS:
                continue
            flags = web_flags(words)
            if any("$" in v or "{" in v for v in flags.values()):
                continue  # templated flags: values unknown
            line = next(
                (
                    n
                    for n in range(d.line, d.line + 40)
                    if "--web.external-url" in art.line_text(n) or "--web.route-prefix" in art.line_text(n)
                ),
                d.line,
            )
            out.append(
                WebServer(
                    tool,
                    listen_port(flags, tool),
                    route_prefix(flags),
                    f"{u.name} ({art.label})",
                    art.evidence(line, note=f"{tool} serves under '{route_prefix(flags) or '/'}'"),
                )
            )
    for s in compose_services(ctx.artifacts("yaml")):
        if s.tool not in TOOLS:
            continue
        flags = web_flags(s.command)
        if any("$" in v or "{" in v for v in flags.values()):
            continue
        prefix = route_prefix(flags)
        port = listen_port(flags, s.tool)
        ev = s.art.evidence(
            s.command_line("--web.route-prefix")
            if "--web.route-prefix" in flags
            else s.command_line("--web.external-url")
            if "--web.external-url" in flags
            else s.line_of("command"),
            note=f"{s.tool} serves under '{prefix or '/'}'",
        )
        names = {s.name} | ({s.container_name} if s.container_name else set())
        out.append(WebServer(s.tool, port, prefix, f"compose service {s.name} ({s.art.label})", ev, names))
        for host_port in _published_ports(s.ports, port):
            if host_port != port:
                out.append(
                    WebServer(
                        s.tool, host_port, prefix, f"compose service {s.name} ({s.art.label})", ev, names
                    )
                )
    return out


def _published_ports(ports: list[str], container_port: int) -> list[int]:
    out = []
    for spec in ports:
        parts = spec.split("/", 1)[0].rsplit(":", 2)
        if len(parts) >= 2 and parts[-1] == str(container_port) and parts[-2].isdigit():
            out.append(int(parts[-2]))
    return out


def _norm(path: str) -> str:
    p = path.split("?", 1)[0].rstrip("/")
    return p


def _prom_clients(ctx: ScanContext) -> Iterator[Client]:
    for art, cfg in ctx.parsed("prometheus_config"):
        if not isinstance(cfg, PromConfig):
            continue
        alerting = cfg.raw.get("alerting") if isinstance(cfg.raw, LineDict) else None
        ams = alerting.get("alertmanagers") if isinstance(alerting, LineDict) else None
        for am in ams if isinstance(ams, list) else []:
            if not isinstance(am, LineDict):
                continue
            prefix = str(am.get("path_prefix") or "/")
            line = am.line_of("path_prefix") if "path_prefix" in am else am.line
            for sc in am.get("static_configs") or []:
                for t in (sc.get("targets") or []) if isinstance(sc, LineDict) else []:
                    host, _, port = str(t).rpartition(":")
                    if port.isdigit() and "{" not in prefix:
                        yield Client(
                            f"Prometheus alerting target {t} (path_prefix '{prefix}')",
                            "alertmanager",
                            host,
                            int(port),
                            prefix,
                            True,
                            art.evidence(
                                line, note=f"alerts are posted to {prefix.rstrip('/')}/api/v2/alerts"
                            ),
                            Severity.CRITICAL,
                            "no alert is ever delivered",
                            any_host=True,
                        )
        for job in cfg.jobs:
            for t in job.targets:
                if t.port is None or "{" in job.metrics_path:
                    continue
                tool = next((x for x in TOOLS if x in job.name.lower()), None)
                yield Client(
                    f"scrape job {job.name} ({t.address}{job.metrics_path})",
                    tool,
                    t.host,
                    t.port,
                    job.metrics_path,
                    True,
                    art.evidence(
                        job.raw.line_of("metrics_path") if "metrics_path" in job.raw else job.line,
                        note=f"scrapes {job.metrics_path}",
                    ),
                    Severity.MEDIUM,
                    "the job scrapes a 404 and the server looks down",
                    any_host=tool is not None,
                    expected_suffix="/metrics",
                )


def _grafana_clients(ctx: ScanContext) -> Iterator[Client]:
    for art, prov in ctx.parsed("grafana_datasources"):
        if not isinstance(prov, DatasourceProvisioning):
            continue
        for ds in prov.datasources:
            if ds.type not in TOOLS or not ds.url:
                continue
            for host, port, path in urls_in_line(ds.url):
                yield Client(
                    f"Grafana datasource {ds.name} ({ds.url})",
                    ds.type,
                    host,
                    port,
                    path,
                    True,
                    art.evidence(ds.line, note=f"datasource url {ds.url}"),
                    Severity.HIGH,
                    "every panel and query on it fails",
                    any_host=True,
                )


def _text_clients(ctx: ScanContext) -> Iterator[Client]:
    sources: list[tuple[Artifact, list[str]]] = []
    for art, s in ctx.parsed("shell"):
        if isinstance(s, ShellScript):
            sources.append((art, s.lines))
    for art, doc in ctx.parsed("markdown"):
        if isinstance(doc, Document):
            sources.append((art, doc.lines))
    for art, lines in sources:
        for n, line in enumerate(lines, 1):
            if "://" not in line:
                continue
            for url in amtool_urls(line):
                for host, port, path in urls_in_line(url):
                    yield Client(
                        f"amtool --alertmanager.url={url}",
                        "alertmanager",
                        host,
                        port,
                        path,
                        True,
                        art.evidence(n, note="amtool appends /api/v2"),
                        Severity.MEDIUM,
                        "the command fails with 404 during the incident",
                    )
            if "--alertmanager.url" in line:
                continue
            for host, port, path in urls_in_line(line):
                if "$" in path or "{" in path:
                    continue
                yield Client(
                    f"http call {host}:{port}{path}",
                    None,
                    host,
                    port,
                    path,
                    False,
                    art.evidence(n, note=f"calls {path}"),
                    Severity.MEDIUM,
                    "the call gets 404 (health checks and runbook steps fail or lie)",
                )


def _ok(c: Client, s: WebServer) -> bool:
    if c.exact:
        want = s.prefix + c.expected_suffix
        return _norm(c.path) == want or (not want and _norm(c.path) == "")
    return path_under(c.path, s.prefix)


@check("MON032", "route-prefix-consumers", category="monitoring", severity="high", pillar="observability")
def route_prefix_consumers(ctx: ScanContext) -> Iterator[Result]:
    """Clients of Prometheus and Alertmanager use the path prefix the server is served under.

    What it does
        Takes the route prefix of each Prometheus and Alertmanager the target deploys (systemd
        `ExecStart=`, Compose `command:`): `--web.route-prefix`, else the path of
        `--web.external-url`. Then follows every client on that port: Prometheus
        `alerting.alertmanagers` (`path_prefix`), scrape jobs (`metrics_path` must be
        `PREFIX/metrics`), Grafana datasources (url path), `amtool --alertmanager.url`, and
        `curl`/URL calls in scripts and runbooks, and reports those whose path the server does
        not serve.
    Why it matters
        `--web.external-url=https://example.org/alertmanager/` moves every endpoint under
        `/alertmanager`: a Prometheus still posting to `/api/v2/alerts` gets 404 on every
        notification, so no alert is ever delivered (critical), and nothing pages about it
        without a dead-man's switch. Datasources and health checks on the old path fail the same way.
    Example
        alertmanager --web.external-url=https://mon.example.org/alertmanager/
        prometheus.yml: alerting: alertmanagers: [{static_configs: [{targets: ['localhost:9093']}]}]
    Fix
        Set `path_prefix: /alertmanager` (and `metrics_path: /alertmanager/metrics`, the
        datasource url `http://127.0.0.1:9093/alertmanager`), or serve at the root with
        `--web.route-prefix=/` and let the proxy strip the path.
    References
        https://prometheus.io/docs/prometheus/latest/configuration/configuration/#alertmanager_config
    Severity
        High: clients under the wrong path get 404; when Prometheus' own alertmanagers entry is one
        of them no alert is ever delivered, so that finding is raised to critical.
    """
    servers = sorted(_servers(ctx), key=lambda s: (s.label, s.port))
    if not servers:
        yield Result.not_applicable("no Prometheus or Alertmanager command line in this target")
        return
    by_port: dict[int, list[WebServer]] = {}
    for s in servers:
        by_port.setdefault(s.port, []).append(s)
    checked = 0
    failed = 0
    seen: set[tuple[str | None, int | None, str]] = set()
    for c in [*_prom_clients(ctx), *_grafana_clients(ctx), *_text_clients(ctx)]:
        cands = [
            s
            for s in by_port.get(c.port, [])
            if (c.tool is None or s.tool == c.tool) and (s.reached_by(c.host) or c.any_host)
        ]
        if not cands:
            continue
        checked += 1
        if any(_ok(c, s) for s in cands):
            continue
        key = (c.evidence.path, c.evidence.line, c.what)
        if key in seen:
            continue
        seen.add(key)
        failed += 1
        s = cands[0]
        want = (
            (s.prefix or "/")
            if c.exact and not c.expected_suffix
            else (s.prefix + c.expected_suffix if c.exact else f"{s.prefix}/...")
        )
        yield Result.fail(
            f"{c.what}: {s.tool} ({s.label}) is served under '{s.prefix or '/'}', so '{c.path}' is not one of "
            f"its paths (expected {want}): {c.consequence}",
            c.evidence,
            s.evidence,
            subject=f"{c.evidence.path}:{c.evidence.line}:{c.port}",
            severity=c.severity,
        )
    if not failed:
        s = servers[0]
        if checked:
            yield Result.passed(
                f"{checked} client(s) of {len(servers)} Prometheus/Alertmanager server(s) use their route prefix",
                s.evidence,
            )
        else:
            yield Result.not_applicable(
                f"no client of the {len(servers)} Prometheus/Alertmanager server(s) found", s.evidence
            )
