"""systemd units: restart policy, ordering on the network, unprivileged users."""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

from chom_validate.api import Context as ScanContext
from chom_validate.api import looks_like_placeholder
from chom_validate.artifacts.journald import JournaldConf, JournalSetting, merge_journald, parse_timespan
from chom_validate.artifacts.systemd import Directive, merged_units
from chom_validate.artifacts.systemd_security import assess
from chom_validate.artifacts.templating import TEMPLATED_VALUE
from chom_validate.facts.anchors import unit_section_line
from chom_validate.findings import Evidence, Result
from chom_validate.registry import check

_NETWORK_HINT = re.compile(
    r"(--web\.listen-address|--listen|:\d{2,5}\b|exporter|prometheus|grafana|loki|nginx|"
    r"redis|mysql|php-fpm|alertmanager|http)",
    re.I,
)


_TEMPLATED = TEMPLATED_VALUE  # one definition: artifacts/templating.py


def all_services(ctx: ScanContext):  # type: ignore[no-untyped-def]
    """Service units (files and heredocs) with their drop-ins applied."""
    units = ctx.derived(
        "systemd:merged", lambda: merged_units(ctx.parsed("systemd_unit"), ctx.parsed("systemd_dropin"))
    )
    for art, unit in units:
        if unit.type == "service" and unit.has_section("Service"):
            yield art, unit


def services(ctx: ScanContext):  # type: ignore[no-untyped-def]
    """Service units (files and heredocs, drop-ins applied) that run a long-lived process."""
    for art, unit in all_services(ctx):
        if (unit.get("Service", "Type") or "simple") == "oneshot":
            continue
        yield art, unit


_PRIVILEGED_TOOLS = frozenset(
    (
        "iptables",
        "ip6tables",
        "iptables-restore",
        "ip6tables-restore",
        "nft",
        "modprobe",
        "sysctl",
        "wg-quick",
    )
)


def root_by_design(unit: Any) -> str | None:
    """Why this service must run as root, or None.

    `Delegate=yes` hands the unit its own cgroup subtree: only container runtimes and node agents
    (kubelet, containerd, rke2/k3s) ask for it, and they must manage cgroups, mounts and netfilter as
    root. A unit whose every command is a netfilter/sysctl/module tool cannot run unprivileged either.
    For those, "no User=" and a high exposure score are a documented design, not a defect.
    """
    if (unit.get("Service", "Delegate") or "no").strip().lower() in ("yes", "true", "1", "on"):
        return "Delegate=yes (manages its own cgroup subtree, like a container runtime or kubelet)"
    tools = [
        (d.value.lstrip("-@:+!").split() or [""])[0].rsplit("/", 1)[-1]
        for d in unit.directives
        if d.section == "Service" and d.key in ("ExecStart", "ExecStartPre", "ExecStop")
    ]
    if tools and all(t in _PRIVILEGED_TOOLS for t in tools):
        return f"every command is a privileged system tool ({', '.join(sorted(set(tools)))})"
    return None


def ev(
    art, d: Directive | None, note: str | None = None, *, unit: Any = None, section: str | None = None
) -> Evidence:  # type: ignore[no-untyped-def]
    """Evidence for a directive: in the drop-in that set it, else in the unit file. A directive
    that is missing points at the header of the ``section`` it belongs in, when given and present."""
    if d is None:
        line = unit_section_line(art, unit, section) if unit is not None and section else None
        return art.evidence(line, note=note)
    return (d.source or art).evidence(d.line, note=note)


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
    Severity
        High: a crashed service stays down until someone notices, a likely outage of what it serves.
    """
    found = False
    for art, unit in services(ctx):
        found = True
        restart = unit.last("Service", "Restart")
        val = restart.value.strip() if restart else "no"
        if _TEMPLATED.search(val):
            yield Result.not_applicable(
                f"{art.label}: Restart={val} is templated; value unknown", ev(art, restart), subject=unit.name
            )
            continue
        if val in ("no", ""):
            where = (
                ev(art, restart)
                if restart
                else art.evidence(
                    unit.sections.get("Service"), note="no Restart= in [Service]; the default is Restart=no"
                )
            )
            yield Result.fail(
                f"{art.label}: Restart={val}: the service stays down after a crash", where, subject=unit.name
            )
        elif val in ("on-success", "on-watchdog"):
            yield Result.fail(
                f"{art.label}: Restart={val} does not restart after a failure",
                ev(art, restart),
                subject=unit.name,
            )
        elif unit.last("Service", "RestartSec") is None:
            yield Result.fail(
                f"{art.label}: Restart={val} without RestartSec= (default 100ms) makes crash loops "
                "hit the start limit at once",
                ev(art, restart),
                subject=unit.name,
                severity="low",
            )
        else:
            yield Result.passed(
                f"{art.label}: Restart={val}, RestartSec={unit.get('Service', 'RestartSec')}",
                ev(art, restart),
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
    Severity
        Medium: a network service can fail at boot before its address exists; it shows up on reboots
        only and a restart fixes it.
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
            where = (
                ev(art, d)
                if d
                else art.evidence(unit.sections.get("Unit") or 1, note="no After=/Wants= in [Unit]")
            )
            yield Result.fail(
                f"{art.label}: missing {' and '.join(m + '=network-online.target' for m in missing)}",
                where,
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
        Units that must be root by design (`Delegate=yes`: container runtimes, kubelet; or units
        that only run netfilter/sysctl tools) fail at low severity: a note, not a defect.
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
    Severity
        High: a service running as root turns any bug in it into root on the host; units root by design
        are reported low.
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
            why = root_by_design(unit)
            yield Result.fail(
                f"{art.label}: no User= in [Service]: the service runs as root"
                + (f" (root by design: {why})" if why else ""),
                art.evidence(unit.sections.get("Service"), note="no User= or DynamicUser="),
                subject=unit.name,
                severity="low" if why else None,
            )
        elif re.search(r"\{\{|\$\{?[A-Za-z_]|%[a-zA-Z]", user.value):
            yield Result.not_applicable(
                f"{art.label}: User={user.value} is templated; value unknown",
                ev(art, user),
                subject=unit.name,
            )
        elif user.value.strip() in ("root", "0"):
            yield Result.fail(
                f"{art.label}: User={user.value.strip()} runs the service with full privileges",
                ev(art, user),
                subject=unit.name,
            )
        else:
            yield Result.passed(
                f"{art.label}: runs as {user.value.strip()}", ev(art, user), subject=unit.name
            )
    if not found:
        yield Result.not_applicable("no long-running service units found")


def _seconds(v: str | None) -> float | None:
    if v is None:
        return None
    total = 0.0
    units = {"ms": 0.001, "s": 1, "sec": 1, "min": 60, "m": 60, "h": 3600, "": 1, "us": 1e-6}
    for num, unit in re.findall(r"(\d+(?:\.\d+)?)\s*([a-z]*)", v.strip()):
        if unit not in units:
            return None
        total += float(num) * units[unit]
    return total


@check("SYS004", "start-limit", category="systemd", severity="medium", pillar="reliability")
def start_limit(ctx: ScanContext) -> Iterator[Result]:
    """Restarting services do not give up for good after a burst of crashes.

    What it does
        For services with `Restart=` other than `no`, reads `RestartSec=` and the start-limit
        settings. `StartLimitIntervalSec=` in `[Service]` is ignored by systemd (it belongs in
        `[Unit]`) and fails; the legacy spellings `StartLimitInterval=`/`StartLimitBurst=` are still
        honoured in `[Service]` and count. With the defaults (5 starts in 10 s), a `RestartSec=`
        below 2 s lets five quick crashes stop the unit permanently, which is reported unless
        `StartLimitIntervalSec=` is set in `[Unit]`.
    Why it matters
        After hitting the start limit the unit stays `failed` until someone runs `systemctl
        reset-failed`; a transient dependency outage becomes a permanent one.
    Example
        [Service]
        Restart=always
        StartLimitIntervalSec=0   # wrong section: ignored
    Fix
        Put `StartLimitIntervalSec=`/`StartLimitBurst=` in `[Unit]`, and use `RestartSec=5s`.
    References
        https://www.freedesktop.org/software/systemd/man/systemd.unit.html#StartLimitIntervalSec=interval
    Severity
        Medium: after a burst of crashes the unit stops for good instead of retrying; it turns a
        transient failure into a lasting one, with a manual restart as the workaround.
    """
    found = False
    for art, unit in services(ctx):
        restart = unit.get("Service", "Restart") or "no"
        if restart == "no":
            continue
        found = True
        # systemd still reads the pre-v230 spellings StartLimitInterval=/StartLimitBurst= in
        # [Service] (load-fragment-gperf: Service.StartLimitInterval, Service.StartLimitBurst);
        # only the new name StartLimitIntervalSec= is unknown there and silently ignored.
        misplaced = [
            d for d in unit.directives if d.section == "Service" and d.key == "StartLimitIntervalSec"
        ]
        if misplaced:
            yield Result.fail(
                f"{art.label}: {misplaced[0].key}= in [Service] is ignored; it belongs in [Unit]",
                ev(art, misplaced[0]),
                subject=unit.name,
            )
            continue
        limit = (
            unit.last("Unit", "StartLimitIntervalSec")
            or unit.last("Unit", "StartLimitInterval")
            or unit.last("Service", "StartLimitInterval")
        )
        rs = unit.last("Service", "RestartSec")
        secs = _seconds(rs.value) if rs else 0.1
        unknown = next(
            (d for d in (unit.last("Service", "Restart"), rs, limit) if d and _TEMPLATED.search(d.value)),
            None,
        )
        if unknown is not None:
            yield Result.not_applicable(
                f"{art.label}: {unknown.key}={unknown.value.strip()} is templated; value unknown",
                ev(art, unknown),
                subject=unit.name,
            )
            continue
        if limit is not None:
            yield Result.passed(
                f"{art.label}: {limit.key}={limit.value} in [{limit.section}]",
                ev(art, limit),
                subject=unit.name,
            )
        elif secs is not None and secs >= 2:
            yield Result.passed(
                f"{art.label}: RestartSec={rs.value if rs else ''} keeps restarts under the default start limit",
                ev(art, rs),
                subject=unit.name,
            )
        else:
            yield Result.fail(
                f"{art.label}: Restart={restart} with RestartSec={rs.value if rs else '100ms (default)'}: five "
                "quick crashes hit the start limit and the unit stays failed",
                ev(art, rs or unit.last("Service", "Restart")),
                subject=unit.name,
            )
    if not found:
        yield Result.not_applicable("no restarting service units found")


@check("SYS005", "absolute-execstart", category="systemd", severity="medium", pillar="reliability")
def absolute_exec(ctx: ScanContext) -> Iterator[Result]:
    """`ExecStart=` is present and names an absolute path.

    What it does
        Strips systemd's prefixes (`-`, `@`, `:`, `+`, `!`, `!!`) and requires the command to start
        with `/` (or a specifier like `%S/...` that expands to one). Services without `ExecStart=`
        fail.
    Why it matters
        A relative command is looked up in systemd's fixed search path, not the deployer's $PATH: the
        unit works on one machine and fails on another, or runs a different binary.
    Example
        ExecStart=node_exporter --web.listen-address=:9100
    Fix
        ExecStart=/usr/local/bin/node_exporter --web.listen-address=:9100
    References
        https://www.freedesktop.org/software/systemd/man/systemd.service.html#Command%20lines
    Severity
        Medium: a relative ExecStart= is refused by older systemd and resolved by a fixed search path
        elsewhere; the unit may not start, which shows at the first start.
    """
    found = False
    for art, unit in all_services(ctx):
        found = True
        d = unit.last("Service", "ExecStart")
        if d is None:
            yield Result.fail(
                f"{art.label}: no ExecStart=",
                ev(art, None, note="no ExecStart= in [Service]", unit=unit, section="Service"),
                subject=unit.name,
            )
            continue
        cmd = unit.expand(d.value.lstrip("-@:+!").strip())
        if "{{" in cmd or "${" in cmd.split()[0] if cmd.split() else False:
            yield Result.not_applicable(f"{art.label}: ExecStart is templated", ev(art, d), subject=unit.name)
        elif cmd.startswith("/"):
            yield Result.passed(f"{art.label}: ExecStart={cmd.split()[0]}", ev(art, d), subject=unit.name)
        else:
            yield Result.fail(
                f"{art.label}: ExecStart={cmd.split()[0] if cmd else ''} is not an absolute path",
                ev(art, d),
                subject=unit.name,
            )
    if not found:
        yield Result.not_applicable("no service units found")


@check(
    "SYS006", "resource-limits", category="systemd", severity="low", pillar="performance", profile="hardened"
)
def resource_limits(ctx: ScanContext) -> Iterator[Result]:
    """Long-running services have a memory and a task limit.

    What it does
        Requires `MemoryMax=` (or `MemoryHigh=`) and `TasksMax=` on every long-running service,
        drop-ins included. Reports which are missing, and notes `LimitNOFILE=` for servers.
    Why it matters
        A leaking exporter or a fork bomb in one service should be killed by its cgroup, not take
        the whole host (and the database next to it) into the OOM killer.
    Example
        [Service]
        ExecStart=/usr/local/bin/redis_exporter
    Fix
        MemoryMax=128M, TasksMax=64 (and LimitNOFILE=65536 for servers with many connections).
    References
        https://www.freedesktop.org/software/systemd/man/systemd.resource-control.html
    Severity
        Low: limits are hardening; without them a leak can starve the host, but their absence is not a
        defect by itself.
    """
    found = False
    for art, unit in services(ctx):
        found = True
        mem = unit.last("Service", "MemoryMax") or unit.last("Service", "MemoryHigh")
        tasks = unit.last("Service", "TasksMax")
        missing = [k for k, d in (("MemoryMax=", mem), ("TasksMax=", tasks)) if d is None]
        if missing:
            yield Result.fail(
                f"{art.label}: no {' and no '.join(missing)}",
                ev(art, None, note="no resource limits in [Service]", unit=unit, section="Service")
                if not (mem or tasks)
                else ev(art, mem or tasks),
                subject=unit.name,
            )
        else:
            yield Result.passed(
                f"{art.label}: {mem.key}={mem.value}, TasksMax={tasks.value}",  # type: ignore[union-attr]
                ev(art, mem),
                subject=unit.name,
            )
    if not found:
        yield Result.not_applicable("no long-running service units found")


_SECRET_KEY = re.compile(
    r"(pass(word|wd)?|secret|token|api_?key|private_?key|credential|dsn|data_source)", re.I
)


@check("SYS007", "no-secrets-in-unit", category="systemd", severity="high", pillar="security")
def secrets_in_unit(ctx: ScanContext) -> Iterator[Result]:
    """Secrets are not written into `Environment=` or `ExecStart=` of a unit.

    What it does
        Looks at `Environment=` assignments whose name looks like a secret (PASSWORD, TOKEN,
        SECRET, API_KEY, DSN, DATA_SOURCE_NAME...) and at `--password=`-style flags in `ExecStart=`
        with a literal value (not a placeholder or `$VAR`). Values are never printed.
    Why it matters
        Unit files are world-readable (0644) and `systemctl show` prints the environment to any
        local user; the secret also ends up in backups and in the repository.
    Example
        Environment=DATA_SOURCE_NAME=exporter:s3cret@(127.0.0.1:3306)/
    Fix
        Move it to `EnvironmentFile=/etc/<service>/env` (0600, owned by root), or better
        `LoadCredential=` and read it from $CREDENTIALS_DIRECTORY.
    References
        https://www.freedesktop.org/software/systemd/man/systemd.exec.html#Environment
    Severity
        High: unit files and `systemctl show` are readable by every local user, so the secret is exposed
        on the host.
    """
    found = False
    for art, unit in all_services(ctx):
        found = True
        bad: list[tuple[Directive, str]] = []
        for d in unit.entries("Service", "Environment"):
            for item in re.findall(r'"[^"]*"|\S+', d.value):
                name, _, value = item.strip('"').partition("=")
                if _SECRET_KEY.search(name) and value and not looks_like_placeholder(value):
                    bad.append((d, name))
        for d in unit.entries("Service", "ExecStart"):
            for m in re.finditer(r"--?[\w.-]*(pass(word)?|token|secret)[\w.-]*[= ](\S+)", d.value, re.I):
                if not looks_like_placeholder(m.group(3)):
                    bad.append((d, m.group(0).split("=")[0].split()[0]))
        if bad:
            for d, name in bad:
                yield Result.fail(
                    f"{art.label}: {d.key}= holds a literal secret ({name}); use EnvironmentFile= or "
                    "LoadCredential=",
                    ev(art, d),
                    subject=unit.name,
                )
        else:
            yield Result.passed(
                f"{art.label}: no literal secrets in Environment=/ExecStart=",
                ev(art, unit.last("Service", "ExecStart")),
                subject=unit.name,
            )
    if not found:
        yield Result.not_applicable("no service units found")


@check("SYS008", "logging-to-journal", category="systemd", severity="medium", pillar="observability")
def logging(ctx: ScanContext) -> Iterator[Result]:
    """Service output reaches the journal (not discarded, not an unrotated file).

    What it does
        Reads `StandardOutput=`/`StandardError=`: `null` fails (logs are discarded); `file:`
        and `append:` fail (low) because nothing rotates them and journald limits do not apply.
        The default (journal) passes.
    Why it matters
        Without logs an incident starts blind; an unrotated log file fills the disk.
    Example
        StandardOutput=null
    Fix
        Remove the setting (journal is the default) or use `journal`; ship logs with promtail.
    References
        https://www.freedesktop.org/software/systemd/man/systemd.exec.html#StandardOutput=
    Severity
        Medium: discarded or unrotated logs leave no trace of failures (or fill the disk); it degrades
        operations, with no immediate outage.
    """
    found = False
    for art, unit in services(ctx):
        found = True
        bad = None
        for key in ("StandardOutput", "StandardError"):
            d = unit.last("Service", key)
            if d and (d.value == "null" or d.value.startswith(("file:", "append:", "truncate:"))):
                bad = d
                break
        if bad is None:
            yield Result.passed(
                f"{art.label}: output goes to the journal",
                ev(art, unit.last("Service", "ExecStart")),
                subject=unit.name,
            )
        elif bad.value == "null":
            yield Result.fail(
                f"{art.label}: {bad.key}=null discards the logs", ev(art, bad), subject=unit.name
            )
        else:
            yield Result.fail(
                f"{art.label}: {bad.key}={bad.value}: an unrotated file outside the journal",
                ev(art, bad),
                subject=unit.name,
                severity="low",
            )
    if not found:
        yield Result.not_applicable("no long-running service units found")


@check(
    "SYS009", "exposure-score", category="systemd", severity="medium", pillar="security", profile="hardened"
)
def exposure_score(ctx: ScanContext) -> Iterator[Result]:
    """The hardening exposure score (systemd-analyze security) is at most `systemd.max_exposure` (7.4).

    What it does
        Computes the exposure score of every service unit (drop-ins applied) exactly like
        `systemd-analyze security` (systemd 252 weights and bands: 0 PERFECT ... 10 DANGEROUS)
        and fails units at or above the threshold (default: the EXPOSED band starts at 7.5). The
        message lists the directives that would lower the score most.
        Units root by design (`Delegate=yes`, netfilter-only units) fail at low severity.
    Why it matters
        Exporters and web services parse untrusted input; sandboxing (ProtectSystem=, NoNewPrivileges=,
        an empty CapabilityBoundingSet=, SystemCallFilter=) turns a remote bug into a contained one.
    Example
        redis_exporter.service: 9.3 UNSAFE (runs as root, no sandboxing)
    Fix
        Add the directives listed in the finding; see `systemd-analyze security UNIT` for details.
    References
        https://www.freedesktop.org/software/systemd/man/systemd-analyze.html#systemd-analyze%20security%20%5BUNIT...%5D
    Severity
        Medium: a weak sandbox widens the damage of a compromise but is not itself a breach; units root
        by design are reported low.
    """
    limit = float(ctx.settings("systemd").get("max_exposure", 7.4))
    found = False
    for art, unit in all_services(ctx):
        found = True
        if art.templated:
            yield Result.not_applicable(f"{art.label}: templated unit; values unknown", subject=unit.name)
            continue
        rep = assess(unit)
        where = ev(art, None) if art.embedded else art.evidence(unit.sections.get("Service"))
        if rep.score > limit:
            worst = ", ".join(a.id for a in rep.worst(5))
            why = root_by_design(unit)
            yield Result.fail(
                f"{art.label}: exposure {rep.score:.1f} {rep.band} (max {limit}); biggest gains: {worst}"
                + (f" (sandboxing limited by design: {why})" if why else ""),
                where,
                subject=unit.name,
                exposure=rep.score,
                band=rep.band,
                severity="low" if why else None,
            )
        else:
            yield Result.passed(
                f"{art.label}: exposure {rep.score:.1f} {rep.band}",
                where,
                subject=unit.name,
                exposure=rep.score,
                band=rep.band,
            )
    if not found:
        yield Result.not_applicable("no service units found")


def _journald_hosts(ctx: ScanContext) -> dict[str | None, tuple[list[Any], JournaldConf]]:
    """Effective journald configuration per logical host (journald.conf, then drop-ins)."""
    groups: dict[str | None, list[tuple[Any, JournaldConf]]] = {}
    for art, conf in ctx.parsed("journald_conf"):
        groups.setdefault(art.host, []).append((art, conf))
    return {h: ([a for a, _ in items], merge_journald(items)) for h, items in groups.items()}


def _jev(s: JournalSetting, note: str | None = None) -> Evidence:
    assert s.artifact is not None
    return s.artifact.evidence(s.line, note=note)


@check("SYS010", "journald-retention", category="systemd", severity="medium", pillar="observability")
def journald_retention(ctx: ScanContext) -> Iterator[Result]:
    """journald keeps logs across reboots, with a size cap and enough retention.

    What it does
        Reads `journald.conf` and `journald.conf.d/*.conf` (files in the tree or on the host, and
        heredocs that install them), merged like journald does (drop-ins by name, last wins, an
        empty value resets). Per host: `Storage=volatile`/`none` fails (logs are lost at reboot or
        never kept), `persistent` passes, `auto` (the default) is not_applicable because it depends
        on whether /var/log/journal exists; no `SystemMaxUse=`/`SystemKeepFree=` fails (low), and
        `MaxRetentionSec=` shorter than `systemd.journal_min_retention_days` (default 7) fails.
        Without any journald configuration the check is not_applicable.
    Why it matters
        The crash you investigate on Monday happened before Saturday's reboot: volatile journals
        are gone. An uncapped journal competes with the database for disk; a one-day retention
        erases the evidence before anyone looks.
    Example
        [Journal]
        Storage=volatile
        MaxRetentionSec=1day
    Fix
        `Storage=persistent`, `SystemMaxUse=1G` (or `SystemKeepFree=`), `MaxRetentionSec=` of at
        least a week (or unset, to keep until the size cap), then `systemctl restart systemd-journald`.
    References
        https://www.freedesktop.org/software/systemd/man/journald.conf.html
    Severity
        Medium: logs lost at reboot or kept too briefly hamper incident analysis; a missing size cap is
        low.
    """
    min_days = ctx.settings("systemd").get("journal_min_retention_days", 7)
    try:
        min_days = float(min_days)
    except (TypeError, ValueError):
        yield Result.error(f"systemd.journal_min_retention_days is not a number: {min_days!r}")
        return
    hosts = _journald_hosts(ctx)
    if not hosts:
        yield Result.not_applicable("no journald.conf or journald.conf.d/*.conf found")
        return
    for host, (arts, conf) in sorted(hosts.items(), key=lambda kv: kv[0] or ""):
        subject = f"journald@{host}" if host else "journald"
        first = arts[0]
        first_conf = first.try_parsed()
        where = first.evidence(first_conf.journal_line if first_conf else None)
        storage = conf.get("Storage")
        if storage is None:
            yield Result.not_applicable(
                f"{first.label}: Storage= not set (auto): persistent only if /var/log/journal exists",
                where,
                subject=subject,
            )
        elif _TEMPLATED.search(storage.value):
            yield Result.not_applicable(
                f"{storage.artifact.label if storage.artifact else first.label}: Storage= is templated; "
                "value unknown",
                _jev(storage),
                subject=subject,
            )
        elif storage.value in ("volatile", "none"):
            what = "kept in memory only and lost at reboot" if storage.value == "volatile" else "discarded"
            yield Result.fail(
                f"Storage={storage.value}: journal logs are {what}", _jev(storage), subject=subject
            )
        elif storage.value == "persistent":
            yield Result.passed("Storage=persistent: logs survive reboots", _jev(storage), subject=subject)
        else:
            yield Result.not_applicable(
                f"Storage={storage.value}: persistent only if /var/log/journal exists",
                _jev(storage),
                subject=subject,
            )
        volatile = storage is not None and storage.value in ("volatile", "none")
        caps = ("RuntimeMaxUse", "RuntimeKeepFree") if volatile else ("SystemMaxUse", "SystemKeepFree")
        cap = next((conf.get(k) for k in caps if conf.get(k) is not None), None)
        if cap is not None:
            yield Result.passed(f"{cap.key}={cap.value} caps the journal size", _jev(cap), subject=subject)
        elif storage is not None and storage.value == "none":
            pass
        else:
            yield Result.fail(
                f"no {caps[0]}=/{caps[1]}=: the journal size is only bounded by journald's defaults "
                "(10% of the filesystem)",
                where,
                subject=subject,
                severity="low",
            )
        ret = conf.get("MaxRetentionSec")
        if ret is not None and not _TEMPLATED.search(ret.value):
            secs = parse_timespan(ret.value)
            if secs is None:
                yield Result.fail(
                    f"MaxRetentionSec={ret.value} is not a valid time span", _jev(ret), subject=subject
                )
            elif 0 < secs < min_days * 86400:
                yield Result.fail(
                    f"MaxRetentionSec={ret.value} ({secs / 86400:g} days) is shorter than the minimum "
                    f"{min_days:g} days",
                    _jev(ret),
                    subject=subject,
                )
            else:
                yield Result.passed(
                    f"MaxRetentionSec={ret.value} keeps at least {min_days:g} days",
                    _jev(ret),
                    subject=subject,
                )


def _unit_writes(ctx: ScanContext) -> Iterator[tuple[Any, str, list[tuple[int, str]]]]:
    """(script artifact, unit path, [(script line, line)]) of units scripts write (echo or heredoc)."""
    from chom_validate.facts.firewall import script_writes

    def build() -> list[tuple[Any, str, list[tuple[int, str]]]]:
        out = []
        for art, script in ctx.parsed("shell"):
            if art.embedded:
                continue
            for path, w in script_writes(script).items():
                if re.search(r"/systemd/system/[^/]+\.service$", path) and any(
                    t.strip() == "[Service]" for _, t in w.lines
                ):
                    out.append((art, path, w.lines))
        return out

    yield from ctx.derived("systemd:unit_writes", build)


_IPT_ADD = re.compile(r"^\s*ExecStart=[-@:+!]*\s*(\S*ip6?tables\S*)\s+(?:.*\s)?-[AI]\s")


@check("SYS021", "netfilter-unit-idempotent", category="systemd", severity="low", pillar="reliability")
def netfilter_unit_idempotent(ctx: ScanContext) -> Iterator[Result]:
    """A oneshot unit that inserts firewall rules can be restarted and can fail half-way safely.

    What it does
        For `Type=oneshot` units (files, or units a script writes with echo/heredoc) whose
        `ExecStart=` lines add iptables rules with `-A`/`-I` and no `-C` check, fails when there is
        more than one such line and no `ExecStopPost=` cleanup.
    Why it matters
        systemd runs `ExecStop=` only after a successful start: when a later `ExecStart=` fails
        (an ip6tables nat command on a kernel without IPv6 NAT, an empty variable) the rules
        already inserted stay, and every retry (`systemctl restart`, the next boot's re-run after
        reset) inserts another copy. Uninstalling with `systemctl disable --now` removes nothing.
    Example
        Type=oneshot
        ExecStart=/usr/sbin/iptables -I INPUT -p udp --dport 51820 -j ACCEPT
        ExecStart=/usr/sbin/ip6tables -t nat -A POSTROUTING ... -j SNAT --to $ip6
    Fix
        Guard each add (`/bin/sh -c 'iptables -C ... || iptables -I ...'`), and add
        `ExecStopPost=` lines that delete the rules (`-D ... || true`), or load one ruleset
        atomically with `iptables-restore --noflush`.
    References
        https://www.freedesktop.org/software/systemd/man/systemd.service.html#ExecStop=
    Severity
        Low: duplicated firewall rules on restart are clutter that rarely changes what is allowed.
    """
    found = False
    for art, path, lines in _unit_writes(ctx):
        texts = [t.strip() for _, t in lines]
        if "Type=oneshot" not in texts:
            continue
        adds = [(ln, t) for ln, t in lines if _IPT_ADD.match(t) and " -C " not in t]
        if not adds:
            continue
        found = True
        cleanup = any(t.startswith("ExecStopPost=") for t in texts)
        if len(adds) > 1 and not cleanup:
            yield Result.fail(
                f"{art.label}: {path} adds {len(adds)} iptables rules in separate ExecStart= lines with -I/-A and "
                "no -C check or ExecStopPost=: a failed later line leaves the earlier rules installed "
                "(ExecStop= runs only after a successful start) and every restart duplicates them",
                art.evidence(adds[0][0]),
                art.evidence(lines[0][0]),
                subject=path,
            )
        else:
            yield Result.passed(
                f"{art.label}: {path} rules are cleaned up or added once", art.evidence(adds[0][0])
            )
    for art, unit in all_services(ctx):
        if art.embedded or (unit.get("Service", "Type") or "") != "oneshot":
            continue
        adds_d = [d for d in unit.entries("Service", "ExecStart") if _IPT_ADD.match(f"ExecStart={d.value}")]
        if not adds_d:
            continue
        found = True
        cleanup = bool(unit.entries("Service", "ExecStopPost"))
        checked = any(" -C " in d.value for d in adds_d)
        if len(adds_d) > 1 and not cleanup and not checked:
            yield Result.fail(
                f"{art.label}: {len(adds_d)} iptables rules added in separate ExecStart= lines with -I/-A, no -C "
                "check or ExecStopPost=: a failed start leaves partial rules and restarts duplicate them",
                ev(art, adds_d[0]),
                subject=unit.name,
            )
        else:
            yield Result.passed(
                f"{art.label}: rules are cleaned up or added once", ev(art, adds_d[0]), subject=unit.name
            )
    if not found:
        yield Result.not_applicable("no oneshot unit adds iptables rules")


_VENDOR_UNIT = re.compile(r"^/(usr/)?lib/systemd/system/[^/\s]+\.(service|socket|timer)$")


@check("SYS022", "vendor-unit-copied", category="systemd", severity="low", pillar="reliability")
def vendor_unit_copied(ctx: ScanContext) -> Iterator[Result]:
    """Packaged units are customised with drop-ins, not copied into /etc/systemd/system.

    What it does
        Finds `cp` of a unit from /lib/systemd/system or /usr/lib/systemd/system (literal or
        through a variable assigned such a path) into /etc/systemd/system, and `sed -i` edits of
        that copy.
    Why it matters
        A full copy in /etc masks the packaged unit for good: security and bug fixes the
        distribution ships in later package versions never take effect, and a `sed` edit applied
        to every host (e.g. commenting out `LimitNPROC`) changes behaviour where it was not needed.
    Example
        cp /lib/systemd/system/openvpn-server@.service /etc/systemd/system/
    Fix
        Put only the changed settings in `/etc/systemd/system/UNIT.d/override.conf`
        (`systemctl edit UNIT`), conditioned where it applies.
    References
        https://www.freedesktop.org/software/systemd/man/systemd.unit.html#Description
    Severity
        Low: the copy masks later package fixes of the unit; a maintenance risk, not a defect today.
    """
    found = False
    for art, script in ctx.parsed("shell"):
        if art.embedded:
            continue
        values: dict[str, list[str]] = {}
        for name, value, _ in script.assignments:
            values.setdefault(name, []).append(value.strip().strip("'\""))
        unit_writes = []  # commands that put something under /etc/systemd/system: what was looked at
        failed = False
        for cmd in script.commands:
            words = cmd.words
            if any(w.startswith("/etc/systemd/system") for w in words[1:]) or any(
                t.startswith("/etc/systemd/system") for _, t in cmd.redirects
            ):
                unit_writes.append(cmd)
            k = next((i for i, w in enumerate(words) if w == "cp"), None)
            if k is None:
                continue
            args = [w for w in words[k + 1 :] if not w.startswith("-")]
            if len(args) != 2 or not args[1].startswith("/etc/systemd/system"):
                continue
            src = args[0]
            m = re.fullmatch(r"\$\{?(\w+)\}?", src)
            cands = values.get(m.group(1), []) if m else [src]
            vendor = [c for c in cands if _VENDOR_UNIT.match(c)]
            if not vendor:
                continue
            found = failed = True
            dest = args[1]
            edits = [
                c.line
                for c in script.commands
                if "sed" in c.words and "-i" in c.words and any(dest.rstrip("/") in w for w in c.words)
            ]
            yield Result.fail(
                f"{art.label}: copies the packaged unit {vendor[0]} to {dest}"
                + (f" and edits the copy (line {edits[0]})" if edits else "")
                + ": the copy masks every later package fix; use a drop-in",
                art.evidence(cmd.line),
                *([art.evidence(edits[0])] if edits else []),
                subject=dest,
            )
        if unit_writes and not failed:
            found = True
            yield Result.passed(
                f"{art.label}: units written to /etc/systemd/system are the project's own or drop-ins",
                art.evidence(unit_writes[0].line),
                subject=art.label,
            )
    if not found:
        yield Result.not_applicable("no script writes units into /etc/systemd/system")


_NETWORK_CLIENT = re.compile(
    r"(?<![\w-])(restic|rsync|rclone|borg|borgmatic|duplicity|curl|wget|aws|s3cmd|gsutil|az|scp|sftp|certbot|"
    r"pg_basebackup|mc)(?![\w-]*\s*=)"
)


@check("SYS023", "timer-catch-up-network", category="systemd", severity="medium", pillar="reliability")
def timer_catch_up_network(ctx: ScanContext) -> Iterator[Result]:
    """A `Persistent=true` timer's job that needs the network waits for it.

    What it does
        For timers with `Persistent=true` whose service runs a network client (restic, rsync,
        rclone, borg, curl, aws, scp, certbot...), requires `After=` and `Wants=`
        `network-online.target` on the service, or a `Restart=on-failure` that retries.
    Why it matters
        A persistent timer catches up missed runs right at boot or resume, usually before the
        network is up: the backup fails at once and the next attempt is the next scheduled run,
        a day later, so a laptop or a rebooted server skips backups silently.
    Example
        [Timer] OnCalendar=daily / Persistent=true   +   a service without After=network-online.target
    Fix
        In the service: `Wants=network-online.target` and `After=network-online.target` (and
        `Restart=on-failure` with `RestartSec=5min` for flaky links).
    References
        https://www.freedesktop.org/software/systemd/man/systemd.timer.html#Persistent=
        https://systemd.io/NETWORK_ONLINE/
    Severity
        Medium: the catch-up run after downtime fails before the network is up and that period has no
        backup; the next scheduled run recovers.
    """
    units = ctx.derived(
        "systemd:merged", lambda: merged_units(ctx.parsed("systemd_unit"), ctx.parsed("systemd_dropin"))
    )
    by_name = {u.name: (a, u) for a, u in units}
    found = False
    for art, timer in units:
        if timer.type != "timer" or not timer.get_bool("Timer", "Persistent"):
            continue
        target = timer.get("Timer", "Unit") or f"{timer.name.rsplit('.', 1)[0]}.service"
        pair = by_name.get(target.strip())
        if pair is None:
            continue
        sart, svc = pair
        cmds = " ".join(svc.values("Service", "ExecStart"))
        client = _NETWORK_CLIENT.search(cmds)
        if not client:
            continue
        found = True
        after = " ".join(svc.values("Unit", "After"))
        restart = (svc.get("Service", "Restart") or "no") != "no"
        pers = timer.last("Timer", "Persistent")
        if "network-online.target" in after or restart:
            yield Result.passed(
                f"{sart.label}: waits for the network or retries", ev(art, pers), subject=svc.name
            )
            continue
        yield Result.fail(
            f"{sart.label}: runs {client.group(1)} from the Persistent=true timer {timer.name}, but has no "
            "After=/Wants=network-online.target and no Restart=: catch-up runs at boot fail before the network is "
            "up and the next try is the next scheduled run",
            ev(sart, None, note="no After=network-online.target in [Unit]", unit=svc, section="Unit"),
            ev(art, pers),
            subject=svc.name,
        )
    if not found:
        yield Result.not_applicable("no Persistent=true timer runs a network job")


_HOME_PATH = re.compile(r"(?<![\w.$%{-])(/home/[^\s'\";:]+|/root(?:/[^\s'\";:]*)?|/run/user/[^\s'\";:]+)")
_TMP_PATH = re.compile(r"(?<![\w.$%{-])(/(?:var/)?tmp/[^\s'\";:]+)")


@check("SYS024", "sandbox-hides-needed-paths", category="systemd", severity="high", pillar="reliability")
def sandbox_hides_paths(ctx: ScanContext) -> Iterator[Result]:
    """Sandboxing does not hide a path the service itself needs.

    What it does
        With `ProtectHome=yes`/`tmpfs`, paths under /home, /root or /run/user in `ExecStart*=`
        (the binary and its arguments) or `WorkingDirectory=` fail unless re-exposed with
        `ReadWritePaths=`/`ReadOnlyPaths=`/`BindPaths=`. With `PrivateTmp=yes`, /tmp and /var/tmp
        paths in `ExecStart*=` arguments fail: the service sees an empty private /tmp, so a
        socket or file another process creates there does not exist for it. `EnvironmentFile=`
        is read by systemd itself, outside the sandbox, and is not counted.
    Why it matters
        The unit fails at start (203/EXEC, 200/CHDIR) or the service cannot find its socket, file
        or repository: hardening that turns into an outage right after a deploy.
    Example
        ProtectHome=yes
        ExecStart=/home/deploy/app/bin/worker
    Fix
        Move the files out of /home (/opt, /srv, /var/lib/NAME via StateDirectory=), or add
        `ReadOnlyPaths=`/`BindPaths=` for exactly that path; point sockets at /run.
    References
        https://www.freedesktop.org/software/systemd/man/systemd.exec.html#ProtectHome=
        https://www.freedesktop.org/software/systemd/man/systemd.exec.html#PrivateTmp=
    Severity
        High: the service cannot see the binary, socket or file it needs and fails at every start: an
        outage of that service.
    """
    found = False
    for art, unit in all_services(ctx):
        home = (unit.get("Service", "ProtectHome") or "no").strip().lower()
        ptmp = (unit.get("Service", "PrivateTmp") or "no").strip().lower() in ("yes", "true", "1", "on")
        if home not in ("yes", "true", "1", "on", "tmpfs") and not ptmp:
            continue
        found = True
        exposed = " ".join(
            v
            for k in ("ReadWritePaths", "ReadOnlyPaths", "BindPaths", "BindReadOnlyPaths")
            for v in unit.values("Service", k)
        )
        hits: list[tuple[Any, str, str]] = []
        for d in unit.directives:
            if d.section != "Service" or d.key not in (
                "ExecStart",
                "ExecStartPre",
                "ExecStartPost",
                "WorkingDirectory",
            ):
                continue
            if home != "no" and home not in ("false", "0", "off", "read-only"):
                for p in _HOME_PATH.findall(d.value):
                    if not any(p.startswith(e) for e in exposed.split() if e):
                        hits.append((d, p, f"ProtectHome={home}"))
            if ptmp and d.key != "WorkingDirectory":
                hits += [(d, p, "PrivateTmp=yes") for p in _TMP_PATH.findall(d.value)]
        if not hits:
            yield Result.passed(
                f"{art.label}: sandboxing hides nothing the unit references",
                ev(art, unit.last("Service", "ProtectHome") or unit.last("Service", "PrivateTmp")),
                subject=unit.name,
            )
            continue
        d, path, why = hits[0]
        yield Result.fail(
            f"{art.label}: {d.key}= uses {path}, which {why} hides from the service"
            + (f" (and {len(hits) - 1} more)" if len(hits) > 1 else ""),
            ev(art, d),
            ev(art, unit.last("Service", why.split("=")[0])),
            subject=unit.name,
        )
    if not found:
        yield Result.not_applicable("no service uses ProtectHome= or PrivateTmp=")


# Users a distribution's base system has, and users packages create when installed.
_BASE_USERS = frozenset(
    ("root", "0", "nobody", "daemon", "bin", "sys", "www-data", "messagebus", "_apt", "syslog")
)
_PACKAGE_USERS = {
    "nginx": ("www-data", "nginx"),
    "apache2": ("www-data",),
    "httpd": ("apache",),
    "mysql-server": ("mysql",),
    "mariadb-server": ("mysql",),
    "redis-server": ("redis",),
    "redis": ("redis",),
    "postgresql": ("postgres",),
    "prometheus": ("prometheus",),
    "prometheus-node-exporter": ("prometheus",),
    "prometheus-alertmanager": ("prometheus",),
    "grafana": ("grafana",),
    "loki": ("loki",),
    "promtail": ("promtail",),
    "memcached": ("memcache", "memcached"),
    "postfix": ("postfix",),
    "docker-ce": ("root",),
}


def _created_users(ctx: ScanContext) -> dict[str | None, dict[str, tuple[Any, int]]]:
    """host -> user -> (script, line) for users the scripts create (useradd/adduser, packages, sysusers.d)."""
    from chom_validate.artifacts.firewall import _loops
    from chom_validate.facts.firewall import script_writes

    def build() -> dict[str | None, dict[str, tuple[Any, int]]]:
        out: dict[str | None, dict[str, tuple[Any, int]]] = {}
        for art, script in ctx.parsed("shell"):
            if art.embedded:
                continue
            users = out.setdefault(art.host, {})
            loops = _loops(script.lines)
            for cmd in script.commands:
                words = cmd.words
                k = next((i for i, w in enumerate(words) if w in ("useradd", "adduser")), None)
                if k is not None:
                    args = [w for w in words[k + 1 :] if not w.startswith("-")]
                    # options with a value (-s /bin/false, -d /home/x, -g grp) leave their value behind;
                    # the user name is the last word
                    if args:
                        name = args[-1]
                        var = re.fullmatch(r"\$\{?(\w+)\}?", name)
                        names = [name]
                        if var:
                            names = [
                                i
                                for v, items, s, e in loops
                                if v == var.group(1) and s < cmd.line < e
                                for i in items
                            ]
                        for n in names:
                            users.setdefault(n, (art, cmd.line))
                    continue
                k = next((i for i, w in enumerate(words) if w in ("apt-get", "apt", "dnf", "yum")), None)
                if k is not None and "install" in words[k + 1 :]:
                    for pkg in words[k + 1 :]:
                        for u in _PACKAGE_USERS.get(pkg.split("=")[0], ()):
                            users.setdefault(u, (art, cmd.line))
            for path, w in script_writes(script).items():
                if "/sysusers.d/" in path:
                    for ln, t in w.lines:
                        m = re.match(r"^\s*u\s+(\S+)", t)
                        if m:
                            users.setdefault(m.group(1), (art, ln))
        return out

    result: dict[str | None, dict[str, tuple[Any, int]]] = ctx.derived("systemd:created_users", build)
    return result


_USES_USER = re.compile(
    r"\busermod\b.*\s(?P<a>[a-z_][\w-]*)\s*$|\bchown\s+(?:-\w+\s+)*(?P<b>[a-z_][\w-]*)[:.\s]|"
    r"\bsudo\s+(?:-\w+\s+)*-u\s+(?P<c>[a-z_][\w-]*)|\bsu\s+-?\s*(?P<d>[a-z_][\w-]*)\s+-c|/home/(?P<e>[a-z_][\w-]*)/"
)


def _assumed_users(ctx: ScanContext) -> dict[str | None, dict[str, tuple[Any, int]]]:
    """host -> users the scripts use as already existing (usermod, chown, sudo -u, su, /home/NAME/)."""

    def build() -> dict[str | None, dict[str, tuple[Any, int]]]:
        out: dict[str | None, dict[str, tuple[Any, int]]] = {}
        for art, script in ctx.parsed("shell"):
            if art.embedded:
                continue
            users = out.setdefault(art.host, {})
            for cmd in script.commands:
                for m in _USES_USER.finditer(cmd.text):
                    name = next(g for g in m.groups() if g)
                    users.setdefault(name, (art, cmd.line))
        return out

    result: dict[str | None, dict[str, tuple[Any, int]]] = ctx.derived("systemd:assumed_users", build)
    return result


@check("SYS025", "service-user-created", category="systemd", severity="high", pillar="reliability")
def service_user_created(ctx: ScanContext) -> Iterator[Result]:
    """The `User=` of each service is created on the host (role) that runs it.

    What it does
        Collects the users the repository's scripts create per host: `useradd`/`adduser` (loop
        variables expanded), packages installed with apt/dnf that create their own user (nginx ->
        www-data, prometheus -> prometheus...), `sysusers.d` entries, plus the distribution's base
        users (root, nobody, www-data...). A service whose `User=` is none of them fails, unless the
        scripts use that user as an existing one (`usermod`, `chown`, `sudo -u`, `/home/NAME/`: it
        comes with the base image, so not_applicable). Applies only
        to hosts whose scripts create users at all; otherwise users come from elsewhere (image,
        configuration management) and the check is not_applicable.
    Why it matters
        systemd refuses to start the unit (status=217/USER): the exporter or service is down from
        the first deploy on that host, typically because the user was created only on another role.
    Example
        mentat/systemd/alertmanager.service: User=alertmanager, and only prometheus and loki are
        created by mentat's deploy script.
    Fix
        Create the user in the script that installs the unit on that host (`id -u X || useradd
        --system --no-create-home --shell /usr/sbin/nologin X`), a sysusers.d file, or use
        `DynamicUser=yes`.
    References
        https://www.freedesktop.org/software/systemd/man/systemd.exec.html#User=
        https://www.freedesktop.org/software/systemd/man/sysusers.d.html
    Severity
        High: a unit whose User= does not exist fails with 217/USER at every start: an outage of that
        service.
    """
    created = _created_users(ctx)
    found = False
    for art, unit in all_services(ctx):
        d = unit.last("Service", "User")
        if d is None or (unit.get("Service", "DynamicUser") or "no").lower() in ("yes", "true", "1", "on"):
            continue
        user = d.value.strip()
        if _TEMPLATED.search(user) or re.search(r"%[a-zA-Z]", user):
            continue
        if user in _BASE_USERS or user.startswith("systemd-"):
            found = True
            yield Result.passed(
                f"{art.label}: User={user} is a base system user", ev(art, d), subject=unit.name
            )
            continue
        users = created.get(art.host)
        if not users:
            continue
        found = True
        if ctx.index.out_of_focus:
            # --changed-only left unchanged scripts out: the one creating this user may be among them
            yield Result.not_applicable(
                f"{art.label}: User={user}: unchanged scripts were not analysed (--changed-only)",
                ev(art, d),
                subject=unit.name,
            )
            continue
        assumed = _assumed_users(ctx).get(art.host, {})
        if user not in users and user in assumed:
            sart, line = assumed[user]
            yield Result.not_applicable(
                f"{art.label}: User={user} is never created, but {sart.label}:{line} uses it as an existing user "
                "(from the base image or provisioning): whether it exists is unknown",
                ev(art, d),
                sart.evidence(line),
                subject=unit.name,
            )
        elif user in users:
            sart, line = users[user]
            yield Result.passed(
                f"{art.label}: User={user} is created by {sart.label}:{line}",
                ev(art, d),
                sart.evidence(line),
                subject=unit.name,
            )
        else:
            sart, line = next(iter(users.values()))
            yield Result.fail(
                f"{art.label}: User={user} is never created on {art.host or 'this host'} (the scripts create "
                f"{', '.join(sorted(users))}): the unit fails with 217/USER",
                ev(art, d),
                sart.evidence(line, note="where this host's users are created"),
                subject=unit.name,
            )
    if not found:
        yield Result.not_applicable("no host whose scripts create service users")


@dataclass
class _FileMode:
    path: str
    mode: int | None
    owner: str
    group: str
    art: Any
    line: int


def _installed_files(ctx: ScanContext) -> dict[str | None, dict[str, list[_FileMode]]]:
    """host -> path -> modes scripts give it, in order (`install -m -o -g`, then chmod/chown)."""

    def build() -> dict[str | None, dict[str, list[_FileMode]]]:
        out: dict[str | None, dict[str, list[_FileMode]]] = {}
        for art, script in ctx.parsed("shell"):
            if art.embedded:
                continue
            files = out.setdefault(art.host, {})
            for cmd in script.commands:
                argv = cmd.argv
                if not argv:
                    continue
                if argv[0] == "install" and "-d" not in argv and "--directory" not in argv:
                    mode, owner, group, rest = None, "root", "root", []
                    i = 1
                    while i < len(argv):
                        w = argv[i]
                        if w in ("-m", "-o", "-g") and i + 1 < len(argv):
                            v = argv[i + 1]
                            if w == "-m":
                                mode = int(v, 8) if re.fullmatch(r"[0-7]{3,4}", v) else None
                            elif w == "-o":
                                owner = v
                            else:
                                group = v
                            i += 2
                            continue
                        if not w.startswith("-"):
                            rest.append(w)
                        i += 1
                    if len(rest) < 2 or "$" in rest[-1]:
                        continue
                    dest = rest[-1]
                    targets = (
                        [posixpath.join(dest, posixpath.basename(s)) for s in rest[:-1]]
                        if dest.endswith("/") or len(rest) > 2
                        else [dest]
                    )
                    for t in targets:
                        if "*" not in t and "$" not in t:
                            files.setdefault(t, []).append(_FileMode(t, mode, owner, group, art, cmd.line))
                elif argv[0] in ("chmod", "chown") and len(argv) >= 3 and argv[-1] in files:
                    prev = files[argv[-1]][-1]
                    spec = argv[-2]
                    if argv[0] == "chmod" and re.fullmatch(r"[0-7]{3,4}", spec):
                        files[argv[-1]].append(replace(prev, mode=int(spec, 8), art=art, line=cmd.line))
                    elif argv[0] == "chown" and not spec.startswith("-"):
                        o, _, g = spec.partition(":")
                        files[argv[-1]].append(
                            replace(
                                prev, owner=o or prev.owner, group=g or prev.group, art=art, line=cmd.line
                            )
                        )
        return out

    result: dict[str | None, dict[str, list[_FileMode]]] = ctx.derived("systemd:installed_files", build)
    return result


def _extra_groups(ctx: ScanContext) -> dict[str | None, dict[str, set[str]]]:
    """host -> user -> groups added by `usermod -aG`, `useradd -G`, `gpasswd -a`, `adduser USER GROUP`."""
    out: dict[str | None, dict[str, set[str]]] = {}
    for art, script in ctx.parsed("shell"):
        groups = out.setdefault(art.host, {})
        for cmd in script.commands:
            a = cmd.argv
            if not a:
                continue
            if a[0] in ("usermod", "useradd"):
                for i, w in enumerate(a[:-1]):
                    if w in ("-G", "-aG", "--groups") or (w.startswith("-") and w.endswith("G") and "a" in w):
                        groups.setdefault(a[-1], set()).update(a[i + 1].split(","))
            elif a[0] == "gpasswd" and "-a" in a and len(a) >= 4:
                groups.setdefault(a[a.index("-a") + 1], set()).add(a[-1])
            elif a[0] == "adduser" and len(a) == 3 and not any(w.startswith("-") for w in a):
                groups.setdefault(a[1], set()).add(a[2])
    return out


_CONFIG_ARG = re.compile(r"(?:^|\s)(?:--?[\w.-]+=)?(?P<p>/etc/[^\s'\";]+)")


@check("SYS026", "service-can-read-its-files", category="systemd", severity="high", pillar="reliability")
def service_can_read_files(ctx: ScanContext) -> Iterator[Result]:
    """A service can read the configuration and secret files its command line names.

    What it does
        For /etc paths in a unit's `ExecStart=` (`--config.file=/etc/x/x.yml`), finds how the
        scripts for the same host install them (`install -m MODE -o OWNER -g GROUP`, later
        `chmod`/`chown`) and decides, from `User=`, `Group=`, `SupplementaryGroups=` and groups the
        scripts add (`usermod -aG`), whether the service user can read the file. Unreadable fails.
        Services running as root, files installed with unknown modes, and paths no script installs
        are skipped.
    Why it matters
        The service refuses to start (permission denied on its config) right after the deploy, or
        loses its secret: a mode chosen to protect a secret (0640, group of another service)
        locks out the one process that needs it.
    Example
        install -m 0640 -g prometheus alertmanager.yml /etc/alertmanager/   # User=alertmanager
    Fix
        Give the file the consuming service's group (`install -m 0640 -g alertmanager ...`) or
        add the user to the group (`SupplementaryGroups=prometheus`).
    References
        https://www.freedesktop.org/software/systemd/man/systemd.exec.html#SupplementaryGroups=
    Severity
        High: a service that cannot read its own configuration exits at start: an outage of that
        service.
    """
    files = _installed_files(ctx)
    extra = _extra_groups(ctx)
    found = False
    for art, unit in all_services(ctx):
        d = unit.last("Service", "User")
        user = d.value.strip() if d else "root"
        if user in ("root", "0") or _TEMPLATED.search(user):
            continue
        host_files = files.get(art.host, {})
        start = unit.last("Service", "ExecStart")
        if start is None or not host_files:
            continue
        primary = (unit.get("Service", "Group") or user).strip()
        groups = {primary, *" ".join(unit.values("Service", "SupplementaryGroups")).split()}
        groups |= extra.get(art.host, {}).get(user, set())
        for m in _CONFIG_ARG.finditer(start.value):
            path = m.group("p").rstrip(",")
            modes = host_files.get(path)
            if not modes or modes[0].mode is None:
                continue
            found = True
            fm = modes[0]  # the first install is the normal path; later ones are rollbacks/updates
            mode = fm.mode or 0
            readable = bool(
                mode & 0o004 or (fm.owner == user and mode & 0o400) or (fm.group in groups and mode & 0o040)
            )
            how = f"{mode:04o} {fm.owner}:{fm.group}"
            if not readable and ctx.index.out_of_focus:
                # --changed-only: a left-out script may add the user to the file's group
                yield Result.not_applicable(
                    f"{art.label}: {path} ({how}): unchanged scripts were not analysed (--changed-only)",
                    ev(art, start),
                    subject=f"{unit.name}:{path}",
                )
            elif readable:
                yield Result.passed(
                    f"{art.label}: {user} can read {path} ({how})",
                    ev(art, start),
                    fm.art.evidence(fm.line),
                    subject=f"{unit.name}:{path}",
                )
            else:
                yield Result.fail(
                    f"{art.label}: runs as {user} (groups {', '.join(sorted(groups))}) but {path} is installed "
                    f"{how} by {fm.art.label}:{fm.line}: the service cannot read it",
                    ev(art, start),
                    fm.art.evidence(fm.line),
                    subject=f"{unit.name}:{path}",
                )
    if not found:
        yield Result.not_applicable("no unit reads an /etc file whose mode a script sets")
