"""Prometheus alert rules."""

from __future__ import annotations

from collections.abc import Iterator

from chom_validate.engine import ScanContext
from chom_validate.findings import Result
from chom_validate.registry import check


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
