"""A small, fixed RunReport for report tests: every status, a waiver, host and file evidence, a canary."""

from __future__ import annotations

import datetime as dt

from chom_validate.config import ScoringConfig
from chom_validate.findings import Evidence, Finding, Result, Severity, Status, Suppression
from chom_validate.registry import CheckSpec
from chom_validate.results import CheckMeta, RunReport, TargetReport
from chom_validate.scoring import compute_scores, evaluate_gate

NOW = dt.datetime(2026, 11, 29, 12, 0, tzinfo=dt.UTC)
CANARY = "CANARYsecret123"

# id, category, pillar, severity, title
CHECKS = [
    ("DEP001", "deploy", "reliability", "high", "Scripts run in strict mode (`set -euo pipefail`)."),
    ("SEC001", "secrets", "security", "critical", "No credentials on command lines."),
    ("NET001", "network", "security", "critical", "Metrics ports are not open to the world."),
    ("MON002", "monitoring", "observability", "high", "Critical alerts link to an existing runbook."),
    ("BAK001", "backup", "reliability", "medium", "The DR plan's RPO matches the backup schedule."),
    ("SYS001", "systemd", "reliability", "high", "Long-running services restart on failure."),
    ("DR001", "dr", "operations", "high", "Scripts referenced by the DR plan exist."),
    ("IR001", "incident", "operations", "medium", "Every critical alert has an escalation."),
]


def _doc(cid: str, title: str) -> dict[str, str]:
    return {
        "title": title,
        "What it does": f"Checks {cid}.",
        "Why it matters": "Because production breaks at 3am.",
        "Fix": f"Apply the documented fix for {cid}: edit the file and rerun `chom-validate all`.",
        "References": "https://example.invalid/docs",
    }


def _f(cid: str, result: Result, target: str = "examples/chom-deployment") -> Finding:
    meta = next(c for c in CHECKS if c[0] == cid)
    f = Finding(
        **result.model_dump(),
        check_id=cid,
        check_name=cid.lower(),
        category=meta[1],
        pillar=meta[2],
        target=target,
        effective_severity=result.severity or Severity(meta[3]),
    )
    f.fingerprint = f.compute_fingerprint()
    return f


def sample_report(*, critical_failure: bool = True, all_pass: bool = False) -> RunReport:
    """The fixed report. ``critical_failure`` keeps NET001 failing (critical); ``all_pass`` passes all."""
    ev = Evidence
    results: list[Finding] = [
        _f(
            "DEP001",
            Result.passed(
                "deploy-landsraad.sh runs with set -euo pipefail",
                ev(path="landsraad/deploy/deploy-landsraad.sh", line=2, excerpt="set -euo pipefail"),
                subject="deploy-landsraad.sh",
            ),
        ),
        _f(
            "SEC001",
            Result.passed(
                "backup script reads MySQL credentials from an option file",
                ev(
                    path="landsraad/backup/backup-chom.sh",
                    line=14,
                    excerpt=f"# was: mysql -p{CANARY} chom",
                    note=f"old line used password={CANARY}",
                ),
                subject="backup-chom.sh",
            ),
        ),
        _f(
            "SYS001",
            Result.passed(
                "node_exporter restarts on failure",
                ev(host="landsraad", command=["systemctl", "show", "node_exporter", "-p", "Restart"]),
                subject="node_exporter.service",
            ),
        ),
        _f(
            "BAK001",
            Result.passed(
                "RPO 24h matches the daily 02:00 backup",
                ev(path="docs/DISASTER_RECOVERY.md", line=12),
                ev(path="landsraad/cron/chom-backup", line=3),
            ),
        ),
        _f("IR001", Result.not_applicable("no escalation policy file found")),
        _f("DR001", Result.error("could not read docs/runbooks/ (permission denied)")),
    ]
    if all_pass:
        results += [
            _f(
                "NET001",
                Result.passed(
                    "8080 allowed only from 51.254.139.78",
                    ev(path="landsraad/firewall/setup-firewall.sh", line=31),
                ),
            ),
            _f(
                "MON002",
                Result.passed(
                    "RedisDown links to docs/runbooks/redis-down.md",
                    ev(path="mentat/prometheus/rules/landsraad.yml", line=40),
                ),
            ),
        ]
    else:
        if critical_failure:
            results.append(
                _f(
                    "NET001",
                    Result.fail(
                        "port 8080 (chom-app metrics) is allowed from anywhere",
                        ev(
                            path="landsraad/firewall/setup-firewall.sh", line=31, excerpt="ufw allow 8080/tcp"
                        ),
                        subject="8080/tcp",
                    ),
                )
            )
        else:
            results.append(
                _f(
                    "NET001",
                    Result.passed(
                        "8080 allowed only from 51.254.139.78",
                        ev(path="landsraad/firewall/setup-firewall.sh", line=31),
                    ),
                )
            )
        redis = _f(
            "MON002",
            Result.fail(
                "critical alert RedisDown has no runbook_url",
                ev(path="mentat/prometheus/rules/landsraad.yml", line=40, excerpt="- alert: RedisDown"),
                subject="RedisDown",
            ),
        )
        redis.suppressed = Suppression(
            kind="waiver",
            reason="runbook being written in OPS-142",
            owner="ops@chom",
            expires="2026-12-31",
            source="chom-validate.yaml:28",
        )
        phpfpm = _f(
            "MON002",
            Result.fail(
                "PHPFPMSaturation runbook_url points to a missing file",
                ev(
                    path="mentat/prometheus/rules/landsraad.yml",
                    line=55,
                    excerpt="runbook_url: docs/runbooks/php-fpm-saturation.md",
                ),
                subject="PHPFPMSaturation",
            ),
        )
        results += [redis, phpfpm]
    specs = {
        cid: CheckSpec(
            id=cid,
            name=cid.lower(),
            category=cat,
            severity=Severity(sev),
            pillar=pil,
            profile="baseline",
            func=lambda ctx: iter(()),
            source="tests",
        )
        for cid, cat, pil, sev, _ in CHECKS
    }
    cfg = ScoringConfig()
    scores = compute_scores(results, specs, cfg)
    gate = evaluate_gate(results, scores, cfg, "hardened")
    summary = {s.value: sum(1 for f in results if f.status == s) for s in Status}
    summary.update(
        waived=sum(1 for f in results if f.suppressed), checks=len(CHECKS), targets=1, target_errors=0
    )
    return RunReport(
        tool_version="0.1.0",
        started_at=NOW.isoformat(timespec="seconds"),
        finished_at=NOW.isoformat(timespec="seconds"),
        profile="hardened",
        config_source="examples/chom-deployment/chom-validate.yaml",
        targets=[
            TargetReport(name="examples/chom-deployment", kind="local", stats={"files": 42}, scores=scores)
        ],
        findings=results,
        checks=[
            CheckMeta(
                id=cid,
                name=cid.lower(),
                title=title,
                category=cat,
                pillar=pil,
                severity=Severity(sev),
                profile="baseline",
                doc=_doc(cid, title),
            )
            for cid, cat, pil, sev, title in CHECKS
        ],
        scores=scores,
        gate=gate,
        summary=summary,
        notices=["waiver for SYS004 (chom-validate.yaml:31) expired on 2026-10-01"],
    )
