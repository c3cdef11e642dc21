"""Certificates: an id, a validity window and a digest over the canonical JSON of the results.

Canonical results (what the digest covers) are the verdicts, not the run: for every finding its
check, target, status, severity, message, subject, evidence (path, line, host, command, excerpt,
digest, note), fingerprint and waiver; plus the profile, the scores and the gate. Volatile fields
(start/finish times, check durations, collection statistics, tool version) are left out, so two runs
over the same bytes with the same checks give the same digest. Canonical JSON is
``json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)`` encoded as UTF-8,
with findings sorted by (target, check id, fingerprint, message).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from .findings import Finding, Severity, Status
from .results import RunReport

CERT_SCHEMA = "chom-validate/certificate/1"
DEFAULT_VALIDITY_DAYS = 90
_ENV_CODES = {"production": "PROD", "staging": "STG", "development": "DEV", "test": "TEST"}
_FINDING_FIELDS = ("check_id", "target", "status", "effective_severity", "message", "subject", "fingerprint")
_SKIP_DIRS = {".git", ".hg", ".svn", "__pycache__", ".venv", "node_modules"}


class Certificate(BaseModel):
    """What `certify` stores beside the rendered certificate and what `verify-certificate` reads."""

    schema_id: str = CERT_SCHEMA
    id: str
    project: str
    environment: str
    profile: str
    issued_at: str
    valid_until: str
    validity_days: int
    digest: str = Field(description="sha256 of the canonical JSON of the results (see module doc)")
    certified: bool
    score: float | None = None
    band: str | None = None
    gate_reasons: list[str] = Field(default_factory=list)
    targets: list[str] = Field(default_factory=list)
    results_file: str = "results.json"
    file_digests: dict[str, str] = Field(
        default_factory=dict, description="sha256 of every file of the scanned tree(s) at issue time"
    )


def canonical_results(report: RunReport) -> dict[str, Any]:
    findings = []
    for f in report.findings:
        item: dict[str, Any] = {k: getattr(f, k) for k in _FINDING_FIELDS}
        item["status"] = f.status.value
        item["effective_severity"] = f.effective_severity.value
        item["evidence"] = [e.model_dump(mode="json", exclude_none=True) for e in f.evidence]
        item["suppressed"] = f.suppressed.model_dump(mode="json") if f.suppressed else None
        findings.append(item)
    findings.sort(key=lambda i: (i["target"], i["check_id"], i["fingerprint"], i["message"]))
    return {
        "project": report.project,
        "environment": report.environment,
        "profile": report.profile,
        "targets": sorted(t.name for t in report.targets),
        "findings": findings,
        "scores": report.scores.model_dump(mode="json"),
        "gate": report.gate.model_dump(mode="json"),
    }


def canonical_json(report: RunReport) -> bytes:
    return json.dumps(
        canonical_results(report), sort_keys=True, separators=(",", ":"), ensure_ascii=False
    ).encode("utf-8")


def results_digest(report: RunReport) -> str:
    return hashlib.sha256(canonical_json(report)).hexdigest()


def certificate_id(project: str, environment: str, issued: dt.datetime, digest: str) -> str:
    env = _ENV_CODES.get(environment.lower(), environment.upper()[:6] or "ENV")
    quarter = (issued.month - 1) // 3 + 1
    return f"{project.upper()}-{env}-{issued.year}-Q{quarter}-{digest[:8].upper()}"


def validity_days(settings: dict[str, Any] | None) -> int:
    """``reports.validity_days`` in chom-validate.yaml (default 90)."""
    raw = (settings or {}).get("validity_days", DEFAULT_VALIDITY_DAYS)
    try:
        days = int(raw)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"reports.validity_days: expected a number of days, got {raw!r}") from exc
    if days < 1:
        raise ValueError(f"reports.validity_days: must be at least 1, got {days}")
    return days


def critical_failures(report: RunReport) -> list[Finding]:
    return [f for f in report.failures() if f.effective_severity == Severity.CRITICAL]


def is_certified(report: RunReport) -> bool:
    """The gate decides; an unwaived critical failure is NOT CERTIFIED even if the gate was configured
    not to block on it (``scoring.critical_blocks: false``) and whatever the score."""
    return report.gate.passed and not critical_failures(report) and not report.target_errors


def issue(
    report: RunReport,
    now: dt.datetime,
    days: int = DEFAULT_VALIDITY_DAYS,
    file_digests: dict[str, str] | None = None,
) -> Certificate:
    digest = results_digest(report)
    return Certificate(
        id=certificate_id(report.project, report.environment, now, digest),
        project=report.project,
        environment=report.environment,
        profile=report.profile,
        issued_at=now.isoformat(timespec="seconds"),
        valid_until=(now + dt.timedelta(days=days)).date().isoformat(),
        validity_days=days,
        digest=digest,
        certified=is_certified(report),
        score=report.scores.overall,
        band=report.scores.band,
        gate_reasons=list(report.gate.reasons),
        targets=[t.name for t in report.targets],
        file_digests=dict(sorted((file_digests or {}).items())),
    )


def tree_digests(root: Path, max_files: int = 20000) -> dict[str, str]:
    """sha256 of every regular file under ``root`` (relative POSIX paths; VCS dirs skipped)."""
    out: dict[str, str] = {}
    root = root.resolve()
    for p in sorted(root.rglob("*")):
        if len(out) >= max_files:
            break
        rel = p.relative_to(root)
        if any(part in _SKIP_DIRS for part in rel.parts) or p.is_symlink() or not p.is_file():
            continue
        try:
            out[rel.as_posix()] = hashlib.sha256(p.read_bytes()).hexdigest()
        except OSError:
            continue
    return out


def evidence_digests(report: RunReport) -> dict[str, str]:
    """path -> digest recorded in evidence (remote targets, where no tree walk is possible)."""
    out: dict[str, str] = {}
    for f in report.findings:
        for e in f.evidence:
            if e.path and e.digest:
                key = f"{e.host}:{e.path}" if e.host else e.path
                out.setdefault(key, e.digest)
    return out


class Change(BaseModel):
    kind: str  # digest, new-failure, fixed, file-changed, file-added, file-removed, expired
    detail: str


def diff_files(old: dict[str, str], new: dict[str, str]) -> list[Change]:
    changes = []
    for path in sorted(set(old) | set(new)):
        if path not in new:
            changes.append(Change(kind="file-removed", detail=path))
        elif path not in old:
            changes.append(Change(kind="file-added", detail=path))
        elif old[path] != new[path]:
            changes.append(Change(kind="file-changed", detail=path))
    return changes


def _failures(report: RunReport) -> dict[str, str]:
    out = {}
    for f in report.findings:
        if f.status == Status.FAIL and not f.suppressed:
            where = f.evidence[0].location() if f.evidence else f.target
            out[f.fingerprint] = f"{f.check_id} {where}: {f.message}"
    return out


def diff_findings(old: RunReport, new: RunReport) -> list[Change]:
    before, after = _failures(old), _failures(new)
    changes = [Change(kind="new-failure", detail=after[k]) for k in sorted(set(after) - set(before))]
    changes += [Change(kind="fixed", detail=before[k]) for k in sorted(set(before) - set(after))]
    return changes


def load_certificate(path: Path) -> tuple[Certificate, Path]:
    """Read ``certificate.json`` given it, its directory, or a rendered certificate beside it."""
    if path.is_dir():
        path = path / "certificate.json"
    elif path.suffix != ".json" or path.name == "results.json":
        path = path.with_name("certificate.json")
    try:
        cert = Certificate.model_validate_json(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ValueError(f"{path}: cannot read certificate: {exc.strerror or exc}") from exc
    except ValueError as exc:
        raise ValueError(f"{path}: not a chom-validate certificate: {exc}") from exc
    return cert, path


def count_by(changes: Iterable[Change]) -> dict[str, int]:
    out: dict[str, int] = {}
    for c in changes:
        out[c.kind] = out.get(c.kind, 0) + 1
    return out
