"""Values a script builds in one place and misreads in another (data flow across lines)."""

from __future__ import annotations

from collections.abc import Iterator

from chom_validate.api import Context as ScanContext
from chom_validate.artifacts.shell import ShellScript
from chom_validate.facts.wiring import one_line_counts
from chom_validate.findings import Result
from chom_validate.registry import check


@check("DEP057", "line-count-of-joined-value", category="deploy", severity="low", pillar="reliability")
def line_count_of_joined_value(ctx: ScanContext) -> Iterator[Result]:
    """A value joined onto one line is not counted with `wc -l`.

    What it does
        Follows each variable assigned from a command substitution whose last stage joins the
        lines (`tr '\\n' ' '`, `tr -d '\\n'`, `paste -s`, a bare `xargs`) to the places where its
        lines are counted (`echo "$v" | wc -l`, `wc -l <<< "$v"`), until it is reassigned.
    Why it matters
        The count is always 1 (0 or 1 for `tr -d`), whatever the command returned, so the branch
        that depends on it is dead: "need at least 2 snapshots" forever, and the statistics or
        notifications behind it never run.
    Example
        latest=$(restic snapshots --latest 2 --compact | awk '{print $1}' | tr '\\n' ' ')
        count=$(echo "$latest" | wc -l)      # always 1
    Fix
        Count before joining (`... | wc -l`), count words (`wc -w`), or keep the lines in an array
        (`mapfile -t ids < <(...)`; `${#ids[@]}`).
    References
        https://www.gnu.org/software/coreutils/manual/html_node/wc-invocation.html
    Severity
        Low: a branch behind the count is dead (statistics, notifications); nothing is lost or exposed.
    """
    scripts = sorted(
        ((a, s) for a, s in ctx.parsed("shell") if isinstance(s, ShellScript) and not a.embedded),
        key=lambda t: t[0].path,
    )
    if not scripts:
        yield Result.not_applicable("no shell scripts in this target")
        return
    for art, s in scripts:
        hits = one_line_counts(s.lines)
        for var in dict.fromkeys(h.var for h in hits):
            mine = [h for h in hits if h.var == var]
            yield Result.fail(
                f"{art.label}:{mine[0].counted}: counts the lines of ${var}, which line {mine[0].assigned} "
                "joined onto one line: the count is always 1, so the branch that depends on it never changes",
                art.evidence(mine[0].assigned, note=f"${var} joined onto one line"),
                *(art.evidence(h.counted, note=f"wc -l of ${var}: always 1") for h in mine),
                subject=f"{art.path}:{var}",
            )
        if not hits:  # one verdict per script, so --changed-only equals the full scan filtered
            yield Result.passed(f"{art.label}: no joined value is counted with wc -l", art.evidence(1), subject=art.path)
