"""Scoring with hand-computed expectations (weights from DESIGN.md and seed 001)."""

from __future__ import annotations

from chom_validate.config import Band, ScoringConfig
from chom_validate.findings import Finding, Severity, Status, Suppression
from chom_validate.registry import CheckSpec
from chom_validate.scoring import band_for, compute_scores, evaluate_gate


def spec(cid: str, sev: str, category: str, pillar: str) -> CheckSpec:
    return CheckSpec(
        id=cid,
        name=cid.lower(),
        category=category,
        severity=Severity(sev),
        pillar=pillar,
        profile="baseline",
        func=lambda ctx: iter(()),
        source="test",
    )


def fnd(cid: str, status: str, sev: str = "high", target: str = "t", waived: bool = False) -> Finding:
    return Finding(
        status=Status(status),
        message="m",
        check_id=cid,
        check_name=cid,
        category="x",
        pillar="x",
        target=target,
        effective_severity=Severity(sev),
        suppressed=Suppression(kind="waiver", reason="r") if waived else None,
    )


SPECS = {
    "A001": spec("A001", "critical", "deploy", "reliability"),  # weight 10
    "A002": spec("A002", "high", "deploy", "security"),  # weight 5
    "A003": spec("A003", "medium", "systemd", "security"),  # weight 2
    "A004": spec("A004", "low", "systemd", "reliability"),  # weight 1
}


def test_hand_computed_scores() -> None:
    fs = [
        # A001: 3 pass, 1 fail -> credit 0.75 * 10 = 7.5 of 10
        fnd("A001", "pass"),
        fnd("A001", "pass"),
        fnd("A001", "pass"),
        fnd("A001", "fail", "critical"),
        # A002: 1 pass, 1 fail -> 0.5 * 5 = 2.5 of 5
        fnd("A002", "pass"),
        fnd("A002", "fail"),
        # A003: all fail -> 0 of 2
        fnd("A003", "fail", "medium"),
        # A004: pass, plus n/a and error which never count -> 1 of 1
        fnd("A004", "pass", "low"),
        fnd("A004", "not_applicable", "low"),
        fnd("A004", "error", "low"),
    ]
    s = compute_scores(fs, SPECS, ScoringConfig())
    # deploy: (7.5 + 2.5) / 15 = 66.67 ; systemd: (0 + 1) / 3 = 33.33
    assert s.categories["deploy"].score == 66.7
    assert s.categories["systemd"].score == 33.3
    assert s.categories["systemd"].errors == 1 and s.categories["systemd"].not_applicable == 1
    # reliability: (7.5 + 1) / 11 = 77.27 ; security: (2.5 + 0) / 7 = 35.71
    assert s.pillars["reliability"].score == 77.3
    assert s.pillars["security"].score == 35.7
    # overall: pillar weights reliability 20, security 25 -> (77.27*20 + 35.71*25) / 45 = 54.18
    assert s.overall == 54.2
    assert s.band == "FAIR"


def test_waived_failures_do_not_count_and_are_tallied() -> None:
    fs = [fnd("A002", "pass"), fnd("A002", "fail", waived=True)]
    s = compute_scores(fs, SPECS, ScoringConfig())
    assert s.categories["deploy"].score == 100.0
    assert s.categories["deploy"].waived == 1


def test_nothing_applicable_has_no_score() -> None:
    s = compute_scores([fnd("A001", "not_applicable"), fnd("A002", "error")], SPECS, ScoringConfig())
    assert s.overall is None and s.band is None
    assert s.categories["deploy"].score is None


def test_bands_default_and_overridden() -> None:
    cfg = ScoringConfig()
    assert [band_for(v, cfg) for v in (100, 90, 89.9, 70, 50, 49.9, 30, 29.9, 0)] == [
        "EXCELLENT",
        "EXCELLENT",
        "GOOD",
        "GOOD",
        "FAIR",
        "POOR",
        "POOR",
        "CRITICAL",
        "CRITICAL",
    ]
    custom = ScoringConfig(bands=[Band(name="OK", min=60), Band(name="NOT OK", min=0)])
    assert band_for(61, custom) == "OK" and band_for(59, custom) == "NOT OK"


def test_config_overrides_weights() -> None:
    cfg = ScoringConfig(severity_weights={"critical": 1}, pillar_weights={"security": 0})
    fs = [fnd("A001", "pass"), fnd("A002", "fail")]
    s = compute_scores(fs, SPECS, cfg)
    # security weighted 0 -> overall is reliability only
    assert s.overall == 100.0


def test_gate_critical_failure_blocks_whatever_the_score() -> None:
    fs = [fnd("A001", "pass")] * 50 + [fnd("A001", "fail", "critical")]
    s = compute_scores(fs, SPECS, ScoringConfig())
    assert s.overall is not None and s.overall > 95
    g = evaluate_gate(fs, s, ScoringConfig(), "baseline")
    assert not g.passed and g.critical_failures == 1 and "A001" in g.reasons[0]
    fs[-1] = fnd("A001", "fail", "critical", waived=True)
    g = evaluate_gate(fs, compute_scores(fs, SPECS, ScoringConfig()), ScoringConfig(), "baseline")
    assert g.passed


def test_gate_min_score_per_profile() -> None:
    fs = [fnd("A002", "pass"), fnd("A002", "pass"), fnd("A002", "pass"), fnd("A002", "fail")]  # 75
    s = compute_scores(fs, SPECS, ScoringConfig())
    assert s.overall == 75.0
    assert evaluate_gate(fs, s, ScoringConfig(), "hardened").passed
    g = evaluate_gate(fs, s, ScoringConfig(), "certified")
    assert not g.passed and "below the certified minimum 90" in g.reasons[0]


def test_grouped_results_weigh_as_many_items_as_they_cover() -> None:
    """One finding for the 85 alerts of a rule file without a runbook and one pass for the 15 with
    one score like 85 failing and 15 passing alerts, not like one failure beside one pass."""
    passed = fnd("A003", "pass")
    passed.data = {"count": 15, "names": ["x"] * 15}
    failed = fnd("A003", "fail", "medium")
    failed.data = {"count": 85}
    grouped = compute_scores([passed, failed], SPECS, ScoringConfig())
    one_each = [fnd("A003", "pass") for _ in range(15)] + [fnd("A003", "fail", "medium") for _ in range(85)]
    per_item = compute_scores(one_each, SPECS, ScoringConfig())
    assert grouped.categories["systemd"].score == per_item.categories["systemd"].score == 15.0
    # the counts shown are still results; a malformed count (bool, zero, text) weighs 1
    assert (grouped.categories["systemd"].passed, grouped.categories["systemd"].failed) == (1, 1)
    for bad in (True, 0, -3, "85"):
        failed.data = {"count": bad}
        assert compute_scores([passed, failed], SPECS, ScoringConfig()).categories["systemd"].score == round(
            100 * 15 / 16, 1
        )
