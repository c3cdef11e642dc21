"""Helpers of the monitoring checks: alert coverage classes, the live Prometheus request, Grafana query
normalisation, one-finding-per-cause reporting and example/fixture scoping (the scrape topology and
metric catalog are facts: facts/monitoring.py)."""

from __future__ import annotations

import fnmatch
import json
import posixpath
import re
from collections.abc import Sequence
from typing import Any

from chom_validate.api import Context as ScanContext
from chom_validate.api import HttpGet, HttpResponse
from chom_validate.artifacts import Artifact, promql
from chom_validate.artifacts.base import Place
from chom_validate.findings import Evidence, Result

DEFAULT_SEVERITIES = ("critical", "warning", "info")


# -- alert coverage classes -----------------------------------------------------------------------------

COVERAGE_CLASSES: dict[str, dict[str, Any]] = {
    "target_down": {
        "title": "target/exporter down",
        "names": [r"(Instance|Target|Exporter|Host|Node)(Is)?Down", r"Unreachable"],
        "exprs": [r"\bup\b(\{[^}]*\})?\s*==\s*0", r"absent\(\s*up\b"],
    },
    "cpu": {
        "title": "CPU",
        "names": [r"CPU"],
        "metrics": ["node_cpu_seconds_total", "node_load*", "node_pressure_cpu*"],
    },
    "memory": {
        "title": "memory",
        "names": [r"^(High|Critical|Low)?(Node|Host)?Memory", r"OOM"],
        "metrics": ["node_memory_*", "node_vmstat_oom_kill"],
    },
    "disk_fill": {
        "title": "disk fill",
        "names": [r"Disk(Space|Usage|Full|Almost)", r"Filesystem(Full|Space|Almost)"],
        "metrics": [
            "node_filesystem_avail_bytes",
            "node_filesystem_free_bytes",
            "node_filesystem_files_free",
        ],
        "exclude_functions": ["predict_linear"],
    },
    "disk_fill_prediction": {
        "title": "disk fill prediction",
        "names": [r"WillFill", r"FillIn"],
        "metrics": ["node_filesystem_*"],
        "functions": ["predict_linear"],
    },
    # `component`: required only where the deployment has that component (see component_present)
    "nginx": {"title": "Nginx", "names": [r"Nginx"], "metrics": ["nginx_*"], "component": r"nginx"},
    "php_fpm": {
        "title": "PHP-FPM",
        "names": [r"PHP-?FPM", r"PhpFpm"],
        "metrics": ["phpfpm_*", "php_fpm_*"],
        "component": r"php[-_]?fpm|php\d[\d.]*-fpm",
    },
    "mysql": {
        "title": "MySQL",
        "names": [r"MySQL", r"MariaDB"],
        "metrics": ["mysql_*"],
        "component": r"mysql|mariadb",
    },
    "redis": {"title": "Redis", "names": [r"Redis"], "metrics": ["redis_*"], "component": r"redis(?!tri)"},
    "backup_freshness": {"title": "backup freshness", "names": [r"Backup"], "metrics": ["*backup*"]},
    "certificate_expiry": {
        "title": "certificate expiry",
        "names": [r"Cert", r"SSL", r"TLS"],
        "metrics": ["probe_ssl_*", "ssl_*", "x509_*", "*cert*expir*"],
    },
    "scrape_failures": {
        "title": "scrape failures",
        "names": [r"Scrape"],
        "metrics": ["prometheus_target_scrape*", "scrape_*"],
    },
    "prometheus_self": {
        "title": "Prometheus self-monitoring",
        "names": [r"^Prometheus(?!.*Scrape)"],
        "metrics": [
            "prometheus_config_*",
            "prometheus_rule_*",
            "prometheus_tsdb_*",
            "prometheus_sd_*",
            "prometheus_engine_*",
            "prometheus_ready",
        ],
        "up_job": "prometheus",
    },
    "alertmanager_self": {
        "title": "Alertmanager self-monitoring",
        "names": [r"Alertmanager"],
        "metrics": ["alertmanager_*", "prometheus_notifications_*"],
        "up_job": "alertmanager",
    },
}


def coverage_classes(settings: dict[str, Any]) -> dict[str, dict[str, Any]]:
    cov = settings.get("coverage") or {}
    classes = {k: dict(v) for k, v in COVERAGE_CLASSES.items()}
    for name, spec in (cov.get("classes") or {}).items():
        classes[str(name)] = {"title": str(name), **classes.get(str(name), {}), **dict(spec or {})}
    required = cov.get("required")
    if required:
        classes = {k: v for k, v in classes.items() if k in required}
    return classes


def alert_in_class(name: str, expr: str, ast: promql.Node | None, spec: dict[str, Any]) -> bool:
    funcs = {c.func for c in promql.calls(ast)} if ast is not None else set()
    if spec.get("functions") and not funcs & set(spec["functions"]):
        return False
    if funcs & set(spec.get("exclude_functions") or []):
        return False
    if any(re.search(p, name, re.I) for p in spec.get("names") or []):
        return True
    if any(re.search(p, expr) for p in spec.get("exprs") or []):
        return True
    if ast is None:
        return False
    metrics = promql.metric_names(ast)
    if any(fnmatch.fnmatchcase(m, g) for m in metrics for g in spec.get("metrics") or []):
        return True
    up_job = spec.get("up_job")
    if up_job:
        for sel in promql.selectors(ast):
            if sel.metric == "up" and any(m.name == "job" and up_job in m.value for m in sel.matchers):
                return True
    return False


# -- live Prometheus --------------------------------------------------------------------------------


def metric_names_request(url: str, timeout: float = 10.0) -> HttpGet:
    """The GET listing a running Prometheus's metric names; raises ValueError unless http(s)."""
    endpoint = url.rstrip("/") + "/api/v1/label/__name__/values"
    if not endpoint.startswith(("http://", "https://")):
        raise ValueError(f"--prometheus-url must be http(s): {url}")
    return HttpGet(endpoint, timeout, accept="application/json")


def live_metric_names(resp: HttpResponse) -> set[str]:
    """Metric names from the probe's answer to :func:`metric_names_request`; raises ValueError."""
    if resp.error is not None:
        raise ValueError(resp.error)
    body = json.loads(resp.body.decode("utf-8"))
    if (
        not isinstance(body, dict)
        or body.get("status") != "success"
        or not isinstance(body.get("data"), list)
    ):
        raise ValueError(f"unexpected answer from {resp.request.url}: {str(body)[:200]}")
    return {str(x) for x in body["data"]}


def prometheus_gets(ctx: ScanContext) -> list[HttpGet]:
    """The GET MON011 reads with `--prometheus-url` (fetched by the engine before the checks)."""
    url = ctx.options.extra.get("prometheus_url")
    return [metric_names_request(str(url))] if url else []


# -- grafana query normalisation -------------------------------------------------------------------------

_GRAFANA_MACRO = re.compile(r"\$\{?__(rate_interval|interval|range|interval_ms|range_s|range_ms)\}?")
_GRAFANA_VAR = re.compile(r"\$\{(\w+)(?::\w+)?\}|\$(\w+)|\[\[(\w+)\]\]")


def grafana_expr(expr: str) -> str:
    """A Grafana panel query with its macros/variables replaced so it parses as PromQL."""
    expr = _GRAFANA_MACRO.sub("5m", expr)
    return _GRAFANA_VAR.sub(lambda m: "var_" + (m.group(1) or m.group(2) or m.group(3)), expr)


# -- reporting: one finding per root cause ----------------------------------------------------------------


def _listing(names: list[str]) -> str:
    """The first names of a grouped result, for its message (all of them are in `data.names`)."""
    return ", ".join(names[:8]) + (f" and {len(names) - 8} more" if len(names) > 8 else "")


FAIL_EVIDENCE = 1000  # locations of a grouped failure given as evidence; the rest in `data.more_locations`


def grouped_fail(
    what: str,
    items: Sequence[tuple[str, Evidence | Place]],
    *,
    subject: str | None = None,
    severity: str | None = None,
    **data: Any,
) -> Result:
    """One failing result for one cause found in many places: every place is evidence, names in the message.

    The same gap on 85 alerts of a rule set is one decision for whoever fixes it (add the annotation
    to the generator, or accept the policy); 85 findings would bury everything else. Past
    FAIL_EVIDENCE places (a generated rule file of 50,000 alerts), the others are `[path, line]`
    pairs in `data.more_locations`: every place is still listed, without 50,000 excerpts.
    """
    names = [n for n, _ in items]
    evidence = [it if isinstance(it, Evidence) else it.evidence() for _, it in items[:FAIL_EVIDENCE]]
    if len(items) > FAIL_EVIDENCE:
        data["more_locations"] = [
            [it.path, it.line] if isinstance(it, Evidence) else it.location() for _, it in items[FAIL_EVIDENCE:]
        ]
    return Result.fail(
        f"{what} ({len(items)}): {_listing(names)}",
        *evidence,
        subject=subject,
        severity=severity,
        count=len(items),
        names=names,
        **data,
    )


PASS_EVIDENCE = 20  # locations shown as evidence of a grouped pass; every name is in `data.names`


def grouped_pass(
    what: str,
    art: Artifact,
    items: list[tuple[str, int | None]],
    *extra: Evidence,
    subject: str | None = None,
    **data: Any,
) -> Result:
    """One passing result for what holds for many items of one file (every alert of a rule file
    has a `for:`), the counterpart of `grouped_fail`.

    `count` says how many items the verdict covers (the score weighs it so), `names` lists them
    all; the first PASS_EVIDENCE locations are the evidence, so a rule file of 20,000 alerts is one
    result, not 20,000 (each with its own excerpt, fingerprint and redaction pass).
    """
    names = [n for n, _ in items]
    return Result.passed(
        f"{art.label}: {what} ({len(items)}): {_listing(names)}",
        *[art.evidence(line) for _, line in items[:PASS_EVIDENCE]],
        *extra,
        subject=subject or art.label,
        count=len(items),
        names=names,
        **data,
    )


def grouped_na(what: str, art: Artifact, items: list[tuple[str, int | None]]) -> Result:
    """Items of one file that cannot be judged for one reason (templated links, templated labels)."""
    names = [n for n, _ in items]
    return Result.not_applicable(
        f"{art.label}: {what} ({len(items)}): {_listing(names)}",
        *[art.evidence(line) for _, line in items[:PASS_EVIDENCE]],
        subject=art.label,
    )


_EXAMPLE_DIR = re.compile(r"(^|/)(docs?|examples?|samples?|demo)(/|$)", re.I)
_EXAMPLE_NAME = re.compile(r"(example|sample|demo)", re.I)


def is_example(art: Artifact) -> bool:
    """A config shipped as documentation (doc/examples/simple.yml), not one a deployment installs.

    Placeholders and policy gaps are the point of an example; only what would stop it from
    loading is worth a finding there.
    """
    if art.embedded and art.install_path:
        return False
    return bool(
        _EXAMPLE_DIR.search(posixpath.dirname(art.path)) or _EXAMPLE_NAME.search(posixpath.basename(art.path))
    )


_REPO_URL = re.compile(r"^https?://[^/]+/.+?/(?:-/)?(?:blob|tree|src|raw)/[^/]+/(?P<path>[^?#]+)")


def local_runbook_path(ctx: ScanContext, link: str) -> str | None:
    """The tree path a runbook link must resolve to, or None when it points outside this tree.

    Relative links are paths in the tree. An http(s) link is external (a wiki, the upstream mixin's
    runbook site), unless it is a repository URL (`.../blob/main/docs/runbooks/x.md`) into a
    directory that this tree has: then it is a link into this repository and the file must exist.
    """
    if link.startswith(("http://", "https://")):
        m = _REPO_URL.match(link)
        if not m:
            return None
        tail = m.group("path")
        parent = posixpath.dirname(tail)
        if parent and any(f.startswith(parent + "/") for f in ctx.index.files):
            return tail
        return None
    target = link.split("#", 1)[0]
    while target.startswith("./"):
        target = target[2:]
    return posixpath.normpath(target.lstrip("/"))


_FIXTURE_DIR = re.compile(r"(^|/)(testdata|test|tests|fixtures|__fixtures__)(/|$)")


def is_fixture(art: Artifact) -> bool:
    """A file of a test suite (`config/testdata/conf.bad.yml`): often invalid on purpose, never deployed."""
    return bool(_FIXTURE_DIR.search(posixpath.dirname(art.path)))
