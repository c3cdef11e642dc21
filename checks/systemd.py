"""systemd units: restart policy, ordering on the network, unprivileged users."""

from __future__ import annotations

import re
from collections.abc import Iterator

from chom_validate.engine import ScanContext
from chom_validate.findings import Result
from chom_validate.registry import check

_NETWORK_HINT = re.compile(
    r"(--web\.listen-address|--listen|:\d{2,5}\b|exporter|prometheus|grafana|loki|nginx|"
    r"redis|mysql|php-fpm|alertmanager|http)",
    re.I,
)


def services(ctx: ScanContext):  # type: ignore[no-untyped-def]
    """Service units (files and heredocs) that run a long-lived process."""
    for art, unit in ctx.parsed("systemd_unit"):
        if unit.type != "service" or not unit.has_section("Service"):
            continue
        if (unit.get("Service", "Type") or "simple") == "oneshot":
            continue
        yield art, unit


@check("SYS001", "restart-policy", category="systemd", severity="high", pillar="reliability")
def restart_policy(ctx: ScanContext) -> Iterator[Result]:
    """Long-running services restart on failure, with a delay.

    What it does
        For every non-oneshot service unit, reads the effective `Restart=` and `RestartSec=`.
        `Restart=on-failure`, `on-abnormal` or `always` pass; `no` (the default) fails; a restart
        without `RestartSec=` (default 100 ms) is reported because a crash loop then burns the
        start limit in a second.
    Why it matters
        An exporter or worker that crashes once stays down until someone notices; monitoring goes
        blind exactly when something is wrong. A short restart delay hides the crash loop.
    Example
        [Service]
        ExecStart=/usr/local/bin/node_exporter
        # no Restart= -> Restart=no
    Fix
        Add `Restart=on-failure` (or `always`) and `RestartSec=5s` to the `[Service]` section.
    References
        https://www.freedesktop.org/software/systemd/man/systemd.service.html#Restart=
    """
    found = False
    for art, unit in services(ctx):
        found = True
        restart = unit.last("Service", "Restart")
        val = restart.value.strip() if restart else "no"
        if val in ("no", ""):
            ev = (
                art.evidence(restart.line)
                if restart
                else art.evidence(
                    unit.sections.get("Service"), note="no Restart= in [Service]; the default is Restart=no"
                )
            )
            yield Result.fail(
                f"{art.label}: Restart={val}: the service stays down after a crash", ev, subject=unit.name
            )
        elif val in ("on-success", "on-watchdog"):
            yield Result.fail(
                f"{art.label}: Restart={val} does not restart after a failure",
                art.evidence(restart.line if restart else None),
                subject=unit.name,
            )
        elif unit.last("Service", "RestartSec") is None:
            yield Result.fail(
                f"{art.label}: Restart={val} without RestartSec= (default 100ms) makes crash loops "
                "hit the start limit at once",
                art.evidence(restart.line if restart else None),
                subject=unit.name,
                severity="low",
            )
        else:
            yield Result.passed(
                f"{art.label}: Restart={val}, RestartSec={unit.get('Service', 'RestartSec')}",
                art.evidence(restart.line if restart else None),
                subject=unit.name,
            )
    if not found:
        yield Result.not_applicable("no long-running service units found")


@check("SYS002", "network-online-ordering", category="systemd", severity="medium", pillar="reliability")
def network_online(ctx: ScanContext) -> Iterator[Result]:
    """Network services wait for `network-online.target` (After= and Wants=).

    What it does
        For service units that listen on or talk to the network (exporters, web servers, databases,
        anything with a listen address or port), requires both `After=network-online.target` and
        `Wants=network-online.target` (or `Requires=`). `After=network.target` alone is reported.
    Why it matters
        `network.target` only means the network stack is up, not that addresses are configured. A
        service binding to a specific IP at boot then fails or binds nothing, and comes up broken
        after every reboot.
    Example
        [Unit]
        After=network.target
    Fix
        [Unit]
        Wants=network-online.target
        After=network-online.target
    References
        https://systemd.io/NETWORK_ONLINE/
    """
    found = False
    for art, unit in services(ctx):
        exec_start = unit.get("Service", "ExecStart") or ""
        if not _NETWORK_HINT.search(
            exec_start + " " + unit.name + " " + (unit.get("Unit", "Description") or "")
        ):
            continue
        found = True
        after = unit.values("Unit", "After")
        wants = unit.values("Unit", "Wants") + unit.values("Unit", "Requires")
        missing = [k for k, v in (("After", after), ("Wants", wants)) if "network-online.target" not in v]
        if missing:
            d = unit.last("Unit", "After") or unit.last("Unit", "Wants")
            ev = (
                art.evidence(d.line)
                if d
                else art.evidence(unit.sections.get("Unit") or 1, note="no After=/Wants= in [Unit]")
            )
            yield Result.fail(
                f"{art.label}: missing {' and '.join(m + '=network-online.target' for m in missing)}",
                ev,
                subject=unit.name,
            )
        else:
            yield Result.passed(
                f"{art.label}: ordered after network-online.target",
                art.evidence(unit.entries("Unit", "After")[0].line),
                subject=unit.name,
            )
    if not found:
        yield Result.not_applicable("no network-facing service units found")


@check("SYS003", "non-root-user", category="systemd", severity="high", pillar="security")
def non_root_user(ctx: ScanContext) -> Iterator[Result]:
    """Services run as an unprivileged user (`User=` or `DynamicUser=yes`).

    What it does
        For every long-running service unit, reads the effective `User=` and `DynamicUser=`. No
        `User=` (runs as root), `User=root` or `User=0` fail unless `DynamicUser=yes`. Units whose
        user is a template placeholder are reported as not applicable (the value is unknown).
    Why it matters
        An exporter running as root turns any remote bug in it into a full host compromise; most
        exporters need no privileges at all.
    Example
        [Service]
        ExecStart=/usr/local/bin/redis_exporter
        # no User= -> root
    Fix
        Create a system user (`useradd --system --no-create-home --shell /usr/sbin/nologin
        node_exporter`) and set `User=node_exporter` and `Group=node_exporter`, or use
        `DynamicUser=yes`.
    References
        https://www.freedesktop.org/software/systemd/man/systemd.exec.html#User=
    """
    found = False
    for art, unit in services(ctx):
        found = True
        user = unit.last("Service", "User")
        dyn = (unit.get("Service", "DynamicUser") or "no").lower() in ("yes", "true", "1", "on")
        if dyn:
            yield Result.passed(
                f"{art.label}: DynamicUser=yes",
                art.evidence(unit.last("Service", "DynamicUser").line),  # type: ignore[union-attr]
                subject=unit.name,
            )
        elif user is None:
            yield Result.fail(
                f"{art.label}: no User= in [Service]: the service runs as root",
                art.evidence(unit.sections.get("Service"), note="no User= or DynamicUser="),
                subject=unit.name,
            )
        elif re.search(r"\{\{|\$\{?[A-Za-z_]|%[a-zA-Z]", user.value):
            yield Result.not_applicable(
                f"{art.label}: User={user.value} is templated; value unknown",
                art.evidence(user.line),
                subject=unit.name,
            )
        elif user.value.strip() in ("root", "0"):
            yield Result.fail(
                f"{art.label}: User={user.value.strip()} runs the service with full privileges",
                art.evidence(user.line),
                subject=unit.name,
            )
        else:
            yield Result.passed(
                f"{art.label}: runs as {user.value.strip()}", art.evidence(user.line), subject=unit.name
            )
    if not found:
        yield Result.not_applicable("no long-running service units found")
