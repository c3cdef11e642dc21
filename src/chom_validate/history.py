"""Run history in SQLite: one row per recorded run, for trend charts and "what changed" questions."""

from __future__ import annotations

import contextlib
import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

from pydantic import BaseModel

from .results import RunReport

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    recorded_at TEXT NOT NULL,
    project TEXT NOT NULL,
    environment TEXT NOT NULL,
    profile TEXT NOT NULL,
    score REAL,
    band TEXT,
    gate_passed INTEGER NOT NULL,
    failures INTEGER NOT NULL,
    digest TEXT NOT NULL,
    certificate_id TEXT,
    pillars TEXT NOT NULL
)
"""


class HistoryPoint(BaseModel):
    recorded_at: str
    score: float | None
    band: str | None
    gate_passed: bool
    failures: int
    digest: str
    certificate_id: str | None = None


@contextlib.contextmanager
def _connect(db: Path) -> Iterator[sqlite3.Connection]:
    db.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(str(db))
    try:
        conn.execute(_SCHEMA)
        yield conn
        conn.commit()
    finally:
        conn.close()


def record(
    db: Path, report: RunReport, recorded_at: str, digest: str, certificate_id: str | None = None
) -> None:
    pillars = {k: v.score for k, v in report.scores.pillars.items()}
    with _connect(db) as conn:
        conn.execute(
            "INSERT INTO runs (recorded_at, project, environment, profile, score, band, gate_passed, "
            "failures, digest, certificate_id, pillars) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            (
                recorded_at,
                report.project,
                report.environment,
                report.profile,
                report.scores.overall,
                report.scores.band,
                int(report.gate.passed),
                len(report.failures()),
                digest,
                certificate_id,
                json.dumps(pillars, sort_keys=True),
            ),
        )


def trend(db: Path | None, project: str, environment: str, limit: int = 12) -> list[HistoryPoint]:
    """The last ``limit`` runs of a project/environment, oldest first (empty when no database)."""
    if db is None or not db.is_file():
        return []
    with _connect(db) as conn:
        rows = conn.execute(
            "SELECT recorded_at, score, band, gate_passed, failures, digest, certificate_id FROM runs "
            "WHERE project = ? AND environment = ? ORDER BY recorded_at DESC, id DESC LIMIT ?",
            (project, environment, limit),
        ).fetchall()
    return [
        HistoryPoint(
            recorded_at=r[0],
            score=r[1],
            band=r[2],
            gate_passed=bool(r[3]),
            failures=r[4],
            digest=r[5],
            certificate_id=r[6],
        )
        for r in reversed(rows)
    ]
