"""ShellCheck integration: its findings become results with SC codes and line numbers."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from chom_validate.engine import ScanContext
from chom_validate.findings import Result
from chom_validate.registry import check

_LEVEL_SEVERITY = {"error": "high", "warning": "medium"}
_Outcome = list[dict[str, Any]] | Exception


MAX_SCRIPT_CHARS = 1024 * 1024
_JINJA = re.compile(r"\{\{|\{%|%\}|\}\}")


def _dialect(shell: str | None) -> str:
    return {"sh": "sh", "dash": "dash", "ksh": "ksh"}.get(shell or "bash", "bash")


def _run_one(exe: str, text: str, dialect: str) -> _Outcome:
    try:
        proc = subprocess.run(
            [exe, "-f", "json1", "-s", dialect, "-S", "warning", "-"],
            input=text,
            capture_output=True,
            text=True,
            timeout=60,
        )
        comments = json.loads(proc.stdout or "{}").get("comments", [])
    except (OSError, subprocess.TimeoutExpired, ValueError) as exc:
        return exc
    return list(comments)


def _run_all(exe: str, jobs: list[tuple[str, str]]) -> list[_Outcome]:
    """ShellCheck output per (text, dialect), in order.

    ShellCheck costs ~0.2 s of CPU per 50-line script, so identical texts run once and, with
    several scripts, the runs are spread over the CPU cores (threads waiting on subprocesses).
    """
    unique = list(dict.fromkeys(jobs))
    workers = min(len(unique), os.cpu_count() or 1, 8)
    if workers <= 1:
        done = [_run_one(exe, t, d) for t, d in unique]
    else:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            done = list(pool.map(lambda job: _run_one(exe, *job), unique))
    by_job = dict(zip(unique, done, strict=True))
    return [by_job[j] for j in jobs]


@check(
    "DEP020", "shellcheck", category="deploy", severity="medium", pillar="code_quality", profile="hardened"
)
def shellcheck(ctx: ScanContext) -> Iterator[Result]:
    """Shell scripts are clean under ShellCheck (errors and warnings).

    What it does
        Runs `shellcheck -f json1` (when installed) on the text of every shell script, with the
        dialect from its shebang, and reports each error/warning with its SC code and line.
        Info and style notes are ignored. Without shellcheck the result is not_applicable.
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
    """
    exe = shutil.which("shellcheck")
    scripts = [(a, s) for a, s in ctx.parsed("shell") if not a.embedded]
    if not scripts:
        yield Result.not_applicable("no shell scripts found")
        return
    if exe is None:
        yield Result.not_applicable("shellcheck is not installed (apt-get install shellcheck)")
        return
    for art, _ in scripts:
        if len(art.text) > MAX_SCRIPT_CHARS:  # generated/bundled: shellcheck would take GBs and minutes
            yield Result.not_applicable(
                f"{art.path}: {len(art.text)} characters, too large for shellcheck (limit {MAX_SCRIPT_CHARS}); not run",
                art.evidence(1, note="not analysed by shellcheck"),
                subject=art.path,
            )
    scripts = [(a, s) for a, s in scripts if len(a.text) <= MAX_SCRIPT_CHARS]
    jobs = [(art.text, _dialect(art.meta.get("shell"))) for art, _ in scripts]
    outcomes = _run_all(exe, jobs)
    for (art, script), outcome in zip(scripts, outcomes, strict=True):
        if isinstance(outcome, Exception):
            yield Result.error(f"{art.path}: shellcheck failed: {outcome}", art.evidence(1), subject=art.path)
            continue
        comments = outcome
        unknown = 0
        if art.templated:  # a Jinja template: what shellcheck says about `{{ }}`/`{% %}` lines is noise
            kept = []
            for c in comments:
                first = int(c.get("line") or 1)
                last = max(first, int(c.get("endLine") or first))
                if any(_JINJA.search(art.line_text(n)) for n in range(first, min(last, first + 50) + 1)):
                    unknown += 1
                else:
                    kept.append(c)
            comments = kept
        seen: set[tuple[Any, ...]] = set()
        unique = []
        for c in comments:  # one result per line, code and message (not per column)
            key = (c.get("line"), c.get("code"), c.get("message"))
            if key not in seen:
                seen.add(key)
                unique.append(c)
        comments = unique
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
            code = f"SC{c.get('code')}"
            yield Result.fail(
                f"{art.path}:{c.get('line')}: {code} {c.get('message', '')}",
                art.evidence(int(c.get("line") or 1), note=f"https://www.shellcheck.net/wiki/{code}"),
                subject=f"{art.path}:{c.get('line')}:{code}",
                severity=_LEVEL_SEVERITY.get(c.get("level", ""), "low"),
                sc_code=code,
                level=c.get("level"),
            )
