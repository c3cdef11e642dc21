"""SARIF 2.1.0 for code scanning (GitHub, Azure DevOps, any SARIF viewer).

- One rule per check that ran, with short/full descriptions and help from the check docstring.
- One result per failure (waived and baselined ones too, with ``suppressions`` saying why, so nothing
  is hidden); passes and not-applicable verdicts are not results. Checks that could not look
  (``error``), target errors and run notices (expired waivers...) are tool execution notifications.
- ``partialFingerprints["chomFingerprint/v1"]`` is the finding fingerprint: check, target, path,
  subject and a normalized excerpt, never the line, so code scanning does not open duplicate alerts
  when unrelated lines move.
- ``level`` and ``properties.security-severity`` (the CVSS-like score GitHub reads) from severity.
"""

from __future__ import annotations

import json
import posixpath
from typing import Any

from ..catalog import DOC_SECTIONS
from ..findings import Evidence, Finding, Severity, Status
from ..redact import redact_tree
from ..results import CheckMeta, RunReport

SARIF_SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
INFORMATION_URI = "https://github.com/chom/chom-validate"
FINGERPRINT_KEY = "chomFingerprint/v1"

LEVEL = {
    Severity.CRITICAL: "error",
    Severity.HIGH: "error",
    Severity.MEDIUM: "warning",
    Severity.LOW: "note",
    Severity.INFO: "note",
}
# GitHub bands: critical > 9.0, high 7.0-8.9, medium 4.0-6.9, low 0.1-3.9.
SECURITY_SEVERITY = {
    Severity.CRITICAL: "9.5",
    Severity.HIGH: "8.0",
    Severity.MEDIUM: "5.5",
    Severity.LOW: "3.0",
    Severity.INFO: "0.0",
}


def render(report: RunReport) -> str:
    return json.dumps(_redacted(to_sarif(report)), indent=2, ensure_ascii=False) + "\n"


def _redacted(sarif: dict[str, Any]) -> dict[str, Any]:
    """Every string from the scan passes the redactor; the rule texts (our own docstrings) stay verbatim."""
    runs = []
    for run in sarif.get("runs", []):
        runs.append({k: (v if k == "tool" else redact_tree(v)) for k, v in run.items()})
    return {**sarif, "runs": runs}


def to_sarif(report: RunReport) -> dict[str, Any]:
    kinds = {t.name: t.kind for t in report.targets}
    checks = list(report.checks)
    known = {c.id for c in checks}
    for f in report.findings:  # a finding whose check is not listed still gets a rule
        if f.check_id not in known:
            known.add(f.check_id)
            checks.append(
                CheckMeta(
                    id=f.check_id,
                    name=f.check_name,
                    title=f.check_name,
                    category=f.category,
                    pillar=f.pillar,
                    severity=f.effective_severity,
                    profile="baseline",
                )
            )
    rule_index = {c.id: i for i, c in enumerate(checks)}
    base_ids: dict[str, dict[str, Any]] = {}
    results = []
    for f in report.findings:
        if f.status != Status.FAIL:
            continue
        results.append(_result(f, rule_index[f.check_id], kinds, base_ids, report))
    notifications = _notifications(report, kinds, base_ids)
    run: dict[str, Any] = {
        "tool": {
            "driver": {
                "name": report.tool,
                "version": report.tool_version,
                "semanticVersion": report.tool_version,
                "informationUri": INFORMATION_URI,
                "rules": [_rule(c) for c in checks],
            }
        },
        "automationDetails": {"id": f"chom-validate/{report.profile}/"},
        "invocations": [
            {
                "executionSuccessful": not report.target_errors,
                "startTimeUtc": _utc(report.started_at),
                "endTimeUtc": _utc(report.finished_at),
                "toolExecutionNotifications": notifications,
            }
        ],
        "results": results,
        "properties": {
            "profile": report.profile,
            "project": report.project,
            "environment": report.environment,
            "score": report.scores.overall,
            "band": report.scores.band,
            "gatePassed": report.gate.passed,
            "gateReasons": report.gate.reasons,
            "summary": report.summary,
        },
    }
    if base_ids:
        run["originalUriBaseIds"] = base_ids
    return {"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [run]}


def _utc(stamp: str) -> str:
    """RFC 3339 in UTC with a 'Z', as SARIF asks."""
    return stamp.replace("+00:00", "Z")


def _rule(c: CheckMeta) -> dict[str, Any]:
    doc = c.doc
    what = doc.get("What it does") or c.title
    help_text = "\n\n".join(f"{s}:\n{doc[s]}" for s in DOC_SECTIONS if doc.get(s)) or c.title
    help_md = "\n\n".join(f"**{s}**\n\n{_md_body(s, doc[s])}" for s in DOC_SECTIONS if doc.get(s)) or c.title
    tags = list(dict.fromkeys([c.category, c.pillar, "production-readiness"]))
    return {
        "id": c.id,
        "name": _pascal(c.name),
        "shortDescription": {"text": c.title},
        "fullDescription": {"text": what},
        "help": {"text": help_text, "markdown": help_md},
        "defaultConfiguration": {"level": LEVEL[c.severity]},
        "properties": {
            "tags": tags,
            "precision": "high",
            "problem.severity": _problem_severity(c.severity),
            "security-severity": SECURITY_SEVERITY[c.severity],
            "severity": c.severity.value,
            "category": c.category,
            "pillar": c.pillar,
            "profile": c.profile,
        },
    }


def _md_body(section: str, body: str) -> str:
    if section == "Example":
        return f"```\n{body}\n```"
    return body


def _pascal(name: str) -> str:
    return "".join(p[:1].upper() + p[1:] for p in name.replace("_", "-").split("-") if p) or name


def _problem_severity(sev: Severity) -> str:
    return {"error": "error", "warning": "warning", "note": "recommendation"}[LEVEL[sev]]


def _base_id(target: str, kind: str | None, base_ids: dict[str, dict[str, Any]]) -> str:
    """uriBaseId for a target: the scanned tree, or the root filesystem of a host."""
    key = "SRCROOT" if kind == "local" else "HOST_" + "".join(ch if ch.isalnum() else "_" for ch in target)
    if key not in base_ids:
        if kind == "local":
            uri = target if target.endswith("/") else target + "/"
            entry: dict[str, Any] = {"description": {"text": f"scanned tree {target}"}}
            if uri.startswith("/"):
                entry["uri"] = "file://" + uri
            base_ids[key] = entry
        else:
            base_ids[key] = {"uri": "file:///", "description": {"text": f"root filesystem of {target}"}}
    return key


def _artifact_location(
    ev: Evidence, target: str, kinds: dict[str, str], base_ids: dict[str, dict[str, Any]]
) -> dict[str, Any]:
    assert ev.path is not None
    kind = kinds.get(target)
    path = ev.path.removeprefix("./")
    if kind == "local" and not target.startswith("/"):
        # relative --path: repository-relative URIs, which code scanning maps onto the checkout
        root = target.removeprefix("./").rstrip("/")
        return {"uri": path if root in ("", ".") else posixpath.join(root, path)}
    return {"uri": path.lstrip("/"), "uriBaseId": _base_id(target, kind, base_ids)}


def _location(
    ev: Evidence, target: str, kinds: dict[str, str], base_ids: dict[str, dict[str, Any]]
) -> dict[str, Any]:
    loc: dict[str, Any] = {}
    if ev.path:
        phys: dict[str, Any] = {"artifactLocation": _artifact_location(ev, target, kinds, base_ids)}
        if ev.line:
            region: dict[str, Any] = {"startLine": ev.line}
            if ev.end_line and ev.end_line >= ev.line:
                region["endLine"] = ev.end_line
            if ev.excerpt:
                region["snippet"] = {"text": ev.excerpt}
            phys["region"] = region
        loc["physicalLocation"] = phys
    logical: dict[str, Any] = {"name": ev.host or target, "kind": "module"}
    if ev.command:
        logical["fullyQualifiedName"] = f"{ev.host or target}$ {' '.join(ev.command)}"
    loc["logicalLocations"] = [logical]
    if ev.note:
        loc["message"] = {"text": ev.note}
    return loc


def _result(
    f: Finding,
    rule_index: int,
    kinds: dict[str, str],
    base_ids: dict[str, dict[str, Any]],
    report: RunReport,
) -> dict[str, Any]:
    evidence = f.evidence
    locations = [_location(ev, f.target, kinds, base_ids) for ev in evidence if ev.path]
    related = [_location(ev, f.target, kinds, base_ids) for ev in evidence if not ev.path]
    if not locations:
        # code scanning needs a file: point at the config that defines the target, else the target
        locations = [_fallback_location(f, report, kinds, base_ids)]
    primary, rest = locations[:1], locations[1:]
    text = f.message
    commands = [ev.location() for ev in evidence if ev.command]
    if commands:
        text += " (evidence: " + "; ".join(commands[:3]) + ")"
    res: dict[str, Any] = {
        "ruleId": f.check_id,
        "ruleIndex": rule_index,
        "kind": "fail",
        "level": LEVEL[f.effective_severity],
        "message": {"text": text},
        "locations": primary,
        "partialFingerprints": {FINGERPRINT_KEY: f.fingerprint},
        "properties": {
            "severity": f.effective_severity.value,
            "security-severity": SECURITY_SEVERITY[f.effective_severity],
            "target": f.target,
            "category": f.category,
            "pillar": f.pillar,
        },
    }
    if rest or related:
        res["relatedLocations"] = [{"id": i + 1, **loc} for i, loc in enumerate(rest + related)]
    if f.subject:
        res["properties"]["subject"] = f.subject
    if f.data.get("expired_waiver"):
        res["properties"]["expiredWaiver"] = f.data["expired_waiver"]
    if f.suppressed is not None:
        s = f.suppressed
        just = f"{s.kind}: {s.reason}"
        if s.owner:
            just += f" (owner {s.owner})"
        if s.expires:
            just += f", expires {s.expires}"
        sup: dict[str, Any] = {"kind": "external", "status": "accepted", "justification": just}
        if s.source:
            sup["properties"] = {"source": s.source, "type": s.kind}
        res["suppressions"] = [sup]
        if s.kind == "baseline":
            res["baselineState"] = "unchanged"
    elif report.summary.get("baselined") is not None and _baseline_used(report):
        res["baselineState"] = "new"
    return res


def _baseline_used(report: RunReport) -> bool:
    return any(n.startswith("baseline ") for n in report.notices)


def _fallback_location(
    f: Finding, report: RunReport, kinds: dict[str, str], base_ids: dict[str, dict[str, Any]]
) -> dict[str, Any]:
    source = report.config_source
    if source and not source.startswith("/"):
        phys = {"artifactLocation": {"uri": source.removeprefix("./")}}
    elif kinds.get(f.target) == "local" and not f.target.startswith("/"):
        root = f.target.removeprefix("./").rstrip("/")
        phys = {"artifactLocation": {"uri": f"{root}/" if root not in ("", ".") else "./"}}
    else:
        phys = {
            "artifactLocation": {"uri": "./", "uriBaseId": _base_id(f.target, kinds.get(f.target), base_ids)}
        }
    return {
        "physicalLocation": phys,
        "logicalLocations": [{"name": f.target, "kind": "module"}],
        "message": {"text": f"target-wide finding on {f.target} (no single file)"},
    }


def _notifications(
    report: RunReport, kinds: dict[str, str], base_ids: dict[str, dict[str, Any]]
) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for t in report.targets:
        if t.error:
            out.append(
                {"level": "error", "message": {"text": f"target {t.name} could not be scanned: {t.error}"}}
            )
    for f in report.findings:
        if f.status != Status.ERROR:
            continue
        n: dict[str, Any] = {
            "level": "error",
            "message": {"text": f"{f.check_id} could not check {f.target}: {f.message}"},
            "descriptor": {"id": f.check_id},
            "associatedRule": {"id": f.check_id},
        }
        locs = [_location(ev, f.target, kinds, base_ids) for ev in f.evidence if ev.path]
        if locs:
            n["locations"] = locs[:1]
        out.append(n)
    for p in report.plugin_errors:
        out.append({"level": "warning", "message": {"text": f"plugin problem: {p.source}: {p.reason}"}})
    for note in report.notices:
        out.append({"level": "warning", "message": {"text": note}})
    return out
