"""Alertmanager: config valid, receivers wired, no placeholders or inline secrets, sane grouping, inhibition."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from chom_validate.api import Context as ScanContext
from chom_validate.artifacts.alertmanager import MATCHER, AlertmanagerConfig
from chom_validate.artifacts.yamlfile import LineDict, LineList
from chom_validate.facts.monitoring import ComposeService, compose_services, is_templated
from chom_validate.findings import Evidence, Result
from chom_validate.registry import check

from ._monitoring_util import grouped_fail, is_example, is_fixture


def _example_note(art: Any) -> str:
    return f"{art.label} is an example config (documentation): placeholders and policy gaps are expected"


def _configs(ctx: ScanContext) -> Iterator[tuple[Any, AlertmanagerConfig]]:
    """Alertmanager configs a deployment could load: test-suite fixtures are left out."""
    for art, cfg in ctx.parsed("alertmanager_config"):
        if not is_fixture(art):
            yield art, cfg


def _templated(art: Any) -> Result:
    return Result.not_applicable(
        f"{art.label} contains template placeholders; values unknown", subject=art.path
    )


def _none() -> Result:
    return Result.not_applicable("no Alertmanager config found")


@check("MON012", "alertmanager-config-valid", category="monitoring", severity="high", pillar="reliability")
def alertmanager_config_valid(ctx: ScanContext) -> Iterator[Result]:
    """Alertmanager configs are valid (what `amtool check-config` rejects, we reject).

    What it does
        Validates every `alertmanager.yml`: unknown fields, root route without a receiver,
        undefined or duplicate receivers, durations (`group_interval`/`repeat_interval` not zero),
        matcher syntax and regexes, undefined time intervals, e-mail without `to`/smarthost/from,
        webhooks without a valid URL, both `smtp_auth_password` and `_file`.
    Why it matters
        Alertmanager refuses an invalid config on reload and keeps the old one, or does not start:
        alerts fire into nothing.
    Example
        route:
          receiver: ops-email       # receivers: only "email"
    Fix
        Correct the reported line; run `amtool check-config alertmanager.yml` in CI.
    References
        https://prometheus.io/docs/alerting/latest/configuration/
    Severity
        High: Alertmanager refuses the config on reload (keeps the old one) or does not start: alerts
        fire into nothing.
    """
    found = False
    for art, cfg in _configs(ctx):
        found = True
        if is_templated(art):
            yield _templated(art)
            continue
        for p in cfg.problems:
            yield Result.fail(f"{art.label}:{p.line}: {p.message}", art.evidence(p.line), subject=art.path)
        if not cfg.problems:
            routes = sum(1 for _ in cfg.route.walk()) if cfg.route else 0
            yield Result.passed(
                f"{art.label}: valid; {len(cfg.receivers)} receivers, {routes} routes, "
                f"{len(cfg.inhibit_rules)} inhibit rules",
                art.evidence(cfg.route.line if cfg.route else 1),
                subject=art.path,
                receivers=len(cfg.receivers),
                routes=routes,
                inhibit_rules=len(cfg.inhibit_rules),
            )
    if not found:
        yield _none()


@check("MON013", "alertmanager-receivers", category="monitoring", severity="medium", pillar="operations")
def alertmanager_receivers(ctx: ScanContext) -> Iterator[Result]:
    """Every receiver a route names exists, every receiver is used, and receivers notify someone.

    What it does
        Walks the route tree: a route naming an undefined receiver fails; a receiver no route
        uses fails (dead config, often the one someone believes pages them); a receiver used by a
        route but without any integration (`email_configs`, `webhook_configs`...) fails unless it
        is explicitly named like a null receiver (`null`, `blackhole`, `devnull`).
    Why it matters
        Alerts routed to an empty or missing receiver are dropped; an unused receiver hides that
        the team's pager was never wired.
    Example
        receivers:
          - name: pagerduty-critical     # no route uses it
    Fix
        Route to the receiver (e.g. `matchers: [severity="critical"]`) or delete it.
    References
        https://prometheus.io/docs/alerting/latest/configuration/#receiver
    Severity
        Medium: alerts routed to an empty receiver are dropped and an unused receiver hides an unwired
        pager; the other routes still notify.
    """
    found = False
    for art, cfg in _configs(ctx):
        found = True
        if is_templated(art) or cfg.route is None:
            yield _templated(art) if cfg.route else Result.not_applicable(f"{art.label}: no route")
            continue
        used: set[str] = set()
        for r in cfg.route.walk():
            if r.receiver:
                used.add(r.receiver)
                if cfg.receiver(r.receiver) is None:
                    yield Result.fail(
                        f"{art.label}: route uses undefined receiver {r.receiver!r}",
                        art.evidence(r.line_of("receiver")),
                        subject=r.receiver,
                    )
        for rec in cfg.receivers:
            ev = art.evidence(rec.line)
            if rec.name not in used:
                yield Result.fail(
                    f"{art.label}: receiver {rec.name!r} is not used by any route",
                    ev,
                    subject=rec.name,
                    severity="low" if is_example(art) else None,
                )
            elif not rec.integrations and not re.search(r"null|blackhole|devnull|discard", rec.name, re.I):
                yield Result.fail(
                    f"{art.label}: receiver {rec.name!r} has no integration; alerts are dropped",
                    ev,
                    subject=rec.name,
                    severity="low" if is_example(art) else None,
                )
            else:
                kinds = sorted({i.kind for i in rec.integrations})
                yield Result.passed(
                    f"receiver {rec.name!r} used ({', '.join(kinds) or 'null receiver'})",
                    ev,
                    subject=rec.name,
                )
    if not found:
        yield _none()


_PLACEHOLDER = re.compile(
    r"(?<![\w-])(example\.(com|org|net)|changeme|change[-_]me|CHANGEME|REPLACE[-_]?ME|replace[-_]?me|"
    r"your[-_](domain|email|password|token|webhook)|xxx+|TODO|FIXME|foo@bar|user@domain)(?![\w-])"
    r"|<[A-Za-z][\w -]*>",  # `<webhook-id>`, `<team-X-key>`: a value to fill in
    re.I,
)


def _strings(node: Any, line: int = 1) -> Iterator[tuple[str, int, str]]:
    """(key, line, value) for every scalar string in a LineDict/LineList tree."""
    if isinstance(node, LineDict):
        for k, v in node.items():
            if isinstance(v, LineDict | LineList):
                yield from _strings(v, node.line_of(k))
            elif isinstance(v, str):
                yield str(k), node.line_of(k), v
    elif isinstance(node, LineList):
        for i, v in enumerate(node):
            ln = node.item_lines[i] if i < len(node.item_lines) else node.line
            if isinstance(v, LineDict | LineList):
                yield from _strings(v, ln)
            elif isinstance(v, str):
                yield "", ln, v


def _top_nodes(raw: LineDict) -> Iterator[LineDict]:
    """The config as sub-trees: each receiver on its own (so a placeholder knows its receiver), the
    rest of the config as one mapping."""
    rest = LineDict()
    rest.key_lines = {}
    for k, v in raw.items():
        if k == "receivers" and isinstance(v, LineList):
            yield from (rd for rd in v if isinstance(rd, LineDict))
        else:
            rest[k] = v
            rest.key_lines[k] = raw.line_of(k)
    yield rest


@check("MON014", "alertmanager-placeholders", category="monitoring", severity="high", pillar="operations")
def alertmanager_placeholders(ctx: ScanContext) -> Iterator[Result]:
    """No placeholder addresses in Alertmanager (`example.com`, `changeme`, `your-...`).

    What it does
        Scans every value of the Alertmanager config for placeholder addresses, tokens and URLs
        left from a template: `example.com/.org/.net`, `changeme`, `REPLACE_ME`, `your-email`,
        `xxx`, `TODO`.
    Why it matters
        A placeholder recipient is a notification that goes nowhere: the config validates, the
        alert fires, nobody is told.
    Example
        email_configs:
          - to: ops@example.com
    Fix
        Put the real address (or a `*_file` reference for secrets) and send a test alert with
        `amtool alert add`.
    References
        https://prometheus.io/docs/alerting/latest/configuration/#email_config
    Severity
        High: the config validates and alerts fire, but the notification goes to nobody: an outage
        goes unreported. Placeholders only in receivers no route uses are low (nothing is sent there).
    """
    found = False
    for art, cfg in _configs(ctx):
        found = True
        if is_templated(art):
            yield _templated(art)
            continue
        if is_example(art):
            yield Result.not_applicable(_example_note(art), subject=art.path)
            continue
        used = {r.receiver for r in cfg.route.walk() if r.receiver} if cfg.route else set()
        idle = {
            id(rd)
            for rd in cfg.raw.get("receivers") or []
            if isinstance(rd, LineDict) and used and str(rd.get("name")) not in used
        }
        holes: list[tuple[str, Evidence]] = []
        spare: list[tuple[str, Evidence]] = []
        for node in _top_nodes(cfg.raw):
            for key, line, value in _strings(node):
                m = _PLACEHOLDER.search(value)
                if m:
                    (spare if id(node) in idle else holes).append(
                        (f"{key or 'value'} {m.group(0)!r}", art.evidence(line))
                    )
        if holes:
            yield grouped_fail(
                f"{art.label}: placeholders left in the config, notifications go nowhere",
                holes,
                subject=art.path,
            )
        if spare:
            yield grouped_fail(
                f"{art.label}: placeholders in receivers no route uses (nothing is sent there today)",
                spare,
                subject=f"{art.path} unused receivers",
                severity="low",
            )
        if not holes and not spare:
            yield Result.passed(f"{art.label}: no placeholder addresses", art.evidence(1), subject=art.path)
    if not found:
        yield _none()


_SECRET_KEYS = {
    "smtp_auth_password",
    "smtp_auth_secret",
    "auth_password",
    "auth_secret",
    "password",
    "credentials",
    "bearer_token",
    "api_key",
    "api_secret",
    "routing_key",
    "service_key",
    "bot_token",
    "token",
    "user_key",
    "slack_api_url",
    "api_url",
    "opsgenie_api_key",
    "victorops_api_key",
    "wechat_api_secret",
}
_SECRET_URL = re.compile(
    r"hooks\.slack\.com/services/|[?&](token|key|apikey|api_key|secret)=|//[^/@\s]+:[^/@\s]+@", re.I
)


@check("MON015", "alertmanager-secret-files", category="monitoring", severity="high", pillar="security")
def alertmanager_secret_files(ctx: ScanContext) -> Iterator[Result]:
    """SMTP passwords, API keys and webhook tokens come from `*_file`, not inline.

    What it does
        Fails inline secrets in the Alertmanager config: `smtp_auth_password`, `auth_password`,
        `api_key`, `routing_key`, `bot_token`, `basic_auth.password`, `credentials`, Slack webhook
        URLs and URLs carrying `token=`/`key=` or `user:pass@`. `*_file` variants pass.
    Why it matters
        alertmanager.yml lives in git, in backups and in `/api/v2/status` (which shows the config
        to anyone who can reach port 9093): an inline SMTP password is a leaked password.
    Example
        global:
          smtp_auth_password: "s3cr3t"
    Fix
        Use `smtp_auth_password_file: /etc/alertmanager/secrets/smtp_password` (mode 0400, owned
        by the alertmanager user) and `url_file` / `api_key_file` for integrations.
    References
        https://prometheus.io/docs/alerting/latest/configuration/#file-layout-and-global-settings
    Severity
        High: an inline credential is a leaked credential (git, backups, and /api/v2/status to anyone
        reaching port 9093).
    """
    found = False
    for art, cfg in _configs(ctx):
        found = True
        if is_templated(art):
            yield _templated(art)
            continue
        if is_example(art):
            yield Result.not_applicable(
                _example_note(art) + "; inline secrets there are SEC findings", subject=art.path
            )
            continue
        bad = False
        for key, line, value in _strings(cfg.raw):
            if not value.strip() or _PLACEHOLDER.search(value):
                continue  # a placeholder is not a secret (MON014 reports it)
            inline = (key in _SECRET_KEYS and not key.endswith("_url")) or (
                (key.endswith("url") or key == "") and _SECRET_URL.search(value)
            )
            if inline:
                bad = True
                yield Result.fail(
                    f"{art.label}:{line}: secret {key or 'value'} is inline; use {key or 'a'}_file",
                    art.evidence(line),
                    subject=key,
                )
        if not bad:
            yield Result.passed(f"{art.label}: no inline secrets", art.evidence(1), subject=art.path)
    if not found:
        yield _none()


_COMMON_TEMPLATE = re.compile(r"\.Common(Annotations|Labels)\.(\w+)")


def _empty_body(cfg: AlertmanagerConfig) -> str:
    """What a receiver shows when unrelated alerts share one group: `.CommonAnnotations.x` is empty."""
    for rec in cfg.receivers:
        for it in rec.integrations:
            for key, _, value in _strings(it.raw):
                m = _COMMON_TEMPLATE.search(value)
                if m:
                    return (
                        f"; receiver {rec.name!r} {key or 'text'} uses {m.group(0)}, which is empty as soon as "
                        "the one group holds alerts with different values: notifications arrive blank"
                    )
    return ""


@check("MON016", "alertmanager-grouping", category="monitoring", severity="medium", pillar="operations")
def alertmanager_grouping(ctx: ScanContext) -> Iterator[Result]:
    """Root route groups alerts and uses sane wait/interval/repeat timings.

    What it does
        On the root route: `group_by` is set (not empty); `group_wait` 0s-5m; `group_interval`
        10s-1h; `repeat_interval` 30m-7d and not below `group_interval`. Defaults apply where a
        key is missing (30s, 5m, 4h). Passes with the values as data.
    Why it matters
        Without `group_by` every alert lands in one notification; a `repeat_interval` of 1m spams
        the team into muting the channel, one of 30d forgets an unresolved incident.
    Example
        route:
          receiver: email
          repeat_interval: 5m
    Fix
        `group_by: [alertname, instance, severity]`, `group_wait: 30s`, `group_interval: 5m`,
        `repeat_interval: 4h` (12h for e-mail) are sane defaults.
    References
        https://prometheus.io/docs/alerting/latest/configuration/#route
    Severity
        Medium: bad grouping or timing floods or starves the channel until people mute it; alerts are
        still delivered.
    """
    found = False
    for art, cfg in _configs(ctx):
        r = cfg.route
        found = True
        if is_templated(art) or r is None:
            yield _templated(art) if r else Result.not_applicable(f"{art.label}: no route")
            continue
        wait = 30.0 if r.group_wait is None else r.group_wait
        interval = 300.0 if r.group_interval is None else r.group_interval
        repeat = 14400.0 if r.repeat_interval is None else r.repeat_interval
        problems = []
        if not r.group_by:
            problems.append(("group_by", "no group_by: every alert lands in one notification"))
        if not 0 <= wait <= 300:
            problems.append(("group_wait", f"group_wait {wait:g}s outside 0s-5m"))
        if not 10 <= interval <= 3600:
            problems.append(("group_interval", f"group_interval {interval:g}s outside 10s-1h"))
        if not 1800 <= repeat <= 7 * 86400:
            problems.append(("repeat_interval", f"repeat_interval {repeat:g}s outside 30m-7d"))
        elif repeat < interval:
            problems.append(("repeat_interval", "repeat_interval below group_interval"))
        for key, msg in problems:
            yield Result.fail(
                f"{art.label}: {msg}{_empty_body(cfg) if key == 'group_by' else ''}",
                art.evidence(r.line_of(key)),
                subject="route",
                severity="low" if is_example(art) else None,
            )
        if not problems:
            yield Result.passed(
                f"{art.label}: grouped by {', '.join(r.group_by or [])}; wait {wait:g}s, interval {interval:g}s, repeat {repeat:g}s",
                art.evidence(r.line_of("group_by")),
                subject="route",
                group_by=r.group_by,
                group_wait=wait,
                group_interval=interval,
                repeat_interval=repeat,
            )
    if not found:
        yield _none()


@check("MON017", "alertmanager-inhibit", category="monitoring", severity="low", pillar="operations")
def alertmanager_inhibit(ctx: ScanContext) -> Iterator[Result]:
    """Each inhibit rule can apply, and is scoped with `equal`.

    What it does
        Fails an inhibit rule without `equal:` (which would mute the target alerts everywhere
        whenever one source fires), and, when the tree has rule files, an inhibit rule whose
        source or target matchers no alert can satisfy (judged on `alertname` and the labels the
        rules set, such as `severity`): it never inhibits anything.
    Why it matters
        When a host goes down, its disk, CPU and service alerts all fire too: inhibition
        (critical mutes warning for the same instance) keeps the page to the one that matters.
    Example
        inhibit_rules:
          - source_matchers: [severity="critical"]
            target_matchers: [severity="warning"]      # no equal: mutes every warning
    Fix
        Add `equal: [alertname, instance]` (or the labels identifying the same failure).
    References
        https://prometheus.io/docs/alerting/latest/configuration/#inhibit_rule
    Severity
        Low: a global inhibition hides alerts while the source fires, it does not lose them; a config
        without inhibit rules is a choice and is not judged.
    """
    found = False
    alerts = [r for a, rf in ctx.parsed("prometheus_rules") for r in rf.alerts if not is_fixture(a)]
    for art, cfg in _configs(ctx):
        found = True
        if is_templated(art):
            yield _templated(art)
            continue
        if not cfg.inhibit_rules:
            # inhibition is an optional refinement: its absence is a choice, not a defect
            yield Result.not_applicable(f"{art.label}: no inhibit_rules to check", subject=art.path)
            continue
        for line, ir in cfg.inhibit_rules:
            dead = None if is_example(art) else _cannot_match(ir, alerts)
            if dead:
                yield Result.fail(
                    f"{art.label}: inhibit rule never applies: {dead}",
                    art.evidence(line),
                    subject="inhibit",
                )
                continue
            if not ir.get("equal"):
                yield Result.fail(
                    f"{art.label}: inhibit rule without `equal:` mutes targets globally",
                    art.evidence(line),
                    severity="low" if is_example(art) else None,
                )
            else:
                yield Result.passed(
                    f"inhibit rule scoped by {', '.join(map(str, ir['equal']))}",
                    art.evidence(line),
                    inhibit_rules=len(cfg.inhibit_rules),
                )
    if not found:
        yield _none()


def _side(ir: Any, side: str) -> list[tuple[str, str, str]]:
    """(label, op, value) of an inhibit rule's source or target matchers, old and new syntax."""
    out = []
    for m in ir.get(f"{side}_matchers") or []:
        mm = MATCHER.match(str(m))
        if mm:
            out.append((mm.group(1), mm.group(2), mm.group(3) if mm.group(3) is not None else mm.group(4)))
    for key, op in ((f"{side}_match", "="), (f"{side}_match_re", "=~")):
        if isinstance(ir.get(key), dict):
            out += [(str(k), op, str(v)) for k, v in ir[key].items() if v is not None]
    return out


def _label_of(r: Any, name: str) -> str | None:
    return str(r.name) if name == "alertname" else r.labels.get(name)


def _cannot_match(ir: Any, alerts: list[Any]) -> str | None:
    """Why no alert of the tree can be this rule's source (or target), judging only labels the rules set.

    Only `alertname` and labels that the rule files set statically (severity, team...) are judged,
    and only `=` / `=~` matchers: other labels come from the series and are unknown here.
    """
    if not alerts:
        return None
    static = {k for r in alerts for k in r.labels} | {"alertname"}
    for side in ("source", "target"):
        ms = [(n, op, v) for n, op, v in _side(ir, side) if n in static and op in ("=", "=~")]
        if not ms:
            continue

        def ok(r: Any, ms: list[tuple[str, str, str]] = ms) -> bool:
            for name, op, value in ms:
                got = _label_of(r, name)
                if got is None:
                    return False
                if "{{" in got:  # templated label value: decided at evaluation time
                    continue
                try:
                    hit = got == value if op == "=" else re.fullmatch(value, got) is not None
                except re.error:
                    return True
                if not hit:
                    return False
            return True

        if not any(ok(r) for r in alerts):
            shown = ", ".join(f"{n}{op}{v!r}" for n, op, v in ms)
            return f"no alert in the rule files matches its {side} ({shown})"
    return None


def _stack(ctx: ScanContext) -> list[ComposeService]:
    result: list[ComposeService] = ctx.derived(
        "monitoring:compose", lambda: compose_services(ctx.artifacts("yaml"))
    )
    return result


@check("MON024", "alert-links-external-url", category="monitoring", severity="low", pillar="operations")
def alert_links_external_url(ctx: ScanContext) -> Iterator[Result]:
    """Prometheus and Alertmanager containers that notify someone know their external URL.

    What it does
        For each Prometheus or Alertmanager service of a compose file (recognised by image), when
        the tree has an Alertmanager config with receivers, fails a command without
        `--web.external-url`.
    Why it matters
        Without it both derive links from the process's hostname, which in a container is the
        container ID: the "source" and "silence" links of every notification point to
        `http://3f2a9c...:9093` and nobody can open them during the incident. Severity low: alerts
        arrive, their links do not work.
    Example
        alertmanager:
          image: prom/alertmanager:v0.28.1
          command: ['--config.file=/etc/alertmanager/config.yml']
    Fix
        Add `--web.external-url=https://alertmanager.example.org/` (the URL people and proxies
        use; with a path, also set the matching route prefix in every consumer).
    References
        https://prometheus.io/docs/alerting/latest/configuration/
    Severity
        Low: alerts arrive, only their source and silence links do not work.
    """
    notifying = [
        a for a, c in _configs(ctx) if any(r.integrations for r in c.receivers) and not is_example(a)
    ]
    services = [s for s in _stack(ctx) if s.tool in ("prometheus", "alertmanager")]
    if not services or not notifying:
        yield Result.not_applicable("no containerised Prometheus/Alertmanager sending notifications")
        return
    missing = [s for s in services if s.flag("--web.external-url") is None]
    for s in services:
        if s not in missing:
            yield Result.passed(
                f"{s.name}: --web.external-url={s.flag('--web.external-url')}",
                s.art.evidence(s.command_line("--web.external-url")),
                subject=s.name,
            )
    if missing:
        yield grouped_fail(
            "no --web.external-url: notification links point to the container's hostname",
            [
                (
                    f"{s.name} ({s.art.label})",
                    s.art.evidence(s.line_of("command"), note=f"{s.tool} started without --web.external-url"),
                )
                for s in missing
            ],
            subject="external-url",
        )


@check("MON025", "alerting-state-persisted", category="monitoring", severity="low", pillar="reliability")
def alerting_state_persisted(ctx: ScanContext) -> Iterator[Result]:
    """Alertmanager's silences and Pushgateway's metrics survive re-creating their containers.

    What it does
        For compose services: Alertmanager's `--storage.path` (default `/alertmanager` in the
        official image) must be on a volume or bind mount; Pushgateway must run with
        `--persistence.file` on a mounted path.
    Why it matters
        `docker compose down && up` (an upgrade) otherwise drops every silence and the notification
        log, so everything that was muted or already notified pages again; pushed batch-job
        metrics (last backup time) vanish and freshness alerts misfire. Severity low: state is
        lost on re-creation, alerting keeps working.
    Example
        alertmanager:
          command: ['--storage.path=/alertmanager']     # no volume for /alertmanager
    Fix
        Mount a named volume (`alertmanager_data:/alertmanager`); run Pushgateway with
        `--persistence.file=/data/pushgateway.db` and a volume for /data.
    References
        https://github.com/prometheus/pushgateway#persistence
    Severity
        Low: silences and pushed metrics are lost when the container is re-created; alerting keeps
        working.
    """
    found = False
    lost: list[tuple[str, Evidence]] = []
    for s in _stack(ctx):
        if s.tool == "alertmanager":
            found = True
            flag = s.flag("--storage.path")
            path = flag if isinstance(flag, str) else "/alertmanager"
            if not path.startswith("/"):
                path = "/alertmanager/" + path  # relative to the image's working directory
            if s.mounted(path):
                yield Result.passed(f"{s.name}: {path} is on a volume", s.art.evidence(s.line_of("volumes")))
            else:
                lost.append(
                    (
                        f"{s.name}: silences and notification log in {path}",
                        s.art.evidence(
                            s.command_line("--storage.path"), note=f"{path} is not on a volume or bind mount"
                        ),
                    )
                )
        elif s.tool == "pushgateway":
            found = True
            flag = s.flag("--persistence.file")
            if isinstance(flag, str) and s.mounted(flag.rsplit("/", 1)[0] or "/"):
                yield Result.passed(
                    f"{s.name}: pushed metrics persisted to {flag}", s.art.evidence(s.line_of("command"))
                )
            else:
                lost.append(
                    (
                        f"{s.name}: pushed metrics",
                        s.art.evidence(
                            s.line,
                            note="no --persistence.file" if flag is None else f"{flag} is not on a volume",
                        ),
                    )
                )
    if lost:
        yield grouped_fail("alerting state lost when the container is re-created", lost, subject="state")
    if not found:
        yield Result.not_applicable("no containerised Alertmanager or Pushgateway")
