"""Waivers (and later baselines): applied by the engine after checks ran, never inside checks."""

from __future__ import annotations

import datetime as dt
import fnmatch

from .config import Waiver
from .findings import Finding, Status, Suppression


def apply_waivers(
    findings: list[Finding],
    waivers: list[Waiver],
    today: dt.date,
    source: str | None = None,
    lines: list[int] | None = None,
) -> list[str]:
    """Mark matching failures as waived; return notices (expired waivers, waivers matching nothing)."""
    notices: list[str] = []
    lines = lines or []
    for i, w in enumerate(waivers):
        where = f"{source}:{lines[i]}" if source and i < len(lines) and lines[i] else (source or "config")
        matched = [
            f
            for f in findings
            if f.status == Status.FAIL
            and f.check_id == w.check
            and fnmatch.fnmatchcase(f.target, w.target)
            and (w.path == "*" or any(fnmatch.fnmatchcase(e.path or "", w.path) for e in f.evidence))
        ]
        if w.expires < today:
            if matched:
                notices.append(
                    f"waiver for {w.check} ({where}, owner {w.owner}) expired on {w.expires.isoformat()}: "
                    f"{len(matched)} finding(s) fail again"
                )
            else:
                notices.append(f"waiver for {w.check} ({where}) expired on {w.expires.isoformat()}")
            continue
        if not matched:
            notices.append(f"waiver for {w.check} ({where}) matched no failing finding; remove it?")
        for f in matched:
            f.suppressed = Suppression(
                kind="waiver", reason=w.reason, owner=w.owner, expires=w.expires.isoformat(), source=where
            )
    return notices
