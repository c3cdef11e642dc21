"""View-models the report templates render: derived from a RunReport, never changing it.

Everything a template says about a result comes with the check id and its evidence locations; risks
and recommendations come from failing checks (severity + the check's Fix text), waived findings are
listed with reason and expiry, and human attestations are a separate list that never feeds the score.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from ..attestations import AttestationView
from ..catalog import CATEGORIES
from ..certificate import Certificate, Evaluation, critical_failures
from ..findings import Finding, Severity, Status
from ..history import HistoryPoint
from ..results import CheckMeta, RunReport, ScoreEntry
from . import charts

KINDS: dict[str, str] = {
    "validation-report": "Production Readiness Validation Report",
    "confidence-certificate": "Production Confidence Certificate",
    "incident-readiness": "Incident Response Readiness",
    "readiness-assessment": "Deployment Readiness Assessment",
    "deployment-certification": "Production Deployment Certification",
}
PILLAR_LABELS = {
    "code_quality": "Code Quality",
    "security": "Security",
    "performance": "Performance",
    "reliability": "Reliability",
    "observability": "Observability",
    "operations": "Operations",
    "compliance": "Compliance",
}
# Which categories speak to incident readiness (seed 002: runbooks, DR, detection and alerting).
INCIDENT_CATEGORIES = ("incident", "dr", "backup", "monitoring")
PRIORITY = {"critical": "P1", "high": "P2", "medium": "P3", "low": "P4", "info": "P5"}
STATUS_LABEL = {"pass": "PASS", "fail": "FAIL", "not_applicable": "N/A", "error": "ERROR", "waived": "WAIVED"}


@dataclass
class FindingView:
    check_id: str
    status: str  # pass, fail, not_applicable, error, waived
    severity: str
    message: str
    subject: str | None
    target: str
    locations: list[str]
    excerpts: list[str]
    waiver: dict[str, Any] | None = None
    baselined: str | None = None  # baseline entry: counted as open whatever the baseline says
    expired_waiver: str | None = None


@dataclass
class CheckView:
    id: str
    title: str
    name: str
    category: str
    pillar: str
    severity: str
    status: str
    counts: dict[str, int]
    findings: list[FindingView]
    fix: str
    why: str


@dataclass
class ScoreRow:
    key: str
    label: str
    weight: float | None
    score: float | None
    band: str | None
    status: str  # PASS, FAIL, NOT ASSESSED
    passed: int
    failed: int
    waived: int
    not_applicable: int
    errors: int
    threshold: float | None = None
    note: str = ""


@dataclass
class Risk:
    priority: str
    check_id: str
    title: str
    severity: str
    pillar: str
    count: int
    fix: str
    locations: list[str]
    messages: list[str]


@dataclass
class ReportView:
    kind: str
    title: str
    project: str
    environment: str
    profile: str
    generated_at: str
    run_started_at: str
    tool_version: str
    config_source: str | None
    targets: list[dict[str, Any]]
    certified: bool
    verdict: str
    status: str
    score: float | None
    band: str | None
    min_score: float | None
    gate_reasons: list[str]
    pillars: list[ScoreRow]
    categories: list[ScoreRow]
    checks: list[CheckView]
    domains: list[tuple[ScoreRow, list[CheckView]]]
    issues: list[FindingView]
    risks: list[Risk]
    overall_risk: str
    waived: list[FindingView]
    errors: list[FindingView]
    critical_checks: list[CheckView]
    strengths: list[CheckView]
    attestations: list[AttestationView]
    pending_attestations: int
    certificate: Certificate
    history: list[HistoryPoint]
    notices: list[str]
    plugin_errors: list[str]
    summary: dict[str, int]
    coverage: list[Any] = field(default_factory=list)
    missing_areas: list[str] = field(default_factory=list)
    not_looked_at: list[str] = field(default_factory=list)
    global_gate: list[str] = field(default_factory=list)
    baselined: list[FindingView] = field(default_factory=list)
    passes: list[CheckView] = field(default_factory=list)  # checks that only passed (grouped with counts)
    verify_command: str = ""
    bands: list[tuple[str, float]] = field(default_factory=list)
    charts: dict[str, str] = field(default_factory=dict)

    def checks_in(self, *categories: str) -> list[CheckView]:
        return [c for c in self.checks if c.category in categories]

    def rows_in(self, *categories: str) -> list[ScoreRow]:
        return [r for r in self.categories if r.key in categories]


def _finding_view(f: Finding) -> FindingView:
    status = "waived" if f.status == Status.FAIL and f.suppressed else f.status.value
    return FindingView(
        check_id=f.check_id,
        status=status,
        severity=f.effective_severity.value,
        message=f.message,
        subject=f.subject,
        target=f.target,
        locations=[e.location() for e in f.evidence] or [f.target],
        excerpts=[e.excerpt for e in f.evidence if e.excerpt],
        waiver=f.suppressed.model_dump(mode="json") if f.suppressed else None,
        baselined=str(f.data["baselined"]) if f.data.get("baselined") else None,
        expired_waiver=str(f.data["expired_waiver"]) if f.data.get("expired_waiver") else None,
    )


def _first_paragraph(text: str) -> str:
    return " ".join(text.strip().split("\n\n")[0].split())


def _check_status(counts: dict[str, int]) -> str:
    for s in ("error", "fail", "waived", "pass"):
        if counts.get(s):
            return s
    return "not_applicable"


def _row(key: str, label: str, e: ScoreEntry, weight: float | None, min_score: float | None) -> ScoreRow:
    """A row's status is its score against the threshold printed beside it, nothing else."""
    threshold = min_score if min_score is not None else 0.0
    notes = []
    if e.score is None:
        status = "ERROR" if e.errors else "NOT ASSESSED"
        if e.passed and not e.failed:
            notes.append("only unweighted (info) checks passed: nothing to score")
    elif e.score < threshold:
        status = "FAIL"
    else:
        status = "PASS"
    if weight is not None and weight == 0:
        notes.append("weight 0 in scoring.pillar_weights: shown, not part of the overall score")
    if e.score is not None and e.score == 0 and e.passed:
        notes.append("its passes are info checks (weight 0); only the failing weighted checks score")
    return ScoreRow(
        key=key,
        label=label,
        weight=weight,
        score=e.score,
        band=e.band,
        status=status,
        passed=e.passed,
        failed=e.failed,
        waived=e.waived,
        not_applicable=e.not_applicable,
        errors=e.errors,
        threshold=threshold,
        note="; ".join(notes),
    )


def _checks(report: RunReport) -> list[CheckView]:
    by_check: dict[str, list[Finding]] = defaultdict(list)
    for f in report.findings:
        by_check[f.check_id].append(f)
    metas: dict[str, CheckMeta] = {c.id: c for c in report.checks}
    for cid, fs in by_check.items():  # findings of checks not in the catalogue (merged runs)
        if cid not in metas:
            f0 = fs[0]
            metas[cid] = CheckMeta(
                id=cid,
                name=f0.check_name,
                title=f0.check_name,
                category=f0.category,
                pillar=f0.pillar,
                severity=f0.effective_severity,
                profile="baseline",
            )
    views = []
    for cid in sorted(metas):
        m = metas[cid]
        fvs = [_finding_view(f) for f in by_check.get(cid, [])]
        counts: dict[str, int] = defaultdict(int)
        for fv in fvs:
            counts[fv.status] += 1
        views.append(
            CheckView(
                id=cid,
                title=m.title,
                name=m.name,
                category=m.category,
                pillar=m.pillar,
                severity=m.severity.value,
                status=_check_status(counts),
                counts=dict(counts),
                findings=fvs,
                fix=_first_paragraph(m.doc.get("Fix", "")) or "See `chom-validate explain " + cid + "`.",
                why=_first_paragraph(m.doc.get("Why it matters", "")),
            )
        )
    return views


def _risks(report: RunReport, checks: dict[str, CheckView]) -> list[Risk]:
    grouped: dict[str, list[Finding]] = defaultdict(list)
    for f in report.failures():
        grouped[f.check_id].append(f)  # one row per check, at its most severe finding
    risks = []
    for cid, fs in grouped.items():
        sev = max((f.effective_severity for f in fs), key=lambda s: s.rank).value
        cv = checks.get(cid)
        risks.append(
            Risk(
                priority=PRIORITY.get(sev, "P5"),
                check_id=cid,
                title=cv.title if cv else fs[0].check_name,
                severity=sev,
                pillar=fs[0].pillar,
                count=len(fs),
                fix=cv.fix if cv else "",
                locations=[loc for f in fs for loc in ([e.location() for e in f.evidence] or [f.target])],
                messages=[f.message for f in fs],
            )
        )
    risks.sort(key=lambda r: (-Severity(r.severity).rank, -r.count, r.check_id))
    return risks


def _overall_risk(risks: list[Risk]) -> str:
    if not risks:
        return "LOW"
    top = max(Severity(r.severity).rank for r in risks)
    return {4: "CRITICAL", 3: "HIGH", 2: "MEDIUM"}.get(top, "LOW")


def build_view(
    report: RunReport,
    kind: str,
    now: dt.datetime,
    certificate: Certificate,
    attestations: list[AttestationView] | None = None,
    history: list[HistoryPoint] | None = None,
    bands: list[tuple[str, float]] | None = None,
    evaluation: Evaluation | None = None,
    verify_command: str = "",
) -> ReportView:
    """``report`` is the evaluated report (``evaluation.report``): what the certificate covers."""
    if kind not in KINDS:
        raise ValueError(f"unknown report kind {kind!r}; one of {', '.join(KINDS)}")
    min_score = report.gate.min_score
    checks = _checks(report)
    check_map = {c.id: c for c in checks}
    pillars = [
        _row(k, PILLAR_LABELS.get(k, k), e, e.weight, min_score) for k, e in report.scores.pillars.items()
    ]
    categories = [
        _row(k, CATEGORIES.get(k, k), e, None, min_score) for k, e in report.scores.categories.items()
    ]
    domains = [(row, [c for c in checks if c.category == row.key]) for row in categories]
    issues = [_finding_view(f) for f in report.failures()]
    issues.sort(key=lambda v: (-Severity(v.severity).rank, v.check_id, v.locations))
    risks = _risks(report, check_map)
    certified = evaluation.certified if evaluation else report.gate.passed and not report.target_errors
    status = evaluation.status if evaluation else ("CERTIFIED" if certified else "NOT CERTIFIED")
    crit_ids = {f.check_id for f in critical_failures(report)}
    critical_checks = [c for c in checks if c.severity == "critical" or c.id in crit_ids]
    strengths = [c for c in checks if c.status == "pass"]
    atts = attestations or []
    view = ReportView(
        kind=kind,
        title=KINDS[kind],
        project=report.project,
        environment=report.environment,
        profile=report.profile,
        generated_at=now.isoformat(timespec="seconds"),
        run_started_at=report.started_at,
        tool_version=report.tool_version,
        config_source=report.config_source,
        targets=[
            {
                "name": t.name,
                "kind": t.kind,
                "error": t.error,
                "files": t.stats.get("files"),
                "skipped": t.stats.get("skipped_files") or 0,
            }
            for t in report.targets
        ],
        certified=certified,
        verdict="CERTIFIED" if certified else "NOT CERTIFIED",
        status=status,
        score=report.scores.overall,
        band=report.scores.band,
        min_score=min_score,
        gate_reasons=list(report.gate.reasons),
        pillars=pillars,
        categories=categories,
        checks=checks,
        domains=domains,
        issues=issues,
        risks=risks,
        overall_risk=_overall_risk(risks),
        waived=[_finding_view(f) for f in report.findings if f.status == Status.FAIL and f.suppressed],
        errors=[_finding_view(f) for f in report.findings if f.status == Status.ERROR],
        critical_checks=critical_checks,
        strengths=strengths,
        attestations=atts,
        pending_attestations=sum(1 for a in atts if a.required and a.status != "ATTESTED"),
        certificate=certificate,
        history=history or [],
        notices=list(report.notices),
        plugin_errors=[f"{p.source}: {p.reason}" for p in report.plugin_errors],
        summary=dict(report.summary),
        coverage=list(evaluation.coverage) if evaluation else [],
        missing_areas=[c.label for c in evaluation.missing] if evaluation else [],
        not_looked_at=list(evaluation.not_looked_at) if evaluation else [],
        global_gate=list(evaluation.global_gate) if evaluation else [],
        baselined=[_finding_view(f) for f in report.failures() if f.data.get("baselined")],
        passes=[c for c in checks if c.status == "pass"],
        verify_command=verify_command,
        bands=bands or [("EXCELLENT", 90), ("GOOD", 70), ("FAIR", 50), ("POOR", 30), ("CRITICAL", 0)],
    )
    view.charts = {
        "gauge": charts.gauge(view.score, view.band, view.verdict),
        "pillars": charts.bars([(r.label, r.score) for r in pillars]),
        "categories": charts.bars([(r.label, r.score) for r in categories]),
        "trend": charts.trend([(p.recorded_at[:10], p.score) for p in view.history]),
    }
    return view
