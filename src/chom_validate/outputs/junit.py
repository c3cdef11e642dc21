"""JUnit XML for CI test tabs (GitLab, Jenkins, Azure): one testcase per check x target.

``classname`` is ``chom-validate.<target>.<category>`` and ``name`` is ``<ID> <name>``, unique per
target, so CI tools group by target and category. A check's failures on a target become one
``<failure>`` whose body lists every failing result with its evidence; errors become ``<error>``;
a check with nothing to look at is ``<skipped>``. Waived or baselined failures pass, and say so in
``<system-out>``. Validated in tests against the Jenkins/Surefire ``junit-10.xsd``.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections import defaultdict

from ..findings import Finding, Status
from ..redact import redact_values
from ..results import CheckMeta, CheckRun, RunReport

# XML 1.0 forbids most control characters, even escaped.
_XML_BAD = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _clean(text: str) -> str:
    return _XML_BAD.sub("?", text)


def _seconds(ms: float) -> str:
    return f"{ms / 1000.0:.3f}"


def _evidence_text(f: Finding) -> str:
    lines = [f"{f.effective_severity.value.upper()} {f.message}"]
    if f.subject:
        lines.append(f"  subject: {f.subject}")
    for ev in f.evidence:
        ln = f"  at {ev.location()}"
        if ev.excerpt:
            ln += f"  | {ev.excerpt}"
        if ev.note:
            ln += f"  ({ev.note})"
        lines.append(ln)
    if f.data.get("expired_waiver"):
        lines.append(f"  waiver {f.data['expired_waiver']} no longer applies")
    lines.append(f"  fingerprint: {f.fingerprint}")
    return "\n".join(lines)


def render(report: RunReport) -> str:
    by_case: dict[tuple[str, str], list[Finding]] = defaultdict(list)
    for f in report.findings:
        by_case[(f.target, f.check_id)].append(f)
    meta = {c.id: c for c in report.checks}
    root = ET.Element("testsuites", name="chom-validate")
    totals = {"tests": 0, "failures": 0, "errors": 0, "ms": 0.0}
    labels = _class_labels([t.name for t in report.targets])
    for t in report.targets:
        label = labels[t.name]
        suite = ET.SubElement(
            root,
            "testsuite",
            name=t.name,
            tests="0",
            failures="0",
            errors="0",
            skipped="0",
            time="0.000",
            timestamp=report.started_at,
            hostname=t.name,
            package=f"chom-validate.{t.kind}",
        )
        props = ET.SubElement(suite, "properties")
        for k, v in (
            ("profile", report.profile),
            ("project", report.project),
            ("environment", report.environment),
            ("tool_version", report.tool_version),
            ("score", "" if t.scores.overall is None else str(t.scores.overall)),
            ("band", t.scores.band or ""),
            ("gate", "passed" if report.gate.passed else "failed"),
        ):
            ET.SubElement(props, "property", name=k, value=_clean(v))
        counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
        ms_total = 0.0
        if t.error:
            case = ET.SubElement(suite, "testcase", classname=f"chom-validate.{label}", name="target")
            err = ET.SubElement(case, "error", type="target-error", message=_clean(t.error))
            err.text = _clean(t.error)
            counts["tests"] += 1
            counts["errors"] += 1
        runs: list[CheckRun] = list(t.check_runs)
        seen = {r.check_id for r in runs}
        # findings without a check run entry (e.g. hand-built reports) still get a testcase
        for target, check_id in by_case:
            if target == t.name and check_id not in seen:
                seen.add(check_id)
                runs.append(
                    CheckRun(check_id=check_id, target=target, status=Status.PASS, duration_ms=0, results=0)
                )
        for run in runs:
            fs = by_case.get((t.name, run.check_id), [])
            m = meta.get(run.check_id)
            kind = _add_case(suite, label, run, m, fs)
            counts["tests"] += 1
            if kind:
                counts[kind] += 1
            ms_total += run.duration_ms
        suite.set("tests", str(counts["tests"]))
        suite.set("failures", str(counts["failures"]))
        suite.set("errors", str(counts["errors"]))
        suite.set("skipped", str(counts["skipped"]))
        suite.set("time", _seconds(ms_total))
        if report.notices:
            out = ET.SubElement(suite, "system-out")
            out.text = _clean("\n".join(f"notice: {n}" for n in report.notices))
        totals["tests"] += counts["tests"]
        totals["failures"] += counts["failures"]
        totals["errors"] += counts["errors"]
        totals["ms"] += ms_total
    root.set("tests", str(int(totals["tests"])))
    root.set("failures", str(int(totals["failures"])))
    root.set("errors", str(int(totals["errors"])))
    root.set("time", _seconds(totals["ms"]))
    ET.indent(root)
    return redact_values('<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n")


def _class_labels(names: list[str]) -> dict[str, str]:
    """Dot-free, slash-free target labels for classnames (CI tools split classnames on dots)."""
    out: dict[str, str] = {}
    used: set[str] = set()
    for name in names:
        base = re.sub(r"[^A-Za-z0-9_-]+", "_", name).strip("_") or "target"
        label, i = base, 2
        while label in used:
            label, i = f"{base}_{i}", i + 1
        used.add(label)
        out[name] = label
    return out


def _add_case(
    suite: ET.Element, target: str, run: CheckRun, m: CheckMeta | None, fs: list[Finding]
) -> str | None:
    """Add one testcase; return which counter it bumps (failures, errors, skipped) or None (pass)."""
    category = m.category if m else (fs[0].category if fs else "checks")
    name = f"{run.check_id} {m.name if m else (fs[0].check_name if fs else '')}".strip()
    case = ET.SubElement(
        suite,
        "testcase",
        classname=f"chom-validate.{target}.{category}",
        name=name,
        time=_seconds(run.duration_ms),
    )
    failing = [f for f in fs if f.status == Status.FAIL and f.suppressed is None]
    errors = [f for f in fs if f.status == Status.ERROR]
    suppressed = [f for f in fs if f.status == Status.FAIL and f.suppressed is not None]
    kind: str | None = None
    if failing:
        worst = max(failing, key=lambda f: f.effective_severity.rank)
        msg = (
            failing[0].message
            if len(failing) == 1
            else f"{len(failing)} failures; first: {failing[0].message}"
        )
        el = ET.SubElement(case, "failure", type=worst.effective_severity.value, message=_clean(msg))
        el.text = _clean("\n\n".join(_evidence_text(f) for f in failing))
        kind = "failures"
    if errors:
        el = ET.SubElement(case, "error", type="check-error", message=_clean(errors[0].message))
        el.text = _clean("\n\n".join(_evidence_text(f) for f in errors))
        kind = kind or "errors"
    if not failing and not errors and fs and all(f.status == Status.NOT_APPLICABLE for f in fs):
        el = ET.SubElement(case, "skipped", message=_clean(fs[0].message))
        kind = "skipped"
    notes = []
    for f in suppressed:
        s = f.suppressed
        assert s is not None
        notes.append(
            f"{s.kind} ({s.source or '-'}; {s.reason}"
            + (f"; owner {s.owner}" if s.owner else "")
            + (f"; expires {s.expires}" if s.expires else "")
            + f"):\n{_evidence_text(f)}"
        )
    passes = [f for f in fs if f.status == Status.PASS]
    if passes:
        notes.append("\n".join(f"PASS {f.message}" for f in passes[:50]))
    if notes:
        out = ET.SubElement(case, "system-out")
        out.text = _clean("\n\n".join(notes))
    return kind
