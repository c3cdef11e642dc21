"""Terminal output (rich): summary by category with score and band, gate, failures with evidence.

Plain output (no colour, no box-drawing) when stdout is not a TTY or ``NO_COLOR`` is set.
"""

from __future__ import annotations

from rich.console import Console
from rich.table import Table
from rich.text import Text

from ..catalog import CATEGORIES
from ..findings import Finding, Status
from ..results import RunReport, Scores
from .console import make_console  # noqa: F401  (re-exported: callers import it from here)

_BAND_STYLE = {
    "EXCELLENT": "bold green",
    "GOOD": "green",
    "FAIR": "yellow",
    "POOR": "red",
    "CRITICAL": "bold red",
}
_STATUS_STYLE = {"pass": "green", "fail": "red", "not_applicable": "dim", "error": "magenta"}
_SEV_STYLE = {"critical": "bold red", "high": "red", "medium": "yellow", "low": "cyan", "info": "dim"}


def _fmt(score: float | None) -> str:
    return "-" if score is None else f"{score:.1f}"


def _scores_table(title: str, scores: Scores) -> Table:
    t = Table(title=title, title_justify="left", show_lines=False)
    for col, just in (
        ("Category", "left"),
        ("Score", "right"),
        ("Band", "left"),
        ("Pass", "right"),
        ("Fail", "right"),
        ("Waived", "right"),
        ("N/A", "right"),
        ("Error", "right"),
    ):
        t.add_column(col, justify=just)  # type: ignore[arg-type]
    for key, e in scores.categories.items():
        t.add_row(
            CATEGORIES.get(key, key),
            _fmt(e.score),
            Text(e.band or "-", style=_BAND_STYLE.get(e.band or "", "")),
            str(e.passed),
            str(e.failed),
            str(e.waived),
            str(e.not_applicable),
            str(e.errors),
        )
    return t


def _evidence_lines(f: Finding) -> list[str]:
    out = []
    for ev in f.evidence[:3]:
        line = f"      at {ev.location()}"
        if ev.excerpt:
            line += f"  | {ev.excerpt}"
        if ev.note:
            line += f"  ({ev.note})"
        out.append(line)
    return out


def render_text(
    report: RunReport, console: Console, *, quiet: bool = False, max_failures: int = 60, verbose: bool = False
) -> None:
    multi = len(report.targets) > 1
    # Which configuration the verdicts rest on (waivers, roles, topology): an auditor must know.
    console.print(Text(f"config: {report.config_source or 'none (built-in defaults)'}", style="dim"))
    for t in report.targets:
        if t.error:
            console.print(Text(f"ERROR {t.name}: {t.error}", style="bold magenta"))
            continue
        if not quiet:
            console.print(_scores_table(f"{t.name} ({t.kind})", t.scores))
        if multi or quiet:
            console.print(f"{t.name}: score {_fmt(t.scores.overall)} {t.scores.band or ''}".rstrip())
    if not quiet:
        fails = sorted(report.failures(), key=lambda f: (-f.effective_severity.rank, f.check_id, f.target))
        errors = [f for f in report.findings if f.status == Status.ERROR]
        if fails:
            console.print()
            console.print(Text(f"Failures ({len(fails)})", style="bold"))
            shown = fails if verbose else fails[:max_failures]
            for f in shown:
                head = Text()
                head.append(
                    f"  {f.effective_severity.value.upper():8} ", style=_SEV_STYLE[f.effective_severity.value]
                )
                head.append(f"{f.check_id} ", style="bold")
                head.append(f.message)
                console.print(head)
                for ln in _evidence_lines(f):
                    console.print(Text(ln, style="dim"))
            if len(fails) > len(shown):
                console.print(f"  ... and {len(fails) - len(shown)} more (use --format json or --verbose)")
        if errors:
            console.print()
            console.print(Text(f"Could not check ({len(errors)})", style="bold magenta"))
            for f in errors[: 30 if not verbose else None]:
                console.print(f"  {f.check_id} {f.message}")
                for ln in _evidence_lines(f)[:1]:
                    console.print(Text(ln, style="dim"))
        waived = [f for f in report.findings if f.suppressed]
        if waived:
            console.print()
            console.print(Text(f"Suppressed by waiver or baseline ({len(waived)})", style="bold"))
            for f in waived[:20]:
                sup = f.suppressed
                assert sup is not None
                console.print(
                    f"  {f.check_id} {f.message}  [{sup.kind}: {sup.reason}; owner {sup.owner}; "
                    f"expires {sup.expires}]"
                )
        for p in report.plugin_errors:
            console.print(Text(f"plugin problem: {p.source}: {p.reason}", style="magenta"))
        for n in report.notices:
            console.print(Text(f"notice: {n}", style="yellow"))
    s = report.summary
    console.print()
    line = Text()
    line.append(f"Overall score {_fmt(report.scores.overall)}", style="bold")
    if report.scores.band:
        line.append(f" {report.scores.band}", style=_BAND_STYLE.get(report.scores.band, ""))
    line.append(
        f"  ({s.get('pass', 0)} pass, {s.get('fail', 0)} fail, {s.get('waived', 0)} waived, {s.get('baselined', 0)} baselined, "
        f"{s.get('not_applicable', 0)} n/a, {s.get('error', 0)} error; {s.get('checks', 0)} checks, "
        f"profile {report.profile})"
    )
    console.print(line)
    if report.gate.passed:
        console.print(Text("Gate: PASSED", style="bold green"))
    else:
        console.print(Text("Gate: FAILED - " + "; ".join(report.gate.reasons), style="bold red"))
