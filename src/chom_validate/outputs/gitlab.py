"""GitLab code quality report (``artifacts:reports:codequality``): a JSON array of issues.

Each unsuppressed failure is one issue with ``description``, ``check_name``, ``fingerprint``,
``severity`` (info, minor, major, critical, blocker) and ``location.path`` / ``location.lines.begin``.
Waived and baselined failures are left out: GitLab has no notion of a suppressed issue and would
show them as new in merge requests. The fingerprint is the finding fingerprint, stable when lines
move, so GitLab's merge request widget compares runs correctly.
"""

from __future__ import annotations

import json
import posixpath
from typing import Any

from ..findings import Finding, Severity, Status
from ..redact import redact_tree
from ..results import RunReport

SEVERITY = {
    Severity.CRITICAL: "blocker",
    Severity.HIGH: "critical",
    Severity.MEDIUM: "major",
    Severity.LOW: "minor",
    Severity.INFO: "info",
}


def _path(f: Finding, kinds: dict[str, str], config_source: str | None) -> tuple[str, int]:
    ev = next((e for e in f.evidence if e.path), None)
    target = f.target
    if ev is None or ev.path is None:
        # no file: GitLab still needs one; the config that declares the target is the honest anchor
        if config_source and not config_source.startswith("/"):
            return config_source.removeprefix("./"), 1
        if kinds.get(target) == "local" and not target.startswith("/"):
            return target.removeprefix("./").rstrip("/") or ".", 1
        return "chom-validate.yaml", 1
    path = ev.path.removeprefix("./")
    if kinds.get(target) == "local":
        if not target.startswith("/"):
            root = target.removeprefix("./").rstrip("/")
            path = path if root in ("", ".") else posixpath.join(root, path)
    else:
        path = f"{target}:{path}"  # a path on a host, not in the repository
    return path, ev.line or 1


def to_issues(report: RunReport) -> list[dict[str, Any]]:
    kinds = {t.name: t.kind for t in report.targets}
    issues = []
    for f in report.findings:
        if f.status != Status.FAIL or f.suppressed is not None:
            continue
        path, line = _path(f, kinds, report.config_source)
        desc = f"{f.check_id} {f.message}"
        ev = f.evidence[0] if f.evidence else None
        if ev and ev.command:
            desc += f" (evidence: {ev.location()})"
        issue: dict[str, Any] = {
            "type": "issue",
            "description": desc,
            "check_name": f"{f.check_id} {f.check_name}",
            "fingerprint": f.fingerprint,
            "severity": SEVERITY[f.effective_severity],
            "categories": [f.category, f.pillar],
            "location": {"path": path, "lines": {"begin": line}},
        }
        if ev and ev.end_line and ev.line and ev.end_line >= ev.line:
            issue["location"]["lines"]["end"] = ev.end_line
        issues.append(issue)
    return issues


def render(report: RunReport) -> str:
    return json.dumps(redact_tree(to_issues(report)), indent=2, ensure_ascii=False) + "\n"
