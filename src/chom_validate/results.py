"""The run report: the one model every output (terminal, JSON, SARIF, JUnit, reports) renders."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from . import SCHEMA_VERSION
from .findings import Finding, Severity, Status


class CheckMeta(BaseModel):
    id: str
    name: str
    title: str
    category: str
    pillar: str
    severity: Severity
    profile: str
    doc: dict[str, str] = Field(default_factory=dict)


class CheckRun(BaseModel):
    check_id: str
    target: str
    status: Status
    duration_ms: float
    results: int


class ScoreEntry(BaseModel):
    name: str
    score: float | None = Field(None, description="0-100, None when nothing applicable was checked")
    band: str | None = None
    weight: float = 0.0
    passed: int = 0
    failed: int = 0
    not_applicable: int = 0
    errors: int = 0
    waived: int = 0


class Scores(BaseModel):
    overall: float | None = None
    band: str | None = None
    categories: dict[str, ScoreEntry] = Field(default_factory=dict)
    pillars: dict[str, ScoreEntry] = Field(default_factory=dict)


class Gate(BaseModel):
    passed: bool
    reasons: list[str] = Field(default_factory=list)
    critical_failures: int = 0
    min_score: float | None = None


class PluginProblem(BaseModel):
    source: str
    reason: str


class TargetReport(BaseModel):
    name: str
    kind: str
    error: str | None = Field(None, description="Why the target could not be scanned at all")
    stats: dict[str, Any] = Field(default_factory=dict)
    scores: Scores = Field(default_factory=Scores)
    check_runs: list[CheckRun] = Field(default_factory=list)


class RunReport(BaseModel):
    schema_version: str = SCHEMA_VERSION
    tool: str = "chom-validate"
    tool_version: str
    started_at: str
    finished_at: str
    profile: str
    project: str = "CHOM"
    environment: str = "production"
    config_source: str | None = None
    targets: list[TargetReport] = Field(default_factory=list)
    findings: list[Finding] = Field(default_factory=list)
    checks: list[CheckMeta] = Field(default_factory=list)
    plugin_errors: list[PluginProblem] = Field(default_factory=list)
    scores: Scores = Field(default_factory=Scores)
    gate: Gate
    summary: dict[str, int] = Field(default_factory=dict)
    notices: list[str] = Field(default_factory=list, description="Expired waivers and other run-level notes")

    def failures(self, include_suppressed: bool = False) -> list[Finding]:
        return [
            f for f in self.findings if f.status == Status.FAIL and (include_suppressed or not f.suppressed)
        ]

    @property
    def target_errors(self) -> list[TargetReport]:
        return [t for t in self.targets if t.error]
