"""Scores, bands and gates.

Each check on each target earns credit = passes / (passes + fails) among its unsuppressed results,
weighted by the check's severity weight (critical 10, high 5, medium 2, low 1). A category or pillar
score is the weighted share of credit over its applicable checks; the overall score is the mean of
pillar scores weighted by the pillar weights (seed 001), re-normalised over pillars that had anything
applicable. ``error`` and ``not_applicable`` results are counted, never scored as pass.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from .config import ScoringConfig
from .findings import Finding, Severity, Status
from .registry import CheckSpec
from .results import Gate, ScoreEntry, Scores


def band_for(score: float | None, cfg: ScoringConfig) -> str | None:
    if score is None:
        return None
    for band in cfg.bands:  # sorted high to low
        if score >= band.min:
            return band.name
    return cfg.bands[-1].name


def _per_check(findings: Iterable[Finding]) -> dict[tuple[str, str], dict[str, int]]:
    tally: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for f in findings:
        t = tally[(f.check_id, f.target)]
        if f.status == Status.FAIL and f.suppressed:
            t["waived"] += 1
        else:
            t[f.status.value] += 1
    return tally


def compute_scores(findings: list[Finding], specs: dict[str, CheckSpec], cfg: ScoringConfig) -> Scores:
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
            decided = t["pass"] + t["fail"]
            weight = cfg.severity_weights.get(spec.severity.value, 0.0)
            if decided and weight > 0:
                acc = groups[kind][key]
                acc[0] += weight * t["pass"] / decided
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
