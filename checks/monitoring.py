"""Prometheus: config and rule files valid and wired, alerts well-formed, covered and on scraped metrics."""

from __future__ import annotations

import contextlib
import fnmatch
import re
from collections.abc import Iterator

from chom_validate.api import Context as ScanContext
from chom_validate.artifacts import Artifact, ArtifactParseError, promql
from chom_validate.artifacts.base import Place
from chom_validate.artifacts.prometheus import RuleFile
from chom_validate.artifacts.yamlfile import LineDict, load_yaml
from chom_validate.facts.anchors import top_key_line
from chom_validate.facts.monitoring import (
    catalog,
    component_present,
    compose_services,
    is_templated,
    retired,
    rule_file_matches,
    topology,
)
from chom_validate.findings import Evidence, Result
from chom_validate.registry import check

from ._monitoring_util import (
    DEFAULT_SEVERITIES,
    alert_in_class,
    coverage_classes,
    grouped_fail,
    grouped_na,
    grouped_pass,
    live_metric_names,
    local_runbook_path,
    metric_names_request,
    prometheus_gets,
)


def _groups_evidence(a: Artifact, note: str) -> Evidence:
    """A rule file that lacks an alert: its ``groups:`` key, where one belongs (else the file)."""
    line = top_key_line(a, "groups")
    return a.evidence(line, note=f"{note}; an alert belongs under `groups:`" if line else note)


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
    Severity
        Medium: one bad sample pages someone; the resulting alert fatigue gets real pages ignored, but
        nothing breaks by itself.
    """
    found = False
    missing: list[tuple[str, Place]] = []
    for art, rules in ctx.parsed("prometheus_rules"):
        ok: list[tuple[str, int | None]] = []
        for rule in rules.alerts:
            found = True
            if rule.for_ is None or rule.for_.strip() in ("0", "0s", "0m"):
                how = "no `for:`" if rule.for_ is None else f"`for: {rule.for_.strip()}`"
                missing.append((rule.name, Place(art, rule.line, f"{rule.name}: {how}")))
            else:
                ok.append((f"{rule.name} for {rule.for_}", rule.line_of("for")))
        if ok:
            yield grouped_pass("alerts with a `for:` duration", art, ok)
    if missing:
        yield grouped_fail("alerts without `for:` (one bad sample pages someone)", missing, subject="for")
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
    Severity
        High: Prometheus refuses to start or reload the config; after a deploy monitoring runs an old
        config, or nothing.
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
    Severity
        High: Prometheus rejects the whole rule file on reload, so every alert in it silently stops
        being evaluated.
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
        install path) and fails patterns that match no rule file, patterns whose files hold zero
        rules (`groups: []`, groups with `rules: []`), and rule files no pattern loads.
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
    Severity
        High: the alerts of a file Prometheus never loads never fire, while the repository says they
        are in place.
    """
    topo = topology(ctx)
    rules = [a for a in ctx.artifacts("prometheus_rules")]
    if not topo.configs and not rules:
        yield Result.not_applicable("no Prometheus config or rule files found")
        return
    loaded: set[int] = set()
    counts = {id(a): len(rf.alerts) + len(rf.records) for a, rf in ctx.parsed("prometheus_rules")}
    for cart, cfg in topo.configs:
        for pattern, line in cfg.rule_files:
            hits = [r for r in rules if rule_file_matches(pattern, cart, r)]
            loaded |= {id(r) for r in hits}
            # files the pattern matches that hold no rules at all (`groups: []`, empty): not rule artifacts
            hollow = [
                a
                for a in ctx.artifacts("yaml")
                if not a.embedded
                and rule_file_matches(pattern, cart, a)
                and (not a.text.strip() or re.search(r"^groups\s*:", a.text, re.M))
                and not re.search(r"^\s*-?\s*(alert|record)\s*:", a.text, re.M)
            ]
            if (hits or hollow) and not any(counts.get(id(r), 1) for r in hits):
                empty = [*hits, *hollow]
                yield Result.fail(
                    f"{cart.label}: rule_files {pattern!r} loads {len(empty)} file(s) that hold zero rules "
                    "(no groups or empty groups): Prometheus evaluates nothing from it",
                    cart.evidence(line),
                    *[r.evidence(1, note="0 alerting and 0 recording rules") for r in empty[:10]],
                    subject=pattern,
                )
                continue
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
                r.evidence(None, note="rule file present but not referenced"),
                *(
                    c.evidence(cfg.rule_files_line, note="rule_files: a pattern for it belongs here")
                    for c, cfg in topo.configs[:3]
                    if cfg.rule_files_line
                ),
                subject=r.path,
            )
    if not rules and not any(cfg.rule_files for _, cfg in topo.configs):
        yield Result.not_applicable(
            "the Prometheus config loads no rule files and there are none in the tree",
            *[cart.evidence(None, note="no rule_files") for cart, _ in topo.configs[:5]],
        )


@check("MON005", "unique-jobs-and-alerts", category="monitoring", severity="medium", pillar="observability")
def unique_jobs_and_alerts(ctx: ScanContext) -> Iterator[Result]:
    """Scrape job names and rules are not duplicated within what one Prometheus loads.

    What it does
        Per Prometheus config: fails a `job_name` defined twice, and an alert or recording rule
        defined twice (same name, same labels, same expression) across the rule files that config
        loads. Without a config, each rule file is judged on its own. Two configs are alternatives
        (a main and a helper config), not one Prometheus: their jobs are not compared.
    Why it matters
        Duplicate jobs scrape twice and double every rate; a duplicated alert pages twice. Same-name
        rules with other labels or expressions (warning/critical pairs, multi-window burn rates,
        one recording rule per status class) are distinct series, not duplicates.
    Example
        rules/node.yml:   - alert: InstanceDown   expr: up == 0
        rules/extra.yml:  - alert: InstanceDown   expr: up == 0    # both loaded by rules/*.yml
    Fix
        Delete or rename one of the definitions.
    References
        https://prometheus.io/docs/practices/alerting/
    Severity
        Medium: doubled scrapes skew every rate and duplicated alerts page twice; alerting still
        works.
    """
    topo = topology(ctx)
    scopes: list[tuple[str, list[tuple[Artifact, RuleFile]]]] = []
    loaded: set[int] = set()
    for cart, cfg in topo.configs:
        files = [
            (a, rf)
            for a, rf in topo.rules
            if any(rule_file_matches(pat, cart, a) for pat, _ in cfg.rule_files)
        ]
        loaded |= {id(a) for a, _ in files}
        scopes.append((cart.label, files))
    scopes += [(a.label, [(a, rf)]) for a, rf in topo.rules if id(a) not in loaded]
    dups: list[tuple[str, list[Evidence]]] = []
    for cart, cfg in topo.configs:
        jobs: dict[str, list[Evidence]] = {}
        for job in cfg.jobs:
            jobs.setdefault(job.name, []).append(cart.evidence(job.line))
        dups += [(f"scrape job {n!r} in {cart.label}", evs) for n, evs in jobs.items() if len(evs) > 1]
    nrules = 0
    for where, files in scopes:
        seen: dict[tuple[str, str, str, str], list[tuple[Artifact, int]]] = {}
        for art, rf in files:
            for r in rf.rules:
                nrules += 1
                key = (r.kind, r.name, repr(sorted(r.labels.items())), " ".join(r.expr.split()))
                seen.setdefault(key, []).append((art, r.line))
        for (kind, name, _, _), places in seen.items():
            if len(places) > 1:  # evidence only for the duplicates (a rule file may hold 20,000 rules)
                what = "alert" if kind == "alert" else "recording rule"
                evs = [a.evidence(line) for a, line in places]
                dups.append((f"{what} {name} ({len(evs)}x, loaded by {where})", evs))
    if not topo.configs and not topo.rules:
        yield Result.not_applicable("no scrape jobs or rules found")
        return
    if dups:
        res = grouped_fail(
            "defined more than once in what one Prometheus loads",
            [(n, evs[0]) for n, evs in dups],
            subject="duplicates",
        )
        res.evidence += [ev for _, evs in dups for ev in evs[1:]]  # every copy is a place to fix
        yield res
        return
    yield Result.passed(
        f"{sum(len(c.jobs) for _, c in topo.configs)} scrape jobs and {nrules} rules, no duplicates",
        *(a.evidence(1) for a, _ in topo.rules[:1]),
        *(c.evidence(1) for c, _ in topo.configs[:1]),
        jobs=sum(len(c.jobs) for _, c in topo.configs),
        rules=nrules,
    )


@check("MON006", "alert-severity", category="monitoring", severity="medium", pillar="operations")
def alert_severity(ctx: ScanContext) -> Iterator[Result]:
    """Every alert has a `severity` label from the agreed set.

    What it does
        Checks that each alerting rule carries `labels.severity` with a value from the configured
        set (default `critical`, `warning`, `info`; override with `monitoring.severities` in
        chom-validate.yaml). Alerts without a severity are one finding listing them all, alerts
        with an unknown one another; the alerts that pass are one result per rule file.
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
    Severity
        Medium: the alert falls through to the default route and may never page; it still reaches the
        default receiver.
    """
    allowed = [str(s) for s in ctx.settings("monitoring").get("severities") or DEFAULT_SEVERITIES]
    found = False
    unlabelled: list[tuple[str, Place]] = []
    unknown: list[tuple[str, Place]] = []
    for art, rf in ctx.parsed("prometheus_rules"):
        ok: list[tuple[str, int | None]] = []
        severities: dict[str, str] = {}
        templated: list[tuple[str, int | None]] = []
        for r in rf.alerts:
            found = True
            sev = r.labels.get("severity")
            if sev is None:
                unlabelled.append((r.name, Place(art, r.line, f"{r.name}: no severity label")))
            elif "{{" in sev:
                templated.append((f"{r.name} ({sev})", r.label_line("severity")))
            elif sev not in allowed:
                unknown.append((f"{r.name} ({sev!r})", Place(art, r.label_line("severity"), f"severity {sev!r}")))
            else:
                ok.append((f"{r.name} ({sev})", r.label_line("severity")))
                severities[r.name] = sev
        if ok:
            yield grouped_pass("alerts with an agreed severity", art, ok, severities=severities)
        if templated:
            yield grouped_na("alerts with a templated severity, not judged", art, templated)
    if unlabelled:
        yield grouped_fail("alerts without a severity label", unlabelled, subject="severity")
    if unknown:
        yield grouped_fail(
            f"alerts with a severity outside {', '.join(allowed)}", unknown, subject="severity value"
        )
    if not found:
        yield Result.not_applicable("no alerting rules found")


@check("MON007", "alert-annotations", category="monitoring", severity="low", pillar="operations")
def alert_annotations(ctx: ScanContext) -> Iterator[Result]:
    """Every alert has `summary` and `description` annotations.

    What it does
        Checks that each alerting rule has non-empty `annotations.summary` and
        `annotations.description`. The alerts lacking either are one finding listing them all.
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
    Severity
        Low: the alert fires and is delivered; the on-call engineer only loses time working out what
        it means.
    """
    found = False
    lacking: list[tuple[str, Place]] = []
    for art, rf in ctx.parsed("prometheus_rules"):
        ok: list[tuple[str, int | None]] = []
        for r in rf.alerts:
            found = True
            missing = [k for k in ("summary", "description") if not r.annotations.get(k, "").strip()]
            if missing:
                what = f"no {' and no '.join(missing)}"
                lacking.append((f"{r.name} ({what})", Place(art, r.line, f"{r.name}: {what}")))
            else:
                ok.append((r.name, r.annotation_line("summary")))
        if ok:
            yield grouped_pass("alerts with a summary and a description", art, ok)
    if lacking:
        yield grouped_fail("alerts without a summary or description annotation", lacking, subject="annotations")
    if not found:
        yield Result.not_applicable("no alerting rules found")


@check("MON008", "alert-runbook", category="monitoring", severity="medium", pillar="operations")
def alert_runbook(ctx: ScanContext) -> Iterator[Result]:
    """Alerts link a runbook (`runbook_url` or `runbook`), and links into this repository resolve.

    What it does
        Reads `annotations.runbook_url` (or `runbook`). A relative path must be a file in the tree
        (e.g. `docs/runbooks/mysql-down.md`); an http(s) URL passes (an external page cannot be
        verified offline), except a repository URL (`.../blob/main/docs/runbooks/x.md`) whose
        directory is in the tree but whose file is not. Templated links are not judged. Alerts
        with no runbook are one finding listing them all; broken links are another.
    Why it matters
        An alert that pages with a link that 404s costs the on-call engineer the first ten
        minutes of every incident. Severity: a broken link is medium (someone believed it was
        written); an alert with no runbook at all is low, a documentation policy choice.
    Example
        runbook_url: docs/runbooks/php-fpm-saturation.md     # file does not exist
    Fix
        Write the runbook, or point the link at the existing file (kebab-case names in
        `docs/runbooks/`).
    References
        https://sre.google/sre-book/being-on-call/
    Severity
        Medium for a link to a file that does not exist (someone believed it was written); an alert
        with no runbook at all is reported at low, a documentation policy choice.
    """
    found = False
    absent: list[tuple[str, Place]] = []
    broken: list[tuple[str, Place]] = []
    for art, rf in ctx.parsed("prometheus_rules"):
        ok: list[tuple[str, int | None]] = []
        templated: list[tuple[str, int | None]] = []
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
                absent.append((r.name, Place(art, r.line, f"{r.name}: no runbook_url")))
                continue
            link = r.annotations[key].strip()
            if "{{" in link or "$" in link:
                templated.append((f"{r.name} ({link})", r.annotation_line(key)))
                continue
            path = local_runbook_path(ctx, link)
            if path is None:
                ok.append((f"{r.name} -> {link} (external)", r.annotation_line(key)))
            elif ctx.index.exists(path):
                ok.append((f"{r.name} -> {path}", r.annotation_line(key)))
            else:
                broken.append(
                    (
                        f"{r.name} -> {link}",
                        Place(art, r.annotation_line(key), f"{link} does not exist"),
                    )
                )
        if ok:
            yield grouped_pass("alerts linking a runbook that exists or is external", art, ok)
        if templated:
            yield grouped_na("alerts with a templated runbook link, not judged", art, templated)
    if broken:
        yield grouped_fail("runbook links to files that do not exist in the tree", broken, subject="runbook")
    if absent:
        yield grouped_fail("alerts without runbook_url", absent, subject="runbook_url", severity="low")
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
    Severity
        Medium: the alert goes silent or flaps after a missed scrape; the other alerts keep working.
    """
    topo = topology(ctx)
    factor = float(ctx.settings("monitoring").get("rate_window_factor", 4))
    default = max((c.scrape_interval for _, c in topo.configs), default=None)
    found = False
    short: dict[tuple[str, str, str], list[tuple[str, Place]]] = {}  # (job, window, interval): places
    for art, rf in topo.rules:
        ok: list[tuple[str, int | None]] = []
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
                what = f"{r.name}: {func}(...[{arg.range_text}]) over job {job} (scrape {promql.format_duration(interval)})"
                if arg.range < factor * interval:
                    key = (job, arg.range_text, promql.format_duration(interval))
                    short.setdefault(key, []).append((f"{r.name} ({func})", Place(art, r.line_of("expr"), what)))
                else:
                    ok.append((what, r.line_of("expr")))
        if ok:
            yield grouped_pass(f"rate windows at least {factor:g}x the scrape interval", art, ok)
    for (job, window, scrape), places in short.items():  # one window on one job's interval: one cause
        yield grouped_fail(
            f"[{window}] windows over job {job} (scrape {scrape}): below {factor:g}x the scrape interval",
            places,
            subject=f"{job} [{window}]",
            window=window,
            scrape_interval=scrape,
        )
    if not found:
        yield Result.not_applicable("no rate()/increase() over a scraped job found")


@check("MON010", "alert-coverage", category="monitoring", severity="medium", pillar="observability")
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
        Severity medium: a gap is a blind spot, not an outage. The matrix describes a deployment:
        a rule catalog without any Prometheus config (a mixin, a library of alerts) is not
        judged, and all uncovered classes are one finding.
    References
        https://samber.github.io/awesome-prometheus-alerts/
    Severity
        Medium: an uncovered failure class is a blind spot, not an outage by itself.
    """
    topo = topology(ctx)
    alerts = [(art, r) for art, rf in topo.rules for r in rf.alerts]
    if not alerts:
        yield Result.not_applicable("no alerting rules found")
        return
    if not topo.configs:
        yield Result.not_applicable(
            "no Prometheus config in the target: a rule catalog is not a deployment, coverage not judged"
        )
        return
    uncovered: list[str] = []
    uncovered_keys: list[str] = []
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
            uncovered.append(title)
            uncovered_keys.append(name)
    if uncovered:
        if anchor:
            ev = anchor[0].evidence(anchor[1].rule_files_line, note="rule files loaded here")
        else:
            ev = _groups_evidence(alerts[0][0], "no alert of these classes in the rule files")
        yield Result.fail(
            f"no alert covers {', '.join(uncovered)} ({len(alerts)} alerts checked)",
            ev,
            subject=",".join(uncovered_keys),
            uncovered=uncovered,
        )


@check(
    "MON011",
    "alert-metrics-scraped",
    category="monitoring",
    severity="high",
    pillar="observability",
    http=prometheus_gets,
)
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
    Severity
        High: an alert on a metric nothing scrapes can never fire, so the failure it guards goes
        unnoticed.
    """
    topo = topology(ctx)
    url = ctx.options.extra.get("prometheus_url")
    live: set[str] | None = None
    if url:
        try:
            live = live_metric_names(ctx.http(metric_names_request(str(url))))
        except ValueError as exc:
            yield Result.error(f"cannot list metrics from {url}: {exc}", Evidence(note=str(url)))
            return
    if live is None and not topo.configs:
        yield Result.not_applicable(
            "no Prometheus config in the target: which metrics are scraped is unknown "
            "(a rule catalog is not a deployment; use --prometheus-url to compare with a live server)"
        )
        return
    found = False
    source = ""
    unscraped: list[tuple[str, Place]] = []
    for art, rf in topo.rules:
        ok: list[tuple[str, int | None]] = []
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
                source = "the scrape jobs" if topo.jobs else "any scrape job (the Prometheus config has none)"
            if missing:
                why = "; ".join(f"{m}: {retired(m)}" for m in missing if retired(m))
                unscraped.append((f"{r.name} ({', '.join(missing)})", Place(art, r.line_of("expr"), why or None)))
            else:
                ok.append((f"{r.name} ({', '.join(metrics) or 'no metric'})", r.line_of("expr")))
        if ok:
            yield grouped_pass(f"alerts whose metrics are produced by {source}", art, ok)
    if unscraped:
        yield grouped_fail(
            f"alerts on metrics not produced by {source} (they can never fire)", unscraped, subject="metrics"
        )
    if not found:
        yield Result.not_applicable("no parseable alerting rules found")


_CONTAINER_LABELS = ("name", "container_name", "container")
_SERVICE_LABEL = "container_label_com_docker_compose_service"


def _literals(m: promql.Matcher) -> list[str] | None:
    """The values an equality or plain-alternation matcher selects; None when it is a real regex."""
    if m.op == "=":
        return [m.value]
    if m.op == "=~" and re.fullmatch(r"[\w.-]+(\|[\w.-]+)*", m.value):
        return m.value.split("|")
    return None


def _inside_absent(ast: promql.Node) -> set[int]:
    return {
        id(s)
        for c in promql.calls(ast)
        if c.func in ("absent", "absent_over_time")
        for s in promql.selectors(c)
    }


@check("MON022", "alert-selectors-match", category="monitoring", severity="high", pillar="observability")
def alert_selectors_match(ctx: ScanContext) -> Iterator[Result]:
    """Alert selectors can match what the deployment's exporters expose (jobs, containers, filesystems).

    What it does
        For every alert of a tree with a Prometheus config, compares each selector's equality
        matchers with what exists: `job="x"` with the scrape job names (unless a job keeps pushed
        labels with `honor_labels` or relabels `job`); cAdvisor container matchers (`name=`,
        `container_label_com_docker_compose_service=`) with the containers the compose files run;
        `fstype=` on node_filesystem_* with the types node_exporter reports (its default
        `--collector.filesystem.fs-types-exclude`, or the flag the compose file passes, and types
        that no current host has). A selector that cannot match makes the alert silent; inside
        `absent()` it makes the alert fire permanently.
    Why it matters
        `node_filesystem_free_bytes{fstype="aufs"}` is the only disk-full alert of many stacks and
        has matched nothing since Docker removed aufs; `absent(container_memory_usage_bytes{name="jenkins"})`
        on a host without Jenkins pages "critical" forever and trains everyone to ignore pages.
        promtool accepts both. Severity high: the deployment has no working alert for the condition.
    Example
        expr: node_filesystem_free_bytes{fstype="aufs"} / node_filesystem_size_bytes{fstype="aufs"} < 0.1
    Fix
        Match what exists (`fstype=~"ext4|xfs"`, or `mountpoint="/"`), scrape the job the alert
        names, or delete example alerts for services the stack does not run.
    References
        https://github.com/prometheus/node_exporter#filesystem
    Severity
        High: a selector that matches nothing leaves the deployment without a working alert for the
        condition (or, inside absent(), with one that pages forever).
    """
    topo = topology(ctx)
    alerts = [(a, r) for a, rf in topo.rules for r in rf.alerts if r.ast is not None]
    if not topo.configs or not alerts:
        yield Result.not_applicable("no Prometheus config with alerting rules: what is scraped is unknown")
        return
    cat = catalog()
    services = compose_services(ctx.artifacts("yaml"))
    containers = {n for s in services for n in s.container_names()}
    service_names = {s.name for s in services}
    free_job = any(
        j.raw.get("honor_labels") is True or any(rl.target_label == "job" for rl in j.relabel_configs)
        for _, j, _ in topo.jobs
    )
    jobs = {j.name for _, j, _ in topo.jobs}
    fs = cat.get("label_values", {}).get("fstype", {})
    excluded = re.compile("^(" + "|".join(map(re.escape, fs.get("excluded") or [])) + ")$")
    for s in services:
        for word in s.command:
            if word.startswith(str(fs.get("exclude_flag", "-")) + "="):
                with contextlib.suppress(re.error):
                    excluded = re.compile(word.split("=", 1)[1].strip("'\""))
    dead: list[tuple[str, Evidence]] = []
    stuck: list[tuple[str, Evidence]] = []
    checked = 0
    reported: set[tuple[str, str, str]] = set()
    matched: list[Evidence] = []
    for art, r in alerts:
        in_absent = _inside_absent(r.ast) if r.ast is not None else set()
        for sel in promql.selectors(r.ast) if r.ast is not None else []:
            metric = sel.metric or ""
            for m in sel.matchers:
                values = _literals(m)
                if values is None:
                    continue
                why = None
                if m.name == "job" and not free_job:
                    checked += 1
                    if not any(v in jobs for v in values):
                        why = f"no scrape job is named {m.value!r} (jobs: {', '.join(sorted(jobs))})"
                elif m.name == "fstype" and any(
                    fnmatch.fnmatchcase(metric, g) for g in fs.get("metrics") or []
                ):
                    checked += 1
                    gone = {v: (fs.get("retired") or {}).get(v) for v in values}
                    if all(gone[v] or excluded.match(v) for v in values):
                        why = "; ".join(
                            gone[v] or f"{v} is excluded by node_exporter's filesystem collector"
                            for v in values
                        )
                elif (
                    services
                    and metric in cat["exporters"]["cadvisor"]["names"]
                    and m.name in (*_CONTAINER_LABELS, _SERVICE_LABEL)
                ):
                    checked += 1
                    known = service_names if m.name == _SERVICE_LABEL else containers
                    if not any(v in known for v in values):
                        why = f"no container named {m.value!r} runs: the compose files run " + ", ".join(
                            sorted(service_names)
                        )
                if why is None:
                    if len(matched) < 10 and m.name in ("job", "fstype", *_CONTAINER_LABELS, _SERVICE_LABEL):
                        matched.append(
                            art.evidence(r.line_of("expr"), note=f"{r.name}: {m.name}{m.op}{m.value!r}")
                        )
                    continue
                if (r.name, m.name, m.value) in reported:
                    continue
                reported.add((r.name, m.name, m.value))
                what = f'{r.name}: {metric}{{{m.name}{m.op}"{m.value}"}}'
                ev = art.evidence(r.line_of("expr"), note=why)
                (stuck if id(sel) in in_absent else dead).append((f"{what} ({why})", ev))
    if stuck:
        yield grouped_fail(
            "alerts fire permanently: absent() of a series that can never exist", stuck, subject="absent"
        )
    if dead:
        yield grouped_fail(
            "alerts can never fire: their selectors match nothing the exporters expose",
            dead,
            subject="selectors",
        )
    if not stuck and not dead:
        if checked:
            yield Result.passed(
                f"{checked} job/container/filesystem matchers of {len(alerts)} alerts can match",
                *matched,
                checks=checked,
            )
        else:
            yield Result.not_applicable("no job, container or filesystem matchers in the alerts")


Labels = frozenset[str] | None  # None: the source series' labels, not known statically


def output_labels(n: promql.Node) -> Labels:
    """The label names an expression's result carries, when the expression decides them.

    Selectors keep whatever the series have (None); `sum()` keeps none, `sum by (a)` keeps `a`,
    `on(a)` matching keeps `a` (plus `group_left` labels), `absent(x{a="v"})` keeps `a`.
    """
    if isinstance(n, promql.VectorSelector | promql.MatrixSelector):
        return None
    if isinstance(n, promql.Number | promql.String):
        return frozenset()
    if isinstance(n, promql.Paren | promql.Unary):
        return output_labels(n.expr)
    if isinstance(n, promql.Subquery):
        return output_labels(n.expr)
    if isinstance(n, promql.Call):
        if n.func in ("scalar", "time", "vector", "pi"):
            return frozenset()
        if n.func in ("absent", "absent_over_time") and n.args:
            return frozenset(
                m.name
                for s in promql.selectors(n.args[0])
                for m in s.matchers
                if m.op == "=" and m.name != "__name__"
            )
        vec = [a for a in n.args if a.type in (promql.VECTOR, promql.MATRIX)]
        inner = output_labels(vec[0]) if vec else frozenset()
        if inner is None:
            return None
        if (
            n.func in ("label_replace", "label_join")
            and len(n.args) > 1
            and isinstance(n.args[1], promql.String)
        ):
            return inner | {n.args[1].value}
        if n.func == "histogram_quantile":
            return inner - {"le"}
        return inner
    if isinstance(n, promql.Aggregation):
        inner = output_labels(n.expr)
        if n.op in ("topk", "bottomk", "limitk", "limit_ratio"):
            return inner
        extra = {n.param.value} if n.op == "count_values" and isinstance(n.param, promql.String) else set()
        if n.without:
            return None if inner is None else inner - set(n.grouping) | extra
        return frozenset(n.grouping) | extra
    if isinstance(n, promql.Binary):
        lhs, rhs = output_labels(n.lhs), output_labels(n.rhs)
        if n.lhs.type == promql.SCALAR:
            return rhs
        if n.rhs.type == promql.SCALAR:
            return lhs
        if n.op in ("and", "unless"):
            return lhs
        if n.op == "or":
            return None if lhs is None or rhs is None else lhs | rhs
        side = rhs if n.group == "group_right" else lhs
        if n.group:
            return None if side is None else side | set(n.include)
        if n.matching == "on":
            return frozenset(n.labels)
        if n.matching == "ignoring":
            return None if side is None else side - set(n.labels)
        return side
    return None


_TEMPLATE_LABEL = re.compile(
    r"(?:\$labels|\.Labels)\.([A-Za-z_]\w*)|(?:\$labels|\.Labels)\s*\.?\s*\[?\s*\"(\w+)\""
)


@check("MON023", "alert-template-labels", category="monitoring", severity="medium", pillar="operations")
def alert_template_labels(ctx: ScanContext) -> Iterator[Result]:
    """Alert annotations only print labels the alert's expression keeps.

    What it does
        Works out which labels an alert's result carries (`sum()` keeps none, `sum by (instance)`
        keeps `instance`, `on(job)` keeps `job`, `absent(x{a="v"})` keeps `a`; plain selectors keep
        whatever the series have and are not judged), then fails every `{{ $labels.X }}` in the
        alert's labels and annotations that names a label the expression removed.
    Why it matters
        "Reported by instance  of job ." is what the on-call engineer reads when the description
        prints labels that `sum()` aggregated away: the page says something is wrong, not where.
        Usually the aggregation is the real bug: a bare `sum()` pools every host, so one host at
        95% is averaged away. Severity medium: the alert fires, but with less use than it promises.
    Example
        expr: sum(node_memory_Active_bytes) / sum(node_memory_MemTotal_bytes) > 0.85
        description: "memory high on {{ $labels.instance }}"
    Fix
        Aggregate `by (instance)` (and `job`), or remove the label from the text.
    References
        https://prometheus.io/docs/prometheus/latest/configuration/template_reference/
    Severity
        Medium: the alert fires, but its text does not say where; the aggregation often hides the one
        bad host.
    """
    found = False
    gone: list[tuple[str, Evidence]] = []
    judged: list[Evidence] = []
    for art, rf in ctx.parsed("prometheus_rules"):
        for r in rf.alerts:
            if r.ast is None:
                continue
            keep = output_labels(r.ast)
            if keep is None:
                continue
            found = True
            if len(judged) < 10:
                judged.append(
                    art.evidence(
                        r.line_of("expr"), note=f"{r.name} keeps {', '.join(sorted(keep)) or 'no labels'}"
                    )
                )
            for where, items, line_of in (
                ("annotation", r.annotations, r.annotation_line),
                ("label", r.labels, r.label_line),
            ):
                for key, text in items.items():
                    used = {a or b for a, b in _TEMPLATE_LABEL.findall(text)}
                    lost = sorted(used - keep - {"alertname"} - set(r.labels))
                    if lost:
                        kept = ", ".join(sorted(keep)) or "none"
                        gone.append(
                            (
                                f"{r.name} {where} {key}: {', '.join(lost)}",
                                art.evidence(
                                    line_of(key),
                                    note=f"prints {', '.join('$labels.' + x for x in lost)}; the expression keeps {kept}",
                                ),
                            )
                        )
    if gone:
        yield grouped_fail(
            "alert texts print labels their expression aggregates away (they render empty)",
            gone,
            subject="labels",
        )
    elif found:
        yield Result.passed("alert texts only print labels their expressions keep", *judged)
    else:
        yield Result.not_applicable("no alert whose expression fixes its labels")


_ADMIN_FLAGS = ("--web.enable-lifecycle", "--web.enable-admin-api")


@check("MON026", "monitoring-admin-api-exposed", category="monitoring", severity="high", pillar="security")
def monitoring_admin_api_exposed(ctx: ScanContext) -> Iterator[Result]:
    """Prometheus's lifecycle and admin APIs are not published beyond the host.

    What it does
        For compose services running Prometheus with `--web.enable-lifecycle` or
        `--web.enable-admin-api`, fails when the service publishes a port on a non-loopback
        address (`ports: ["9090:9090"]`, or `network_mode: host` without a loopback
        `--web.listen-address`). A service reached only through `expose:` (behind a proxy of the
        same stack) passes: the proxy's authentication is judged by the proxy and secrets checks.
    Why it matters
        Prometheus has no authentication of its own: anyone who reaches the port can
        `POST /-/quit` (monitoring stops), `/-/reload`, or with the admin API delete every series
        (`/api/v1/admin/tsdb/delete_series`). Severity high: one request blinds the monitoring.
    Example
        prometheus:
          command: ['--web.enable-lifecycle']
          ports: ['9090:9090']
    Fix
        Publish on `127.0.0.1:9090:9090` (or only `expose:` it behind an authenticating proxy),
        or drop the flags and reload with SIGHUP.
    References
        https://prometheus.io/docs/prometheus/latest/management_api/
    Severity
        High: one unauthenticated request stops Prometheus or deletes its data, blinding the
        monitoring.
    """
    services = [s for s in compose_services(ctx.artifacts("yaml")) if s.tool == "prometheus"]
    flagged = [(s, [f for f in _ADMIN_FLAGS if s.flag(f) is not None]) for s in services]
    flagged = [(s, f) for s, f in flagged if f]
    if not flagged:
        yield Result.not_applicable("no containerised Prometheus with the lifecycle or admin API enabled")
        return
    for s, flags in flagged:
        listen = s.flag("--web.listen-address")
        open_ = s.published()
        if (
            s.network_mode == "host"
            and isinstance(listen, str)
            and listen.startswith(("127.0.0.1:", "localhost:"))
        ):
            open_ = []
        ev = s.art.evidence(s.command_line(flags[0]), note=", ".join(flags))
        if open_:
            where = ", ".join(f"{h}:{p}" for h, p in open_)
            yield Result.fail(
                f"{s.art.label}: {s.name} runs {' and '.join(flags)} and is published on {where}: "
                "anyone reaching it can stop Prometheus or delete its data",
                ev,
                s.art.evidence(s.line_of("ports") if "ports" in s.raw else s.line_of("network_mode")),
                subject=s.name,
            )
        else:
            yield Result.passed(
                f"{s.name}: {' and '.join(flags)} enabled, port not published beyond the host",
                ev,
                subject=s.name,
            )


_DEADMAN_NAME = re.compile(r"watchdog|dead.?man|heartbeat|always.?firing|sentinel", re.I)
_DELIVERY_METRICS = (
    "alertmanager_notifications_failed_total",
    "alertmanager_notification_requests_failed_total",
    "prometheus_notifications_errors_total",
    "prometheus_notifications_dropped_total",
    "prometheus_notifications_alertmanagers_discovered",
)


def _always_fires(r: object) -> bool:
    ast = getattr(r, "ast", None)
    if ast is None:
        return False
    inner = ast.expr if isinstance(ast, promql.Paren) else ast
    return (isinstance(inner, promql.Call) and inner.func == "vector") or isinstance(inner, promql.Number)


@check("MON027", "alert-delivery-monitored", category="monitoring", severity="medium", pillar="observability")
def alert_delivery_monitored(ctx: ScanContext) -> Iterator[Result]:
    """The alert delivery path is watched: a dead-man's switch and alerts on failed notifications.

    What it does
        For a Prometheus config that sends alerts (`alerting.alertmanagers`), looks for: an
        always-firing alert (`expr: vector(1)`, Watchdog/DeadMansSwitch) for an external dead-man's
        switch; an alert on notification failures (`alertmanager_notifications_failed_total`,
        `prometheus_notifications_errors_total`/`_dropped_total`); and a scrape job or `up` alert
        for Alertmanager itself. Everything missing is one finding.
    Why it matters
        Every other alert travels through Prometheus -> Alertmanager -> receiver. When that path
        breaks (a placeholder webhook, Alertmanager down, an expired token) nothing reports it: the
        silence looks like health. Severity medium: it does not break alerting, it hides when
        alerting is broken.
    Example
        alerting: {alertmanagers: [{static_configs: [{targets: ['alertmanager:9093']}]}]}
        # no job scrapes alertmanager, no Watchdog, no rule on notification failures
    Fix
        Add `- alert: Watchdog  expr: vector(1)` routed to a dead-man's-switch service, scrape
        Alertmanager, and alert on `rate(alertmanager_notifications_failed_total[5m]) > 0`.
    References
        https://runbooks.prometheus-operator.dev/runbooks/general/watchdog/
    Severity
        Medium: it does not break alerting, it hides when alerting is broken.
    """
    topo = topology(ctx)
    senders = [
        (a, c) for a, c in topo.configs if c.alertmanagers or "alertmanagers" in (c.raw.get("alerting") or {})
    ]
    if not senders:
        yield Result.not_applicable("no Prometheus config sends alerts to an Alertmanager")
        return
    alerts = [(a, r) for a, rf in topo.rules for r in rf.alerts]
    deadman = [(a, r) for a, r in alerts if _always_fires(r) or _DEADMAN_NAME.search(r.name)]
    delivery = [(a, r) for a, r in alerts if any(m in _DELIVERY_METRICS for m in r.metrics)]
    am_jobs = [(a, j) for a, j, e in topo.jobs if e == "alertmanager"]
    missing = []
    if not deadman:
        missing.append("no always-firing Watchdog alert for an external dead-man's switch")
    if not delivery:
        missing.append("no alert on failed or dropped notifications")
    if not am_jobs:
        missing.append("no scrape job for Alertmanager (an `up == 0` alert cannot see it go down)")
    cart, cfg = senders[0]
    alerting_line = cfg.raw.line_of("alerting") if "alerting" in cfg.raw else None
    if missing:
        evs = [
            cart.evidence(alerting_line, note="alerts are sent from here")
            if alerting_line
            else cart.evidence(None, note="sends alerts (no `alerting:` block in the config)")
        ]
        if cfg.rule_files_line:
            evs.append(cart.evidence(cfg.rule_files_line, note="rule files: none watches delivery"))
        if not am_jobs and "scrape_configs" in cfg.raw:
            evs.append(
                cart.evidence(
                    cfg.raw.line_of("scrape_configs"), note="no Alertmanager job among the scrape configs"
                )
            )
        evs += [_groups_evidence(a, "rule file") for a, _ in topo.rules[:3]]
        yield Result.fail(
            "alert delivery is unmonitored: " + "; ".join(missing), *evs, subject="delivery", missing=missing
        )
    else:
        yield Result.passed(
            f"delivery watched by {deadman[0][1].name}, {delivery[0][1].name} and job {am_jobs[0][1].name}",
            deadman[0][0].evidence(deadman[0][1].line),
            delivery[0][0].evidence(delivery[0][1].line),
            am_jobs[0][0].evidence(am_jobs[0][1].line),
        )


_LOKI_KEYS = ("schema_config", "ingester", "limits_config", "storage_config", "compactor", "query_range")


def _loki_configs(ctx: ScanContext) -> list[tuple[Artifact, LineDict]]:
    """Loki configs: YAML with Loki's own top-level sections (no kind of their own in discovery)."""

    def build() -> list[tuple[Artifact, LineDict]]:
        out = []
        for art in ctx.artifacts("yaml"):
            if "schema_config" not in art.text and "limits_config" not in art.text:
                continue
            try:
                data = load_yaml(art.text)
            except ArtifactParseError:
                continue
            if isinstance(data, LineDict) and sum(k in data for k in _LOKI_KEYS) >= 2:
                out.append((art, data))
        return out

    result: list[tuple[Artifact, LineDict]] = ctx.derived("monitoring:loki", build)
    return result


def _section(d: LineDict, key: str) -> LineDict:
    v = d.get(key)
    return v if isinstance(v, LineDict) else LineDict()


@check("MON029", "loki-retention-applied", category="monitoring", severity="medium", pillar="reliability")
def loki_retention_applied(ctx: ScanContext) -> Iterator[Result]:
    """Loki retention that is configured is also enforced (compactor retention on).

    What it does
        For each Loki config with `limits_config.retention_period` (or per-stream retention, or the
        legacy `table_manager.retention_period`), fails when `compactor.retention_enabled` is not
        true (and the legacy `table_manager.retention_deletes_enabled` is not set either).
    Why it matters
        Loki only deletes old chunks when the compactor runs retention: with `retention_period: 744h`
        alone, logs are kept forever, the disk (or bucket bill) grows until it is full and
        ingestion stops; and logs promised to be deleted after 31 days (privacy) are not.
        Severity medium: the failure comes slowly, but it comes.
    Example
        limits_config:
          retention_period: 744h
        # no compactor: {retention_enabled: true}
    Fix
        Add `compactor: {working_directory: /loki/compactor, retention_enabled: true,
        delete_request_store: filesystem}`.
    References
        https://grafana.com/docs/loki/latest/operations/storage/retention/
    Severity
        Medium: logs are never deleted, so the disk fills and ingestion stops eventually; the failure
        comes slowly.
    """
    configs = _loki_configs(ctx)
    if not configs:
        yield Result.not_applicable("no Loki config found")
        return
    for art, d in configs:
        limits = _section(d, "limits_config")
        tm = _section(d, "table_manager")
        period = limits.get("retention_period")
        at = limits
        if period is None and tm.get("retention_period") is not None:
            period, at = tm.get("retention_period"), tm  # the legacy place for it
        wants = (period is not None and str(period).strip() not in ("0", "0s")) or bool(
            limits.get("retention_stream")
        )
        if not wants:
            yield Result.not_applicable(
                f"{art.label}: no retention configured (logs kept until removed)", subject=art.path
            )
            continue
        compactor = _section(d, "compactor")
        legacy = tm.get("retention_deletes_enabled") is True
        if compactor.get("retention_enabled") is True or legacy:
            yield Result.passed(
                f"{art.label}: retention {period} enforced by the "
                + (
                    "compactor"
                    if compactor.get("retention_enabled") is True
                    else "table manager (deprecated)"
                ),
                art.evidence(at.line_of("retention_period")),
                subject=art.path,
            )
        else:
            yield Result.fail(
                f"{art.label}: retention_period {period} is set but compactor.retention_enabled is not true"
                + (" (and table_manager.retention_deletes_enabled is off)" if at is tm else "")
                + ": nothing is ever deleted",
                art.evidence(at.line_of("retention_period")),
                art.evidence(
                    d.line_of("compactor") if "compactor" in d else 1,
                    note="compactor without retention_enabled",
                ),
                subject=art.path,
            )


@check("MON030", "loki-auth-exposed", category="monitoring", severity="high", pillar="security")
def loki_auth_exposed(ctx: ScanContext) -> Iterator[Result]:
    """Loki with `auth_enabled: false` is not reachable from outside the host.

    What it does
        For each Loki config with `auth_enabled: false`, looks at the compose services running
        the Loki image: fails when one publishes a port on a non-loopback address (or uses the
        host network). Loki behind `expose:` only (a proxy of the same stack) passes.
    Why it matters
        Without auth Loki serves every tenant's logs to anyone who reaches it (`/loki/api/v1/query`
        reads them, `/loki/api/v1/push` injects fake ones): logs hold tokens, e-mail addresses and
        internal hostnames. Severity high: a data leak with one curl.
    Example
        auth_enabled: false
        # compose: ports: ["3100:3100"]
    Fix
        Publish on `127.0.0.1:3100:3100`, or put an authenticating proxy in front and enable
        `auth_enabled: true` with tenant headers set by the proxy.
    References
        https://grafana.com/docs/loki/latest/operations/authentication/
    Severity
        High: every log, with the tokens and addresses it holds, is readable (and writable) with one
        curl.
    """
    configs = [(a, d) for a, d in _loki_configs(ctx) if d.get("auth_enabled") is False]
    if not configs:
        yield Result.not_applicable("no Loki config with auth_enabled: false")
        return
    lokis = [s for s in compose_services(ctx.artifacts("yaml")) if s.tool == "loki"]
    if not lokis:
        yield Result.not_applicable("auth_enabled: false, but how Loki is exposed is not in the target")
        return
    art, d = configs[0]
    for s in lokis:
        published = s.published()
        if published:
            yield Result.fail(
                f"{s.art.label}: {s.name} is published on {', '.join(f'{h}:{p}' for h, p in published)} "
                f"and {art.label} sets auth_enabled: false: anyone reaching it reads and writes every log",
                art.evidence(d.line_of("auth_enabled")),
                s.art.evidence(s.line_of("ports") if "ports" in s.raw else s.line_of("network_mode")),
                subject=s.name,
            )
        else:
            yield Result.passed(
                f"{s.name}: auth disabled but not published beyond the host",
                art.evidence(d.line_of("auth_enabled")),
                s.art.evidence(s.line),
                subject=s.name,
            )
