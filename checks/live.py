"""Live state vs files: what runs on the host compared with what its files say.

These checks need allow-listed command outputs (an SSH host, or a snapshot of one). On a
repository they are not applicable; a command missing on the host is not applicable too, never a pass.
"""

from __future__ import annotations

from collections.abc import Iterator

from chom_validate.engine import ScanContext
from chom_validate.findings import Result
from chom_validate.registry import check

from ._live_util import (
    CERTBOT,
    IPTABLES,
    NFT,
    SS,
    SYSTEMCTL_SHOW,
    UFW,
    Firewall,
    cmd_evidence,
    live_capable,
    parse_certbot,
    parse_iptables,
    parse_nft,
    parse_ss,
    parse_systemctl_show,
    parse_ufw,
)

_NOT_LIVE = "not a live target (repository or tree): no running state to compare"


def _host_units(ctx: ScanContext):  # type: ignore[no-untyped-def]
    """Service unit files installed on the host (not heredocs in scripts)."""
    for art, unit in ctx.parsed("systemd_unit"):
        if art.embedded or unit.type != "service":
            continue
        if not art.path.startswith(("etc/systemd/system/", "lib/systemd/system/", "usr/lib/systemd/system/")):
            continue
        yield art, unit


def _loaded(ctx: ScanContext) -> tuple[dict[str, dict[str, str]] | None, Result | None]:
    res = ctx.run(list(SYSTEMCTL_SHOW))
    if res.missing:
        return None, Result.not_applicable(
            f"systemctl not found on {ctx.name}", cmd_evidence(ctx, res), subject=ctx.name
        )
    if res.returncode != 0:
        return None, Result.error(
            f"`systemctl show` failed on {ctx.name} (exit {res.returncode}): {res.stderr[:200]}",
            cmd_evidence(ctx, res),
            subject=ctx.name,
        )
    return parse_systemctl_show(res.stdout), None


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
    """
    if not live_capable(ctx):
        yield Result.not_applicable(_NOT_LIVE, subject=ctx.name)
        return
    loaded, problem = _loaded(ctx)
    if problem is not None or loaded is None:
        yield problem or Result.error("no systemctl output", subject=ctx.name)
        return
    res = ctx.run(list(SYSTEMCTL_SHOW))
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
    """
    if not live_capable(ctx):
        yield Result.not_applicable(_NOT_LIVE, subject=ctx.name)
        return
    loaded, problem = _loaded(ctx)
    if problem is not None or loaded is None:
        yield problem or Result.error("no systemctl output", subject=ctx.name)
        return
    res = ctx.run(list(SYSTEMCTL_SHOW))
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


def _active_firewall(ctx: ScanContext) -> Firewall:
    for argv, parse in ((UFW, parse_ufw), (NFT, parse_nft), (IPTABLES, parse_iptables)):
        res = ctx.run(list(argv))
        if res.missing or res.returncode != 0:
            continue
        fw = parse(res)
        if fw is not None:
            return fw
    return Firewall(
        "none", None, default_open=True, default_line="no active firewall (ufw, nftables, iptables)"
    )


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
    """
    if not live_capable(ctx):
        yield Result.not_applicable(_NOT_LIVE, subject=ctx.name)
        return
    ss = ctx.run(list(SS))
    if ss.missing:
        yield Result.not_applicable(f"ss not found on {ctx.name}", cmd_evidence(ctx, ss), subject=ctx.name)
        return
    if ss.returncode != 0:
        yield Result.error(f"`ss -ltnp` failed on {ctx.name}: {ss.stderr[:200]}", cmd_evidence(ctx, ss))
        return
    public = {int(p) for p in ctx.settings("network").get("public_ports", [22, 80, 443])}
    fw = _active_firewall(ctx)
    exposed = 0
    checked: set[int] = set()
    for lst in parse_ss(ss.stdout):
        if lst.loopback or lst.port in checked:
            continue
        checked.add(lst.port)
        is_open, why = fw.open_to_world(lst.port)
        if not is_open or lst.port in public:
            continue
        exposed += 1
        fw_ev = (
            cmd_evidence(ctx, fw.result, why, note=f"{fw.name} lets port {lst.port} in from anywhere")
            if fw.result is not None
            else cmd_evidence(ctx, ss, note="no active firewall: every listening port is reachable")
        )
        yield Result.fail(
            f"port {lst.port} ({lst.process}) listens on {lst.address or '*'} and {fw.name} leaves it "
            "open to the world",
            cmd_evidence(ctx, ss, lst.line),
            fw_ev,
            subject=f"{ctx.name}:{lst.port}",
        )
    if not exposed:
        yield Result.passed(
            f"{len(checked)} non-loopback listening port(s) checked against {fw.name}; only "
            f"{', '.join(str(p) for p in sorted(public))} may be public and nothing else is open",
            cmd_evidence(ctx, ss),
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
    """
    if not live_capable(ctx):
        yield Result.not_applicable(_NOT_LIVE, subject=ctx.name)
        return
    res = ctx.run(list(CERTBOT))
    if res.missing:
        yield Result.not_applicable(
            f"certbot not found on {ctx.name}", cmd_evidence(ctx, res), subject=ctx.name
        )
        return
    if res.returncode != 0:
        yield Result.error(f"`certbot certificates` failed: {res.stderr[:200]}", cmd_evidence(ctx, res))
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
