"""Incident response: runbooks for alerts, runbook structure, escalation, severities, health probes."""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterator
from typing import Any

from chom_validate.checks._dr_util import absence_evidence, obligations_na

from chom_validate.api import Context as ScanContext
from chom_validate.api import HttpGet
from chom_validate.artifacts import Artifact
from chom_validate.artifacts.approutes import Route, RouteFile
from chom_validate.artifacts.base import Place
from chom_validate.artifacts.docs import Document, parse_duration, placeholder
from chom_validate.artifacts.prometheus import Rule, RuleFile
from chom_validate.artifacts.yamlfile import LineDict, load_yaml
from chom_validate.facts.deployment import deployment
from chom_validate.facts.recovery import dr_plans, incident_plans, runbooks
from chom_validate.facts.urls import url_parts
from chom_validate.findings import Evidence, Result
from chom_validate.registry import check

from ._monitoring_util import PASS_EVIDENCE, grouped_fail, grouped_na, grouped_pass, local_runbook_path


def _norm(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


def _rule_files(ctx: ScanContext) -> list[tuple[Artifact, RuleFile]]:
    return [(a, rf) for a, rf in ctx.parsed("prometheus_rules") if isinstance(rf, RuleFile)]


def _runbook_url_line(rule: Rule) -> int:
    ann = rule.raw.get("annotations") if isinstance(rule.raw, dict) else None
    if isinstance(ann, LineDict):
        for key in ("runbook_url", "runbook"):
            if key in ann:
                return ann.line_of(key)
    return rule.line


def _find_runbook(alert: str, books: list[tuple[Artifact, Document]]) -> Artifact | None:
    key = _norm(alert)
    for art, _ in books:
        stem = _norm(posixpath.splitext(posixpath.basename(art.path))[0])
        if stem == key or (len(stem) >= 6 and key.startswith(stem)):
            return art
    for art, doc in books:  # a runbook that names the alert in its title or as `AlertName`
        if any(ic.text == alert for ic in doc.inline_code[:5]) or alert in doc.title:
            return art
    return None


def _paging(rule: Rule) -> bool:
    return rule.labels.get("severity", "").lower() in ("critical", "high", "page")


@check("IR001", "alert-has-runbook", category="incident", severity="medium", pillar="operations")
def alert_has_runbook(ctx: ScanContext) -> Iterator[Result]:
    """Every critical/high alert has a runbook, and runbook links into this repository resolve.

    What it does
        For each alerting rule with `severity: critical|high|page`, resolves `runbook_url`: a
        repository path must exist; an https URL is external and passes (it cannot be verified
        offline), unless it is a repository URL into a directory this tree has. Without a link,
        looks for a runbook file named after the alert (`RedisDown` -> `redis-down.md`) or naming
        it in its title. A `runbook_url` on a lower-severity alert must resolve too. Paging alerts
        without a runbook are one finding listing them all; broken links are another.
    Why it matters
        The person paged at night needs the first steps written down; a link to a file that does
        not exist turns a 10-minute fix into an hour. Severity: a broken link is medium (someone
        believes the runbook exists); no runbook at all is low, a documentation policy choice.
    Example
        - alert: RedisDown
          labels: {severity: critical}
          # no runbook_url, no docs/runbooks/redis-down.md
    Fix
        Write docs/runbooks/<alert-in-kebab-case>.md with symptoms, diagnosis, resolution,
        escalation and verification, and set `annotations.runbook_url` to it.
    References
        https://sre.google/sre-book/being-on-call/
    Severity
        Medium for a broken runbook link (the person paged believes the runbook exists); a paging
        alert with no runbook at all is reported at low, a documentation policy choice.
    """
    files = _rule_files(ctx)
    alerts = [(a, r) for a, rf in files for r in rf.alerts]
    if not any(_paging(r) for _, r in alerts):
        yield Result.not_applicable("no critical/high alerting rules in this target")
        return
    books = runbooks(ctx)
    names = sorted(posixpath.basename(a.path) for a, _ in books)
    book_dir = posixpath.dirname(books[0][0].path) if books else "docs/runbooks"
    broken: list[tuple[str, Place]] = []
    absent: list[tuple[str, Place]] = []
    # per rule file: paging alerts with a runbook, the runbooks they lead to, templated links
    ok: dict[int, tuple[Artifact, list[tuple[str, int | None]], dict[str, Artifact]]] = {}
    templated: dict[int, tuple[Artifact, list[tuple[str, int | None]]]] = {}
    for art, rule in alerts:
        url = rule.annotations.get("runbook_url") or rule.annotations.get("runbook") or ""
        if not _paging(rule) and not url:
            continue  # a runbook is required for paging alerts only; a given link must still resolve
        good = ok.setdefault(id(art), (art, [], {}))
        if url:
            line = _runbook_url_line(rule)
            if "{{" in url or "$" in url:
                templated.setdefault(id(art), (art, []))[1].append((f"{rule.name} ({url})", line))
                continue
            local = local_runbook_path(ctx, url)
            if local is None:
                if _paging(rule):
                    good[1].append((f"{rule.name} -> {url} (external, not verifiable offline)", line))
                continue
            base = posixpath.basename(local)
            hit = next((a for a, _ in books if posixpath.basename(a.path) == base), None)
            if hit is None and ctx.index.exists(local):
                hit = ctx.index.files.get(local) or art
            if hit is not None:
                if _paging(rule):
                    good[1].append((f"{rule.name} -> {url}", line))
                    if isinstance(hit, Artifact) and hit is not art:
                        good[2].setdefault(hit.path, hit)
            else:
                broken.append(
                    (
                        f"{rule.name} ({rule.labels.get('severity', 'no severity')}) -> {url}",
                        Place(art, line, f"runbook_url {url}: no such file"),
                    )
                )
            continue
        found = _find_runbook(rule.name, books)
        if found is not None:
            good[1].append((f"{rule.name} -> {found.path} (by name; consider adding runbook_url)", rule.line))
            good[2].setdefault(found.path, found)
        else:
            absent.append((rule.name, Place(art, rule.line, f"{rule.name}: no runbook")))
    for art, items, hits in ok.values():
        if items:
            yield grouped_pass(
                "critical/high alerts with a runbook",
                art,
                items,
                *[h.evidence(1, note="runbook") for h in list(hits.values())[:PASS_EVIDENCE]],
            )
    for art, items in templated.values():
        yield grouped_na("alerts with a templated runbook_url, not judged", art, items)
    present = Evidence(path=book_dir, note=f"runbooks present: {', '.join(names) or 'none'}")
    if broken:
        r = grouped_fail("runbook_url points to a file that does not exist", broken, subject="runbook_url")
        r.evidence.append(present)
        yield r
    if absent:
        r = grouped_fail(
            f"critical/high alerts without a runbook (no runbook_url, none named after them in {book_dir})",
            absent,
            subject="runbook",
            severity="low",
        )
        r.evidence.append(present)
        yield r


PARTS: dict[str, str] = {
    "symptoms": r"symptom|signs?\b|what you see|alert\b|impact|overview",
    "diagnosis": r"diagnos|investigat|triage|troubleshoot|check|cause",
    "resolution": r"resolution|resol|remediat|mitigat|\bfix|recovery|procedure|steps|action",
    "escalation": r"escalat|contact|who to call|on-?call",
    "verification": r"verif|validat|confirm|post-?check|resolved when|health check",
}


@check("IR002", "runbook-structure", category="incident", severity="low", pillar="operations")
def runbook_structure(ctx: ScanContext) -> Iterator[Result]:
    """Runbooks have symptoms, diagnosis, resolution, escalation and verification parts.

    What it does
        For each Markdown file under `runbooks/` (or named *runbook*), looks for headings (or bold
        labels) naming each of the five parts, with common synonyms (Investigation, Remediation,
        Contacts, Validation...).
    Why it matters
        Runbooks are read under stress. Without "how do I know it is fixed" people close incidents
        too early; without escalation they stay stuck alone.
    Example
        A runbook with only "## Fix: restart mysql".
    Fix
        Use one template: Symptoms, Diagnosis, Resolution, Escalation, Verification.
    References
        https://response.pagerduty.com/
    Severity
        Low: the runbook exists and is found; which of the five parts it spells out is a documentation
        template choice, and a missing part slows the responder without harming the service.
    """
    books = runbooks(ctx)
    if not books:
        yield Result.not_applicable("no runbooks in this target")
        return
    for art, doc in books:
        labels = [(h.text, h.line) for h in doc.headings[1:]] + [
            (m.group(1), n) for n, ln in doc.text_lines() for m in [re.match(r"^\s*\*\*([^*]+)\*\*", ln)] if m
        ]
        missing = [p for p, rx in PARTS.items() if not any(re.search(rx, t, re.I) for t, _ in labels)]
        if missing:
            yield Result.fail(
                f"{art.label}: runbook lacks {', '.join(missing)}",
                art.evidence(None, note=f"sections: {', '.join(t for t, _ in labels[:8]) or 'none'}"),
                subject=art.path,
            )
        else:
            yield Result.passed(
                f"{art.label}: all five runbook parts present", art.evidence(1), subject=art.path
            )


def _escalation_sections(doc: Document) -> list[tuple[int, str]]:
    out: list[tuple[int, str]] = []
    for h in doc.find_headings(r"escalat|contact|on-?call"):
        out += doc.section_lines(h)
    return out


@check("IR003", "escalation-contacts", category="incident", severity="medium", pillar="operations")
def escalation_contacts(ctx: ScanContext) -> Iterator[Result]:
    """Escalation levels and contacts are written down and are not placeholders.

    What it does
        Reads the escalation/contacts/on-call sections of incident-response and DR plans; requires
        at least two levels (L1/L2, Level 1, Tier, rows of an escalation table) and reports lines
        holding placeholders: TBD, TODO, XXX, example.com, 555- phone numbers, <name>.
    Why it matters
        "Escalate to TBD" is discovered at the moment someone needs to escalate.
    Example
        | L2 | Platform lead | tbd@example.com, +1 555-0100 |
    Fix
        Name people or rotations with a real, tested contact path (pager rotation, phone), and
        review the list quarterly.
    References
        https://response.pagerduty.com/before/different_roles/
    Severity
        Medium: escalation fails at the moment it is needed and the incident lasts longer; the service
        itself is not affected.
    """
    plans = {a.path: (a, d) for a, d in [*incident_plans(ctx), *dr_plans(ctx)]}
    if not plans:
        na = obligations_na(ctx)
        yield na or Result.fail(
            "no incident-response or DR plan, so no escalation contacts, although this tree is a "
            f"deployment ({deployment(ctx).reason})",
            absence_evidence(ctx, "no document is an IR/DR plan"),
        )
        return
    for art, doc in plans.values():
        lines = _escalation_sections(doc)
        if not lines:
            yield Result.fail(
                f"{art.label} has no escalation or contacts section",
                art.evidence(None, note="no escalation or contacts section in the document"),
            )
            continue
        bad = [(n, t, ph) for n, t in lines for ph in [placeholder(t)] if ph]
        for n, _t, ph in bad:
            yield Result.fail(
                f"{art.label}:{n + art.line_offset}: placeholder contact {ph!r} in the escalation section",
                art.evidence(n, note="placeholder"),
                subject=art.path,
            )
        levels = {
            m.group(0).lower().replace(" ", "")
            for _, t in lines
            for m in re.finditer(r"\b(L\d|level \d|tier \d|sev\d|primary|secondary)\b", t, re.I)
        }
        if len(levels) < 2:
            yield Result.fail(
                f"{art.label}: escalation section names {len(levels)} level(s); at least two are needed",
                art.evidence(lines[0][0] - 1 if lines[0][0] > 1 else 1),
                subject=art.path,
            )
        elif not bad:
            yield Result.passed(
                f"{art.label}: {len(levels)} escalation levels, no placeholder contacts",
                art.evidence(lines[0][0] - 1 if lines[0][0] > 1 else 1),
                subject=art.path,
            )


@check("IR004", "severity-response-times", category="incident", severity="medium", pillar="operations")
def severity_response_times(ctx: ScanContext) -> Iterator[Result]:
    """The incident plan defines severity levels with response times, and an on-call arrangement.

    What it does
        In incident-response plans, finds a table with a severity/priority column and a response
        (or acknowledge) time column; every row needs a response time ("15 min", "4 hours", "next
        business day"). Also requires a mention of on-call / pager / rotation.
    Why it matters
        Without agreed severities each incident is argued about; without response times nobody
        knows whether 2 hours without an answer is normal.
    Example
        | SEV1 | Site down | TBD |
    Fix
        Define SEV1..SEV4 with response and update times, and who is on call.
    References
        https://response.pagerduty.com/before/severity_levels/
    Severity
        Medium: without agreed severities and response times incidents are answered late; it slows the
        response, it is not an outage.
    """
    plans = incident_plans(ctx)
    if not plans:
        na = obligations_na(ctx)
        yield na or Result.fail(
            "no incident-response plan among the documents (INCIDENT_RESPONSE.md) although this "
            f"tree is a deployment ({deployment(ctx).reason})",
            absence_evidence(ctx, "no document is an IR plan"),
        )
        return
    for art, doc in plans:
        tables = [
            t
            for t in doc.tables
            if t.column("sev", "priority", "level") is not None
            and t.column("response", "ack", "respond") is not None
        ]
        if not tables:
            yield Result.fail(
                f"{art.label}: no severity table with response times",
                art.evidence(None, note="no severity table in the document"),
            )
        else:
            t = tables[0]
            ci = t.column("response", "ack", "respond")
            assert ci is not None
            missing = [
                r
                for r in t.rows
                if ci >= len(r.cells)
                or (
                    parse_duration(r.cells[ci]) is None
                    and not re.search(r"business day|immediate", r.cells[ci], re.I)
                )
            ]
            if missing:
                for r in missing:
                    yield Result.fail(
                        f"{art.label}: severity {r.cells[0]!r} has no usable response time",
                        art.evidence(r.line),
                    )
            else:
                yield Result.passed(
                    f"{art.label}: {len(t.rows)} severity levels with response times", art.evidence(t.line)
                )
        oncall = next(
            (n for n, t in doc.text_lines() if re.search(r"on-?call|pager|rotation", t, re.I)), None
        )
        if oncall is None:
            yield Result.fail(
                f"{art.label}: no on-call arrangement described",
                art.evidence(None, note="no on-call section in the document"),
            )


def _health_routes(ctx: ScanContext) -> list[tuple[Artifact, Route]]:
    return [(a, r) for a, rf in ctx.parsed("app_routes") if isinstance(rf, RouteFile) for r in rf.health]


def _strings(node: Any, line: int) -> Iterator[tuple[str, int]]:
    if isinstance(node, dict):
        for k, v in node.items():
            ln = node.line_of(k) if isinstance(node, LineDict) else line
            yield from _strings(v, ln)
    elif isinstance(node, list):
        lines = getattr(node, "item_lines", None)
        for i, v in enumerate(node):
            yield from _strings(v, lines[i] if lines and i < len(lines) else line)
    elif isinstance(node, str):
        yield node, line


def _probe_strings(ctx: ScanContext) -> list[tuple[Artifact, str, int]]:
    out = []
    contexts = list(ctx.fleet.values()) or [ctx]
    seen: set[int] = set()
    for c in contexts:
        for a in c.artifacts("prometheus_config"):
            if id(a) in seen:
                continue
            seen.add(id(a))
            try:
                data = load_yaml(a.text)
            except Exception:  # templated/broken configs are reported by TGT002
                continue
            for s, ln in _strings((data or {}).get("scrape_configs") if isinstance(data, dict) else None, 1):
                out.append((a, s, ln))
    return out


@check("IR005", "health-endpoints-monitored", category="incident", severity="medium", pillar="observability")
def health_monitored(ctx: ScanContext) -> Iterator[Result]:
    """Health endpoints the application defines are probed by monitoring.

    What it does
        Reads the app's route files (Laravel `routes/*.php`) for health endpoints (`/health`,
        `/health/ready`, `/health/live`, `/healthz`, `/up`...) and searches every Prometheus scrape
        configuration of the run (blackbox targets, `metrics_path`, params) for them. One result
        per route file: fails when none of its health endpoints is probed; lists the unprobed ones.
    Why it matters
        A health endpoint nobody probes only helps the one who already knows something is wrong;
        with a blackbox probe, "app answers 500 while every exporter is up" becomes an alert.
    Example
        Route::get('/health/ready', ...) exists; prometheus.yml has no blackbox job.
    Fix
        Add a blackbox_exporter `http_2xx` job with the health URL as target and an alert on
        `probe_success == 0`.
    References
        https://github.com/prometheus/blackbox_exporter
    Severity
        Medium: an application outage behind healthy exporters goes unnoticed until users report it;
        the gap does not cause the outage.
    """
    routes = _health_routes(ctx)
    if not routes:
        yield Result.not_applicable("no health endpoints found in application route files")
        return
    probes = _probe_strings(ctx)
    by_file: dict[str, list[tuple[Artifact, Route]]] = {}
    for a, r in routes:
        by_file.setdefault(a.path, []).append((a, r))
    for items in by_file.values():
        art = items[0][0]
        probed: list[tuple[Artifact, Route, tuple[Artifact, str, int]]] = []
        unprobed: list[tuple[Artifact, Route]] = []
        for a, r in items:
            hit = next(
                ((pa, s, ln) for pa, s, ln in probes if re.search(rf"{re.escape(r.uri)}(?![\w/-])", s)), None
            )
            if hit:
                probed.append((a, r, hit))
            else:
                unprobed.append((a, r))
        if probed:
            _, r, (pa, _, ln) = probed[0]
            yield Result.passed(
                f"{art.label}: {len(probed)}/{len(items)} health endpoint(s) probed ({r.uri} by {pa.label})"
                + (f"; not probed: {', '.join(x[1].uri for x in unprobed)}" if unprobed else ""),
                art.evidence(r.line, note="health route"),
                pa.evidence(ln, note="probe"),
                unprobed=[x[1].uri for x in unprobed],
            )
        else:
            cfgs = sorted({pa.path for pa, _, _ in probes})
            ev = [art.evidence(r.line, note="health route not probed") for _, r in items[:3]]
            ev += [Evidence(path=p, note="no scrape/blackbox target for these endpoints") for p in cfgs[:2]]
            yield Result.fail(
                f"{art.label}: health endpoints {', '.join(r.uri for _, r in items)} are not probed by any "
                f"Prometheus job ({len(cfgs)} config(s) read)",
                *ev,
            )


def _health_targets(
    ctx: ScanContext,
) -> list[tuple[str, str, list[tuple[str, Artifact | None, Route | None]]]]:
    """(base URL, its host, [(URL to GET, route file, route)]) for every `--probe-http` URL."""
    urls = ctx.options.extra.get("probe_http") or []
    if isinstance(urls, str):
        urls = [urls]
    routes = _health_routes(ctx) if urls else []
    out = []
    for base in urls:
        parsed = url_parts(base)
        targets: list[tuple[str, Artifact | None, Route | None]]
        if parsed.is_base:
            targets = [(base.rstrip("/") + r.uri, a, r) for a, r in routes] or [(base, None, None)]
        else:
            match = next(((a, r) for a, r in routes if r.uri == parsed.path), None)
            targets = [(base, match[0], match[1]) if match else (base, None, None)]
        out.append((base, parsed.netloc, targets))
    return out


def _probe_timeout(ctx: ScanContext) -> float:
    return float(ctx.settings("incident").get("probe_timeout", 5))


def _health_gets(ctx: ScanContext) -> list[HttpGet]:
    """The GETs IR006 reads, fetched by the engine before the checks run."""
    timeout = _probe_timeout(ctx)
    return [HttpGet(url, timeout) for _, _, targets in _health_targets(ctx) for url, _, _ in targets]


@check(
    "IR006",
    "health-endpoints-live",
    category="incident",
    severity="high",
    pillar="reliability",
    http=_health_gets,
)
def health_live(ctx: ScanContext) -> Iterator[Result]:
    """With `--probe-http URL`, the health endpoints answer 2xx live.

    What it does
        For each `--probe-http` URL: a base URL (no path) is combined with every health route found
        in the app; a full URL is probed as given. Each is fetched with a GET (timeout
        `incident.probe_timeout`, default 5 s); anything but 2xx fails.
    Why it matters
        Readiness claims in a certificate should be backed by the service answering at scan time.
    Example
        chom-validate all --path . --probe-http https://chom.arewel.com
    Fix
        Investigate the failing endpoint (see the runbooks); `/health/ready` failing usually means
        a dependency (MySQL, Redis) is down.
    References
        https://datatracker.ietf.org/doc/html/rfc9110#section-15.3
    Severity
        High: a health endpoint failing at scan time means the service, or a dependency it needs, is
        degraded or down now.
    """
    if not ctx.options.extra.get("probe_http"):
        yield Result.not_applicable("no --probe-http URL given")
        return
    timeout = _probe_timeout(ctx)
    for _, netloc, targets in _health_targets(ctx):
        for url, art, route in targets:
            resp = ctx.http(HttpGet(url, timeout))
            ev = Evidence(host=netloc, note=f"GET {url} -> {resp.detail}")
            evs = [ev] + (
                [art.evidence(route.line, note="route")] if art is not None and route is not None else []
            )
            if resp.status is not None and 200 <= resp.status < 300:
                yield Result.passed(f"GET {url} answered {resp.status}", *evs, subject=url)
            elif resp.status is None and resp.error_type in ("ValueError", "NotProbed"):
                yield Result.error(f"GET {url} could not be sent: {resp.reason}", *evs, subject=url)
            else:
                yield Result.fail(f"GET {url} failed: {resp.detail}", *evs, subject=url)
