"""Values lost in a subshell: variables set in a loop that runs as an element of a pipeline
(`cmd | while read ...; do found=1; done`) and read after it, where bash still has the old value.

Built on the shell-program model (``chom_validate.facts.shell_program``): assignments with their
lines and functions, the reads of a variable, and the pipeline context of each command.
ShellCheck's SC2030/SC2031 ("modification is local to subshell" / "modified in a subshell") are
added as evidence where they agree.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from chom_validate.api import Context as ScanContext
from chom_validate.artifacts import Artifact
from chom_validate.artifacts.shell import Command, ShellScript
from chom_validate.facts.inputs import ShellcheckFacts
from chom_validate.facts.shell_program import ShellProgram
from chom_validate.findings import Result
from chom_validate.registry import check

from ._shell_semantics_util import _ok, _programs, shellcheck_agrees

_DO = re.compile(r"(?<![\w-])(do|done)(?![\w-])")
_QUOTED = re.compile(r"'[^']*'|\"(?:[^\"\\]|\\.)*\"")
_ARITH_SET = re.compile(
    r"\(\(\s*([A-Za-z_]\w*)\s*(?:\+\+|--|[-+*/%]?=(?!=))|\(\(\s*(?:\+\+|--)([A-Za-z_]\w*)"
)


def _loop_end(art: Artifact, head: int) -> int | None:
    """The line of the `done` closing the loop whose `while` is on ``head`` (do/done counted,
    quoted text and comments ignored)."""
    depth = 0
    opened = False
    for ln in range(head, min(len(art.lines), head + 400) + 1):
        text = _QUOTED.sub("''", art.line_text(ln)).split(" #", 1)[0]
        if text.lstrip().startswith("#"):
            continue
        for m in _DO.finditer(text):
            if m.group(1) == "do":
                depth += 1
                opened = True
            else:
                depth -= 1
                if opened and depth == 0:
                    return ln
    return None


def _scope(script: ShellScript, line: int) -> tuple[int, int] | None:
    """The line range of the function around ``line`` (None: top level)."""
    best = None
    for start, end in script.functions.values():
        if start <= line <= end and (best is None or start > best[0]):
            best = (start, end)
    return best


def _piped_loops(script: ShellScript) -> list[Command]:
    """`read` heads of `while read` loops that are an element of a pipeline (a subshell in bash
    without lastpipe), not themselves inside `$( )`."""
    return [
        c
        for c in script.commands
        if c.name == "read"
        and "condition" in c.contexts
        and ("pipeline_last" in c.contexts or "pipeline" in c.contexts)
        and not any(x in c.contexts for x in ("cmdsubst", "procsubst", "subshell"))
        and re.match(r"^\s*\S.*\|\s*while\b", c.logical) is not None
    ]


def _set_in(prog: ShellProgram, art: Artifact, start: int, end: int, skip: set[str]) -> dict[str, int]:
    """Variables assigned between ``start`` and ``end`` (first line each), `local` ones excluded."""
    out: dict[str, int] = {}
    for x in prog.assignments:
        if x.artifact is art and start <= x.line <= end and not x.local and x.name not in skip:
            out.setdefault(x.name, x.line)
    for ln in range(start, end + 1):
        for m in _ARITH_SET.finditer(art.line_text(ln)):
            name = m.group(1) or m.group(2)
            if name not in skip:
                out.setdefault(name, ln)
    return out


def _read_after(
    prog: ShellProgram, art: Artifact, script: ShellScript, var: str, end: int, scope: tuple[int, int] | None
) -> int | None:
    """The first line after the loop, in the same function (or top level), that reads ``var``
    before the script assigns it again there."""
    limit = scope[1] if scope else len(art.lines)
    resets = [
        x.line for x in prog.assignments if x.artifact is art and x.name == var and end < x.line <= limit
    ]
    first_reset = min(resets) if resets else None
    for a, ln in sorted(prog.reads(var), key=lambda r: r[1]):
        if a is not art or ln <= end or ln > limit:
            continue
        if first_reset is not None and ln > first_reset:
            return None
        if scope is None and _scope(script, ln) is not None:
            continue  # a function body: runs when called, not after the loop
        return ln
    return None


@check("DEP059", "pipeline-loop-variable-lost", category="deploy", severity="medium", pillar="reliability")
@_ok("no value set in a piped loop is read after it")
def pipeline_loop_variable_lost(ctx: ScanContext, facts: ShellcheckFacts) -> Iterator[Result]:
    """A variable set inside a `cmd | while read` loop is not read after the loop.

    What it does
        Finds `while read` loops that are an element of a pipeline (`cmd | while read ...; do
        ...; done`) in bash or sh (dash, ash) scripts without `shopt -s lastpipe` (ksh and zsh
        run the last element in the current shell), collects the variables the
        loop body assigns (plain assignments and `((x++))`-style arithmetic, `local` excluded) and
        reports those that the script reads after the loop, in the same function, before
        assigning them again. The assignment in the loop is the first evidence, the read after
        the loop the second; ShellCheck's SC2030/SC2031 are added where they agree.
    Why it matters
        Every element of a pipeline runs in a subshell: the loop's assignments vanish when it
        ends, and the code after it sees the value from before the loop. A `failed=1` set for
        each failed unit never reaches the `if [ "$failed" -ne 0 ]; then exit 1` after it, so the
        check passes; a counter stays 0; a `found` flag stays empty (BashFAQ 24).
    Example
        failed=0
        systemctl list-units --failed --plain --no-legend | while read -r unit _; do
          echo "failed: $unit"; failed=1
        done
        [ "$failed" -eq 0 ] || exit 1      # never exits: failed is 0 here
    Fix
        Feed the loop without a pipe so it runs in the current shell: `while read -r unit _; do
        ...; done < <(systemctl ...)` (bash), a here-document or a temporary file (sh), or
        `shopt -s lastpipe` (bash, non-interactive).
    References
        https://mywiki.wooledge.org/BashFAQ/024
        https://www.shellcheck.net/wiki/SC2031
    Severity
        Medium: the decision after the loop is made on the stale value (a failure not reported,
        a count of zero).
    """
    for prog in _programs(ctx):
        if prog.interpreter not in ("bash", "sh"):
            continue  # ksh and zsh run a pipeline's last element in the current shell
        if any(c.name == "shopt" and "lastpipe" in c.words and "-s" in c.words for _, c in prog.commands()):
            continue
        for art, script in prog.units:
            for head in _piped_loops(script):
                end = _loop_end(art, head.line)
                if end is None:
                    continue
                read_vars = {w for w in head.argv[1:] if re.fullmatch(r"[A-Za-z_]\w*", w)}
                scope = _scope(script, head.line)
                lost = []
                for var, set_line in sorted(_set_in(prog, art, head.line, end, read_vars).items()):
                    ln = _read_after(prog, art, script, var, end, scope)
                    if ln is not None:
                        lost.append((var, set_line, ln))
                if not lost:
                    continue
                var, set_line, read_line = lost[0]
                others = (
                    f" (also {', '.join('`' + v + '`' for v, _, _ in lost[1:4])})" if len(lost) > 1 else ""
                )
                off = art.line_offset
                yield Result.fail(
                    f"{art.path}: `{var}`{others} is set inside the piped loop at line {head.line + off} "
                    f"(`{head.logical.strip()[:50]}`), which runs in a subshell: line {read_line + off} "
                    "after the loop still reads the value from before it",
                    art.evidence(set_line, note="assigned in the pipeline's subshell"),
                    art.evidence(read_line, note="read after the loop: the assignment is lost"),
                    *shellcheck_agrees(facts, art, set_line, 2030),
                    *shellcheck_agrees(facts, art, read_line, 2031),
                    subject=f"{art.path}:{head.line + off}",
                )
