"""Packet-filter semantics of what deploy scripts install: iptables, nftables, firewalld, Docker.

These checks read the ``ScriptFirewall`` model (chom_validate.facts.firewall): rules a script runs,
writes into helper scripts or into generated units' `ExecStart=` lines, nft tables it writes, and
the backend operations around them. Each finding cites the script lines on both sides of the
problem (the rule and the operation that defeats it).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from chom_validate.api import Context as ScanContext
from chom_validate.facts.firewall import NfRule, ScriptFirewall, script_firewalls, ufw_ops
from chom_validate.findings import Result
from chom_validate.registry import check


def _adds(r: NfRule) -> bool:
    return r.op in ("A", "I") and r.table == "filter" and r.verdict.upper() == "ACCEPT"


def _detects_nftables(fw: ScriptFirewall) -> bool:
    return any(re.search(r"\bnftables\b|\bnft\s+list\b", d.text) for d in fw.detections)


@check(
    "NET012",
    "accepts-overridden-by-other-tables",
    category="network",
    severity="medium",
    pillar="reliability",
)
def accepts_overridden(ctx: ScanContext) -> Iterator[Result]:
    """Accept rules are added where a drop elsewhere cannot override them.

    What it does
        Two shapes of one netfilter rule: an `accept` is final only inside its own base chain.
        (1) A script writes an nftables table of its own (`table inet app { chain input { type
        filter hook input priority 0; policy accept; ... accept } }`) into a file that does not
        own the whole ruleset (no `flush ruleset`): the accepts there do not stop the packet from
        being dropped by the host's own `inet filter` table on the same hook. (2) A script picks a
        firewall backend by testing firewalld/iptables only and then adds iptables ACCEPT rules:
        on distributions whose firewall is native nftables (Debian 11+, RHEL 9) those rules land in
        separate `ip filter` tables (iptables-nft) and a `policy drop` elsewhere still drops.
        Case (2) is low severity (the host has to run native nftables with a drop policy).
    Why it matters
        The installer reports success, the port and the forwarding stay blocked, and the cause is
        invisible in `iptables -L`.
    Example
        table inet openvpn { chain input { type filter hook input priority 0; policy accept;
            udp dport 1194 accept } }
    Fix
        Add the rules to the host's existing filter table/chain (`nft add rule inet filter input
        udp dport 1194 accept`) or detect a native nftables ruleset and do so; with iptables, check
        `nft list ruleset` for a drop policy before relying on iptables accepts.
    References
        https://wiki.nftables.org/wiki-nftables/index.php/Configuring_chains#Base_chain_priority
        https://developers.redhat.com/blog/2020/08/18/iptables-the-two-variants-and-their-relationship-with-nftables
    Severity
        Medium: the port or forwarding the installer reports as open stays blocked, so the new service
        does not work; nothing is exposed. The backend-detection shape is low: it needs a native
        nftables host with a drop policy.
    """
    found = False
    for art, fw in script_firewalls(ctx):
        found = True
        bad = False
        for t in fw.nft_tables:
            if t.path in fw.nft_flush_files:
                continue
            for c in t.chains:
                accepts = [(ln, s) for ln, s in c.rules if re.search(r"\baccept\b", s)]
                if c.type == "filter" and c.hook in ("input", "forward") and c.policy == "accept" and accepts:
                    bad = True
                    yield Result.fail(
                        f"{art.label}: accept rules in its own nft table `{t.family} {t.name}` (chain {c.name}, "
                        f"hook {c.hook}, policy accept) written to {t.path}: an accept is not final across "
                        "base chains, so a drop policy in the host's own filter table still blocks this traffic",
                        art.evidence(c.hook_line),
                        art.evidence(accepts[0][0]),
                        subject=f"{t.family} {t.name} {c.name}",
                    )
        accepts_ipt = [r for r in fw.rules if _adds(r) and r.chain in ("INPUT", "FORWARD")]
        if accepts_ipt and fw.detections and not _detects_nftables(fw):
            bad = True
            d = fw.detections[0]
            r = accepts_ipt[0]
            yield Result.fail(
                f"{art.label}: chooses the firewall backend by testing `{d.what}` (line {d.line}) and never "
                f"a native nftables ruleset; its iptables accepts (line {r.line}) land in separate tables and "
                "cannot override an nftables drop policy, so the port/forwarding stays blocked",
                art.evidence(d.line),
                art.evidence(r.line),
                subject="backend-detection",
                severity="low",
            )
        if not bad:
            yield Result.passed(
                f"{art.label}: accept rules are not shadowed by another table", art.evidence(None)
            )
    if not found:
        yield Result.not_applicable("no script configures iptables, nftables or firewalld")


@check("NET013", "nftables-reload-flushes", category="network", severity="medium", pillar="reliability")
def nftables_reload_flushes(ctx: ScanContext) -> Iterator[Result]:
    """A script does not reload the whole nftables configuration to add its own rules.

    What it does
        Finds `systemctl reload|restart nftables` (or `nft -f /etc/nftables.conf`) in a script
        that does not write /etc/nftables.conf itself (so it does not own the whole ruleset).
    Why it matters
        Debian's /etc/nftables.conf starts with `flush ruleset` and Fedora's nftables.service
        ExecReload flushes first: reloading wipes every rule other software added at runtime
        (Docker's NAT and isolation chains, fail2ban bans, libvirt, Kubernetes) until they restart.
    Example
        echo 'include "/etc/nftables/app.nft"' >> /etc/nftables.conf; systemctl reload nftables
    Fix
        Load only your own table, idempotently: `nft -f /etc/nftables/app.nft` with the file
        starting `table inet app {}` / `delete table inet app` so reruns replace it.
    References
        https://wiki.nftables.org/wiki-nftables/index.php/Scripting
    Severity
        Medium: runtime rules of Docker, fail2ban or libvirt are gone until those services restart; it
        needs such software on the host to hurt.
    """
    found = False
    for art, fw in script_firewalls(ctx):
        if not fw.nft_reload:
            continue
        found = True
        own = fw.writes.get("/etc/nftables.conf")
        if own is not None and own.truncated_at:
            yield Result.passed(
                f"{art.label}: writes the whole /etc/nftables.conf before reloading it",
                art.evidence(own.truncated_at[0]),
            )
            continue
        op = fw.nft_reload[0]
        extra = [art.evidence(fw.nft_includes[0].line)] if fw.nft_includes else []
        yield Result.fail(
            f"{art.label}: `{op.what}` re-runs the distribution's nftables config (Debian's starts with "
            "`flush ruleset`, Fedora's reload flushes): Docker, fail2ban or libvirt runtime rules are wiped",
            art.evidence(op.line),
            *extra,
            subject=op.what,
        )
    if not found:
        yield Result.not_applicable("no script reloads nftables")


@check("NET014", "nftables-include-loaded", category="network", severity="medium", pillar="reliability")
def nftables_include_loaded(ctx: ScanContext) -> Iterator[Result]:
    """nftables rules are included from the file the distribution's nftables.service loads.

    What it does
        When a script appends an `include` to /etc/nftables.conf and also supports RHEL-family
        systems (dnf/yum, or OS tests for centos/rhel/rocky/almalinux/fedora) without touching
        /etc/sysconfig/nftables.conf, fails: on those systems nftables.service loads
        /etc/sysconfig/nftables.conf, so the include (and every table in it) never loads at boot.
        On a live host the unit's own ExecStart would tell; on a tree this is the best evidence.
    Why it matters
        The rules work until the first reboot, then NAT and the service port silently disappear.
    Example
        echo 'include "/etc/nftables/app.nft"' >> /etc/nftables.conf   # RHEL loads /etc/sysconfig/nftables.conf
    Fix
        Append the include to the file nftables.service really loads (`systemctl cat nftables`,
        /etc/sysconfig/nftables.conf on RHEL/Fedora, /etc/nftables.conf on Debian).
    References
        https://access.redhat.com/documentation/en-us/red_hat_enterprise_linux/9/html/configuring_firewalls_and_packet_filters/getting-started-with-nftables_firewall-packet-filters
    Severity
        Medium: the rules work until the first reboot on RHEL-family hosts, then NAT and the service
        port silently disappear.
    """
    found = False
    for art, fw in script_firewalls(ctx):
        if not fw.nft_includes:
            continue
        found = True
        inc = fw.nft_includes[0]
        sysconfig = "/etc/sysconfig/nftables.conf" in "\n".join(o.text for o in fw.nft_includes) or any(
            p == "/etc/sysconfig/nftables.conf" for p in fw.writes
        )
        if fw.rhel_family is None or sysconfig:
            yield Result.passed(
                f"{art.label}: nftables include goes where nftables.service loads it", art.evidence(inc.line)
            )
            continue
        yield Result.fail(
            f"{art.label}: appends the include to /etc/nftables.conf (line {inc.line}) but also supports "
            f"RHEL-family systems (line {fw.rhel_family.line}), whose nftables.service loads "
            "/etc/sysconfig/nftables.conf: the tables are never loaded at boot there",
            art.evidence(inc.line),
            art.evidence(fw.rhel_family.line),
            subject="/etc/nftables.conf",
        )
    if not found:
        yield Result.not_applicable("no script appends an include to /etc/nftables.conf")


@check("NET015", "ip6tables-port-parity", category="network", severity="medium", pillar="reliability")
def ip6tables_parity(ctx: ScanContext) -> Iterator[Result]:
    """A service port is opened for IPv4 and IPv6 under the same conditions.

    What it does
        Pairs the iptables and ip6tables INPUT accepts for the same port (from commands, helper
        scripts the deploy script writes, and generated units). When both exist but each family's
        rule runs under a different `if` condition, fails with both rules and conditions: whether
        the port is open over a family then depends on a setting about something else.
    Why it matters
        With an IPv6 endpoint (or an ip6tables drop policy) the service is unreachable over IPv6
        while the IPv4 side works, which is hard to diagnose from the client.
    Example
        if [[ $CLIENT_IPV6 == y ]]; then echo "ip6tables -I INPUT -p udp --dport $PORT -j ACCEPT" >> rules.sh; fi
    Fix
        Open the port for each family the service listens on, independently of client settings.
    References
        https://manpages.debian.org/ip6tables.8
    Severity
        Medium: the service is unreachable over one address family under settings that have nothing to
        do with it; the other family works.
    """
    found = False
    for art, fw in script_firewalls(ctx):
        by_port: dict[tuple[str, str], dict[str, list[NfRule]]] = {}
        for r in fw.rules:
            if _adds(r) and r.chain == "INPUT" and r.dport:
                by_port.setdefault((r.dport, r.proto or "any"), {}).setdefault(r.family, []).append(r)
        for (port, _), fams in sorted(by_port.items()):
            if "v4" not in fams or "v6" not in fams:
                continue
            found = True
            r4, r6 = fams["v4"][0], fams["v6"][0]
            c4 = set(r4.conditions) - set(r6.conditions)
            c6 = set(r6.conditions) - set(r4.conditions)
            if not c4 and not c6:
                yield Result.passed(
                    f"{art.label}: port {port} opened for IPv4 and IPv6 alike", art.evidence(r6.line)
                )
                continue
            yield Result.fail(
                f"{art.label}: port {port} is opened for IPv4 only when `{' and '.join(sorted(c4)) or 'always'}` "
                f"(line {r4.line}) and for IPv6 only when `{' and '.join(sorted(c6)) or 'always'}` (line {r6.line}); "
                "the family a client connects over is not what those settings decide",
                art.evidence(r4.line),
                art.evidence(r6.line),
                subject=port,
            )
    if not found:
        yield Result.not_applicable("no port opened with both iptables and ip6tables")


# Interfaces on the client side of a VPN or tunnel: OpenVPN tun/tap, WireGuard (wg-quick's `%i`),
# PPP, IPsec/VTI, GRE, Tailscale, ZeroTier, Nebula.
_TUNNEL_IF = re.compile(r"^[\"']?(?:%i|(?:tun|tap|wg|ppp|ipsec|vti|gre|tailscale|zt|nebula)[\w.+*-]*)[\"']?$")
_NFT_IIF = re.compile(r"\biifname\s+(\S+)")
_NFT_OIF = re.compile(r"\boifname\s+(\S+)")


def _egress(iface_in: str | None, iface_out: str | None, upstream: set[str]) -> bool:
    """A forward from the client side out to the upstream interface (`-i tun0 -o eth0`): what the clients
    send, which a VPN or NAT gateway exists to forward; not a connection into the client network."""
    if not iface_in or not iface_out or iface_in == iface_out:
        return False
    out = iface_out.strip("\"'")
    return bool(_TUNNEL_IF.match(iface_in)) and (out in upstream or not _TUNNEL_IF.match(iface_out))


def _upstream(fw: ScriptFirewall) -> set[str]:
    """Interfaces the script masquerades or SNATs out of (`-t nat -A POSTROUTING -o eth0 -j MASQUERADE`)."""
    return {
        r.iface_out.strip("\"'")
        for r in fw.rules
        if r.table == "nat" and r.verdict in ("MASQUERADE", "SNAT") and r.iface_out
    }


def _nft_stateless_inbound(fw: ScriptFirewall, upstream: set[str]) -> list[int]:
    out = []
    for t in fw.nft_tables:
        for c in t.chains:
            if c.hook != "forward":
                continue
            for ln, s in c.rules:
                if (
                    re.search(r"\baccept\b", s)
                    and re.search(r"\boifname\b|\bip6?\s+daddr\b", s)
                    and "ct state" not in s
                ):
                    i, o = _NFT_IIF.search(s), _NFT_OIF.search(s)
                    if not _egress(i.group(1) if i else None, o.group(1) if o else None, upstream):
                        out.append(ln)
    return out


@check("NET016", "forward-accept-stateless", category="network", severity="low", pillar="security")
def forward_accept_stateless(ctx: ScanContext) -> Iterator[Result]:
    """Forwarded traffic towards a client network is accepted only for established connections.

    What it does
        Finds FORWARD accepts that match on the destination side (`-o IF`, `-d NET`, nft
        `oifname`/`ip daddr`) without a conntrack state match. A forward from a tunnel interface
        out to another interface (`-i tun0 -o eth0`, `iifname "wg0" oifname "eth0"`, or out of the
        interface the script masquerades through) is what the clients send and passes.
    Why it matters
        Such a rule accepts new connections into the client network from anywhere that routes to
        it, including from the other clients (`-i tun+` in, `-o tun+` out): clients reach each
        other through the kernel even when the service's own client-to-client option is off.
    Example
        iptables -I FORWARD -o tun+ -d 10.8.0.0/24 -j ACCEPT
    Fix
        `iptables -I FORWARD -o tun+ -d 10.8.0.0/24 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT`
        (nft: `oifname "tun*" ct state established,related accept`).
    References
        https://manpages.debian.org/iptables-extensions.8#conntrack
    Severity
        Low: it lets VPN clients reach each other (or the client network be reached) through the
        kernel; it needs a routed path and another client to matter.
    """
    found = False
    for art, fw in script_firewalls(ctx):
        fwd = [r for r in fw.rules if _adds(r) and r.chain == "FORWARD"]
        upstream = _upstream(fw)
        nft = _nft_stateless_inbound(fw, upstream)
        if not fwd and not any(c.hook == "forward" for t in fw.nft_tables for c in t.chains):
            continue
        found = True
        bad = [
            r.line
            for r in fwd
            if (r.iface_out or r.dest) and not r.stateful and not _egress(r.iface_in, r.iface_out, upstream)
        ] + nft
        if bad:
            yield Result.fail(
                f"{art.label}: {len(bad)} FORWARD accept(s) toward the client side match no connection state: "
                "new connections into the client network (also client to client) are forwarded",
                *[art.evidence(ln) for ln in bad[:6]],
                subject="forward",
            )
        else:
            yield Result.passed(f"{art.label}: inbound FORWARD accepts are stateful", art.evidence(None))
    if not found:
        yield Result.not_applicable("no script adds FORWARD accepts")


@check(
    "NET017", "firewalld-default-zone-lockout", category="network", severity="medium", pillar="reliability"
)
def firewalld_lockout(ctx: ScanContext) -> Iterator[Result]:
    """Enabling firewalld does not cut off sshd on another port or the services already running.

    What it does
        When a script starts/enables firewalld (`systemctl enable --now firewalld`) it switches on
        the default zone (`public`: only ssh 22/tcp and dhcpv6-client). Fails when the script
        then opens only its own ports and never reads sshd's `Port` (`sshd -T`, sshd_config) or
        adds the services already listening. On a tree the sshd port is unknown, so this is the
        risk (medium); the lockout itself needs a host whose sshd is not on 22.
    Why it matters
        New SSH sessions on a custom port are refused the moment firewalld starts, and every other
        listener (web, database, monitoring agents) becomes unreachable: an outage needing console.
    Example
        systemctl enable --now firewalld; firewall-cmd --add-port=51820/udp
    Fix
        Before enabling firewalld, add the real sshd port (`sshd -T | awk '/^port /{print $2}'`)
        and the listening services (`ss -ltn`) to the default zone, or ask before enabling it.
    References
        https://firewalld.org/documentation/zone/predefined-zones.html
    Severity
        Medium: on a tree the sshd port is unknown, so this is the risk of a lockout, not a certain
        one; on a host with sshd off port 22 it is an outage needing the console.
    """
    found = False
    for art, fw in script_firewalls(ctx):
        if not fw.firewalld_enable:
            continue
        found = True
        en = fw.firewalld_enable[0]
        adds = [
            o
            for o in fw.firewall_cmd
            if re.search(r"--add-(port|service)", o.what) and "trusted" not in o.what
        ]
        if fw.reads_sshd_port:
            yield Result.passed(
                f"{art.label}: enables firewalld after reading sshd's port", art.evidence(en.line)
            )
            continue
        opened = ", ".join(
            sorted({m for o in adds for m in re.findall(r"--add-(?:port|service)=(\S+)", o.what)})
        )
        yield Result.fail(
            f"{art.label}: enables firewalld (line {en.line}); its default zone allows only ssh (22/tcp) and "
            f"dhcpv6-client and the script opens only {opened or 'nothing'}: sshd on another port and every "
            "other listening service are cut off",
            art.evidence(en.line),
            *([art.evidence(adds[0].line)] if adds else []),
            subject="firewalld",
        )
    if not found:
        yield Result.not_applicable("no script enables firewalld")


@check("NET018", "firewalld-masquerade-restore", category="network", severity="low", pillar="reliability")
def firewalld_masquerade(ctx: ScanContext) -> Iterator[Result]:
    """Uninstall removes zone masquerading only if the install added it.

    What it does
        A script that runs `firewall-cmd --add-masquerade` and later `--remove-masquerade`
        without `--query-masquerade` (recording whether it was on before) fails.
    Why it matters
        Masquerading is a zone-wide switch: removing it unconditionally breaks NAT for containers,
        VMs or other VPNs that relied on it before the install.
    Example
        firewall-cmd --permanent --add-masquerade ... firewall-cmd --permanent --remove-masquerade
    Fix
        `firewall-cmd --query-masquerade` before adding; remove only when this script turned it on.
    References
        https://firewalld.org/documentation/man-pages/firewall-cmd.html
    Severity
        Low: NAT for other users of the zone breaks only on uninstall, and only if they relied on
        masquerading.
    """
    found = False
    for art, fw in script_firewalls(ctx):
        add = [o for o in fw.firewall_cmd if "--add-masquerade" in o.what]
        if not add:
            continue
        found = True
        rem = [o for o in fw.firewall_cmd if "--remove-masquerade" in o.what]
        query = any("--query-masquerade" in o.what for o in fw.firewall_cmd)
        if rem and not query:
            yield Result.fail(
                f"{art.label}: adds zone masquerading (line {add[0].line}) without recording the prior state "
                f"and removes it unconditionally (line {rem[0].line}), breaking other NAT users of the zone",
                art.evidence(add[0].line),
                art.evidence(rem[0].line),
                subject="masquerade",
            )
        else:
            yield Result.passed(
                f"{art.label}: masquerade handling keeps the prior state", art.evidence(add[0].line)
            )
    if not found:
        yield Result.not_applicable("no script adds firewalld masquerading")


# -- Docker -------------------------------------------------------------------------------------

ADMIN_PORTS = {
    3000: "Grafana",
    3100: "Loki",
    8080: "cAdvisor/admin",
    9090: "Prometheus",
    9091: "Pushgateway",
    9093: "Alertmanager",
    9100: "node_exporter",
    9115: "blackbox_exporter",
    2375: "Docker API",
    2379: "etcd",
    5601: "Kibana",
    9200: "Elasticsearch",
    15672: "RabbitMQ management",
    8500: "Consul",
}
_ADMIN_IMAGE = re.compile(
    r"(prometheus|alertmanager|grafana|pushgateway|node-exporter|node_exporter|cadvisor|loki|"
    r"_exporter|-exporter|kibana|elasticsearch|portainer)",
    re.I,
)


def _compose_services(data: Any) -> dict[str, Any] | None:
    if not isinstance(data, dict):
        return None
    svcs = data.get("services")
    if not isinstance(svcs, dict) or not svcs or not all(isinstance(v, dict) for v in svcs.values()):
        return None
    if not any(k in v for v in svcs.values() for k in ("image", "build")):
        return None
    return svcs


def _line_of(d: Any, key: str) -> int | None:
    """Line of ``key`` in a line-keeping mapping (yamlfile.LineDict), None for plain dicts."""
    fn = getattr(d, "line_of", None)
    return int(fn(key)) if fn is not None else None


def _published(spec: Any) -> tuple[str | None, int | None]:
    """(host ip or None, container port) of one `ports:` entry."""
    if isinstance(spec, dict):
        tgt = str(spec.get("target"))
        return spec.get("host_ip"), int(tgt) if tgt.isdigit() else None
    s = str(spec).split("/")[0]
    parts = s.rsplit(":", 2)
    if len(parts) == 1:
        return None, int(parts[0]) if parts[0].isdigit() else None  # container port, random host port
    cport = parts[-1]
    ip = parts[0] if len(parts) == 3 else None
    return ip, int(cport) if cport.isdigit() else None


@check("NET019", "compose-admin-ports-exposed", category="network", severity="medium", pillar="security")
def compose_admin_exposed(ctx: ScanContext) -> Iterator[Result]:
    """Admin and monitoring ports of Docker services are not exposed on every interface.

    What it does
        In docker compose files: a published port (`ports: "9090:9090"`) without a host address
        (or 0.0.0.0) for an admin/monitoring backend (Prometheus, Alertmanager, Grafana,
        Pushgateway, exporters, cAdvisor, Loki, the Docker API...) fails; so does an exporter or
        cAdvisor in `network_mode: host` without a `--web.listen-address`/`-listen_ip` restriction.
    Why it matters
        Docker publishes ports with DNAT in the nat table and forwards them before the host's INPUT
        chain: ufw or iptables INPUT rules never see that traffic, so the port is open to the world
        whatever the host firewall says. Host-network exporters bind every interface, unauthenticated.
    Example
        ports: ["9090:9090"]
    Fix
        Publish on loopback or a private address (`"127.0.0.1:9090:9090"`) behind an authenticated
        TLS proxy, or filter in the DOCKER-USER chain; give host-network exporters a listen address.
    References
        https://docs.docker.com/engine/network/packet-filtering-firewalls/
    Severity
        Medium: the unauthenticated admin and monitoring ports are reachable from anywhere despite the
        host firewall; what they expose depends on the service.
    """
    found = False
    for art in ctx.artifacts("yaml"):
        try:
            from chom_validate.artifacts.yamlfile import load_yaml

            data = load_yaml(art.text)
        except Exception:  # unparseable YAML is reported by TGT002
            continue
        svcs = _compose_services(data)
        if svcs is None:
            continue
        found = True
        for name, svc in svcs.items():
            image = str(svc.get("image", ""))
            admin_svc = bool(_ADMIN_IMAGE.search(image) or _ADMIN_IMAGE.search(name))
            ports = svc.get("ports")
            if isinstance(ports, list):
                public = []
                for i, spec in enumerate(ports):
                    ip, cport = _published(spec)
                    if cport is None or (ip not in (None, "", "0.0.0.0", "::", "[::]")):
                        continue
                    if cport in ADMIN_PORTS or admin_svc:
                        lines = getattr(ports, "item_lines", [])
                        public.append((cport, lines[i] if i < len(lines) else _line_of(svcs, name)))
                if public:
                    what = ", ".join(f"{p} ({ADMIN_PORTS.get(p, name)})" for p, _ in public)
                    yield Result.fail(
                        f"{art.label}: service {name} publishes {what} on all interfaces; Docker's DNAT "
                        "bypasses ufw/iptables INPUT rules, so these admin ports are reachable from anywhere",
                        *[art.evidence(ln) for _, ln in public[:6]],
                        subject=f"{name}:ports",
                    )
                else:
                    yield Result.passed(
                        f"{art.label}: {name} publishes no admin port publicly",
                        art.evidence(_line_of(svc, "ports")),
                        subject=name,
                    )
            cmd = (
                " ".join(map(str, svc.get("command") or []))
                if isinstance(svc.get("command"), list)
                else str(svc.get("command") or "")
            )
            if svc.get("network_mode") == "host" and admin_svc:
                if re.search(r"listen[-_.]?(address|ip)\S*=(127\.|localhost|\[::1\])", cmd):
                    yield Result.passed(
                        f"{art.label}: {name} listens on loopback only",
                        art.evidence(_line_of(svc, "command")),
                        subject=name,
                    )
                else:
                    yield Result.fail(
                        f"{art.label}: {name} ({image}) runs in network_mode: host with no listen address: it "
                        "binds every host interface without authentication",
                        art.evidence(_line_of(svcs, name)),
                        art.evidence(_line_of(svc, "network_mode")),
                        subject=f"{name}:network_mode",
                    )
    if not found:
        yield Result.not_applicable("no docker compose files")


# -- ufw order and ownership --------------------------------------------------------------------


def _ssh_port(ctx: ScanContext) -> int:
    return int(ctx.settings("network").get("ssh_port", 22))


@check("NET020", "ufw-ssh-before-enable", category="network", severity="high", pillar="reliability")
def ufw_ssh_order(ctx: ScanContext) -> Iterator[Result]:
    """SSH is allowed before ufw is enabled (and after any reset).

    What it does
        Walks each script's ufw commands in order. After `ufw --force reset` the rule set is
        empty; `ufw enable` with a default deny and no SSH rule yet (port `network.ssh_port`,
        default 22: `allow`/`limit` 22, `OpenSSH`, `ssh`) fails: from that line until the SSH
        rule is added, new SSH connections are refused, and if the script stops there (an error
        under `set -e`, a lost session) the host is locked out. No SSH rule at all is NET002.
    Why it matters
        A lockout needs console access to undo; on a cloud VM without a console it means rebuilding.
    Example
        ufw --force reset; ufw default deny incoming; ufw --force enable; ufw allow 22/tcp
    Fix
        Add the SSH rule first, then enable: `ufw limit 22/tcp && ufw --force enable`.
    References
        https://manpages.debian.org/ufw.8
    Severity
        High: the host refuses SSH between the two lines and is locked out if the script stops there;
        undoing it needs console access.
    """
    from chom_validate.artifacts.firewall import parse_ufw_args

    port = _ssh_port(ctx)
    found = False
    for art, script in ctx.parsed("shell"):
        if art.embedded:
            continue
        ops = ufw_ops(script)
        if not any(op == "enable" for _, op, _ in ops):
            continue
        found = True
        ssh_ok = True  # before any reset, the host's existing rules are unknown: assume SSH works
        reset_line = None
        bad = None
        ssh_line = None
        for line, op, args in ops:
            if op == "reset":
                ssh_ok, reset_line = False, line
            elif op == "rule":
                r = parse_ufw_args(args, line)
                if r is not None and r.allows and r.direction == "in" and r.matches_port(port):
                    ssh_ok, ssh_line = True, line
            elif op == "enable" and not ssh_ok and bad is None:
                bad = line
        if bad is not None and reset_line is not None:
            after = f"; SSH is allowed only at line {ssh_line}" if ssh_line and ssh_line > bad else ""
            yield Result.fail(
                f"{art.label}: `ufw --force reset` (line {reset_line}) empties the rules and `ufw enable` "
                f"(line {bad}) runs before any rule allows SSH ({port}/tcp){after}: the host refuses SSH "
                "in between and is locked out if the script stops there",
                art.evidence(bad),
                art.evidence(reset_line),
                subject=f"ssh:{port}",
            )
        else:
            yield Result.passed(f"{art.label}: SSH is allowed before ufw is enabled", art.evidence(ssh_line))
    if not found:
        yield Result.not_applicable("no script enables ufw")


@check("NET021", "ufw-reset-rerun", category="network", severity="medium", pillar="reliability")
def ufw_reset_rerun(ctx: ScanContext) -> Iterator[Result]:
    """Scripts meant to be re-run do not `ufw --force reset`.

    What it does
        Fails on `ufw --force reset` (or `ufw reset`) in a deploy script when another script for
        the same host also adds ufw rules (its rules are deleted on every re-run).
        The only script defining a host's rules may reset: it is then the authoritative definition
        (SSH ordering after the reset is NET020).
    Why it matters
        A reset deletes every rule on the host: those another role or an operator added, and
        fail2ban's chains. Re-running the web deploy then silently closes the monitoring port.
    Example
        ufw --force reset    # in deploy.sh, which is run on every release
    Fix
        Make rules idempotent instead (`ufw allow` is a no-op for an existing rule); delete only
        the rules this script owns (`ufw delete allow 8080/tcp`).
    References
        https://manpages.debian.org/ufw.8
    Severity
        Medium: every re-run deletes the rules other scripts added (a monitoring port, fail2ban
        chains) until they run again.
    """
    from chom_validate.artifacts.firewall import parse_ufw_script

    scripts = [(a, s) for a, s in ctx.parsed("shell") if not a.embedded]
    with_rules: dict[str | None, list[Any]] = {}
    for art, script in scripts:
        fw = parse_ufw_script(script)
        if fw is not None and fw.rules:
            with_rules.setdefault(art.host, []).append(art)
    found = False
    for art, script in scripts:
        resets = [line for line, op, _ in ufw_ops(script) if op == "reset"]
        if not resets:
            continue
        found = True
        others = [a for a in with_rules.get(art.host, []) if a is not art]
        if others:
            yield Result.fail(
                f"{art.label}: `ufw --force reset` on every run deletes the rules {others[0].label} adds for the "
                "same host",
                art.evidence(resets[0]),
                others[0].evidence(None),
                subject="ufw reset",
            )
        else:
            # The only script defining this host's rules: the reset makes it the authoritative,
            # reproducible definition (SSH ordering after the reset is NET020's business).
            yield Result.passed(
                f"{art.label}: resets ufw, and no other script adds rules for this host",
                art.evidence(resets[0]),
                subject="ufw reset",
            )
    if not found:
        yield Result.not_applicable("no script resets ufw")


@check("NET022", "ufw-rule-set-conflict", category="network", severity="medium", pillar="security")
def ufw_conflict(ctx: ScanContext) -> Iterator[Result]:
    """One host (role) has one authoritative ufw rule set.

    What it does
        Scripts that each claim the whole rule set for the same host (they set a default policy or
        reset) are compared: different allowed ports or sources fail, with both scripts as
        evidence. Scripts that only add rules on top of another are not a conflict.
    Why it matters
        Whichever runs last wins: the database port is closed by one and re-opened to the world by
        the other, depending on the order someone ran them in.
    Example
        setup-db.sh: ufw allow from 10.0.0.5 to any port 3306; harden.sh: ufw allow 3306/tcp
    Fix
        Keep one firewall definition per role (one script or one template) and source it.
    References
        https://manpages.debian.org/ufw.8
    Severity
        Medium: the host's exposure depends on which script ran last; one of them re-opens what the
        other closes.
    """
    from chom_validate.artifacts.firewall import parse_ufw_script

    owners: dict[str | None, list[tuple[Any, Any]]] = {}
    for art, script in ctx.parsed("shell"):
        if art.embedded:
            continue
        fw = parse_ufw_script(script)
        if fw is None or not fw.rules:
            continue
        if fw.default_incoming is None and not any(op == "reset" for _, op, _ in ufw_ops(script)):
            continue
        owners.setdefault(art.host, []).append((art, fw))
    found = False
    for host, items in owners.items():
        if len(items) < 2:
            continue
        found = True
        (a1, f1), (a2, f2) = items[0], items[1]
        s1 = {(r.port, r.proto, r.source, r.action) for r in f1.incoming}
        s2 = {(r.port, r.proto, r.source, r.action) for r in f2.incoming}
        if s1 == s2:
            yield Result.passed(
                f"{a1.label} and {a2.label} define the same rule set",
                a1.evidence(f1.default_line),
                a2.evidence(f2.default_line),
                subject=host or "",
            )
            continue
        diff = sorted(map(str, (s1 ^ s2)))[:4]
        r1 = next((r for r in f1.incoming if (r.port, r.proto, r.source, r.action) not in s2), f1.incoming[0])
        r2 = next((r for r in f2.incoming if (r.port, r.proto, r.source, r.action) not in s1), f2.incoming[0])
        yield Result.fail(
            f"{host or 'this host'}: {a1.label} and {a2.label} each define the whole ufw rule set, and they differ "
            f"({', '.join(diff)}): the last one run wins",
            a1.evidence(r1.line),
            a2.evidence(r2.line),
            subject=host or "",
        )
    if not found:
        yield Result.not_applicable("no host has two scripts owning its ufw rule set")


# -- exposed admin surfaces ---------------------------------------------------------------------

_CRED_NAME = re.compile(r"(PASSWORD|PASSWD|_PASS$|SECRET|TOKEN|_HASH$|API_KEY)", re.I)
_WELL_KNOWN = frozenset(
    ("admin", "password", "changeme", "secret", "root", "123456", "pass", "test", "guest")
)
_SENTINELS = frozenset(
    ("invalid", "disabled", "none", "null", "false", "no", "off", "unset", "empty", "-", "0", "nil")
)
_DEFAULTED = re.compile(r"^(?P<key>[A-Za-z_][\w.]*)=\$\{(?P<var>\w+):?-(?P<default>[^}]+)\}$")


def _env_items(env: Any) -> list[tuple[str, str, int | None]]:
    """(key, raw value, line) of a compose `environment:` (list or mapping form)."""
    out: list[tuple[str, str, int | None]] = []
    if isinstance(env, list):
        lines = getattr(env, "item_lines", [])
        for i, item in enumerate(env):
            key, _, val = str(item).partition("=")
            out.append((key, val, lines[i] if i < len(lines) else None))
    elif isinstance(env, dict):
        for k, v in env.items():
            out.append((str(k), "" if v is None else str(v), _line_of(env, k)))
    return out


@check("NET023", "compose-default-credentials", category="network", severity="high", pillar="security")
def compose_default_credentials(ctx: ScanContext) -> Iterator[Result]:
    """Services reachable from outside do not fall back to a built-in credential.

    What it does
        In compose files that publish ports, finds credential variables (`*PASSWORD*`, `*SECRET*`,
        `*TOKEN*`, `*_HASH`) whose value is `${VAR:-literal}`: when the operator does not set VAR,
        the service runs with the repository's default (`admin`, or a fixed password hash).
        Sentinels that switch the feature off (`invalid`, `disabled`, `none`) are not credentials.
    Why it matters
        Everyone who deployed without setting the variable shares the same, published credential
        for an admin surface that is reachable (a published port, or a proxy that publishes one).
    Example
        GF_SECURITY_ADMIN_PASSWORD=${ADMIN_PASSWORD:-admin}
    Fix
        Fail when unset (`${ADMIN_PASSWORD:?set ADMIN_PASSWORD}`) or read it from a secret file.
    References
        https://docs.docker.com/compose/how-tos/environment-variables/variable-interpolation/
    Severity
        High: every deployment that did not set the variable shares one published credential for a
        reachable admin surface.
    """
    from chom_validate.artifacts.yamlfile import load_yaml

    found = False
    for art in ctx.artifacts("yaml"):
        try:
            data = load_yaml(art.text)
        except Exception:  # unparseable YAML is reported by TGT002
            continue
        svcs = _compose_services(data)
        if svcs is None or not any(
            isinstance(s.get("ports"), list) and s.get("ports") for s in svcs.values()
        ):
            continue
        found = True
        failed = False
        for name, svc in svcs.items():
            bad = []
            for key, val, line in _env_items(svc.get("environment")):
                m = _DEFAULTED.match(f"{key}={val}".strip())
                default = m["default"].strip().strip("'\"") if m else ""
                # sentinels such as `invalid`/`disabled` switch the feature off instead of granting access
                if (
                    m
                    and (_CRED_NAME.search(key) or _CRED_NAME.search(m["var"]))
                    and default
                    and default.lower() not in _SENTINELS
                ):
                    bad.append((key, m["var"], m["default"].strip(), line))
            if not bad:
                continue
            failed = True
            keys = ", ".join(
                f"{k} (when {v} is unset: "
                + (f"the well-known `{d}`" if d.lower() in _WELL_KNOWN else "a fixed value")
                + ")"
                for k, v, d, _ in bad
            )
            yield Result.fail(
                f"{art.label}: service {name} falls back to a credential written in the repository for {keys}; "
                "every deployment that did not set it shares that password",
                # the default itself is masked unless it is a well-known word: a hash or key stays out of reports
                *[
                    art.evidence(ln, excerpt=f"{k}=${{{v}:-{d if d.lower() in _WELL_KNOWN else '********'}}}")
                    for k, v, d, ln in bad[:4]
                ],
                subject=f"{name}:credentials",
            )
        if not failed:
            yield Result.passed(
                f"{art.label}: no credential falls back to a built-in default",
                art.evidence(None),
                subject=art.path,
            )
    if not found:
        yield Result.not_applicable("no compose file publishes ports")


_ADMIN_PATH = re.compile(r"^/?(metrics|prometheus|alertmanager|pushgateway|loki|api/v1/admin|-/)", re.I)
_ADMIN_BACKEND = re.compile(
    r"(prometheus|alertmanager|pushgateway|loki|exporter|cadvisor):?\d*|:(909[0-3]|9100|3100)\b"
)


def _has_auth(loc: Any) -> bool:
    ab = loc.inherited("auth_basic")
    if ab is not None and ab.args and ab.args[0].lower() != "off":
        return True
    if loc.inherited("auth_request") is not None or loc.first("internal") is not None:
        return True
    # `allow <net>; deny all;` is an IP allow-list: access control without a password
    return any(d.args == ["all"] for d in loc.effective("deny"))


@check("NET024", "proxy-admin-without-auth", category="network", severity="high", pillar="security")
def proxy_admin_without_auth(ctx: ScanContext) -> Iterator[Result]:
    """Reverse-proxy locations to metrics, alerting or admin backends require authentication.

    What it does
        For every Nginx `location` on a non-loopback listener whose `proxy_pass` goes to a
        Prometheus, Alertmanager, Pushgateway, Loki, exporter or cAdvisor backend (by name or
        port), or whose path is /metrics, /prometheus, /alertmanager..., requires `auth_basic`,
        `auth_request`, `internal` or an `allow ...; deny all;` list (own or inherited).
    Why it matters
        These backends have no authentication of their own: through the proxy anyone can read
        every metric (hostnames, versions, users), create silences that mute every alert, push
        fake series, or call the admin API (`--web.enable-admin-api` deletes series).
    Example
        location /alertmanager/ { proxy_pass http://127.0.0.1:9093/; }
    Fix
        `auth_basic "ops"; auth_basic_user_file /etc/nginx/htpasswd;` (or `auth_request`), or
        `allow 10.0.0.0/8; deny all;`.
    References
        https://prometheus.io/docs/operating/security/
        https://nginx.org/en/docs/http/ngx_http_auth_basic_module.html
    Severity
        High: through the proxy anyone reads every metric, silences every alert or calls the admin
        API; these backends have no authentication of their own.
    """
    from chom_validate.artifacts.nginx import listen_ports

    found = False
    for art, site in ctx.parsed("nginx_site"):
        for server in site.servers:
            public = [
                d
                for _, d in listen_ports(server)
                if not (d.args and d.args[0].startswith(("127.", "[::1]", "localhost")))
            ]
            if not public:
                continue
            for loc in server.walk("location"):
                pp = loc.first("proxy_pass")
                if pp is None or not pp.args:
                    continue
                path = loc.args[-1] if loc.args else ""
                if not (_ADMIN_BACKEND.search(pp.args[0]) or _ADMIN_PATH.match(path)):
                    continue
                found = True
                if _has_auth(loc):
                    yield Result.passed(
                        f"{art.label}: location {path} requires authentication", art.evidence(loc.line)
                    )
                    continue
                yield Result.fail(
                    f"{art.label}: location {path} proxies to {pp.args[0]} on a public listener without "
                    "auth_basic/auth_request or an allow-list",
                    art.evidence(loc.line),
                    art.evidence(pp.line),
                    subject=f"{path}",
                )
    if not found:
        yield Result.not_applicable("no reverse-proxy location to a metrics/alerting/admin backend")


# -- iptables order -----------------------------------------------------------------------------


def _catch_all(r: NfRule) -> bool:
    return not (r.proto or r.dport or r.source or r.dest or r.iface_in or r.iface_out or r.stateful)


def _effective_order(rules: list[NfRule]) -> list[NfRule]:
    """The chain as the kernel holds it after these commands: -I goes first, -A last, -D removes."""
    chain: list[NfRule] = []
    for r in rules:
        if r.op == "I":
            chain.insert(0, r)
        elif r.op == "A":
            chain.append(r)
        elif r.op == "F":
            chain.clear()
    return chain


@check("NET026", "iptables-rule-order", category="network", severity="high", pillar="reliability")
def iptables_rule_order(ctx: ScanContext) -> Iterator[Result]:
    """iptables rules are in an order where they take effect, and the policy does not cut SSH.

    What it does
        Replays each script's (or each generated file's) iptables commands per family and chain
        (`-I` to the top, `-A` to the end, `-F` flushes): an ACCEPT that ends up after a catch-all
        DROP/REJECT in INPUT is never reached and fails; `-P INPUT DROP` run before any rule
        accepts established connections and SSH (`network.ssh_port`, default 22) fails too: the
        session running the script is cut at that line.
    Why it matters
        The port the script opens stays closed (first match wins), or the deployment locks itself
        out halfway and needs console access.
    Example
        iptables -A INPUT -j DROP; iptables -A INPUT -p tcp --dport 443 -j ACCEPT
    Fix
        Accept established traffic and SSH first, add the service accepts, then the final DROP
        (or set `-P INPUT DROP` last); use `-I` only when the position is intended.
    References
        https://manpages.debian.org/iptables.8
    Severity
        High: the port the script opens stays closed (an outage of that service), or a policy set too
        early locks the deployment out halfway.
    """
    ssh = _ssh_port(ctx)
    found = False
    for art, fw in script_firewalls(ctx):
        groups: dict[tuple[str, str], list[NfRule]] = {}
        for r in fw.rules:
            if r.table == "filter" and r.chain == "INPUT":
                groups.setdefault((r.origin, r.family), []).append(r)
        for (origin, family), rules in groups.items():
            found = True
            bad = False
            chain = _effective_order(rules)
            drop = next((r for r in chain if r.verdict.upper() in ("DROP", "REJECT") and _catch_all(r)), None)
            if drop is not None:
                later = [r for r in chain[chain.index(drop) + 1 :] if r.verdict.upper() == "ACCEPT"]
                if later:
                    bad = True
                    yield Result.fail(
                        f"{art.label}: {len(later)} ACCEPT rule(s) land after the catch-all {drop.verdict} in INPUT "
                        f"({family}, {origin}) and are never reached",
                        art.evidence(later[0].line),
                        art.evidence(drop.line),
                        subject=f"{origin}:{family}:order",
                    )
            for i, r in enumerate(rules):
                if r.op == "P" and r.verdict.upper() in ("DROP", "REJECT"):
                    before = rules[:i]
                    keeps = any(
                        b.verdict.upper() == "ACCEPT"
                        and (b.stateful or (b.dport and str(ssh) in b.dport.split(",")) or _catch_all(b))
                        for b in before
                        if b.op in ("A", "I")
                    )
                    if not keeps:
                        bad = True
                        yield Result.fail(
                            f"{art.label}: `-P INPUT {r.verdict}` ({family}) runs before any rule accepts established "
                            f"connections or SSH ({ssh}/tcp): the session running it is cut there",
                            art.evidence(r.line),
                            subject=f"{origin}:{family}:policy",
                        )
                    break
            if not bad:
                yield Result.passed(
                    f"{art.label}: INPUT rules ({family}, {origin}) take effect in order",
                    art.evidence(rules[0].line),
                    subject=f"{origin}:{family}",
                )
    if not found:
        yield Result.not_applicable("no script adds iptables INPUT rules")


@check("NET027", "ufw-delete-matches-rule", category="network", severity="low", pillar="security")
def ufw_delete_matches(ctx: ScanContext) -> Iterator[Result]:
    """`ufw delete <rule>` names a rule exactly as it was added.

    What it does
        For each `ufw delete allow|deny|limit ...` in a script, looks for a rule with the same
        action, port, protocol and source added by a script for the same host. ufw deletes only
        an exact match (`delete allow 8080` does not remove `allow 8080/tcp`); no match fails
        (low: the rule may come from an older version of the script or from an operator).
    Why it matters
        The port the script means to close stays open and ufw only prints "Could not delete
        non-existent rule", which scripts rarely check.
    Example
        ufw allow 8080/tcp ... ufw delete allow 8080
    Fix
        Repeat the exact spec of the added rule (`ufw delete allow 8080/tcp`), or delete by
        number after `ufw status numbered`.
    References
        https://manpages.debian.org/ufw.8
    Severity
        Low: the port meant to be closed stays open, but the rule may come from an older script or an
        operator, so the exposure is uncertain.
    """
    from chom_validate.artifacts.firewall import parse_ufw_args

    scripts = [(a, s) for a, s in ctx.parsed("shell") if not a.embedded]
    added: dict[str | None, set[tuple[Any, ...]]] = {}
    deletes = []
    for art, script in scripts:
        for line, op, args in ufw_ops(script):
            if op != "rule":
                continue
            if args[0] == "delete":
                r = parse_ufw_args(args[1:], line)
                if r is not None:
                    deletes.append((art, r))
                continue
            r = parse_ufw_args(args, line)
            if r is not None:
                added.setdefault(art.host, set()).add((r.action, r.port, r.proto, r.source, r.direction))
    for art, r in deletes:
        key = (r.action, r.port, r.proto, r.source, r.direction)
        if key in added.get(art.host, set()):
            yield Result.passed(f"{art.label}: `ufw delete` matches an added rule", art.evidence(r.line))
            continue
        near = [k for k in added.get(art.host, set()) if k[1] == r.port and k != key]
        hint = f"; the added rule is {near[0][0]} {near[0][1]}/{near[0][2]} from {near[0][3]}" if near else ""
        yield Result.fail(
            f"{art.label}: `ufw delete {r.action} {r.port or ''}` matches no rule the scripts add{hint}: ufw deletes "
            "exact specs only, so the port stays open",
            art.evidence(r.line),
            subject=f"delete {r.port}",
        )
    if not deletes:
        yield Result.not_applicable("no `ufw delete <rule>` in scripts")
