"""Certificates: the auditor's judgement of a run (``evaluate``), an id, a validity window (only when
CERTIFIED), a seal and a digest over the canonical JSON of the judged results. The block rendered
documents carry and the authenticity checks live in ``verification.py``; signatures in ``signing.py``.

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
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from .config import ScoringConfig
from .findings import Finding, Severity, Status
from .results import Gate, RunReport
from .scoring import (
    AREAS,
    KIND_SCOPES,
    AreaCoverage,
    compute_scores,
    coverage,
    evaluate_gate,
    missing_areas,
)

CERT_SCHEMA = "chom-validate/certificate/2"
BLOCK_SCHEMA = "chom-validate/certificate-block/1"
SIGN_NAMESPACE = "chom-validate-certificate"
DEFAULT_KIND = "confidence-certificate"
DEFAULT_VALIDITY_DAYS = 90
_ENV_CODES = {"production": "PROD", "staging": "STG", "development": "DEV", "test": "TEST"}
_FINDING_FIELDS = (
    "check_id",
    "category",
    "target",
    "status",
    "effective_severity",
    "message",
    "subject",
    "fingerprint",
)
_SKIP_DIRS = {".git", ".hg", ".svn", "__pycache__", ".venv", "node_modules"}


class Certificate(BaseModel):
    """What `certify` stores beside the rendered certificate and what `verify-certificate` reads."""

    schema_id: str = CERT_SCHEMA
    id: str
    project: str
    environment: str
    profile: str
    kind: str = DEFAULT_KIND
    issued_at: str
    valid_until: str | None = Field(None, description="Only a CERTIFIED certificate has a validity window")
    validity_days: int
    digest: str = Field(description="sha256 of the canonical JSON of the results (see module doc)")
    certified: bool
    status: str = Field("", description="CERTIFIED, NOT CERTIFIED, NOT CERTIFIED: insufficient evidence, ...")
    missing_areas: list[str] = Field(default_factory=list, description="Required areas without evidence")
    not_looked_at: list[str] = Field(
        default_factory=list, description="Files skipped or unreadable, tools missing, hosts unreached"
    )
    global_gate: list[str] = Field(
        default_factory=list, description="Global critical gate (shown beside a scoped kind's own verdict)"
    )
    config_source: str | None = None
    score: float | None = None
    band: str | None = None
    gate_reasons: list[str] = Field(default_factory=list)
    targets: list[str] = Field(default_factory=list)
    results_file: str = "results.json"
    file_digests: dict[str, str] = Field(
        default_factory=dict, description="sha256 of every file of the scanned tree(s) at issue time"
    )
    seal: str = Field("", description="sha256 of the canonical JSON of every other field but signature")
    signature: str | None = Field(None, description="`ssh-keygen -Y sign` signature over the sealed fields")

    def sealed_bytes(self) -> bytes:
        data = self.model_dump(mode="json", exclude={"seal", "signature"})
        return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")

    def compute_seal(self) -> str:
        return hashlib.sha256(self.sealed_bytes()).hexdigest()


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


# -- certification: what the evidence carries ---------------------------------------------------------
_TOOLS = ("shellcheck", "promtool", "amtool", "systemd-analyze")
_TOOL_MISSING = re.compile(
    r"`?(" + "|".join(map(re.escape, _TOOLS)) + r")`? (?:is )?not (?:installed|found|available)"
)


@dataclass
class Evaluation:
    """A run judged for one report kind: the derived report a certificate covers and its verdict."""

    report: RunReport  # baselines lifted, waivers re-checked, unreached hosts unknown, re-scored
    kind: str
    certified: bool
    status: str
    reasons: list[str]
    coverage: list[AreaCoverage]
    missing: list[AreaCoverage]
    global_gate: list[str] = field(default_factory=list)
    not_looked_at: list[str] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)
    unreached: list[tuple[str, str]] = field(default_factory=list)
    baselined: int = 0
    scope: tuple[str, ...] | None = None


def _mentions(f: Finding, host: str) -> bool:
    if f.target == host or f.subject == host or any(e.host == host for e in f.evidence):
        return True
    return len(host) >= 3 and re.search(rf"(?<![\w.-]){re.escape(host)}(?![\w-])", f.message) is not None


def not_looked_at(report: RunReport) -> tuple[list[str], list[str]]:
    """(everything not looked at, unreadable files): skipped files, read errors, missing tools."""
    items: list[str] = []
    unreadable: list[str] = []
    for t in report.targets:
        for key, value in sorted(t.stats.items()):
            if ("skipped" in key or "unreadable" in key or "special" in key) and value:
                shown = value if not isinstance(value, list | dict) else len(value)
                items.append(f"{t.name}: {key.replace('_', ' ')}: {shown}")
    for f in report.findings:
        if f.check_id == "TGT001" and f.status == Status.ERROR and not f.message.startswith("not assessed:"):
            items.append(f"{f.target}: {f.message}")
            if not re.search(r"symlink|size cap|too large|binary|UTF-8|fifo|FIFO|socket|device", f.message):
                unreadable.append(f"{f.target}: {f.message}")
    tools = sorted({m.group(1) for f in report.findings for m in [_TOOL_MISSING.search(f.message)] if m})
    items += [f"tool not installed: {t} (checks that need it did not run)" for t in tools]
    return items, unreadable


def evaluate(
    report: RunReport,
    scoring: ScoringConfig,
    today: dt.date,
    *,
    kind: str = DEFAULT_KIND,
    use_waivers: bool = True,
) -> Evaluation:
    """Judge a run as an auditor would (pure; never changes ``report``).

    - Baselines are a merge-gate tool: baselined failures count as open failures here.
    - A waiver counts only when in force today (and never with ``use_waivers=False``).
    - Every check about a host that could not be scanned is ``error`` (not assessed), never pass/fail.
    - Each area the profile requires (or the kind's scope) needs artifact evidence, else NOT ASSESSED
      and "NOT CERTIFIED: insufficient evidence"; an unreadable file makes it "incomplete evidence".
    """
    view = report.model_copy(deep=True)
    unreached = [(t.name, t.error or "could not be scanned") for t in view.targets if t.error]
    baselined = 0
    for f in view.findings:
        sup = f.suppressed
        if sup is not None and sup.kind == "baseline":
            f.data["baselined"] = sup.source or "baseline"
            f.suppressed = None
            baselined += 1
        elif sup is not None and sup.kind == "waiver":
            expired = sup.expires is not None and sup.expires < today.isoformat()
            if not use_waivers or expired:
                if expired:
                    f.data["expired_waiver"] = f"{sup.source or 'config'} (expired {sup.expires})"
                f.suppressed = None
        for host, why in unreached:
            if f.status in (Status.PASS, Status.FAIL) and _mentions(f, host):
                f.status = Status.ERROR
                f.suppressed = None
                f.message = f"not assessed: {host} could not be scanned ({why}); the check said: {f.message}"
                break
    for host, why in unreached:
        for c in view.checks:
            view.findings.append(
                Finding(
                    status=Status.ERROR,
                    message=f"not assessed: {host} could not be scanned ({why})",
                    subject=host,
                    check_id=c.id,
                    check_name=c.name,
                    category=c.category,
                    pillar=c.pillar,
                    target=host,
                    effective_severity=c.severity,
                    fingerprint=hashlib.sha256(f"{c.id}\x1f{host}\x1funreached".encode()).hexdigest()[:32],
                )
            )
    scope = KIND_SCOPES.get(kind)
    scope_cats = {c for a in scope for c in AREAS[a][1]} if scope else None
    in_scope = [f for f in view.findings if scope_cats is None or f.category in scope_cats]
    specs = {c.id: c for c in view.checks}
    view.scores = compute_scores(in_scope, specs, scoring)
    gate = evaluate_gate(in_scope, view.scores, scoring, view.profile, len(unreached))
    reasons = [r for r in gate.reasons if "target(s) could not be scanned" not in r]
    crit = [
        f
        for f in in_scope
        if f.status == Status.FAIL and not f.suppressed and f.effective_severity == Severity.CRITICAL
    ]
    if crit and not any("critical" in r for r in reasons):
        reasons.insert(
            0, f"{len(crit)} unwaived critical failure(s): {', '.join(sorted({f.check_id for f in crit}))}"
        )
    open_baselined = sum(1 for f in in_scope if f.status == Status.FAIL and f.data.get("baselined"))
    if open_baselined:
        reasons.append(f"{open_baselined} baselined failure(s) count as open: a baseline never certifies")
    cov = coverage(view.findings, view.profile, scope)
    missing = missing_areas(cov)
    lost, unreadable = not_looked_at(view)
    status = "NOT CERTIFIED"
    if missing:
        reasons.insert(0, "insufficient evidence: not assessed: " + ", ".join(c.label for c in missing))
        status = "NOT CERTIFIED: insufficient evidence"
    if unreadable:
        reasons.append(
            f"incomplete evidence: {len(unreadable)} file(s) could not be read: " + "; ".join(unreadable[:5])
        )
        status = "NOT CERTIFIED: incomplete evidence"
    if unreached:  # the most precise cause: say it first
        reasons.insert(
            0, "incomplete evidence: " + "; ".join(f"{h} could not be scanned: {w}" for h, w in unreached)
        )
        status = "NOT CERTIFIED: incomplete evidence"
    certified = not reasons
    if certified:
        status = "CERTIFIED"
    global_gate: list[str] = []
    if scope_cats is not None:
        outside = [
            f
            for f in view.findings
            if f.category not in scope_cats
            and f.status == Status.FAIL
            and not f.suppressed
            and f.effective_severity == Severity.CRITICAL
        ]
        if outside:
            global_gate.append(
                f"global critical gate FAILED: {len(outside)} unwaived critical failure(s) outside this "
                f"report's scope: {', '.join(sorted({f.check_id for f in outside}))}"
            )
        else:
            global_gate.append("global critical gate passed: no unwaived critical failure outside this scope")
    view.gate = Gate(passed=certified, reasons=reasons, critical_failures=len(crit), min_score=gate.min_score)
    summary = {s.value: sum(1 for f in view.findings if f.status == s) for s in Status}
    summary["waived"] = sum(1 for f in view.findings if f.suppressed and f.suppressed.kind == "waiver")
    summary["baselined"] = baselined
    for k in ("checks", "targets", "target_errors"):
        summary[k] = report.summary.get(k, 0)
    view.summary = summary
    return Evaluation(
        report=view,
        kind=kind,
        certified=certified,
        status=status,
        reasons=reasons,
        coverage=cov,
        missing=missing,
        global_gate=global_gate,
        not_looked_at=lost,
        unreadable=unreadable,
        unreached=unreached,
        baselined=baselined,
        scope=scope,
    )


def issue_time(report: RunReport, now: dt.datetime | None) -> dt.datetime:
    """When a certificate over a saved run was issued: the run's end, so re-rendering keeps it."""
    if now is not None:
        return now
    try:
        t = dt.datetime.fromisoformat(report.finished_at)
    except ValueError:
        return dt.datetime.now(dt.UTC).replace(microsecond=0)
    return t if t.tzinfo else t.replace(tzinfo=dt.UTC)


def issue(
    report: RunReport,
    now: dt.datetime,
    days: int = DEFAULT_VALIDITY_DAYS,
    file_digests: dict[str, str] | None = None,
    evaluation: Evaluation | None = None,
) -> Certificate:
    """The certificate over ``report`` (pass the Evaluation's report: that is what it covers)."""
    digest = results_digest(report)
    certified = evaluation.certified if evaluation else is_certified(report)
    cert = Certificate(
        id=certificate_id(report.project, report.environment, now, digest),
        project=report.project,
        environment=report.environment,
        profile=report.profile,
        kind=evaluation.kind if evaluation else DEFAULT_KIND,
        issued_at=now.isoformat(timespec="seconds"),
        valid_until=(now + dt.timedelta(days=days)).date().isoformat() if certified else None,
        validity_days=days,
        digest=digest,
        certified=certified,
        status=evaluation.status if evaluation else ("CERTIFIED" if certified else "NOT CERTIFIED"),
        missing_areas=[c.label for c in evaluation.missing] if evaluation else [],
        not_looked_at=list(evaluation.not_looked_at) if evaluation else [],
        global_gate=list(evaluation.global_gate) if evaluation else [],
        config_source=report.config_source,
        score=report.scores.overall,
        band=report.scores.band,
        gate_reasons=list(report.gate.reasons),
        targets=[t.name for t in report.targets],
        file_digests=dict(sorted((file_digests or {}).items())),
    )
    cert.seal = cert.compute_seal()
    return cert


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


def _open(canon: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Open failures of canonical results by fingerprint (waived ones are not open)."""
    out = {}
    for f in canon.get("findings", []):
        if f.get("status") == "fail" and not f.get("suppressed"):
            out[f["fingerprint"] or f["message"]] = f
    return out


def describe(f: dict[str, Any]) -> str:
    ev = (f.get("evidence") or [{}])[0]
    where = ev.get("path") or f.get("target")
    if ev.get("path") and ev.get("line"):
        where = f"{ev['path']}:{ev['line']}"
    if ev.get("host") and ev.get("path"):
        where = f"{ev['host']}:{where}"
    return f"{f['check_id']} {where}: {f['message']}"


def diff_findings(old: RunReport | dict[str, Any], new: RunReport | dict[str, Any]) -> list[Change]:
    """New, fixed and changed (same fingerprint, other severity or message) open failures."""
    a = _open(old if isinstance(old, dict) else canonical_results(old))
    b = _open(new if isinstance(new, dict) else canonical_results(new))
    changes = [Change(kind="new-failure", detail=describe(b[k])) for k in sorted(set(b) - set(a))]
    changes += [Change(kind="fixed", detail=describe(a[k])) for k in sorted(set(a) - set(b))]
    for k in sorted(set(a) & set(b)):
        x, y = a[k], b[k]
        if (x["effective_severity"], x["message"]) != (y["effective_severity"], y["message"]):
            changes.append(
                Change(
                    kind="changed",
                    detail=f"{describe(y)} (was {x['effective_severity']}: {x['message']})",
                )
            )
    return changes


def load_certificate(path: Path) -> tuple[Certificate, Path]:
    """Read ``certificate.json`` given it or its directory."""
    if path.is_dir():
        path = path / "certificate.json"
    elif path.name == "results.json":
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
