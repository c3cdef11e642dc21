"""Grafana: dashboards parse and are counted, datasources exist, panel metrics scraped, dashboards provisioned."""

from __future__ import annotations

import json
import posixpath
from collections.abc import Iterator

from chom_validate.api import Context as ScanContext
from chom_validate.artifacts import Artifact, promql
from chom_validate.artifacts.grafana import Dashboard, dashboard_folder
from chom_validate.facts.monitoring import compose_services, retired, topology
from chom_validate.findings import Evidence, Result
from chom_validate.registry import check

from ._monitoring_util import grafana_expr, grouped_fail

_BUILTIN_DS = {
    "-- Grafana --",
    "-- Mixed --",
    "-- Dashboard --",
    "grafana",
    "datasource",
    "mixed",
    "dashboard",
}


def _dashboards(ctx: ScanContext) -> list[tuple[Artifact, Dashboard]]:
    return ctx.parsed("grafana_dashboard")


def _uid_line(art: Artifact, uid: str) -> int | None:
    """The line of the dashboard's ``"uid": "<uid>"`` (None when it is not written literally)."""
    want = json.dumps(uid)
    return next((n for n, ln in enumerate(art.lines, 1) if '"uid"' in ln and want in ln), None)


@check("MON018", "grafana-dashboards", category="monitoring", severity="low", pillar="observability")
def grafana_dashboards(ctx: ScanContext) -> Iterator[Result]:
    """Grafana dashboards parse, have unique uids, and are counted per folder.

    What it does
        Parses every dashboard JSON (files and provisioning directories), counts dashboards and
        panels per folder (the directory below `dashboards/`), and fails dashboards sharing a
        `uid` or without a title. One pass per folder carries the counts as data, so a report
        can state "N dashboards" with evidence instead of a claim.
    Why it matters
        Two dashboards with one uid overwrite each other at provisioning time, nondeterministically;
        "19+ dashboards" in a certificate should be a number someone counted.
    Example
        dashboards/infra/node.json and dashboards/app/node-copy.json both with "uid": "node"
    Fix
        Give each dashboard a unique, stable `uid` and a title.
    References
        https://grafana.com/docs/grafana/latest/administration/provisioning/#dashboards
    Severity
        Low: one of two dashboards sharing a uid is hidden; no data or alert is lost.
    """
    dashes = _dashboards(ctx)
    if not dashes:
        yield Result.not_applicable("no Grafana dashboards found")
        return
    by_uid: dict[str, list[Artifact]] = {}
    folders: dict[str, list[tuple[Artifact, Dashboard]]] = {}
    for art, d in dashes:
        if d.uid:
            by_uid.setdefault(str(d.uid), []).append(art)
        folders.setdefault(dashboard_folder(art), []).append((art, d))
        if not d.title.strip():
            yield Result.fail(f"{art.label}: dashboard has no title", art.evidence(d.line), subject=art.path)
    for uid, arts in by_uid.items():
        if len(arts) > 1:
            yield Result.fail(
                f"dashboard uid {uid!r} used by {len(arts)} dashboards",
                *[a.evidence(_uid_line(a, uid), note="uid") for a in arts],
                subject=uid,
            )
    for folder, items in sorted(folders.items()):
        yield Result.passed(
            f"folder {folder}: {len(items)} dashboards ({', '.join(d.title for _, d in items)})",
            *[a.evidence(d.line) for a, d in items],
            subject=folder,
            dashboards=len(items),
            panels=sum(len(d.panels) for _, d in items),
            total_dashboards=len(dashes),
        )


@check("MON019", "grafana-datasources", category="monitoring", severity="medium", pillar="observability")
def grafana_datasources(ctx: ScanContext) -> Iterator[Result]:
    """Every datasource a dashboard references is provisioned.

    What it does
        Collects the provisioned datasources (`provisioning/datasources/*.yml`: name, uid, type)
        and checks every panel, query and variable datasource reference of every dashboard:
        by uid, by name, or by type (`{"type": "prometheus"}`). Dashboard variables (`$ds`) and
        Grafana's built-in datasources pass.
    Why it matters
        A dashboard pointing at a datasource uid that only existed on someone's laptop shows
        "datasource not found" on every panel the day it is needed.
    Example
        "datasource": {"type": "prometheus", "uid": "P1809F7CD0C75ACF3"}   # not provisioned
    Fix
        Give the provisioned datasource a fixed `uid` and use it in dashboards, or use a
        datasource variable.
    References
        https://grafana.com/docs/grafana/latest/administration/provisioning/#data-sources
    Severity
        Medium: the dashboard shows "datasource not found" on the day it is needed; the data and
        alerts are unaffected.
    """
    dashes = _dashboards(ctx)
    if not dashes:
        yield Result.not_applicable("no Grafana dashboards found")
        return
    provisioned = [ds for _, p in ctx.parsed("grafana_datasources") for ds in p.datasources]
    if not provisioned:
        yield Result.not_applicable(
            "no provisioned datasources found (datasources managed in the UI cannot be checked)"
        )
        return
    known = (
        {ds.name for ds in provisioned}
        | {ds.uid for ds in provisioned if ds.uid}
        | {ds.type for ds in provisioned}
    )
    for art, d in dashes:
        bad = [
            (ref, line)
            for ref, line in d.datasource_refs
            if not (ref in known or ref in _BUILTIN_DS or ref.startswith("$"))
        ]
        for ref, line in bad:
            yield Result.fail(
                f"{art.label}: dashboard {d.title!r} references datasource {ref!r}, not provisioned "
                f"(known: {', '.join(sorted(ds.name for ds in provisioned))})",
                art.evidence(line),
                subject=d.title,
            )
        if not bad:
            yield Result.passed(
                f"dashboard {d.title!r}: {len(d.datasource_refs)} datasource references resolve",
                art.evidence(d.line),
                subject=d.title,
            )


@check("MON020", "grafana-panel-metrics", category="monitoring", severity="low", pillar="observability")
def grafana_panel_metrics(ctx: ScanContext) -> Iterator[Result]:
    """Dashboard panels query metrics that the scrape jobs produce.

    What it does
        Parses each panel's PromQL (Grafana macros like `$__rate_interval` and variables
        replaced) and looks up every metric as MON011 does: exporters scraped by some job,
        recording-rule outputs, Prometheus-internal series. Queries that do not parse after
        substitution, or non-PromQL targets, are skipped.
    Why it matters
        A panel on a metric nothing scrapes shows "No data" — read as "no errors" during an
        incident.
    Example
        "expr": "php_fpm_active_processes"   # the exporter exposes phpfpm_active_processes
    Fix
        Fix the metric name, or add the scrape job for its exporter.
    References
        https://grafana.com/docs/grafana/latest/datasources/prometheus/template-variables/
    Severity
        Low: a panel shows "No data"; alerting is judged separately (MON011).
    """
    dashes = _dashboards(ctx)
    topo = topology(ctx)
    if not dashes or not topo.jobs:
        yield Result.not_applicable("no dashboards, or no scrape jobs to compare with")
        return
    loki = {
        ds.name
        for _, p in ctx.parsed("grafana_datasources")
        for ds in p.datasources
        if ds.type != "prometheus"
    }
    loki |= {
        ds.uid
        for _, p in ctx.parsed("grafana_datasources")
        for ds in p.datasources
        if ds.type != "prometheus" and ds.uid
    }
    found = False
    missing_all: list[tuple[str, Evidence]] = []
    for art, d in dashes:
        for panel in d.panels:
            for q in panel.queries:
                if q.datasource in loki or q.datasource == "loki" or ("{" in q.expr and "|=" in q.expr):
                    continue
                try:
                    ast = promql.parse(grafana_expr(q.expr))
                except promql.PromQLError:
                    continue
                found = True
                missing = [m for m in promql.metric_names(ast) if not topo.exists(m)]
                ev = art.evidence(q.line)
                if missing:
                    why = "; ".join(f"{m}: {retired(m)}" for m in missing if retired(m))
                    missing_all.append(
                        (
                            f"{d.title}/{panel.title}: {', '.join(missing)}",
                            art.evidence(q.line, note=why or f"{', '.join(missing)} not scraped"),
                        )
                    )
                else:
                    yield Result.passed(
                        f"panel {d.title}/{panel.title}: metrics scraped",
                        ev,
                        subject=f"{d.title}/{panel.title}",
                    )
    if missing_all:
        yield grouped_fail(
            "dashboard panels query metrics no scrape job produces (always empty)",
            missing_all,
            subject="panels",
        )
    if not found:
        yield Result.not_applicable("no PromQL panel queries found")


@check("MON021", "grafana-provisioned", category="monitoring", severity="low", pillar="operations")
def grafana_provisioned(ctx: ScanContext) -> Iterator[Result]:
    """Dashboards are provisioned from files by a provider, not hand-imported.

    What it does
        Matches every dashboard file to a dashboard provider (`provisioning/dashboards/*.yml`)
        of the same host: the provider's `options.path` contains the dashboard's install path,
        or (in a repository) the dashboard lives below a directory named like that path's last
        component (`/var/lib/grafana/dashboards` -> `.../dashboards/**`). Dashboards no provider
        covers are one finding. A tree with no dashboard provider at all (a dashboard library, a
        mixin) is not judged: provisioning is done by whoever deploys it.
    Why it matters
        A hand-imported dashboard lives only in grafana.db: it is lost with the host (Grafana data
        is often not backed up) and drifts from the repository.
    Example
        grafana/manual/capacity.json    # imported through the UI, no provider loads it
    Fix
        Move the JSON under the provider's directory, or add a provider for its folder.
    References
        https://grafana.com/docs/grafana/latest/administration/provisioning/#dashboards
    Severity
        Low: a hand-imported dashboard is lost with grafana.db or drifts from the repository;
        monitoring itself works.
    """
    dashes = _dashboards(ctx)
    if not dashes:
        yield Result.not_applicable("no Grafana dashboards found")
        return
    providers = [(a, p) for a, pp in ctx.parsed("grafana_dashboard_provider") for p in pp.providers if p.path]
    if not providers:
        # a dashboard library or a mixin ships JSON for others to provision: nothing here to compare with
        yield Result.not_applicable(
            "no Grafana dashboard provider in the target: how dashboards are loaded is not part of it"
        )
        return
    unprovisioned: list[tuple[str, Evidence]] = []
    for art, d in dashes:
        hit = None
        for pa, p in providers:
            if pa.host and art.host and pa.host != art.host:
                continue
            assert p.path is not None
            inst = art.install_path
            base = posixpath.basename(p.path)
            parts = posixpath.dirname(art.path).split("/")
            if (inst and inst.startswith(p.path + "/")) or (base and base in parts):
                hit = (pa, p)
                break
        if hit:
            yield Result.passed(
                f"dashboard {d.title!r} provisioned by provider {hit[1].name!r} ({hit[1].path})",
                art.evidence(d.line),
                hit[0].evidence(hit[1].line),
                subject=d.title,
            )
        else:
            unprovisioned.append((f"{d.title} ({art.path})", art.evidence(d.line)))
    if unprovisioned:
        yield grouped_fail(
            "dashboards not under any provisioned dashboards path (hand-imported, lost with grafana.db)",
            unprovisioned,
            subject="dashboards",
        )


_WELL_KNOWN = {"admin", "password", "grafana", "changeme", "secret", "123456", "admin123"}


@check("MON028", "grafana-default-admin", category="monitoring", severity="high", pillar="security")
def grafana_default_admin(ctx: ScanContext) -> Iterator[Result]:
    """Grafana's admin password is not `admin` (or another well-known value) by default.

    What it does
        For each compose service running the Grafana image, works out the admin password a plain
        `docker compose up` gives: unset `GF_SECURITY_ADMIN_PASSWORD` means Grafana's built-in
        `admin`, and `${ADMIN_PASSWORD:-admin}` falls back to `admin` silently when the operator
        exports nothing. Fails when that value is well known (admin, password, changeme...).
    Why it matters
        Grafana is usually the one monitoring UI published to people: admin/admin gives anyone
        who tries it the datasources (and their credentials), every dashboard, and alerting. The
        `:-` default never fails loudly, so nobody notices the variable was not set. Severity high:
        default credentials on a reachable service.
    Example
        environment:
          - GF_SECURITY_ADMIN_PASSWORD=${ADMIN_PASSWORD:-admin}
    Fix
        Fail when unset (`${ADMIN_PASSWORD:?set ADMIN_PASSWORD}`) or use
        `GF_SECURITY_ADMIN_PASSWORD__FILE` with a secret; note that the value applies only when
        the admin user is first created (change it with `grafana cli admin reset-admin-password`).
    References
        https://grafana.com/docs/grafana/latest/setup-grafana/configure-docker/#default-paths
    Severity
        High: default credentials on the monitoring UI people reach give anyone the datasources, their
        credentials and alerting.
    """
    services = [s for s in compose_services(ctx.artifacts("yaml")) if s.tool == "grafana"]
    if not services:
        yield Result.not_applicable("no containerised Grafana")
        return
    for s in services:
        key = "GF_SECURITY_ADMIN_PASSWORD"
        if key + "__FILE" in s.environment:
            yield Result.passed(
                f"{s.name}: admin password from a file", s.art.evidence(s.env_line(key + "__FILE"))
            )
            continue
        value = s.effective_env(key) if key in s.environment else "admin"
        if key in s.environment and value is None:
            yield Result.passed(
                f"{s.name}: admin password comes from the operator's environment (no default)",
                s.art.evidence(s.env_line(key)),
                subject=s.name,
            )
        elif value is not None and value.lower() in _WELL_KNOWN:
            how = (
                "is not set (Grafana's built-in default)" if key not in s.environment else "falls back to it"
            )
            yield Result.fail(
                f"{s.art.label}: {s.name} admin password defaults to {value!r}: {key} {how}",
                s.art.evidence(
                    s.env_line(key), note=f"admin password {value!r} unless the operator exports one"
                ),
                subject=s.name,
            )
        else:
            yield Result.passed(
                f"{s.name}: admin password is not a well-known default", s.art.evidence(s.env_line(key))
            )
