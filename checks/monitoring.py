"""Prometheus: config and rule files valid and wired, alerts well-formed, covered and on scraped metrics."""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterator

from chom_validate.artifacts import promql
from chom_validate.engine import ScanContext
from chom_validate.findings import Evidence, Result
from chom_validate.registry import check

from ._monitoring_util import (
    DEFAULT_SEVERITIES,
    alert_in_class,
    component_present,
    coverage_classes,
    is_templated,
    live_error_types,
    live_metric_names,
    rule_file_matches,
    topology,
)


@check("MON001", "alert-has-for", category="monitoring", severity="medium", pillar="observability")
def alert_has_for(ctx: ScanContext) -> Iterator[Result]:
    """Every alerting rule has a `for:` duration.

    What it does
        Reads every alerting rule in every Prometheus rule file (and rule files written by scripts)
        and reports alerts without `for:` or with `for: 0s`.
    Why it matters
        Without `for:` a single bad scrape or a one-second spike pages someone at 3 a.m.; alert
        fatigue follows and real alerts get ignored. `for:` also gives a pending state that shows
        up in the UI before the page.
    Example
        - alert: HighCPU
          expr: instance:cpu_usage:rate5m > 0.9
          # no for:
    Fix
        Add `for: 5m` (or the duration that matches how long the condition may last harmlessly).
        Target-down alerts typically use 1m-2m, capacity alerts 10m-30m.
    References
        https://prometheus.io/docs/prometheus/latest/configuration/alerting_rules/
    """
    found = False
    for art, rules in ctx.parsed("prometheus_rules"):
        for rule in rules.alerts:
            found = True
            if rule.for_ is None or rule.for_.strip() in ("0", "0s", "0m"):
                yield Result.fail(
                    f"{art.label}: alert {rule.name} has no `for:`; one bad sample pages someone",
                    art.evidence(rule.line),
                    subject=rule.name,
                )
            else:
                yield Result.passed(
                    f"{art.label}: alert {rule.name} for {rule.for_}",
                    art.evidence(rule.line_of("for")),
                    subject=rule.name,
                )
    if not found:
        yield Result.not_applicable("no alerting rules found")


def _templated(art: object) -> Result:
    return Result.not_applicable(
        f"{getattr(art, 'label', art)} contains template placeholders; values unknown until rendered",
        subject=str(getattr(art, "path", "")),
    )


@check("MON002", "prometheus-config-valid", category="monitoring", severity="high", pillar="reliability")
def prometheus_config_valid(ctx: ScanContext) -> Iterator[Result]:
    """Prometheus configs are valid (what `promtool check config --syntax-only` rejects, we reject).

    What it does
        Validates every `prometheus.yml` (files and heredocs in deploy scripts): unknown fields,
        durations, `scrape_timeout` above `scrape_interval`, empty or duplicate `job_name`, invalid
        target addresses and label names, relabel actions, regexes and required fields, file_sd
        file names. A valid config passes with its counts (jobs, global interval, targets).
    Why it matters
        Prometheus refuses to start, or to reload, with an invalid config: after a deploy the old
        config keeps running (or nothing does) and nobody notices until an alert fails to fire.
    Example
        scrape_configs:
          - job_name: node
            scrape_intervall: 15s     # typo: "field scrape_intervall not found"
    Fix
        Correct the reported line; run `promtool check config prometheus.yml` in CI.
    References
        https://prometheus.io/docs/prometheus/latest/configuration/configuration/
    """
    found = False
    for art, cfg in ctx.parsed("prometheus_config"):
        found = True
        if is_templated(art):
            yield _templated(art)
            continue
        for p in cfg.problems:
            yield Result.fail(f"{art.label}:{p.line}: {p.message}", art.evidence(p.line), subject=art.path)
        if not cfg.problems:
            targets = sum(len(j.targets) for j in cfg.jobs)
            intervals = sorted({j.interval_text for j in cfg.jobs})
            yield Result.passed(
                f"{art.label}: valid; {len(cfg.jobs)} scrape jobs, {targets} static targets, "
                f"scrape_interval {cfg.scrape_interval_text}",
                art.evidence(cfg.raw.line_of("scrape_configs") if cfg.raw else 1),
                subject=art.path,
                jobs=len(cfg.jobs),
                job_names=[j.name for j in cfg.jobs],
                interval=cfg.scrape_interval_text,
                job_intervals=intervals,
                evaluation_interval=promql.format_duration(cfg.evaluation_interval),
                targets=targets,
            )
    if not found:
        yield Result.not_applicable("no Prometheus config found")


@check("MON003", "rule-files-valid", category="monitoring", severity="high", pillar="reliability")
def rule_files_valid(ctx: ScanContext) -> Iterator[Result]:
    """Rule files are valid (what `promtool check rules` rejects, we reject).

    What it does
        Validates every rule file: group names present and unique, unknown fields, `record` xor
        `alert`, `expr` present and valid PromQL (syntax and types, e.g. `rate()` needs a range),
        durations, label and annotation names, recording-rule names, and Go-template errors in
        alert labels and annotations. A valid file passes with its alert and recording-rule counts.
    Why it matters
        Prometheus rejects the whole rule file on reload when one rule is invalid: every alert in
        it silently stops being evaluated.
    Example
        - alert: HighErrorRate
          expr: rate(http_requests_total) > 5     # range vector expected
    Fix
        Correct the reported line; run `promtool check rules rules/*.yml` in CI.
    References
        https://prometheus.io/docs/prometheus/latest/configuration/recording_rules/
    """
    found = False
    for art, rf in ctx.parsed("prometheus_rules"):
        found = True
        if is_templated(art):
            yield _templated(art)
            continue
        for p in rf.problems:
            yield Result.fail(f"{art.label}:{p.line}: {p.message}", art.evidence(p.line), subject=art.path)
        if not rf.problems:
            yield Result.passed(
                f"{art.label}: valid; {len(rf.groups)} groups, {len(rf.alerts)} alerts, "
                f"{len(rf.records)} recording rules",
                art.evidence(rf.groups[0][1] if rf.groups else 1),
                subject=art.path,
                groups=len(rf.groups),
                alerts=len(rf.alerts),
                records=len(rf.records),
            )
    if not found:
        yield Result.not_applicable("no Prometheus rule files found")


@check("MON004", "rule-files-wired", category="monitoring", severity="high", pillar="observability")
def rule_files_wired(ctx: ScanContext) -> Iterator[Result]:
    """Every `rule_files` entry matches a rule file, and every rule file is loaded by a config.

    What it does
        Resolves each `rule_files` pattern relative to the config (absolute patterns under
        `/etc/prometheus` map back next to the config in a repository; heredoc rule files match by
        install path) and fails patterns that match no rule file, and rule files no pattern loads.
    Why it matters
        A rule file Prometheus never loads is a set of alerts that never fire, while the repository
        suggests they are in place. A pattern matching nothing usually means a renamed directory.
    Example
        rule_files: ["alerts/*.yml"]     # the files live in rules/
    Fix
        Point `rule_files` at the directory the deploy installs (e.g. `rules/*.yml`), or delete the
        stale rule file.
    References
        https://prometheus.io/docs/prometheus/latest/configuration/configuration/#configuration-file
    """
    topo = topology(ctx)
    rules = [a for a in ctx.artifacts("prometheus_rules")]
    if not topo.configs and not rules:
        yield Result.not_applicable("no Prometheus config or rule files found")
        return
    loaded: set[int] = set()
    for cart, cfg in topo.configs:
        for pattern, line in cfg.rule_files:
            hits = [r for r in rules if rule_file_matches(pattern, cart, r)]
            loaded |= {id(r) for r in hits}
            if hits:
                yield Result.passed(
                    f"{cart.label}: rule_files {pattern!r} loads {len(hits)} file(s)",
                    cart.evidence(line),
                    *[r.evidence(1, note="loaded by this pattern") for r in hits[:20]],
                    subject=pattern,
                    files=len(hits),
                )
            else:
                yield Result.fail(
                    f"{cart.label}: rule_files {pattern!r} matches no rule file in the tree",
                    cart.evidence(line),
                    subject=pattern,
                )
    if not topo.configs:
        yield Result.not_applicable(
            "no Prometheus config to load the rule files (cannot tell which are used)"
        )
        return
    for r in rules:
        if id(r) not in loaded:
            yield Result.fail(
                f"{r.label} is not loaded by any rule_files pattern in "
                + ", ".join(a.label for a, _ in topo.configs),
                r.evidence(1, note="rule file present but not referenced"),
                subject=r.path,
            )
    if not rules and not any(cfg.rule_files for _, cfg in topo.configs):
        yield Result.not_applicable(
            "the Prometheus config loads no rule files and there are none in the tree",
            *[cart.evidence(None, note="no rule_files") for cart, _ in topo.configs[:5]],
        )


@check("MON005", "unique-jobs-and-alerts", category="monitoring", severity="medium", pillar="observability")
def unique_jobs_and_alerts(ctx: ScanContext) -> Iterator[Result]:
    """Scrape job names and alert definitions are not duplicated.

    What it does
        Fails a `job_name` defined twice (within or across Prometheus configs of the same host),
        and an alert defined twice with the same name and `severity` label (across all rule
        files), and a recording rule recorded twice with the same labels.
    Why it matters
        Duplicate jobs scrape twice and double every rate; duplicate alerts page twice or, after a
        half-finished edit, page with the old threshold. Same-name alerts with different
        severities (warning/critical pairs) are fine.
    Example
        rules/node.yml:   - alert: InstanceDown
        rules/extra.yml:  - alert: InstanceDown      # same severity
    Fix
        Delete or rename one of the definitions.
    References
        https://prometheus.io/docs/practices/alerting/
    """
    topo = topology(ctx)
    jobs: dict[tuple[str | None, str], list[Evidence]] = {}
    for cart, cfg in topo.configs:
        for job in cfg.jobs:
            jobs.setdefault((cart.host, job.name), []).append(cart.evidence(job.line))
    alerts: dict[tuple[str, str, str], list[Evidence]] = {}
    for art, rf in topo.rules:
        for r in rf.rules:
            key = (
                r.kind,
                r.name,
                r.labels.get("severity", "") if r.kind == "alert" else repr(sorted(r.labels.items())),
            )
            alerts.setdefault(key, []).append(art.evidence(r.line))
    if not jobs and not alerts:
        yield Result.not_applicable("no scrape jobs or rules found")
        return
    bad = False
    for (_, name), evs in jobs.items():
        if len(evs) > 1:
            bad = True
            yield Result.fail(f"scrape job {name!r} defined {len(evs)} times", *evs, subject=name)
    for (kind, name, _), evs in alerts.items():
        if len(evs) > 1:
            bad = True
            what = "alert" if kind == "alert" else "recording rule"
            yield Result.fail(f"{what} {name} defined {len(evs)} times", *evs, subject=name)
    if not bad:
        first = next(iter(jobs.values()), None) or next(iter(alerts.values()))
        yield Result.passed(
            f"{len(jobs)} scrape jobs and {len(alerts)} rules, all unique",
            first[0],
            jobs=len(jobs),
            rules=len(alerts),
        )


@check("MON006", "alert-severity", category="monitoring", severity="medium", pillar="operations")
def alert_severity(ctx: ScanContext) -> Iterator[Result]:
    """Every alert has a `severity` label from the agreed set.

    What it does
        Checks that each alerting rule carries `labels.severity` with a value from the configured
        set (default `critical`, `warning`, `info`; override with `monitoring.severities` in
        chom-validate.yaml).
    Why it matters
        Alertmanager routes and inhibits by severity: an alert without it (or with `crit`, `P1`)
        falls through to the default route, is never inhibited and may never page.
    Example
        - alert: MySQLDown
          labels: {team: db}        # no severity
    Fix
        Add `severity: critical` (pages) or `severity: warning` (ticket) to the alert's labels.
    References
        https://prometheus.io/docs/alerting/latest/configuration/#route
    """
    allowed = [str(s) for s in ctx.settings("monitoring").get("severities") or DEFAULT_SEVERITIES]
    found = False
    for art, rf in ctx.parsed("prometheus_rules"):
        for r in rf.alerts:
            found = True
            sev = r.labels.get("severity")
            if sev is None:
                yield Result.fail(
                    f"{art.label}: alert {r.name} has no severity label", art.evidence(r.line), subject=r.name
                )
            elif "{{" in sev:
                yield Result.not_applicable(f"alert {r.name}: templated severity {sev!r}", subject=r.name)
            elif sev not in allowed:
                yield Result.fail(
                    f"{art.label}: alert {r.name} severity {sev!r} not one of {', '.join(allowed)}",
                    art.evidence(r.label_line("severity")),
                    subject=r.name,
                )
            else:
                yield Result.passed(
                    f"alert {r.name} severity {sev}",
                    art.evidence(r.label_line("severity")),
                    subject=r.name,
                    severity=sev,
                )
    if not found:
        yield Result.not_applicable("no alerting rules found")


@check("MON007", "alert-annotations", category="monitoring", severity="low", pillar="operations")
def alert_annotations(ctx: ScanContext) -> Iterator[Result]:
    """Every alert has `summary` and `description` annotations.

    What it does
        Checks that each alerting rule has non-empty `annotations.summary` and
        `annotations.description`.
    Why it matters
        The notification is all the on-call engineer sees at 3 a.m.: without a summary and a
        description (with `{{ $labels.instance }}` and `{{ $value }}`) they start by reverse-
        engineering the PromQL.
    Example
        - alert: DiskWillFillIn4Hours
          annotations: {summary: "disk filling"}    # no description
    Fix
        Add `description: "{{ $labels.mountpoint }} on {{ $labels.instance }} fills in < 4h"`.
    References
        https://prometheus.io/docs/prometheus/latest/configuration/alerting_rules/#templating
    """
    found = False
    for art, rf in ctx.parsed("prometheus_rules"):
        for r in rf.alerts:
            found = True
            missing = [k for k in ("summary", "description") if not r.annotations.get(k, "").strip()]
            if missing:
                yield Result.fail(
                    f"{art.label}: alert {r.name} has no {' and no '.join(missing)} annotation",
                    art.evidence(r.line),
                    subject=r.name,
                )
            else:
                yield Result.passed(
                    f"alert {r.name} has summary and description",
                    art.evidence(r.annotation_line("summary")),
                    subject=r.name,
                )
    if not found:
        yield Result.not_applicable("no alerting rules found")


_REPO_URL = re.compile(r"^https?://[^/]+/.+?/(?:-/)?(?:blob|tree|src)/[^/]+/(?P<path>[^?#]+)")


@check("MON008", "alert-runbook", category="monitoring", severity="medium", pillar="operations")
def alert_runbook(ctx: ScanContext) -> Iterator[Result]:
    """Every alert links a runbook that exists (`runbook_url` or `runbook` annotation).

    What it does
        Reads `annotations.runbook_url` (or `runbook`). A relative path must be a file in the tree
        (e.g. `docs/runbooks/mysql-down.md`); an http(s) URL passes, except a repository URL
        (`.../blob/main/docs/runbooks/x.md`) whose directory is in the tree but whose file is not.
        Alerts with no runbook fail; templated links are not judged.
    Why it matters
        An alert that pages without a runbook, or with a link that 404s, costs the on-call
        engineer the first ten minutes of every incident.
    Example
        runbook_url: docs/runbooks/php-fpm-saturation.md     # file does not exist
    Fix
        Write the runbook, or point the link at the existing file (kebab-case names in
        `docs/runbooks/`).
    References
        https://sre.google/sre-book/being-on-call/
    """
    found = False
    for art, rf in ctx.parsed("prometheus_rules"):
        for r in rf.alerts:
            found = True
            key = (
                "runbook_url"
                if r.annotations.get("runbook_url")
                else "runbook"
                if r.annotations.get("runbook")
                else None
            )
            if key is None:
                yield Result.fail(
                    f"{art.label}: alert {r.name} has no runbook_url", art.evidence(r.line), subject=r.name
                )
                continue
            link = r.annotations[key].strip()
            ev = art.evidence(r.annotation_line(key))
            if "{{" in link or "$" in link:
                yield Result.not_applicable(
                    f"alert {r.name}: templated runbook link {link!r}", ev, subject=r.name
                )
                continue
            path = None
            if link.startswith(("http://", "https://")):
                m = _REPO_URL.match(link)
                if m:
                    tail = m.group("path")
                    parent = posixpath.dirname(tail)
                    if (
                        not ctx.index.exists(tail)
                        and parent
                        and any(f.startswith(parent + "/") for f in ctx.index.files)
                    ):
                        path = tail
                if path is None:
                    yield Result.passed(f"alert {r.name} runbook {link}", ev, subject=r.name)
                    continue
            else:
                path = posixpath.normpath(
                    link.split("#", 1)[0].lstrip("./")
                    if not link.startswith("../")
                    else link.split("#", 1)[0]
                )
            if ctx.index.exists(path):
                yield Result.passed(f"alert {r.name} runbook {path} exists", ev, subject=r.name)
            else:
                yield Result.fail(
                    f"{art.label}: alert {r.name} runbook {link} does not exist in the tree",
                    ev,
                    subject=r.name,
                    runbook=link,
                )
    if not found:
        yield Result.not_applicable("no alerting rules found")


_RATE_FUNCS = {"rate", "irate", "increase", "delta", "idelta"}


@check("MON009", "rate-window", category="monitoring", severity="medium", pillar="reliability")
def rate_window(ctx: ScanContext) -> Iterator[Result]:
    """`rate()`/`increase()` windows are at least 4x the scrape interval of the job they read.

    What it does
        For every `rate`, `irate`, `increase`, `delta` and `idelta` over a range selector in alert
        and recording rules, finds the scrape interval of the job the selector reads (its `job`
        matcher, else the jobs producing the metric, else the global interval) and fails windows
        shorter than 4x that interval (configurable: `monitoring.rate_window_factor`).
    Why it matters
        `rate()` needs two samples in the window; with one missed scrape a window of 2x the
        interval returns nothing, and the alert silently stops evaluating (or flaps).
    Example
        scrape_interval: 15s
        expr: rate(nginx_http_requests_total[30s]) > 100     # 30s < 4 x 15s
    Fix
        Use a window of at least 4x the interval (`[1m]` at 15s, `[5m]` is common).
    References
        https://www.robustperception.io/what-range-should-i-use-with-rate/
    """
    topo = topology(ctx)
    factor = float(ctx.settings("monitoring").get("rate_window_factor", 4))
    default = max((c.scrape_interval for _, c in topo.configs), default=None)
    found = False
    for art, rf in topo.rules:
        for r in rf.rules:
            if r.ast is None:
                continue
            for func, arg in promql.range_calls(r.ast):
                if func not in _RATE_FUNCS or not isinstance(arg, promql.MatrixSelector):
                    continue
                got = topo.interval_for(arg.vector)
                interval, job = got if got else (default, "global") if default else (None, "")
                if interval is None:
                    continue
                found = True
                ev = art.evidence(r.line_of("expr"))
                what = f"{r.name}: {func}(...[{arg.range_text}]) over job {job} (scrape {promql.format_duration(interval)})"
                if arg.range < factor * interval:
                    yield Result.fail(
                        f"{art.label}: {what}: window below {factor:g}x the scrape interval",
                        ev,
                        subject=r.name,
                        window=arg.range_text,
                        scrape_interval=promql.format_duration(interval),
                    )
                else:
                    yield Result.passed(what, ev, subject=r.name)
    if not found:
        yield Result.not_applicable("no rate()/increase() over a scraped job found")


@check("MON010", "alert-coverage", category="monitoring", severity="high", pillar="observability")
def alert_coverage(ctx: ScanContext) -> Iterator[Result]:
    """Alerts cover every required failure class (coverage matrix).

    What it does
        Sorts every alert into classes by name, metrics and functions: target/exporter down,
        CPU, memory, disk fill, disk fill prediction (`predict_linear`), Nginx, PHP-FPM, MySQL,
        Redis, backup freshness, certificate expiry, scrape failures, Prometheus and Alertmanager
        self-monitoring. One result per class: pass with the covering alerts as evidence (and
        their count), fail naming a class no alert covers. Classes are configurable under
        `monitoring.coverage` (`required: [...]`, `classes: {name: {names, metrics}}`).
    Why it matters
        A long list of alerts can still miss the failure that takes the service down: a backup
        that silently stopped, a certificate that expires on Sunday, a Prometheus that cannot
        reach Alertmanager.
    Example
        No alert uses a backup metric (`chom_backup_last_success_timestamp_seconds`): a week of
        failed backups goes unnoticed until the restore.
    Fix
        Add an alert for the missing class, e.g.
        `time() - chom_backup_last_success_timestamp_seconds > 26*3600` for backup freshness.
    References
        https://samber.github.io/awesome-prometheus-alerts/
    """
    topo = topology(ctx)
    alerts = [(art, r) for art, rf in topo.rules for r in rf.alerts]
    if not alerts:
        yield Result.not_applicable("no alerting rules found")
        return
    classes = coverage_classes(ctx.settings("monitoring"))
    anchor = next(((a, c) for a, c in topo.configs if c.rule_files_line), None)
    explicit = bool((ctx.settings("monitoring").get("coverage") or {}).get("required"))
    for name, spec in classes.items():
        hits = [(a, r) for a, r in alerts if alert_in_class(r.name, r.expr, r.ast, spec)]
        title = str(spec.get("title", name))
        if (
            not hits
            and spec.get("component")
            and not explicit
            and component_present(ctx, str(spec["component"])) is None
        ):
            yield Result.not_applicable(
                f"no alert covers {title}, and nothing shows this deployment runs it "
                "(no scrape job, unit, site, script or cron line mentions it)",
                subject=name,
            )
            continue
        if hits:
            yield Result.passed(
                f"{title}: covered by {', '.join(sorted({r.name for _, r in hits}))}",
                *[a.evidence(r.line) for a, r in hits],
                subject=name,
                alerts=len(hits),
                alert_names=sorted({r.name for _, r in hits}),
            )
        else:
            if anchor:
                ev = anchor[0].evidence(anchor[1].rule_files_line, note="rule files loaded here")
            else:
                ev = alerts[0][0].evidence(1, note="no alert of this class in the rule files")
            yield Result.fail(
                f"no alert covers {title} ({len(alerts)} alerts checked)", ev, subject=name, alerts=0
            )


@check("MON011", "alert-metrics-scraped", category="monitoring", severity="high", pillar="observability")
def alert_metrics_scraped(ctx: ScanContext) -> Iterator[Result]:
    """Every metric an alert uses is produced by something Prometheus scrapes.

    What it does
        For every alerting rule, takes the metric names of its expression and looks each up in
        the metric catalog of the exporters the scrape jobs scrape (job recognised by name,
        target port, or `monitoring.job_exporters`); recording-rule outputs, `up`, `ALERTS` and
        other series Prometheus creates always exist, and metrics prefixed with a job's name
        (`chom_app_*` for job `chom-app`) or listed in `monitoring.job_metrics` belong to that
        job. With `--prometheus-url URL`, the live `/api/v1/label/__name__/values` answers.
    Why it matters
        An alert on a metric nothing scrapes is always silent: `probe_ssl_earliest_cert_expiry`
        without a blackbox exporter never says the certificate is expiring. No linter sees this.
    Example
        - alert: SSLCertificateExpiringSoon
          expr: probe_ssl_earliest_cert_expiry - time() < 14 * 86400    # no blackbox job
    Fix
        Add the scrape job for the exporter (and its firewall rule), or fix the metric name.
    References
        https://prometheus.io/docs/instrumenting/exporters/
    """
    topo = topology(ctx)
    url = ctx.options.extra.get("prometheus_url")
    live: set[str] | None = None
    if url:
        try:
            live = live_metric_names(str(url))
        except live_error_types() as exc:
            yield Result.error(f"cannot list metrics from {url}: {exc}", Evidence(note=str(url)))
            return
    found = False
    for art, rf in topo.rules:
        for r in rf.alerts:
            if r.ast is None:
                continue
            found = True
            metrics = r.metrics
            if live is not None:
                missing = [
                    m
                    for m in metrics
                    if m not in live and m not in topo.recorded and m not in ("ALERTS", "ALERTS_FOR_STATE")
                ]
                source = f"live Prometheus {url}"
            else:
                missing = [m for m in metrics if not topo.exists(m)]
                source = "the scrape jobs" if topo.jobs else "any scrape job (no Prometheus config found)"
            ev = art.evidence(r.line_of("expr"))
            if missing:
                yield Result.fail(
                    f"{art.label}: alert {r.name} uses {', '.join(missing)}, not produced by {source}",
                    ev,
                    subject=r.name,
                    missing=missing,
                )
            else:
                yield Result.passed(
                    f"alert {r.name}: {', '.join(metrics) or 'no metric'} produced by {source}",
                    ev,
                    subject=r.name,
                )
    if not found:
        yield Result.not_applicable("no parseable alerting rules found")
