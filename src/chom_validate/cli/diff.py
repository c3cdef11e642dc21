"""`chom-validate diff OLD NEW`: what changed between two certificates or result files.

Each side is a certificate (certificate.json, its directory, or a rendered .md/.html/.pdf) or a
JSON result of `all --format json`. Certificates are compared on the results they certify; a
result file is judged as `certify` would judge it (baselines count as open) before comparing.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import typer

from ..certificate import canonical_results, diff_findings, evaluate
from ..config import ScoringConfig
from ..outputs.json import load_report
from ..outputs.pdf import PdfUnavailable
from ..scoring import AREAS
from ..verification import check_material, load_material
from .app import app, fail


def _side(path: Path) -> tuple[str, dict[str, Any]]:
    """(label, canonical results) of one side of the diff."""
    if path.is_file() and path.suffix == ".json" and path.name != "certificate.json":
        try:
            text = path.read_text(encoding="utf-8")
            if '"schema_id"' not in text[:2000]:
                report = load_report(text)
                today = dt.date.fromisoformat(report.started_at[:10])
                ev = evaluate(report, ScoringConfig(), today)
                return f"{path} (results of {report.started_at})", canonical_results(ev.report)
        except OSError as exc:
            fail(f"{path}: {exc.strerror or exc}")
        except ValueError:
            pass  # maybe a certificate after all
    try:
        m = load_material(path)
    except (ValueError, PdfUnavailable) as exc:
        fail(f"{path}: neither a certificate nor a chom-validate JSON result: {exc}")
    problems = check_material(m)
    if problems:
        fail(f"{path}: certificate {m.cert.id} is not authentic: {problems[0]}")
    return f"{m.cert.id} ({m.cert.status}, issued {m.cert.issued_at})", json.loads(m.results)


def assessed_areas(canon: dict[str, Any]) -> set[str]:
    cat_to_area = {c: k for k, (_, cats) in AREAS.items() for c in cats}
    out = set()
    for f in canon.get("findings", []):
        area = cat_to_area.get(f.get("category", ""))
        if (
            area
            and f.get("status") in ("pass", "fail")
            and any(e.get("path") or e.get("command") for e in f.get("evidence", []))
        ):
            out.add(area)
    return out


def _fmt(score: float | None) -> str:
    return "n/a" if score is None else f"{score:.1f}"


@app.command("diff")
def diff_cmd(
    old: Path = typer.Argument(..., help="Earlier certificate or result file."),
    new: Path = typer.Argument(..., help="Later certificate or result file."),
) -> None:
    """New, fixed and changed findings, score and coverage deltas between two runs.

    Exit 0 when nothing got worse, 1 when NEW has new failures, a lower score or less coverage,
    2 when a side cannot be read or a certificate is not authentic.
    """
    old_label, a = _side(old)
    new_label, b = _side(new)
    typer.echo(f"old: {old_label}")
    typer.echo(f"new: {new_label}")
    changes = diff_findings(a, b)
    for kind in ("new-failure", "changed", "fixed"):
        items = [c for c in changes if c.kind == kind]
        typer.echo(f"{kind.replace('-', ' ')}: {len(items)}")
        for c in items:
            typer.echo(f"  {c.detail}")
    sa, sb = a.get("scores", {}).get("overall"), b.get("scores", {}).get("overall")
    delta = "" if sa is None or sb is None else f" ({sb - sa:+.1f})"
    typer.echo(f"score: {_fmt(sa)} -> {_fmt(sb)}{delta}")
    for name in sorted(
        set(a.get("scores", {}).get("pillars", {})) | set(b.get("scores", {}).get("pillars", {}))
    ):
        pa = a.get("scores", {}).get("pillars", {}).get(name, {}).get("score")
        pb = b.get("scores", {}).get("pillars", {}).get(name, {}).get("score")
        if pa != pb:
            typer.echo(f"  {name}: {_fmt(pa)} -> {_fmt(pb)}")
    ca, cb = assessed_areas(a), assessed_areas(b)
    typer.echo(f"coverage: {len(ca)}/{len(AREAS)} areas assessed -> {len(cb)}/{len(AREAS)}")
    for k in sorted(cb - ca):
        typer.echo(f"  now assessed: {AREAS[k][0]}")
    for k in sorted(ca - cb):
        typer.echo(f"  no longer assessed: {AREAS[k][0]}")
    worse = (
        any(c.kind == "new-failure" for c in changes)
        or (sa is not None and sb is not None and sb < sa)
        or bool(ca - cb)
    )
    raise typer.Exit(1 if worse else 0)
