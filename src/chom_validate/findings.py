"""Result models: what checks yield and what every output reads.

Redaction happens here, in validators, so no output format can see an unredacted message or excerpt.
"""

from __future__ import annotations

import hashlib
import re
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from .redact import redact

EXCERPT_MAX = 240
# "file:12", "line 12", "lines 3-5" in messages: masked in fingerprints so moved lines still match.
# Only after a file name with an extension, so ports ("10.0.0.1:9100", "localhost:9090") are kept.
_LINE_REF = re.compile(r"(\.[A-Za-z][A-Za-z0-9_-]{0,9}:|\blines? )\d+(?:-\d+)?\b")


class Status(StrEnum):
    PASS = "pass"
    FAIL = "fail"
    NOT_APPLICABLE = "not_applicable"
    ERROR = "error"


class Severity(StrEnum):
    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    INFO = "info"

    @property
    def rank(self) -> int:
        return {"critical": 4, "high": 3, "medium": 2, "low": 1, "info": 0}[self.value]


class Evidence(BaseModel):
    """Where a result comes from: a file line, or a host and the command whose output was read."""

    model_config = ConfigDict(extra="forbid")

    path: str | None = Field(None, description="File path as shown to the user (relative to the target root)")
    line: int | None = Field(None, ge=1, description="1-based line in `path`")
    end_line: int | None = Field(None, ge=1)
    host: str | None = Field(None, description="Host the evidence was collected from (remote targets)")
    command: list[str] | None = Field(
        None, description="argv of the allow-listed command whose output was read"
    )
    excerpt: str | None = Field(None, description="Redacted excerpt of the line or output")
    digest: str | None = Field(None, description="sha256 of the bytes read (file or command output)")
    note: str | None = Field(None, description="Why this evidence matters (e.g. 'no such rule found')")

    @field_validator("excerpt", "note")
    @classmethod
    def _redact(cls, v: str | None) -> str | None:
        if v is None:
            return None
        v = redact(v)
        return v if len(v) <= EXCERPT_MAX else v[: EXCERPT_MAX - 1] + "…"

    def location(self) -> str:
        """Human form: ``path:line`` or ``host$ command``."""
        if self.command:
            where = f"{self.host or 'local'}$ {' '.join(self.command)}"
            return where
        if self.path:
            loc = self.path if self.line is None else f"{self.path}:{self.line}"
            return f"{self.host}:{loc}" if self.host else loc
        return self.host or "-"


class Result(BaseModel):
    """One verdict a check yields about one subject (a unit, a script, a scrape job...)."""

    model_config = ConfigDict(extra="forbid")

    status: Status
    message: str
    subject: str | None = Field(None, description="What was checked (unit name, script, alert...)")
    evidence: list[Evidence] = Field(default_factory=list)
    severity: Severity | None = Field(None, description="Overrides the check's default severity")
    data: dict[str, Any] = Field(default_factory=dict, description="Machine-readable facts (counts...)")

    @field_validator("message", "subject")
    @classmethod
    def _redact(cls, v: str | None) -> str | None:
        return redact(v) if v else v

    @classmethod
    def passed(cls, message: str, *evidence: Evidence, subject: str | None = None, **data: Any) -> Result:
        return cls(status=Status.PASS, message=message, evidence=list(evidence), subject=subject, data=data)

    @classmethod
    def fail(
        cls,
        message: str,
        *evidence: Evidence,
        subject: str | None = None,
        severity: Severity | str | None = None,
        **data: Any,
    ) -> Result:
        sev = Severity(severity) if severity else None
        return cls(
            status=Status.FAIL,
            message=message,
            evidence=list(evidence),
            subject=subject,
            severity=sev,
            data=data,
        )

    @classmethod
    def not_applicable(cls, message: str, *evidence: Evidence, subject: str | None = None) -> Result:
        return cls(status=Status.NOT_APPLICABLE, message=message, evidence=list(evidence), subject=subject)

    @classmethod
    def error(cls, message: str, *evidence: Evidence, subject: str | None = None) -> Result:
        return cls(status=Status.ERROR, message=message, evidence=list(evidence), subject=subject)


class Suppression(BaseModel):
    """Why a failing finding does not count against the gate (waiver or baseline)."""

    kind: str = Field(description="'waiver' or 'baseline'")
    reason: str
    owner: str | None = None
    expires: str | None = None
    source: str | None = Field(None, description="File and line the waiver/baseline entry came from")


class Finding(Result):
    """A result placed in context: which check, which target; what outputs serialize."""

    check_id: str
    check_name: str
    category: str
    pillar: str
    target: str
    effective_severity: Severity
    fingerprint: str = ""
    suppressed: Suppression | None = None

    def compute_fingerprint(self, *, target: str | None = None, occurrence: int = 0) -> str:
        """Stable across line shifts: check, target, path, subject and a whitespace-normalized excerpt.

        Line numbers never enter it (in messages they are masked), so inserting lines above a finding
        keeps its fingerprint. ``target`` overrides the target name (a local tree is fingerprinted as
        'local' wherever it is checked out); ``occurrence`` tells apart identical findings in one file.
        """
        ev = self.evidence[0] if self.evidence else None
        parts = [
            self.check_id,
            self.target if target is None else target,
            (ev.path or " ".join(ev.command or [])) if ev else "",
            self.subject or "",
            " ".join((ev.excerpt or "").split()) if ev else "",
            "" if ev and ev.excerpt else _LINE_REF.sub(r"\1N", " ".join(self.message.split())),
        ]
        if occurrence:
            parts.append(f"#{occurrence}")
        return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
