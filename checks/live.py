"""Live state vs files: what runs on the host compared with what its files say.

These checks need allow-listed command outputs (an SSH host, or a snapshot of one). On a
repository they are not applicable; a command missing on the host is not applicable too, never a pass.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator

from chom_validate.api import CommandResult
from chom_validate.api import Context as ScanContext
from chom_validate.artifacts.base import Artifact
from chom_validate.artifacts.firewall import ANY, Firewall, Rule, parse_ufw_script
from chom_validate.facts.hosts import parse_ss, parse_systemctl_show
from chom_validate.facts.inputs import HostFiles
from chom_validate.facts.live import (
    CERTBOT,
    IPTABLES,
    NFT,
    SS,
    SYSTEMCTL_SHOW,
    UFW,
    active_firewall,
    parse_certbot,
)
from chom_validate.facts.monitoring import scrape_targets
from chom_validate.findings import Evidence, Result
from chom_validate.registry import check

from ._live_util import NOT_LIVE, cmd_evidence, firewall_unreadable, live_capable, live_command


def _host_units(ctx: ScanContext):  # type: ignore[no-untyped-def]
    """Service unit files installed on the host (not heredocs in scripts)."""
    for art, unit in ctx.parsed("systemd_unit"):
        if art.embedded or unit.type != "service":
            continue
        if not art.path.startswith(("etc/systemd/system/", "lib/systemd/system/", "usr/lib/systemd/system/")):
            continue
        yield art, unit


def _loaded(ctx: ScanContext) -> tuple[dict[str, dict[str, str]] | None, CommandResult | None, Result | None]:
    res, problem = live_command(ctx, SYSTEMCTL_SHOW)
    if res is None:
        return None, None, problem
    return parse_systemctl_show(res.stdout), res, None


def _effective(ctx: ScanContext, art, unit, key: str):  # type: ignore[no-untyped-def]
    """Last value of [Service] key across the unit file and its drop-ins: (value, artifact, line)."""
    d = unit.last("Service", key)
    best = (d.value.strip(), art, d.line) if d else None
    prefix = f"{art.path}.d/"
    for dart, dunit in ctx.parsed("systemd_dropin"):
        if dart.path.startswith(prefix):
            dd = dunit.last("Service", key)
            if dd:
                best = (dd.value.strip(), dart, dd.line)
    return best


@check(
    "LIV001",
    "live-restart-policy-drift",
    category="systemd",
    severity="high",
    pillar="reliability",
    commands=[list(SYSTEMCTL_SHOW)],
)
def live_restart_drift(ctx: ScanContext) -> Iterator[Result]:
    """The loaded unit has the Restart= policy its unit file declares.

    What it does
        Compares `Restart=` in each service unit file under /etc/systemd/system (and its drop-ins)
        with the value systemd actually loaded (`systemctl show --property=Restart`). A difference
        means the file was edited without `systemctl daemon-reload`, or another unit file wins.
    Why it matters
        Reviewers read the file and believe the service restarts after a crash; the running
        manager still has the old policy, so the first crash leaves it down.
    Example
        /etc/systemd/system/chom-app.service says `Restart=always`; `systemctl show chom-app`
        prints `Restart=no`.
    Fix
        Run `systemctl daemon-reload` (then restart the unit), and check `systemctl cat UNIT` for
        a drop-in or a unit in /run or /lib overriding the file.
    References
        https://www.freedesktop.org/software/systemd/man/systemctl.html#daemon-reload
    Severity
        High: the restart policy the file promises is not in effect, so the next crash leaves the
        service down: a likely outage.
    """
    loaded, res, problem = _loaded(ctx)
    if loaded is None or res is None:
        yield problem or Result.error("no systemctl output", subject=ctx.name)
        return
    compared = 0
    for art, unit in _host_units(ctx):
        live = loaded.get(unit.name)
        if live is None or "Restart" not in live:
            continue
        eff = _effective(ctx, art, unit, "Restart")
        declared, src, line = eff if eff else ("no", art, unit.sections.get("Service"))
        compared += 1
        block = f"Id={unit.name} Restart={live['Restart']}"
        if declared != live["Restart"]:
            yield Result.fail(
                f"{unit.name}: unit file says Restart={declared} but the loaded unit has "
                f"Restart={live['Restart']} (daemon-reload not run, or another file overrides it)",
                src.evidence(line, note="declared in the file"),
                cmd_evidence(ctx, res, block, note="what systemd loaded"),
                subject=unit.name,
            )
        else:
            yield Result.passed(
                f"{unit.name}: loaded Restart={declared} matches the unit file",
                src.evidence(line),
                cmd_evidence(ctx, res, block),
                subject=unit.name,
            )
    if not compared:
        yield Result.not_applicable(
            f"no service unit file on {ctx.name} is loaded by systemd",
            cmd_evidence(ctx, res),
            subject=ctx.name,
        )


@check(
    "LIV002",
    "live-service-active",
    category="systemd",
    severity="medium",
    pillar="reliability",
    commands=[list(SYSTEMCTL_SHOW)],
)
def live_service_active(ctx: ScanContext) -> Iterator[Result]:
    """Services installed to start at boot are enabled and running.

    What it does
        For every service unit file under /etc/systemd/system with an `[Install] WantedBy=`, reads
        `UnitFileState` and `ActiveState` from `systemctl show`; a unit that is disabled or not
        `active` (or is `failed`) is reported.
    Why it matters
        An exporter or worker that was installed but is not running is a silent gap: its alerts
        never fire and its scrape target is simply down.
    Example
        redis_exporter.service has `WantedBy=multi-user.target` but `ActiveState=failed`.
    Fix
        `systemctl enable --now UNIT`; for a failed unit read `journalctl -u UNIT -b` first.
    References
        https://www.freedesktop.org/software/systemd/man/systemctl.html#is-active%20PATTERN%E2%80%A6
    Severity
        Medium: an installed service that is not running is a gap in monitoring or function that its own
        alerts or users reveal; restarting it is the workaround.
    """
    loaded, res, problem = _loaded(ctx)
    if loaded is None or res is None:
        yield problem or Result.error("no systemctl output", subject=ctx.name)
        return
    seen = 0
    for art, unit in _host_units(ctx):
        wanted = unit.last("Install", "WantedBy")
        if wanted is None:
            continue
        seen += 1
        live = loaded.get(unit.name)
        if live is None:
            yield Result.fail(
                f"{unit.name}: installed with WantedBy={wanted.value} but not loaded by systemd "
                "(never enabled, or daemon-reload not run)",
                art.evidence(wanted.line),
                cmd_evidence(ctx, res, note=f"{unit.name} absent from `systemctl show` output"),
                subject=unit.name,
            )
            continue
        active, enabled = live.get("ActiveState", "?"), live.get("UnitFileState", "?")
        block = f"Id={unit.name} ActiveState={active} UnitFileState={enabled}"
        if active != "active" or enabled not in ("enabled", "static", "alias", "generated"):
            yield Result.fail(
                f"{unit.name}: ActiveState={active}, UnitFileState={enabled}; expected active and enabled",
                art.evidence(wanted.line),
                cmd_evidence(ctx, res, block),
                subject=unit.name,
            )
        else:
            yield Result.passed(
                f"{unit.name} is active and enabled",
                art.evidence(wanted.line),
                cmd_evidence(ctx, res, block),
                subject=unit.name,
            )
    if not seen:
        yield Result.not_applicable(f"no installable service unit file on {ctx.name}", subject=ctx.name)


@check(
    "LIV003",
    "live-port-exposure",
    category="network",
    severity="high",
    pillar="security",
    commands=[list(SS), list(UFW), list(NFT), list(IPTABLES)],
)
def live_port_exposure(ctx: ScanContext) -> Iterator[Result]:
    """No listening port outside the public set is open to the world by the active firewall.

    What it does
        Lists TCP sockets listening on non-loopback addresses (`ss -ltnp`) and asks the active
        firewall (`ufw status verbose`, else `nft list ruleset`, else `iptables-save`) whether each
        port is accepted from anywhere. Ports in `network.public_ports` (default 22, 80, 443) may
        be public; any other port open to the world fails, with the socket and the rule (or the
        default policy) that lets it through.
    Why it matters
        Exporters, admin UIs, databases and metrics endpoints leak data and widen the attack
        surface when reachable from the Internet. The firewall script in the repository may say
        otherwise; this is what the running host really does.
    Example
        `LISTEN 0.0.0.0:8080 chom-app` and ufw `8080/tcp ALLOW IN Anywhere`.
    Fix
        Bind the service to 127.0.0.1 or the private address, or restrict the rule to the
        scraper: `ufw delete allow 8080/tcp && ufw allow from 51.254.139.78 to any port 8080 proto tcp`.
    References
        https://manpages.debian.org/ufw.8 ; CIS Ubuntu Linux Benchmark 3.5 (host firewall)
    Severity
        High: an exporter, admin UI or database reachable from the Internet is likely to leak data or be
        attacked.
    """
    ss, problem = live_command(ctx, SS)
    if ss is None:
        yield problem or Result.error("no ss output", subject=ctx.name)
        return
    lf, tried = active_firewall(ctx)
    if lf is None and (unreadable := firewall_unreadable(ctx, tried)) is not None:
        yield unreadable
        return
    fw_name = lf.name if lf else "no active firewall"
    public = {int(p) for p in ctx.settings("network").get("public_ports", [22, 80, 443])}
    exposed = 0
    checked: set[int] = set()
    for lst in parse_ss(ss.stdout):
        if lst.loopback or lst.port in checked:
            continue
        checked.add(lst.port)
        if lf is None:
            is_open, why = True, ""
        else:
            is_open, rule = lf.fw.decide(lst.port, "tcp", None)
            why = rule.text if rule is not None else lf.text(lf.fw.default_line) or "default policy"
        if not is_open or lst.port in public:
            continue
        exposed += 1
        fw_ev = (
            cmd_evidence(ctx, lf.result, why, note=f"{lf.name} lets port {lst.port} in from anywhere")
            if lf is not None
            else cmd_evidence(
                ctx,
                tried[0],
                note="ufw inactive and no nftables/iptables rule: every listening port is reachable",
            )
        )
        yield Result.fail(
            f"port {lst.port} ({lst.process}) listens on {lst.address or '*'} and {fw_name} leaves it "
            "open to the world",
            cmd_evidence(ctx, ss, lst.raw),
            fw_ev,
            subject=f"{ctx.name}:{lst.port}",
        )
    if not exposed:
        yield Result.passed(
            f"{len(checked)} non-loopback listening port(s) checked against {fw_name}; only "
            f"{', '.join(str(p) for p in sorted(public))} may be public and nothing else is open",
            cmd_evidence(ctx, ss),
            *([cmd_evidence(ctx, lf.result)] if lf else []),
            subject=ctx.name,
        )


@check(
    "LIV004",
    "live-certificate-expiry",
    category="network",
    severity="high",
    pillar="reliability",
    commands=[list(CERTBOT)],
)
def live_certificate_expiry(ctx: ScanContext) -> Iterator[Result]:
    """Let's Encrypt certificates are far from expiry and have a renewal config.

    What it does
        Reads `certbot certificates`: a certificate expiring within `network.cert_min_days`
        (default 14) fails (critical once expired); a certificate without
        /etc/letsencrypt/renewal/NAME.conf among the collected files fails because it will not renew.
    Why it matters
        Certbot renews at 30 days; a certificate under 14 days means renewal has been failing
        for two weeks. An expired certificate takes the site down for every browser.
    Example
        `Expiry Date: 2026-12-05 10:00:00+00:00 (VALID: 5 days)`
    Fix
        Run `certbot renew --dry-run` and fix the error; make sure `certbot.timer` (or the cron
        job) is enabled; restore the renewal config if it was deleted.
    References
        https://eff-certbot.readthedocs.io/en/stable/using.html#renewing-certificates
    Severity
        High: under 14 days renewal has been failing for two weeks and an outage for every browser is
        days away; an expired certificate is critical (the site is down now).
    """
    res, problem = live_command(ctx, CERTBOT)
    if res is None:
        yield problem or Result.error("no certbot output", subject=ctx.name)
        return
    certs = parse_certbot(res.stdout)
    if not certs:
        yield Result.not_applicable(f"no certbot certificate on {ctx.name}", cmd_evidence(ctx, res))
        return
    min_days = float(ctx.settings("network").get("cert_min_days", 14))
    collected_renewal = any(p.startswith("etc/letsencrypt/") for p in ctx.index.files)
    for c in certs:
        if c.expiry is None:
            yield Result.error(f"{c.name}: no expiry date in certbot output", cmd_evidence(ctx, res, c.line))
            continue
        days = (c.expiry - ctx.now).total_seconds() / 86400
        ev = cmd_evidence(ctx, res, c.line)
        if days < 0:
            yield Result.fail(
                f"{c.name}: certificate EXPIRED {-days:.0f} day(s) ago",
                ev,
                subject=c.name,
                severity="critical",
            )
        elif days < min_days:
            yield Result.fail(
                f"{c.name}: certificate expires in {days:.1f} day(s) (< {min_days:g}); renewal is failing",
                ev,
                subject=c.name,
            )
        else:
            yield Result.passed(f"{c.name}: valid for {days:.0f} more day(s)", ev, subject=c.name)
        conf = f"etc/letsencrypt/renewal/{c.name}.conf"
        if collected_renewal and conf not in ctx.index.files:
            yield Result.fail(
                f"{c.name}: no renewal config {conf}; certbot will never renew it",
                ev,
                subject=c.name,
                severity="medium",
            )


# -- LIV005: running firewall vs the firewall script -------------------------------------------------


def _script_firewall(ctx: ScanContext) -> tuple[Artifact, Firewall] | None:
    """The ufw script for this host: on the host itself, or in a repository of the fleet mapped to it."""
    best: tuple[Artifact, Firewall] | None = None
    contexts = {id(c): c for c in (ctx, *ctx.fleet.values())}
    for fctx in contexts.values():
        for art, script in fctx.parsed("shell"):
            if (art.host or fctx.name) != ctx.name:
                continue
            fw = parse_ufw_script(script)
            if fw is None or not (fw.rules or fw.default_incoming):
                continue
            if best is None or len(fw.rules) > len(best[1].rules):
                best = (art, fw)
    return best


def _ports(spec: str | None) -> list[int] | None:
    """Probe ports of a rule's port spec ("22", "80,443", "6000:6007"); None when unknown."""
    if spec is None or not re.fullmatch(r"[\d,:-]+", spec):
        return None
    out = []
    for part in spec.split(","):
        lo = re.split(r"[:-]", part)[0]
        if not lo.isdigit():
            return None
        out.append(int(lo))
    return out


def _probe_source(src: str) -> str | None:
    """An address inside the rule's source (None = anywhere), or "" when unknown (``$VAR``...)."""
    if src == ANY:
        return None
    try:
        return str(ipaddress.ip_network(src, strict=False).network_address)
    except ValueError:
        return ""


def _tcp(rule: Rule) -> bool:
    return rule.direction == "in" and rule.proto in (ANY, "tcp")


@check(
    "LIV005",
    "live-firewall-drift",
    category="network",
    severity="high",
    pillar="security",
    commands=[list(UFW), list(NFT), list(IPTABLES)],
)
def live_firewall_drift(ctx: ScanContext) -> Iterator[Result]:
    """The running firewall enforces what the firewall script declares, and nothing more.

    What it does
        Finds the ufw script for this host (on the host, or in a repository scanned in the same
        run and mapped to it), then reads the active firewall (`ufw status verbose`, else
        `nft list ruleset`, else `iptables-save`). Every TCP rule of the script must have the
        same effect on the running host (an allowed port is allowed from that source, a denied
        one is not), and every running allow rule must be declared by the script. The default
        incoming policy and "the script enables the firewall" are compared too.
    Why it matters
        The reviewed script is what people trust; a rule added by hand during an incident (or a
        script that was never re-run) leaves the host different from the repository, usually
        more open.
    Example
        The script allows 9100/tcp from 51.254.139.78 only; `ufw status` shows
        `9100/tcp ALLOW IN Anywhere`.
    Fix
        Re-run the script (it is idempotent: `ufw --force reset` first), or add the hand-made
        rule to the script and review it.
    References
        https://manpages.debian.org/ufw.8
    Severity
        High: the running host differs from the reviewed firewall, usually more open; likely to expose a
        service nobody meant to publish.
    """
    if not live_capable(ctx):
        yield Result.not_applicable(NOT_LIVE, subject=ctx.name)
        return
    found = _script_firewall(ctx)
    if found is None:
        yield Result.not_applicable(
            f"no ufw firewall script for {ctx.name} among the scanned files", subject=ctx.name
        )
        return
    art, script = found
    lf, tried = active_firewall(ctx)
    if lf is None:
        unreadable = firewall_unreadable(ctx, tried)
        if unreadable is not None:
            yield unreadable
            return
        yield Result.fail(
            f"{art.path} configures a firewall but none is active on {ctx.name} "
            "(ufw inactive, no nftables or iptables rule)",
            art.evidence(
                script.enabled_line or script.default_line or (script.rules[0].line if script.rules else None)
            ),
            *(cmd_evidence(ctx, r) for r in tried if not r.missing),
            subject=ctx.name,
        )
        return
    live = lf.fw
    drift = 0
    closed = ("deny", "reject")
    if script.default_incoming in closed and live.default_incoming not in closed:
        drift += 1
        yield Result.fail(
            f"{art.path} sets the default incoming policy to {script.default_incoming} but {lf.name} "
            f"on {ctx.name} has {live.default_incoming or 'accept'}",
            art.evidence(script.default_line),
            cmd_evidence(ctx, lf.result, lf.text(live.default_line), note="running default policy"),
            subject=f"{ctx.name}:default",
        )
    seen: set[tuple[int, str | None, bool]] = set()
    for rule in script.incoming:
        ports, src = _ports(rule.port), _probe_source(rule.source)
        if not _tcp(rule) or ports is None or src == "":
            continue  # unknown port/source (unexpanded variable): no claim
        for port in ports:
            key = (port, src, rule.allows)
            if key in seen:
                continue
            seen.add(key)
            allowed, lrule = live.decide(port, "tcp", src)
            if allowed == rule.allows:
                continue
            drift += 1
            what = "allows" if rule.allows else "blocks"
            yield Result.fail(
                f"{art.path} {what} port {port}/tcp from {rule.source} but the running {lf.name} on "
                f"{ctx.name} {'blocks' if rule.allows else 'allows'} it: the script's rule is not active",
                art.evidence(rule.line, note="declared in the script"),
                cmd_evidence(
                    ctx,
                    lf.result,
                    lrule.text if lrule else lf.text(live.default_line),
                    note="what the running firewall does",
                ),
                subject=f"{ctx.name}:{port}",
            )
    undeclared: set[tuple[int, str | None]] = set()
    live_compared = 0
    for lrule in live.incoming:
        ports, src = _ports(lrule.port), _probe_source(lrule.source)
        if not lrule.allows or not _tcp(lrule) or ports is None or src == "":
            continue
        live_compared += 1
        for port in ports:
            if (port, src) in undeclared or script.decide(port, "tcp", src)[0]:
                continue
            undeclared.add((port, src))
            drift += 1
            yield Result.fail(
                f"the running {lf.name} on {ctx.name} allows port {port}/tcp from "
                f"{'anywhere' if src is None else lrule.source} but no rule of {art.path} declares it",
                cmd_evidence(ctx, lf.result, lrule.text, note="active rule"),
                art.evidence(None, note="the firewall script that should declare it"),
                subject=f"{ctx.name}:{port}",
            )
    if not drift and not seen and not live_compared:
        yield Result.not_applicable(
            f"no TCP rule with a known port and source in {art.path} or in the running {lf.name}: "
            "nothing to compare",
            art.evidence(None),
            cmd_evidence(ctx, lf.result),
            subject=ctx.name,
        )
    elif not drift:
        yield Result.passed(
            f"{lf.name} on {ctx.name} matches {art.path}: {len(seen)} script rule(s) active, no undeclared "
            "allow rule",
            art.evidence(script.rules[0].line if script.rules else script.default_line),
            cmd_evidence(ctx, lf.result),
            subject=ctx.name,
        )


# -- LIV006: secrets files readable by others ----------------------------------------------------------

_SECRET_ASSIGN = re.compile(
    r"^[ \t]*(?:export[ \t]+)?\w*(?:PASS(?:WORD|WD)?|SECRET|TOKEN|API_?KEY|PRIVATE_?KEY|APP_KEY)\w*[ \t]*=[ \t]*['\"]?[^\s'\"#]",
    re.I | re.M,
)
_CNF_PASSWORD = re.compile(r"^[ \t]*password[ \t]*=[ \t]*\S", re.I | re.M)


def _env_files(ctx: ScanContext) -> Iterator[tuple[str, Artifact, int, str]]:
    """(absolute path, unit artifact, line, unit name) of each EnvironmentFile= of host services."""
    for art, unit in _host_units(ctx):
        srcs = [(art, unit)] + [
            (dart, dunit)
            for dart, dunit in ctx.parsed("systemd_dropin")
            if dart.path.startswith(f"{art.path}.d/")
        ]
        for sart, sunit in srcs:
            for d in sunit.entries("Service", "EnvironmentFile"):
                for word in d.value.split():
                    yield word.lstrip("-"), sart, d.line, unit.name


def _mode_note(mode: int, uid: int | None, gid: int | None) -> str:
    owner = f" owner {uid}:{gid}" if uid is not None and gid is not None else ""
    return f"mode {mode:04o}{owner}"


def _mode_problem(mode: int) -> str | None:
    if mode & 0o004:
        return f"world-readable (mode {mode:04o})"
    if mode & 0o022:
        return f"writable by group/other (mode {mode:04o})"
    return None


@check(
    "LIV006",
    "live-secret-file-permissions",
    category="secrets",
    severity="high",
    pillar="security",
)
def live_secret_permissions(ctx: ScanContext, host_files: HostFiles) -> Iterator[Result]:
    """Service EnvironmentFile= files and secrets files on the host are not readable by others.

    What it does
        For every `EnvironmentFile=` of a service unit installed on the host, and every collected
        `.env`/`*.env` file with a password/secret/token/key assignment or `*.cnf` file with a
        `password=` line, reads the file mode from the collected tree (tar headers, or the
        snapshot manifest). Readable by "other" or writable by group/other fails. A file that
        was not collected is not applicable (nothing was looked at). Values are never printed.
    Why it matters
        Any local user or compromised service account can read database passwords and app keys
        from a 0644 file; systemd does not need the file to be readable by anyone but root.
    Example
        /opt/chom/app/.env is -rw-r--r-- (0644) and holds DB_PASSWORD.
    Fix
        `chown root:SERVICE_GROUP FILE && chmod 0640 FILE` (or 0600 root:root for EnvironmentFile=).
    References
        https://www.freedesktop.org/software/systemd/man/systemd.exec.html#EnvironmentFile= ;
        CIS Ubuntu Linux Benchmark 6.1 (file permissions)
    Severity
        High: a world-readable secrets file exposes database passwords and app keys to every local user.
    """
    looked = 0
    done: set[str] = set()
    for path, art, line, unit_name in _env_files(ctx):
        if not path.startswith("/") or any(t in path for t in ("%", "$", "{{")):
            continue  # specifiers or templated: unknown path
        rel = path.lstrip("/")
        entry = host_files.stat(rel)
        if entry is None:
            yield Result.not_applicable(
                f"{unit_name}: EnvironmentFile={path} was not collected from {ctx.name}; its mode is "
                "unknown (add its directory to hosts.<host>.collect)",
                art.evidence(line),
                subject=path,
            )
            continue
        done.add(rel)
        looked += 1
        ev = Evidence(host=ctx.name, path=rel, note=_mode_note(entry.mode, entry.uid, entry.gid))
        problem = _mode_problem(entry.mode)
        if problem:
            yield Result.fail(
                f"{unit_name}: EnvironmentFile={path} is {problem}", art.evidence(line), ev, subject=path
            )
        else:
            yield Result.passed(
                f"{unit_name}: EnvironmentFile={path} has mode {entry.mode:04o}",
                art.evidence(line),
                ev,
                subject=path,
            )
    for entry in host_files:
        base = entry.path.rsplit("/", 1)[-1]
        if entry.path in done or not (base == ".env" or base.endswith((".env", ".cnf"))):
            continue
        text = host_files.read_text(entry.path)
        if text is None:  # binary, not UTF-8, or unreadable
            continue
        pattern = _CNF_PASSWORD if base.endswith(".cnf") else _SECRET_ASSIGN
        if not pattern.search(text):
            continue
        looked += 1
        ev = Evidence(
            host=ctx.name,
            path=entry.path,
            note=f"mode {entry.mode:04o}; holds a password/secret (value not shown)",
        )
        problem = _mode_problem(entry.mode)
        if problem:
            yield Result.fail(f"/{entry.path} holds secrets and is {problem}", ev, subject=f"/{entry.path}")
        else:
            yield Result.passed(
                f"/{entry.path} holds secrets, mode {entry.mode:04o}", ev, subject=f"/{entry.path}"
            )
    if not looked:
        yield Result.not_applicable(
            f"no collected EnvironmentFile= or secrets file (.env, *.cnf with a password) on {ctx.name}",
            subject=ctx.name,
        )


# -- LIV007: scrape targets listen on their host ---------------------------------------------------


@check(
    "LIV007",
    "live-scrape-target-listening",
    category="topology",
    severity="medium",
    pillar="observability",
    commands=[list(SS)],
)
def live_scrape_target_listening(ctx: ScanContext) -> Iterator[Result]:
    """Every port the fleet's Prometheus scrapes on this host is listening, reachably.

    What it does
        Collects the `static_configs` targets of every Prometheus config in the run (any host of
        the fleet) that resolve to this host (by name, address or private_address in the config;
        `localhost` means the Prometheus host itself) and looks each port up in `ss -ltnp` on
        this host. A port nobody listens on fails; a port bound only to loopback fails when the
        scraper is another host.
    Why it matters
        A scrape target with no listener is a permanently `down` target: the exporter was never
        installed, crashed, or listens on another port, and its alerts are blind.
    Example
        mentat scrapes 51.77.150.96:9121 (redis) but landsraad has no socket on 9121.
    Fix
        Install/start the exporter (`systemctl enable --now redis_exporter`), or fix the port in
        prometheus.yml; bind it to the private address when the scraper is remote.
    References
        https://prometheus.io/docs/prometheus/latest/configuration/configuration/#static_config
    Severity
        Medium: a scrape target with no listener is a permanently down target whose alerts are blind;
        the up==0 alert is the workaround.
    """
    ss, problem = live_command(ctx, SS)
    if ss is None:
        yield problem or Result.error("no ss output", subject=ctx.name)
        return
    listeners = parse_ss(ss.stdout)
    contexts = {id(c): c for c in (ctx, *ctx.fleet.values())}
    seen: set[tuple[int, str]] = set()
    for fctx in contexts.values():
        for t in scrape_targets(fctx):
            if t.host != ctx.name or (t.port, t.job) in seen:
                continue
            seen.add((t.port, t.job))
            on_port = [lst for lst in listeners if lst.port == t.port]
            remote = t.scraper != ctx.name
            if not on_port:
                yield Result.fail(
                    f"job {t.job} scrapes {t.address}:{t.port} but nothing listens on port {t.port} on {ctx.name}",
                    t.evidence(note=f"scraped by {t.scraper or 'Prometheus'}"),
                    cmd_evidence(ctx, ss, note=f"no LISTEN socket on port {t.port}"),
                    subject=f"{ctx.name}:{t.port}",
                )
            elif remote and all(lst.loopback for lst in on_port):
                yield Result.fail(
                    f"job {t.job}: port {t.port} listens only on loopback on {ctx.name}; {t.scraper} cannot reach it",
                    t.evidence(note=f"scraped by {t.scraper}"),
                    cmd_evidence(ctx, ss, on_port[0].raw),
                    subject=f"{ctx.name}:{t.port}",
                )
            else:
                yield Result.passed(
                    f"job {t.job}: port {t.port} is listening on {ctx.name} ({on_port[0].process})",
                    t.evidence(),
                    cmd_evidence(ctx, ss, on_port[0].raw),
                    subject=f"{ctx.name}:{t.port}",
                )
    if not seen:
        yield Result.not_applicable(
            f"no Prometheus scrape target of the fleet resolves to {ctx.name}",
            cmd_evidence(ctx, ss),
            subject=ctx.name,
        )


@check(
    "LIV008",
    "live-sshd-port-allowed",
    category="network",
    severity="critical",
    pillar="reliability",
    commands=[list(SS), list(UFW), list(NFT), list(IPTABLES)],
)
def live_sshd_port_allowed(ctx: ScanContext) -> Iterator[Result]:
    """The active firewall lets new connections reach the port sshd really listens on.

    What it does
        On a live host (or snapshot) reads the ports sshd listens on (`ss -ltnp`, process
        `sshd`) and asks the active firewall (ufw, else nftables, else iptables) whether a new
        TCP connection to each is accepted from some source (an allow-list counts). A port that no
        rule lets in fails: critical, the next login is refused (existing sessions survive only
        through connection tracking). No active firewall passes; on a repository the real port is
        unknown and the check is not_applicable.
    Why it matters
        sshd moved to 2222 while the firewall still allows 22 (or the other way round) is a lockout
        waiting for the next disconnect; on a cloud VM without a console it means a rebuild.
    Example
        `LISTEN 0.0.0.0:2222 sshd` with ufw `22/tcp LIMIT IN Anywhere` and default deny.
    Fix
        `ufw limit 2222/tcp` (or the allow-list you use) before closing the session, then remove
        the stale rule for the old port.
    References
        https://manpages.debian.org/sshd_config.5#Port
    Severity
        Critical: the next SSH login is refused; on a cloud VM without a console that is a lockout and a
        rebuild.
    """
    ss, problem = live_command(ctx, SS)
    if ss is None:
        yield problem or Result.error("no ss output", subject=ctx.name)
        return
    ports = sorted({lst.port for lst in parse_ss(ss.stdout) if lst.process == "sshd" and not lst.loopback})
    if not ports:
        yield Result.not_applicable(
            f"no sshd listening on a non-loopback address of {ctx.name}", cmd_evidence(ctx, ss)
        )
        return
    lf, tried = active_firewall(ctx)
    if lf is None:
        if (unreadable := firewall_unreadable(ctx, tried)) is not None:
            yield unreadable
            return
        yield Result.passed(
            f"sshd on {', '.join(map(str, ports))}: no active firewall filters it",
            cmd_evidence(ctx, ss),
            subject=ctx.name,
        )
        return
    for port in ports:
        line = next(lst.raw for lst in parse_ss(ss.stdout) if lst.process == "sshd" and lst.port == port)
        allow = [r for r in lf.fw.incoming if r.allows and r.matches_port(port)]
        first_match = next((r for r in lf.fw.incoming if r.matches_port(port) and r.from_anywhere), None)
        if allow and (first_match is None or first_match.allows or not first_match.from_anywhere):
            r = allow[0]
            yield Result.passed(
                f"sshd port {port} is allowed by {lf.name}"
                + ("" if r.from_anywhere else f" from {r.source}"),
                cmd_evidence(ctx, ss, line),
                cmd_evidence(ctx, lf.result, r.text),
                subject=f"{ctx.name}:{port}",
            )
        elif lf.fw.default_incoming == "allow":
            yield Result.passed(
                f"sshd port {port}: {lf.name} default incoming policy is allow",
                cmd_evidence(ctx, ss, line),
                subject=f"{ctx.name}:{port}",
            )
        else:
            why = (
                first_match.text
                if first_match is not None
                else lf.text(lf.fw.default_line) or "default policy"
            )
            yield Result.fail(
                f"sshd listens on port {port} but {lf.name} lets no new connection in to it ({why}): the next "
                "SSH login is refused",
                cmd_evidence(ctx, ss, line),
                cmd_evidence(ctx, lf.result, why, note=f"no rule allows {port}/tcp"),
                subject=f"{ctx.name}:{port}",
            )
