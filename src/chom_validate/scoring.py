"""Scores, bands and gates.

Each check on each target earns credit = passes / (passes + fails) among its unsuppressed results,
a result standing for several items (``data.count``: one finding for the 85 alerts of a rule file
that lack a runbook, one pass for the 900 that have one) counting as that many, weighted by the
check's severity weight (critical 10, high 5, medium 2, low 1). A category or pillar score is the
weighted share of credit over its applicable checks; the overall score is the mean of pillar scores
weighted by the pillar weights (seed 001), re-normalised over pillars that had anything applicable. ``error`` and ``not_applicable`` results are counted, never scored as pass.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from .config import ScoringConfig
from .findings import Finding, Severity, Status
from .results import Gate, ScoreEntry, Scores


class CheckLike(Protocol):
    """What scoring needs of a check: a registry CheckSpec or the CheckMeta stored in a run report."""

    @property
    def category(self) -> str: ...
    @property
    def pillar(self) -> str: ...
    @property
    def severity(self) -> Severity: ...


# -- evidence coverage ----------------------------------------------------------------------------
# An area is a part of a production deployment a certificate speaks for; each maps to the check
# categories that look at it. A certificate needs evidence (a pass or fail about a real file or
# command output) for every area its profile requires: no applicable check means NOT ASSESSED.
AREAS: dict[str, tuple[str, tuple[str, ...]]] = {
    "deploy": ("Deploy scripts", ("deploy",)),
    "services": ("Services (systemd units)", ("systemd",)),
    "network": ("Network (firewall, DNS, TLS)", ("network",)),
    "monitoring": ("Monitoring and alerting", ("monitoring",)),
    "backups": ("Backups", ("backup",)),
    "dr": ("Disaster recovery", ("dr",)),
    "incident": ("Incident response", ("incident",)),
}
REQUIRED_AREAS: dict[str, tuple[str, ...]] = {
    "baseline": ("deploy",),
    "hardened": ("deploy", "services", "network", "monitoring"),
    "certified": ("deploy", "services", "network", "monitoring", "backups", "dr", "incident"),
}
# Report kinds that speak for part of the deployment gate on that part only (the global critical
# gate is still computed and shown beside it). Kinds not listed gate on everything.
KIND_SCOPES: dict[str, tuple[str, ...]] = {
    "incident-readiness": ("monitoring", "dr", "incident"),
}


@dataclass
class AreaCoverage:
    key: str
    label: str
    required: bool
    status: str  # ASSESSED, NOT ASSESSED, ERROR
    evidenced: int = 0  # pass/fail results about a real file or command output
    checks: list[str] = field(default_factory=list)  # checks that produced that evidence
    errors: int = 0


def has_artifact_evidence(f: Finding) -> bool:
    """A pass or fail that points at bytes read (a file or a command's output), not only a note."""
    return f.status in (Status.PASS, Status.FAIL) and any(e.path or e.command for e in f.evidence)


def coverage(
    findings: Iterable[Finding], profile: str, areas: Iterable[str] | None = None
) -> list[AreaCoverage]:
    """Evidence coverage of each area (``areas``: the scope; default all areas, required per profile)."""
    required = set(REQUIRED_AREAS.get(profile, ()))
    keys = list(areas) if areas is not None else list(AREAS)
    cat_to_area = {c: k for k, (_, cats) in AREAS.items() for c in cats}
    tally: dict[str, AreaCoverage] = {
        k: AreaCoverage(key=k, label=AREAS[k][0], required=k in required or areas is not None, status="")
        for k in keys
    }
    for f in findings:
        cov = tally.get(cat_to_area.get(f.category, ""))
        if cov is None:
            continue
        if f.status == Status.ERROR:
            cov.errors += 1
        elif has_artifact_evidence(f):
            cov.evidenced += 1
            if f.check_id not in cov.checks:
                cov.checks.append(f.check_id)
    for cov in tally.values():
        cov.checks.sort()
        if cov.evidenced:
            cov.status = "ASSESSED"
        else:
            cov.status = "ERROR" if cov.errors else "NOT ASSESSED"
    return list(tally.values())


def missing_areas(cov: Iterable[AreaCoverage]) -> list[AreaCoverage]:
    return [c for c in cov if c.required and c.status != "ASSESSED"]


def band_for(score: float | None, cfg: ScoringConfig) -> str | None:
    if score is None:
        return None
    for band in cfg.bands:  # sorted high to low
        if score >= band.min:
            return band.name
    return cfg.bands[-1].name


def weight_of(f: Finding) -> int:
    """How many items a result stands for: `data.count` of a grouped result, else 1."""
    n = f.data.get("count")
    return n if isinstance(n, int) and not isinstance(n, bool) and n >= 1 else 1


def _per_check(findings: Iterable[Finding]) -> dict[tuple[str, str], dict[str, int]]:
    """Results per check and target by status (`pass`, `fail`...), and the items they cover
    (`pass_items`, `fail_items`) for the credit."""
    tally: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for f in findings:
        t = tally[(f.check_id, f.target)]
        if f.status == Status.FAIL and f.suppressed:
            t["waived"] += 1
        else:
            t[f.status.value] += 1
            if f.status in (Status.PASS, Status.FAIL):
                t[f"{f.status.value}_items"] += weight_of(f)
    return tally


def compute_scores(findings: list[Finding], specs: Mapping[str, CheckLike], cfg: ScoringConfig) -> Scores:
    tally = _per_check(findings)
    groups: dict[str, dict[str, list[float]]] = {
        "categories": defaultdict(lambda: [0.0, 0.0]),
        "pillars": defaultdict(lambda: [0.0, 0.0]),
    }
    entries: dict[str, dict[str, ScoreEntry]] = {"categories": {}, "pillars": {}}
    for (check_id, _target), t in sorted(tally.items()):
        spec = specs.get(check_id)
        if spec is None:
            continue
        for kind, key in (("categories", spec.category), ("pillars", spec.pillar)):
            e = entries[kind].setdefault(key, ScoreEntry(name=key))
            e.passed += t["pass"]
            e.failed += t["fail"]
            e.not_applicable += t["not_applicable"]
            e.errors += t["error"]
            e.waived += t["waived"]
            decided = t["pass_items"] + t["fail_items"]
            weight = cfg.severity_weights.get(spec.severity.value, 0.0)
            if decided and weight > 0:
                acc = groups[kind][key]
                acc[0] += weight * t["pass_items"] / decided
                acc[1] += weight
    for kind in ("categories", "pillars"):
        for key, e in entries[kind].items():
            got, total = groups[kind].get(key, [0.0, 0.0])
            e.score = round(100.0 * got / total, 1) if total else None
            e.band = band_for(e.score, cfg)
    pillar_weights = cfg.pillar_weights
    for key, e in entries["pillars"].items():
        e.weight = pillar_weights.get(key, 0.0)
    num = sum(e.score * e.weight for e in entries["pillars"].values() if e.score is not None)
    den = sum(e.weight for e in entries["pillars"].values() if e.score is not None)
    overall = round(num / den, 1) if den else None
    return Scores(
        overall=overall,
        band=band_for(overall, cfg),
        categories=dict(sorted(entries["categories"].items())),
        pillars={k: entries["pillars"][k] for k in pillar_weights if k in entries["pillars"]},
    )


def evaluate_gate(
    findings: list[Finding], scores: Scores, cfg: ScoringConfig, profile: str, target_errors: int = 0
) -> Gate:
    reasons: list[str] = []
    crit = [
        f
        for f in findings
        if f.status == Status.FAIL and not f.suppressed and f.effective_severity == Severity.CRITICAL
    ]
    if cfg.critical_blocks and crit:
        ids = sorted({f.check_id for f in crit})
        reasons.append(f"{len(crit)} unwaived critical failure(s): {', '.join(ids)}")
    min_score = cfg.min_score.get(profile)
    if min_score is not None:
        if scores.overall is None:
            reasons.append("no applicable checks produced a score")
        elif scores.overall < min_score:
            reasons.append(f"score {scores.overall:.1f} is below the {profile} minimum {min_score:.0f}")
    if target_errors:
        reasons.append(f"{target_errors} target(s) could not be scanned")
    return Gate(passed=not reasons, reasons=reasons, critical_failures=len(crit), min_score=min_score)
