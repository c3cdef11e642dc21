"""Host firewalls, TLS certificates and their renewal, HTTPS settings in Nginx."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from chom_validate.api import Context as ScanContext
from chom_validate.artifacts.nginx import is_tls
from chom_validate.facts.firewall import UFW_STATUS, HostFirewall, firewalls
from chom_validate.facts.inputs import FirewallRules
from chom_validate.facts.monitoring import monitoring_addresses, scrape_targets
from chom_validate.facts.shell_program import program_for
from chom_validate.findings import Evidence, Result
from chom_validate.registry import check

DATA_PORTS = {3306: "MySQL", 5432: "PostgreSQL", 6379: "Redis", 11211: "memcached", 27017: "MongoDB"}
DATA_PORTS[9000] = "PHP-FPM"
EXPORTER_PORTS = {9100, 9104, 9113, 9121, 9187, 9253, 9256}


def _before_rules(hf: HostFirewall, note: str) -> Evidence:
    """A setting the rule set lacks: its first rule (where it belongs), else the script or host."""
    first = next((r for r in hf.firewall.rules if r.line), None)
    if first is None:
        return hf.evidence(None, note=note)
    return hf.rule_evidence(first, note=note)


@check(
    "NET001",
    "firewall-default-deny",
    category="network",
    severity="high",
    pillar="security",
    commands=[UFW_STATUS],
)
def default_deny(ctx: ScanContext) -> Iterator[Result]:
    """The host firewall denies incoming traffic by default.

    What it does
        Builds each host's firewall from `ufw` commands in its scripts (or `ufw status verbose` on
        a live host) and reads the default incoming policy. `deny`/`reject` pass; `allow` fails; a
        script that never states it is reported (low) because it relies on whatever the host had.
    Why it matters
        With a default allow, every service that binds 0.0.0.0 (databases, exporters, debug ports)
        is reachable from the internet; allow-lists only work on top of a default deny.
    Example
        ufw default allow incoming
    Fix
        `ufw default deny incoming` and `ufw default allow outgoing`, then allow what is needed.
    References
        https://manpages.debian.org/ufw.8
    Severity
        High: every service bound to 0.0.0.0 (databases, exporters, debug ports) is reachable from the
        internet; one weak service is enough for a breach.
    """
    fws = firewalls(ctx)
    if not fws:
        yield Result.not_applicable("no firewall configuration (ufw scripts or live ufw) found")
        return
    for host, hf in sorted(fws.items()):
        pol = hf.firewall.default_incoming
        if pol in ("deny", "reject"):
            yield Result.passed(
                f"{host}: default incoming policy is {pol}",
                hf.evidence(hf.firewall.default_line),
                subject=host,
            )
        elif pol is None:
            yield Result.fail(
                f"{host}: the firewall never sets a default incoming policy",
                _before_rules(hf, "no `ufw default deny incoming`: it belongs before the first rule"),
                subject=host,
                severity="low",
            )
        else:
            yield Result.fail(
                f"{host}: default incoming policy is {pol}: everything not denied is reachable",
                hf.evidence(hf.firewall.default_line),
                subject=host,
            )


@check(
    "NET002",
    "ssh-rate-limited",
    category="network",
    severity="medium",
    pillar="security",
)
def ssh_limited(ctx: ScanContext, fws: FirewallRules) -> Iterator[Result]:
    """SSH is rate-limited or restricted to known sources.

    What it does
        Finds the rules for port 22 (or `network.ssh_port`). `ufw limit`, or an allow from a
        specific source, pass; an allow from anywhere without a limit fails; no rule at all fails
        (the next `ufw enable` locks the operators out).
    Why it matters
        An SSH port open to the world without a rate limit is brute-forced all day; a missing rule
        turns the next firewall run into an outage that needs console access.
    Example
        ufw allow 22/tcp
    Fix
        `ufw limit 22/tcp` (or `ufw allow from <admin range> to any port 22 proto tcp`).
    References
        https://manpages.debian.org/ufw.8#RULE_SYNTAX
    Severity
        Medium: brute force against SSH is slowed by key-only authentication, but an open port without
        a limit invites it; a missing rule locks operators out at the next enable.
    """
    port = int(ctx.settings("network").get("ssh_port", 22))
    for host, hf in sorted(fws.items()):
        rules = [r for r in hf.firewall.incoming if r.allows and r.matches_port(port)]
        open_world = [r for r in rules if r.from_anywhere and r.action != "limit"]
        if open_world:
            r = open_world[0]
            yield Result.fail(
                f"{host}: SSH ({port}/tcp) allowed from anywhere without `limit`",
                hf.rule_evidence(r),
                subject=host,
            )
        elif rules:
            r = rules[0]
            how = "rate-limited" if r.action == "limit" else f"restricted to {r.source}"
            yield Result.passed(f"{host}: SSH {how}", hf.rule_evidence(r), subject=host)
        else:
            yield Result.fail(
                f"{host}: no rule allows SSH ({port}/tcp); enabling the firewall locks operators out",
                hf.evidence(hf.firewall.enabled_line, note=f"no rule for port {port}: it belongs before this")
                if hf.firewall.enabled_line
                else _before_rules(hf, f"no rule for port {port}"),
                subject=host,
            )


@check(
    "NET003",
    "data-ports-not-public",
    category="network",
    severity="critical",
    pillar="security",
)
def data_ports_private(fws: FirewallRules) -> Iterator[Result]:
    """Database, cache and PHP-FPM ports are never open to the internet.

    What it does
        For 3306 (MySQL), 5432 (PostgreSQL), 6379 (Redis), 11211 (memcached), 27017 (MongoDB) and
        9000 (PHP-FPM FastCGI), reports any allow rule from any source. Rules from specific
        sources pass; the default policy is cited when no rule mentions the port.
    Why it matters
        Redis and memcached have no authentication by default, MySQL is brute-forced, and an open
        FastCGI port executes arbitrary PHP. These ports belong on localhost or a private network.
    Example
        ufw allow 3306/tcp
    Fix
        Delete the rule; bind the service to 127.0.0.1 or allow only the application host's address.
    References
        https://redis.io/docs/latest/operate/oss_and_stack/management/security/
    Severity
        Critical: unauthenticated Redis/memcached, a brute-forced MySQL or an open FastCGI port means
        data theft or remote code execution.
    """
    for host, hf in sorted(fws.items()):
        for port, what in DATA_PORTS.items():
            public = hf.firewall.public_rules(port)
            if public:
                yield Result.fail(
                    f"{host}: {what} port {port} is open to the internet",
                    hf.rule_evidence(public[0]),
                    subject=f"{host}:{port}",
                )
            elif hf.firewall.default_incoming in ("deny", "reject"):
                yield Result.passed(
                    f"{host}: {what} port {port} not public (default {hf.firewall.default_incoming})",
                    hf.evidence(hf.firewall.default_line, note=f"no public rule for {port}"),
                    subject=f"{host}:{port}",
                )
            elif any(r.matches_port(port) for r in hf.firewall.incoming):
                yield Result.passed(
                    f"{host}: {what} port {port} is only allowed from specific sources",
                    hf.rule_evidence(next(r for r in hf.firewall.incoming if r.matches_port(port))),
                    subject=f"{host}:{port}",
                )
            else:
                # No rule and no stated default: reachability depends on a policy the script never
                # sets (NET001 reports that); it cannot be known here, so neither pass nor fail.
                yield Result.not_applicable(
                    f"{host}: no rule for {what} port {port} and no default policy stated; "
                    "whether it is reachable depends on the host's existing policy",
                    hf.evidence(None, note="no `ufw default deny incoming`"),
                    subject=f"{host}:{port}",
                )


@check(
    "NET004",
    "exporters-monitoring-only",
    category="network",
    severity="high",
    pillar="security",
)
def exporters_monitoring_only(ctx: ScanContext, fws: FirewallRules) -> Iterator[Result]:
    """Exporter ports are reachable only from the monitoring host(s).

    What it does
        For exporter ports (the usual 91xx exporter ports plus every port Prometheus scrapes on the
        host), every allow rule must name a monitoring host's address as its source. Rules from
        anywhere, or from other sources, fail.
    Why it matters
        Exporters leak internals (versions, users, query digests, file systems) and are an easy
        denial-of-service target; only the scraper needs them.
    Example
        ufw allow 9100/tcp
    Fix
        `ufw allow proto tcp from <monitoring IP> to any port 9100`.
    References
        https://prometheus.io/docs/operating/security/
    Severity
        High: exporters expose versions, users, query digests and file systems to anyone, and are an
        easy denial-of-service target.
    """
    mons = monitoring_addresses(ctx)
    scraped: dict[str, set[int]] = {}
    for t in scrape_targets(ctx):
        if t.host and t.host != t.scraper:
            scraped.setdefault(t.host, set()).add(t.port)
    for host, hf in sorted(fws.items()):
        ports = (EXPORTER_PORTS | scraped.get(host, set())) if host not in mons.values() else set()
        seen = False
        for r in hf.firewall.incoming:
            if not r.allows or r.port is None:
                continue
            hits = sorted(p for p in ports if r.matches_port(p))
            if not hits:
                continue
            seen = True
            ok = not r.from_anywhere and any(r.matches_source(a) for a in mons)
            src = "anywhere" if r.from_anywhere else r.source
            if not ok and not mons and not r.from_anywhere:
                # no monitoring host configured: whether this source is the scraper is unknown
                yield Result.not_applicable(
                    f"{host}: exporter port {','.join(map(str, hits))} allowed from {src} only; no monitoring "
                    "host is configured (`topology.monitoring_hosts`) to tell whether that is the scraper",
                    hf.rule_evidence(r),
                    subject=f"{host}:{hits[0]}",
                )
                continue
            if ok:
                yield Result.passed(
                    f"{host}: port {','.join(map(str, hits))} allowed from monitoring host {src}",
                    hf.rule_evidence(r),
                    subject=f"{host}:{hits[0]}",
                )
            else:
                yield Result.fail(
                    f"{host}: exporter port {','.join(map(str, hits))} allowed from {src}, not only from "
                    f"the monitoring host(s) {', '.join(mons) or '(none configured)'}",
                    hf.rule_evidence(r),
                    subject=f"{host}:{hits[0]}",
                )
        if not seen:
            yield Result.not_applicable(f"{host}: no firewall rule for exporter ports", subject=host)


@check(
    "NET005",
    "firewall-enabled",
    category="network",
    severity="high",
    pillar="reliability",
)
def firewall_enabled(fws: FirewallRules) -> Iterator[Result]:
    """The firewall is enabled (and so active after a reboot).

    What it does
        Looks for `ufw enable` / `ufw --force enable` (or `systemctl enable ufw`) in the script that
        configures the rules, or `Status: active` in `ufw status verbose` on a live host.
    Why it matters
        ufw rules that were added but never enabled protect nothing; `ufw enable` also makes the
        firewall start at boot.
    Example
        ufw allow 443/tcp   # ... and no `ufw enable`
    Fix
        End the firewall script with `ufw --force enable`.
    References
        https://manpages.debian.org/ufw.8
    Severity
        High: rules that were never enabled protect nothing, and the host runs unfiltered after every
        reboot.
    """
    for host, hf in sorted(fws.items()):
        if hf.firewall.enabled:
            yield Result.passed(
                f"{host}: firewall enabled", hf.evidence(hf.firewall.enabled_line), subject=host
            )
        else:
            yield Result.fail(
                f"{host}: the firewall is configured but never enabled",
                hf.evidence(hf.firewall.enabled_line, note="no `ufw --force enable`"),
                subject=host,
            )


@check(
    "NET006",
    "firewall-ipv6-parity",
    category="network",
    severity="high",
    pillar="security",
)
def ipv6_parity(fws: FirewallRules) -> Iterator[Result]:
    """IPv6 traffic is filtered like IPv4.

    What it does
        Fails when ufw is told not to manage IPv6 (`IPV6=no` in /etc/default/ufw) or the rule set
        only covers IPv4, while the host has IPv6.
    Why it matters
        With IPV6=no ufw leaves ip6tables at ACCEPT: every service that listens on `::` is open to
        the internet over IPv6 no matter how strict the IPv4 rules are.
    Example
        sed -i 's/IPV6=yes/IPV6=no/' /etc/default/ufw
    Fix
        Keep `IPV6=yes` (the default) and re-run the firewall script.
    References
        https://manpages.debian.org/ufw.8#IPV6
    Severity
        High: with IPv6 unfiltered, every service listening on :: is open to the internet however
        strict the IPv4 rules are.
    """
    for host, hf in sorted(fws.items()):
        if hf.firewall.ipv6 is False:
            yield Result.fail(
                f"{host}: IPv6 is not filtered by the firewall",
                hf.evidence(hf.firewall.ipv6_line, note="IPv6 rules disabled"),
                subject=host,
            )
        else:
            line = hf.firewall.ipv6_line or hf.firewall.default_line
            note = None if hf.firewall.ipv6_line else "ufw applies rules to IPv6 too (IPV6=yes default)"
            yield Result.passed(
                f"{host}: IPv6 filtered like IPv4", hf.evidence(line, note=note), subject=host
            )


_CERTBOT = re.compile(r"\bcertbot\b")
_RENEW = re.compile(
    r"certbot(\.timer|\s+renew\b)|snap\s+install\b.*\bcertbot|apt(-get)?\s+install\b.*\bcertbot"
)


@check("NET007", "certificate-renewal", category="network", severity="high", pillar="reliability")
def certificate_renewal(ctx: ScanContext) -> Iterator[Result]:
    """Let's Encrypt certificates are renewed automatically.

    What it does
        When certbot issues certificates (a `certbot` command in a script, or an Nginx site using
        /etc/letsencrypt), requires a renewal: `certbot.timer` enabled, the Debian/snap package
        (which ships the timer), or a cron entry running `certbot renew`.
    Why it matters
        Let's Encrypt certificates last 90 days. Without renewal the site breaks on a known date,
        usually a weekend.
    Example
        pip install certbot && certbot certonly ...   # no timer, no cron
    Fix
        Install certbot from the distribution (`apt-get install certbot` enables certbot.timer) or
        add `0 3 * * * root certbot renew --quiet --deploy-hook "systemctl reload nginx"`.
    References
        https://eff-certbot.readthedocs.io/en/stable/using.html#automated-renewals
    Severity
        High: the site's TLS breaks on a known date within 90 days (an outage), usually when nobody is
        watching.
    """
    users: list[tuple[Any, int]] = []
    renewals: list[tuple[Any, int]] = []
    for art, script in ctx.parsed("shell"):
        for cmd in script.commands:
            if _CERTBOT.search(cmd.text):
                (renewals if _RENEW.search(cmd.text) else users).append((art, cmd.line))
    for art in ctx.artifacts("cron", "systemd_unit"):
        for i, ln in enumerate(art.lines, 1):
            if re.search(r"certbot\s+renew", ln):
                renewals.append((art, i))
    for art, site in ctx.parsed("nginx_site"):
        for server in site.servers:
            d = server.first("ssl_certificate")
            if d and d.args and d.args[0].startswith("/etc/letsencrypt/"):
                users.append((art, d.line))
    if not users and not renewals:
        yield Result.not_applicable("no certbot / Let's Encrypt certificates found")
    elif renewals:
        art, line = renewals[0]
        yield Result.passed("certificate renewal is automated", art.evidence(line))
    else:
        art, line = users[0]
        yield Result.fail(
            "Let's Encrypt certificates are issued but nothing renews them (no certbot.timer, no cron)",
            art.evidence(line),
        )


@check("NET008", "certificate-expiry", category="network", severity="high", pillar="reliability")
def certificate_expiry(ctx: ScanContext) -> Iterator[Result]:
    """Certificates kept in the tree are valid for at least `network.cert_min_days` (21) more days.

    What it does
        Reads every PEM certificate file (`*.crt`, `*.pem`, `*.cer`) and compares its notAfter with
        the scan time.
    Why it matters
        Certificates managed by hand (internal CAs, self-signed dashboards, origin certificates)
        have no renewal job; they expire silently and break TLS clients.
    Example
        grafana.crt: notAfter=2026-12-10 (11 days left)
    Fix
        Renew the certificate (or automate it) and deploy it before the date.
    References
        https://www.rfc-editor.org/rfc/rfc5280#section-4.1.2.5
    Severity
        High: TLS clients break when the certificate expires, with no renewal job to prevent it.
    """
    min_days = int(ctx.settings("network").get("cert_min_days", 21))
    found = False
    for art, certs in ctx.parsed("tls_certificate"):
        if _FIXTURE_DIR.search(art.path) and art.remote_host is None:
            # Test fixtures ship deliberately expired or self-signed certificates; nothing deploys them.
            if certs:
                yield Result.not_applicable(f"{art.label}: test fixture certificate, not deployed")
            continue
        for c in certs:
            found = True
            days = (c.not_after - ctx.now).total_seconds() / 86400
            when = c.not_after.date().isoformat()
            if days < 0:
                yield Result.fail(
                    f"{art.label}: {c.subject} expired on {when}", art.evidence(c.line), subject=c.subject
                )
            elif days < min_days:
                yield Result.fail(
                    f"{art.label}: {c.subject} expires on {when} ({int(days)} days left, minimum {min_days})",
                    art.evidence(c.line),
                    subject=c.subject,
                )
            else:
                yield Result.passed(
                    f"{art.label}: {c.subject} valid until {when}", art.evidence(c.line), subject=c.subject
                )
    if not found:
        yield Result.not_applicable("no certificate files in the tree")


_FIXTURE_DIR = re.compile(r"(^|/)(testdata|test|tests|fixtures?|__tests__|spec)/")
_OLD_TLS = ("SSLv2", "SSLv3", "TLSv1", "TLSv1.1")


@check("NET009", "nginx-tls-protocols", category="network", severity="medium", pillar="security")
def nginx_tls_protocols(ctx: ScanContext) -> Iterator[Result]:
    """HTTPS servers in Nginx offer only TLS 1.2 and 1.3.

    What it does
        For every `server` block that listens with `ssl`, reads the effective `ssl_protocols`
        (server, then http level). SSLv3, TLSv1 and TLSv1.1 fail; a missing directive passes only on
        Nginx defaults newer than 1.23 and is reported as not applicable.
    Why it matters
        TLS 1.0/1.1 are deprecated (RFC 8996) and fail PCI DSS and most scanners.
    Example
        ssl_protocols TLSv1 TLSv1.1 TLSv1.2;
    Fix
        `ssl_protocols TLSv1.2 TLSv1.3;`
    References
        https://ssl-config.mozilla.org/ ; https://www.rfc-editor.org/rfc/rfc8996
    Severity
        Medium: TLS 1.0/1.1 (RFC 8996) fail PCI DSS and every scanner, but current clients negotiate
        TLS 1.2+ with downgrade protection, so a breach through them is unlikely.
    """
    found = False
    for art, site in ctx.parsed("nginx_site"):
        for server in site.servers:
            if not is_tls(server):
                continue
            found = True
            d = server.inherited("ssl_protocols")
            if d is None:
                yield Result.not_applicable(
                    f"{art.label}: no ssl_protocols; depends on the Nginx version default",
                    art.evidence(server.line),
                )
                continue
            old = [p for p in d.args if p in _OLD_TLS]
            if old:
                yield Result.fail(f"{art.label}: deprecated protocols {' '.join(old)}", art.evidence(d.line))
            else:
                yield Result.passed(f"{art.label}: ssl_protocols {' '.join(d.args)}", art.evidence(d.line))
    if not found:
        yield Result.not_applicable("no HTTPS server blocks in Nginx configs")


@check("NET010", "nginx-hsts", category="network", severity="medium", pillar="security")
def nginx_hsts(ctx: ScanContext) -> Iterator[Result]:
    """HTTPS responses carry HSTS, in every location (add_header inheritance).

    What it does
        For every HTTPS server, requires `add_header Strict-Transport-Security "max-age=N"` with N
        of at least 6 months (15768000). Then checks every `location` inside it: Nginx drops all
        inherited `add_header`s in a block that has its own `add_header`, so such a location must
        repeat HSTS.
    Why it matters
        Without HSTS a user's first plain-HTTP request can be intercepted and downgraded. The
        inheritance rule silently removes it from exactly the locations that set cache headers.
    Example
        add_header Strict-Transport-Security "max-age=63072000" always;
        location /build/ { add_header Cache-Control "public, immutable"; }   # no HSTS here
    Fix
        Repeat the HSTS header in that location, or move headers into an `include`d snippet used in
        every block that sets headers.
    References
        https://nginx.org/en/docs/http/ngx_http_headers_module.html#add_header
    Severity
        Medium: the first plain-HTTP request can be downgraded; HTTPS itself still works.
    """
    found = False
    for art, site in ctx.parsed("nginx_site"):
        for server in site.servers:
            if not is_tls(server):
                continue
            found = True
            blocks = [server, *server.walk("location")]
            for b in blocks:
                headers = b.effective("add_header")
                hsts = [h for h in headers if h.args and h.args[0].lower() == "strict-transport-security"]
                where = "server" if b is server else f"location {' '.join(b.args)}"
                if hsts:
                    m = re.search(r"max-age=(\d+)", " ".join(hsts[0].args))
                    age = int(m.group(1)) if m else 0
                    if age < 15768000:
                        yield Result.fail(
                            f"{art.label}: {where}: HSTS max-age={age} is shorter than 6 months",
                            art.evidence(hsts[0].line),
                        )
                    elif b is server:
                        yield Result.passed(f"{art.label}: HSTS max-age={age}", art.evidence(hsts[0].line))
                elif b is server:
                    yield Result.fail(f"{art.label}: HTTPS server without HSTS", art.evidence(server.line))
                elif b.all("add_header"):
                    yield Result.fail(
                        f"{art.label}: {where} has its own add_header, so the server's HSTS header is not "
                        "inherited there",
                        art.evidence(
                            b.all("add_header")[0].line, note="add_header here drops inherited ones"
                        ),
                    )
    if not found:
        yield Result.not_applicable("no HTTPS server blocks in Nginx configs")


_DNS_TOOLS = frozenset(("dig", "host", "nslookup", "drill", "kdig"))
_VAR_REF = re.compile(r"^\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?$")
_UNKNOWN = re.compile(r"\$|\{\{|\{%")


def _is_dns_lookup(argv: list[str]) -> bool:
    if not argv:
        return False
    if argv[0] in _DNS_TOOLS:
        return True
    if argv[0] == "getent" and len(argv) > 1 and argv[1] in ("hosts", "ahosts", "ahostsv4", "ahostsv6"):
        return True
    return argv[0] == "resolvectl" and "query" in argv[1:]


def _resolver(script: Any) -> Any:
    """`$NAME` -> its literal value when the script assigns it exactly once, without expansions."""
    values: dict[str, list[str]] = {}
    for name, value, _line in script.assignments:
        v = value.strip()
        if len(v) >= 2 and v[0] == v[-1] and v[0] in "'\"":
            v = v[1:-1]
        values.setdefault(name, []).append(v)

    def resolve(word: str) -> str:
        m = _VAR_REF.match(word)
        if m and len(values.get(m.group(1), [])) == 1 and not _UNKNOWN.search(values[m.group(1)][0]):
            return values[m.group(1)][0]
        return word

    return resolve


def _certbot_domains(argv: list[str]) -> list[str]:
    out: list[str] = []
    for i, w in enumerate(argv):
        val = None
        if w in ("-d", "--domain", "--domains") and i + 1 < len(argv):
            val = argv[i + 1]
        elif w.startswith(("--domain=", "--domains=")):
            val = w.split("=", 1)[1]
        elif w.startswith("-d") and len(w) > 2 and not w.startswith("--"):
            val = w[2:]
        if val:
            out += [d for d in val.split(",") if d]
    return out


def _dns_functions(scripts: list[Any]) -> set[str]:
    """Functions (in these scripts) that run a DNS lookup, directly or through another such function."""
    found: set[str] = set()
    changed = True
    while changed:
        changed = False
        for script in scripts:
            for cmd in script.commands:
                if (
                    cmd.function
                    and cmd.function not in found
                    and (_is_dns_lookup(cmd.argv) or cmd.name in found)
                ):
                    found.add(cmd.function)
                    changed = True
    return found


def _server_names(ctx: ScanContext, host: str | None) -> list[tuple[str, Any, int]]:
    out = []
    for art, site in ctx.parsed("nginx_site"):
        if art.host != host:
            continue
        for server in site.servers:
            for d in server.all("server_name"):
                for name in d.args:
                    if name in ("_", "localhost", '""', "") or name.startswith("~") or _UNKNOWN.search(name):
                        continue
                    out.append((name.lower().rstrip("."), art, d.line))
    return out


def _name_matches(domain: str, pattern: str) -> bool:
    if pattern.startswith("*."):
        return domain.endswith(pattern[1:]) and domain.count(".") == pattern.count(".")
    if pattern.startswith("."):
        return domain == pattern[1:] or domain.endswith(pattern)
    return domain == pattern


@check("NET011", "dns-preflight", category="network", severity="medium", pillar="reliability")
def dns_preflight(ctx: ScanContext) -> Iterator[Result]:
    """Certificate requests check DNS first, for the domains Nginx actually serves.

    What it does
        For every `certbot` call that requests certificates (`certonly`/`run`/`--nginx` with
        `-d DOMAIN`), looks for a DNS lookup before it: `dig`, `host`, `nslookup`, `drill`,
        `getent hosts` or `resolvectl query` on the domain (or a variable), or a call to a
        function that runs one, in the script or a library it sources. No lookup fails. When the
        domains are literal (or resolved from a single assignment) and Nginx sites of the same host
        declare `server_name`s, every `-d` domain must be one of them (wildcards honoured); a
        mismatch fails with both lines as evidence. Scripts without certbot are not_applicable.
    Why it matters
        With DNS not (yet) pointing at the host, the ACME challenge fails; repeated failures hit
        Let's Encrypt's rate limits (5 failed validations per hour) and block the deployment. A
        certificate for a name Nginx does not serve leaves the real site on an invalid certificate.
    Example
        certbot certonly --webroot -w /var/www/letsencrypt -d "$DOMAIN"   # no dig/getent first
    Fix
        Before certbot: `[ "$(dig +short "$DOMAIN" A)" = "$(curl -s https://ifconfig.me)" ] ||
        { echo "DNS for $DOMAIN does not point here" >&2; exit 1; }`; keep `-d` equal to the
        `server_name` of the site the certificate is for.
    References
        https://letsencrypt.org/docs/rate-limits/#failed-validation-limit
        https://eff-certbot.readthedocs.io/en/stable/using.html#certbot-command-line-options
    Severity
        Medium: a failed ACME challenge blocks the deployment and repeated tries hit rate limits for
        an hour; the running site is not affected.
    """
    shells = ctx.parsed("shell")
    found = False
    for art, script in shells:
        requests = [
            c
            for c in script.commands
            if c.name == "certbot" and "renew" not in c.argv and _certbot_domains(c.argv)
        ]
        if not requests:
            continue
        found = True
        prog = program_for(ctx, art)
        libs = [s for _, s in prog.units[1:]] if prog else []  # the libraries it sources, transitively
        dns_funcs = _dns_functions([script, *libs])
        resolve = _resolver(script)
        top_calls: dict[str, int] = {}
        for c in script.commands:
            if c.function is None and c.name in script.functions:
                top_calls.setdefault(c.name, c.line)
        for req in requests:
            domains = [resolve(d).lower().rstrip(".") for d in _certbot_domains(req.argv)]
            # the certbot call runs at its own line, or (inside a function) where that function is called
            run_at = req.line if req.function is None else top_calls.get(req.function, 10**9)
            pre = None
            for c in script.commands:
                before = (c.function == req.function and c.line < req.line) or (
                    c.function is None and req.function is not None and c.line < run_at
                )
                if not before:
                    continue
                if c.name in dns_funcs:
                    pre = c
                    break
                if _is_dns_lookup(c.argv) and any(
                    _UNKNOWN.search(w) or resolve(w).lower().rstrip(".") in domains for w in c.argv[1:]
                ):
                    pre = c
                    break
            shown = ", ".join(domains)
            if pre is None:
                yield Result.fail(
                    f"{art.label}: certbot requests {shown} without a DNS check first "
                    "(dig/getent hosts/resolvectl query)",
                    art.evidence(req.line),
                    subject=shown,
                )
            else:
                yield Result.passed(
                    f"{art.label}: DNS is checked before certbot requests {shown}",
                    art.evidence(pre.line),
                    art.evidence(req.line),
                    subject=shown,
                )
            names = _server_names(ctx, art.host)
            if not names:
                continue
            for dom in domains:
                if _UNKNOWN.search(dom):
                    continue
                if not any(_name_matches(dom, n) for n, _, _ in names):
                    _, nart, nline = names[0]
                    yield Result.fail(
                        f"{art.label}: certbot requests {dom} but no Nginx server_name on this host serves it "
                        f"({', '.join(sorted({n for n, _, _ in names}))})",
                        art.evidence(req.line),
                        nart.evidence(nline),
                        subject=dom,
                    )
    if not found:
        yield Result.not_applicable("no certbot certificate request (certbot ... -d DOMAIN) found")
