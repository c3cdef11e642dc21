"""Cross-host topology: scrape targets <-> firewalls <-> exporter units. Each finding names both sides."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TYPE_CHECKING

from chom_validate.api import Context as ScanContext
from chom_validate.facts.firewall import UFW_STATUS, firewalls
from chom_validate.facts.inputs import FirewallRules
from chom_validate.facts.listeners import ROLE_PORTS, listener_evidence, listeners
from chom_validate.facts.monitoring import host_address, scrape_targets
from chom_validate.facts.urls import url_parts
from chom_validate.findings import Result
from chom_validate.registry import check

if TYPE_CHECKING:
    from chom_validate.artifacts.nginx import Block, Directive


def _remote_targets(ctx: ScanContext):  # type: ignore[no-untyped-def]
    return [t for t in scrape_targets(ctx) if t.host and t.scraper and t.host != t.scraper]


@check(
    "TOP001",
    "scrape-allowed-by-firewall",
    category="topology",
    severity="high",
    pillar="observability",
    commands=[UFW_STATUS],
)
def scrape_allowed(ctx: ScanContext) -> Iterator[Result]:
    """Every scrape target is reachable from the scraping host through the target host's firewall.

    What it does
        For each `host:port` in the Prometheus scrape configs that lives on another host, takes the
        scraping host's address from `chom-validate.yaml` and evaluates the target host's firewall
        (first matching rule, then the default policy) for a TCP connection from it to that port.
    Why it matters
        A scrape blocked by the firewall shows as `up == 0`: either a permanent false alarm that
        trains people to ignore pages, or, without an alert on it, a service nobody monitors.
    Example
        prometheus.yml: - targets: ['51.77.150.96:9121']    # redis
        setup-firewall.sh: no rule for 9121, default deny incoming
    Fix
        `ufw allow proto tcp from <scraper IP> to any port 9121` on the target host.
    References
        https://prometheus.io/docs/concepts/jobs_instances/
    Severity
        High: the service behind a blocked scrape is unmonitored, or its permanent `up == 0` trains
        people to ignore pages.
    """
    targets = _remote_targets(ctx)
    if not targets:
        yield Result.not_applicable("no scrape targets on other hosts")
        return
    fws = firewalls(ctx)
    for t in targets:
        subject = f"{t.job} {t.address}:{t.port}"
        hf = fws.get(t.host or "")
        src = host_address(ctx, t.scraper or "")
        if hf is None:
            yield Result.not_applicable(f"{subject}: no firewall configuration for {t.host}", t.evidence())
            continue
        if src is None:
            yield Result.not_applicable(f"{subject}: no IP address configured for scraper {t.scraper}")
            continue
        allowed, rule = hf.firewall.decide(t.port, "tcp", src)
        if allowed:
            yield Result.passed(
                f"{subject}: allowed from {t.scraper} ({src}) by {t.host}'s firewall",
                t.evidence(),
                hf.rule_evidence(rule) if rule else hf.evidence(hf.firewall.default_line),
                subject=subject,
            )
        else:
            note = (
                f"rule denies {src} -> {t.port}/tcp"
                if rule
                else f"no rule allows {src} -> {t.port}/tcp; default incoming {hf.firewall.default_incoming}"
            )
            yield Result.fail(
                f"{subject}: scrape from {t.scraper} ({src}) is blocked by {t.host}'s firewall",
                t.evidence(note=f"job {t.job} scrapes {t.address}:{t.port}"),
                hf.rule_evidence(rule, note=note)
                if rule
                else hf.evidence(hf.firewall.default_line, note=note),
                subject=subject,
            )


@check("TOP002", "scrape-target-has-listener", category="topology", severity="medium", pillar="observability")
def scrape_has_listener(ctx: ScanContext) -> Iterator[Result]:
    """Every scrape target has a service on that host listening on that port.

    What it does
        For each scrape target, looks on the target host for a systemd unit (files, heredocs,
        drop-ins of packaged units) whose listen address or known default port is the target port,
        or an Nginx `server` listening there.
    Why it matters
        A scrape job without anything behind it is a permanent `up == 0`; usually the exporter was
        renamed, moved to another port or never installed.
    Example
        job mysqld -> 51.77.150.96:9104, but mysqld_exporter listens on :9105
    Fix
        Align the port in the unit (`--web.listen-address=`) and in prometheus.yml, or install the
        exporter.
    References
        https://github.com/prometheus/prometheus/wiki/Default-port-allocations
    Severity
        Medium: the job is a permanent `up == 0`; the failure is visible, and other monitoring keeps
        working.
    """
    targets = [t for t in scrape_targets(ctx) if t.host]
    if not targets:
        yield Result.not_applicable("no scrape targets on known hosts")
        return
    lst = listeners(ctx)
    for t in targets:
        subject = f"{t.job} {t.address}:{t.port}"
        host_l = lst.get(t.host or "")
        if host_l is None:
            yield Result.not_applicable(f"{subject}: no unit or site files for {t.host} in the scan")
            continue
        found = host_l.ports.get(t.port)
        if found:
            lsn = found[0]
            yield Result.passed(
                f"{subject}: {lsn.what} listens on {t.port} on {t.host}",
                t.evidence(),
                listener_evidence(lsn),
                subject=subject,
            )
        else:
            near = ", ".join(f"{p}" for p in sorted(host_l.ports))
            yield Result.fail(
                f"{subject}: nothing on {t.host} is configured to listen on {t.port} (listening: {near})",
                t.evidence(),
                subject=subject,
            )


@check(
    "TOP003",
    "exporter-not-world-open",
    category="topology",
    severity="high",
    pillar="security",
    commands=[UFW_STATUS],
)
def exporter_not_world(ctx: ScanContext) -> Iterator[Result]:
    """No scraped port is open to the whole internet.

    What it does
        For each port Prometheus scrapes on another host, reports any allow rule on that host's
        firewall that accepts it from anywhere, citing the scrape job and the rule.
    Why it matters
        Metrics endpoints expose versions, hostnames, queues and sometimes user data, and have no
        authentication; they are meant for the scraper only.
    Example
        prometheus.yml: job chom-app -> 51.77.150.96:8080
        setup-firewall.sh: ufw allow 8080/tcp
    Fix
        Replace the rule with `ufw allow proto tcp from <scraper IP> to any port 8080`.
    References
        https://prometheus.io/docs/operating/security/
    Severity
        High: unauthenticated metrics (versions, hostnames, queues, sometimes user data) are readable
        from the internet.
    """
    targets = _remote_targets(ctx)
    if not targets:
        yield Result.not_applicable("no scrape targets on other hosts")
        return
    fws = firewalls(ctx)
    for t in targets:
        subject = f"{t.job} {t.address}:{t.port}"
        hf = fws.get(t.host or "")
        if hf is None:
            yield Result.not_applicable(f"{subject}: no firewall configuration for {t.host}")
            continue
        public = hf.firewall.public_rules(t.port)
        if public:
            yield Result.fail(
                f"{subject}: port {t.port} is open to the world on {t.host}, not only to {t.scraper}",
                t.evidence(note=f"job {t.job} scrapes {t.address}:{t.port}"),
                hf.rule_evidence(public[0], note=f"allows {t.port} from anywhere"),
                subject=subject,
            )
        else:
            yield Result.passed(
                f"{subject}: port {t.port} not open to the world on {t.host}",
                t.evidence(),
                hf.evidence(hf.firewall.default_line, note=f"no rule opens {t.port} to anywhere"),
                subject=subject,
            )


@check(
    "TOP004",
    "firewall-rule-has-service",
    category="topology",
    severity="low",
    pillar="operations",
)
def rule_has_service(ctx: ScanContext, fws: FirewallRules) -> Iterator[Result]:
    """Every port the firewall opens has a service configured to listen on it.

    What it does
        For each allow rule with a port on a host, looks for a listener on that host: a systemd
        unit, a drop-in of a packaged unit, an Nginx server, SSH (22), or the role's standard ports
        (db 3306, cache 6379, web 80/443). Rules for ports nothing uses are reported.
    Why it matters
        Leftover rules for removed services are holes waiting for the next thing that binds the
        port (a debug server, a container) and make the firewall harder to review.
    Example
        ufw allow from 51.77.150.96 to any port 9115   # blackbox_exporter was removed
    Fix
        Delete the rule (`ufw delete allow ...`) or document the service that needs it.
    References
        https://manpages.debian.org/ufw.8
    Severity
        Low: an unused opening is a hole only once something binds the port; today it is firewall
        hygiene.
    """
    lst = listeners(ctx)
    for host, hf in sorted(fws.items()):
        roles = ctx.config.hosts[host].roles if host in ctx.config.hosts else []
        known = {22} | {p for r in roles for p in ROLE_PORTS.get(r, [])}
        ports = lst.get(host)
        for r in hf.firewall.incoming:
            if not r.allows or r.port is None or not all(p.isdigit() for p in r.port.split(",")):
                continue
            for p in (int(x) for x in r.port.split(",")):
                hit = ports.ports.get(p) if ports else None
                if hit:
                    yield Result.passed(
                        f"{host}: port {p} is used by {hit[0].what}",
                        hf.rule_evidence(r),
                        listener_evidence(hit[0]),
                        subject=f"{host}:{p}",
                    )
                elif p in known:
                    yield Result.passed(
                        f"{host}: port {p} is a standard port of the host's roles",
                        hf.rule_evidence(r),
                        subject=f"{host}:{p}",
                    )
                else:
                    yield Result.fail(
                        f"{host}: the firewall opens {p}/{r.proto} but no unit or site on {host} listens there",
                        hf.rule_evidence(r, note=f"no listener for {p} on {host}"),
                        subject=f"{host}:{p}",
                    )


@check(
    "TOP005", "node-exporter-host-namespace", category="topology", severity="medium", pillar="observability"
)
def node_exporter_host_namespace(ctx: ScanContext) -> Iterator[Result]:
    """A containerised node_exporter sees the host's network, not its own container's.

    What it does
        For docker compose services running node_exporter (`prom/node-exporter`,
        `quay.io/prometheus/node-exporter`), requires `network_mode: host`. Mounting the host's
        /proc (`--path.procfs=/host/proc`) is not enough and is named in the finding.
    Why it matters
        /proc/net is a link to the reading process's own network namespace: on a bridge network
        `node_network_*`, netstat and sockstat series describe the container's eth0, so host
        network dashboards and alerts (saturated uplink, interface down) watch the wrong thing.
    Example
        nodeexporter: { image: prom/node-exporter, networks: [monitor-net] }
    Fix
        `network_mode: host` (and `pid: host`), with `--web.listen-address` on a private or
        loopback address (see NET019).
    References
        https://github.com/prometheus/node_exporter#docker
    Severity
        Medium: host network dashboards and alerts watch the container's interface; CPU, memory and
        disk series are still right.
    """
    from chom_validate.artifacts.yamlfile import load_yaml

    found = False
    for art in ctx.artifacts("yaml"):
        if "node-exporter" not in art.text and "node_exporter" not in art.text:
            continue
        try:
            data = load_yaml(art.text)
        except Exception:  # unparseable YAML is reported by TGT002
            continue
        svcs = data.get("services") if isinstance(data, dict) else None
        if not isinstance(svcs, dict):
            continue
        for name, svc in svcs.items():
            if not isinstance(svc, dict) or not re.search(r"node[-_]exporter", str(svc.get("image", ""))):
                continue
            found = True
            line = svcs.line_of(name) if hasattr(svcs, "line_of") else None
            if svc.get("network_mode") == "host":
                yield Result.passed(
                    f"{art.label}: {name} runs in the host network namespace", art.evidence(line)
                )
                continue
            cmd = svc.get("command") or []
            procfs = (
                next((str(c) for c in cmd if "path.procfs" in str(c)), "") if isinstance(cmd, list) else ""
            )
            yield Result.fail(
                f"{art.label}: {name} runs node_exporter in its container's network namespace"
                + (f" ({procfs} does not change that: /proc/net follows the reader)" if procfs else "")
                + ": node_network_* and netstat series describe the container's eth0, not the host",
                art.evidence(line),
                subject=name,
            )
    if not found:
        yield Result.not_applicable("no containerised node_exporter")


_SCRAPE_URI = re.compile(r"-?-nginx\.scrape-uri[= ](?P<uri>\S+)")
_ANY_ADDR = ("*", "0.0.0.0", "[::]", "::")


def _uri_host(netloc: str) -> str:
    h = netloc.rsplit("@", 1)[-1]
    h = h[1:].split("]", 1)[0] if h.startswith("[") else h.split(":", 1)[0]
    return "127.0.0.1" if h in ("localhost", "ip6-localhost") else h


def _listen_reaches(ld: Directive, host: str) -> bool:
    """Whether a `listen` directive accepts connections to ``host`` (unknown names: assume yes)."""
    args = ld.args
    addr = args[0] if args else ""
    bound = (
        addr.rsplit(":", 1)[0]
        if ":" in addr and not addr.endswith("]")
        else ("*" if addr.isdigit() else addr)
    )
    bound = bound.strip("[]") if bound.startswith("[") else bound
    if bound in _ANY_ADDR or not bound or not re.fullmatch(r"[\d.]+|[0-9a-fA-F:]+", bound):
        return True
    if not re.fullmatch(r"[\d.]+|[0-9a-fA-F:]+", host):
        return True  # a name: resolved elsewhere
    return bound == host or (bound.startswith("127.") and host.startswith("127.") and bound == host)


def _in_net(ip: str, net: str) -> bool | None:
    """``ip`` in ``net`` (IPv4 literal/CIDR); None when it cannot be told (names, IPv6, variables)."""
    m = re.fullmatch(r"(\d+)\.(\d+)\.(\d+)\.(\d+)(?:/(\d+))?", net)
    i = re.fullmatch(r"(\d+)\.(\d+)\.(\d+)\.(\d+)", ip)
    if not m or not i:
        return None
    bits = int(m.group(5)) if m.group(5) else 32
    a = sum(int(m.group(k)) << (8 * (4 - k)) for k in range(1, 5))
    b = sum(int(i.group(k)) << (8 * (4 - k)) for k in range(1, 5))
    mask = ((1 << 32) - 1) ^ ((1 << (32 - bits)) - 1) if bits else 0
    return (a & mask) == (b & mask)


def _denied(loc: Block, host: str) -> Directive | None:
    """The `deny` directive that refuses a scrape from ``host`` (nginx: first matching allow/deny wins,
    rules come from the nearest block that has any); None when allowed or unknown."""
    if not re.fullmatch(r"\d+\.\d+\.\d+\.\d+", host):
        return None
    b: Block | None = loc
    while b is not None:
        rules = sorted((d for d in b.directives if d.name in ("allow", "deny")), key=lambda d: d.line)
        if rules:
            for d in rules:
                arg = d.args[0] if d.args else ""
                inside = True if arg == "all" else _in_net(host, arg)
                if inside is None:
                    return None  # an address we cannot evaluate comes first: unknown
                if inside:
                    return d if d.name == "deny" else None
            return None
        b = b.parent
    return None


@check(
    "TOP006", "nginx-exporter-status-endpoint", category="topology", severity="high", pillar="observability"
)
def nginx_exporter_status(ctx: ScanContext) -> Iterator[Result]:
    """nginx-prometheus-exporter reads a `stub_status` location that the same repository deploys.

    What it does
        Takes `--nginx.scrape-uri` from each nginx-prometheus-exporter unit (default
        http://127.0.0.1:8080/stub_status) and looks, among the Nginx sites deployed for the same
        host, for a server listening on that port (and on an address the URI reaches: a server bound
        to 10.0.0.5:8080 does not answer 127.0.0.1:8080) with a `location` for that path that has
        `stub_status`. When the host has Nginx sites but none serves it, fails with the exporter's
        flag and the sites as evidence; when the location's `allow`/`deny` rules (first match wins,
        inherited from the server) refuse the exporter's loopback address, fails with the `deny`
        line. Without any Nginx site for the host: not_applicable.
    Why it matters
        The exporter then reports `nginx_up 0` forever and every Nginx alert is silent: the
        monitoring looks configured and measures nothing.
    Example
        --nginx.scrape-uri=http://127.0.0.1:8081/stub_status   # no server listens on 8081
    Fix
        Add `server { listen 127.0.0.1:8081; location = /stub_status { stub_status; allow 127.0.0.1;
        deny all; } }`, or point the flag at the location that exists.
    References
        https://github.com/nginxinc/nginx-prometheus-exporter#command-line-arguments
        https://nginx.org/en/docs/http/ngx_http_stub_status_module.html
    Severity
        High: nginx_up stays 0 and every Nginx alert is silent: the web tier looks monitored and is
        not.
    """
    from chom_validate.artifacts.nginx import listen_ports
    from chom_validate.artifacts.systemd import merged_units

    units = ctx.derived(
        "systemd:merged", lambda: merged_units(ctx.parsed("systemd_unit"), ctx.parsed("systemd_dropin"))
    )
    sites = ctx.parsed("nginx_site")
    found = False
    for art, unit in units:
        d = unit.last("Service", "ExecStart")
        if d is None or ("nginx-prometheus-exporter" not in d.value and "nginx_exporter" not in d.value):
            continue
        m = _SCRAPE_URI.search(d.value)
        uri = m.group("uri").strip("'\"") if m else "http://127.0.0.1:8080/stub_status"
        if "$" in uri or "{{" in uri:
            yield Result.not_applicable(f"{art.label}: scrape URI {uri} is templated", subject=unit.name)
            continue
        parts = url_parts(uri)
        port = parts.port
        path = parts.path or "/"
        host_sites = [(a, s) for a, s in sites if a.host == art.host]
        if not host_sites:
            continue
        found = True
        src = (d.source or art).evidence(d.line, note=f"scrapes {uri}")
        hit = None
        refused = None
        host = _uri_host(parts.netloc)
        for sa, site in host_sites:
            for server in site.servers:
                if not any(p == port and _listen_reaches(ld, host) for p, ld in listen_ports(server)):
                    continue
                for loc in server.walk("location"):
                    lpath = loc.args[-1] if loc.args else ""
                    exact = len(loc.args) > 1 and loc.args[0] == "="
                    if loc.first("stub_status") and (lpath == path or (not exact and path.startswith(lpath))):
                        deny = _denied(loc, host)
                        if deny is None:
                            hit = (sa, loc.line)
                        else:
                            refused = (sa, loc.line, deny)
        if hit is None and refused is not None:
            sa, ln, deny = refused
            yield Result.fail(
                f"{art.label}: the exporter scrapes {uri} from {host}, but the stub_status location answers "
                f"403 to it (`deny {' '.join(deny.args)}` at line {deny.line} before any allow for {host}): "
                "nginx_up stays 0",
                src,
                sa.evidence(ln, note="stub_status location"),
                sa.evidence(deny.line, note=f"denies {host}"),
                subject=unit.name,
            )
            continue
        if hit is not None:
            yield Result.passed(
                f"{art.label}: {uri} is served by stub_status",
                src,
                hit[0].evidence(hit[1]),
                subject=unit.name,
            )
        else:
            first = host_sites[0][0]
            yield Result.fail(
                f"{art.label}: the exporter scrapes {uri} but no Nginx site deployed for this host has a "
                f"stub_status location at {path} on port {port}: nginx_up stays 0",
                src,
                first.evidence(None, note=f"{len(host_sites)} Nginx site(s) checked"),
                subject=unit.name,
            )
    if not found:
        yield Result.not_applicable("no nginx-prometheus-exporter unit with Nginx sites on the same host")
