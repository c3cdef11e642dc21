"""ShellCheck integration: its findings become results with SC codes and line numbers."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator

from chom_validate.engine import ScanContext
from chom_validate.findings import Result
from chom_validate.registry import check

_LEVEL_SEVERITY = {"error": "high", "warning": "medium"}


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
    for art, script in scripts:
        dialect = {"sh": "sh", "dash": "dash", "ksh": "ksh"}.get(art.meta.get("shell") or "bash", "bash")
        try:
            proc = subprocess.run(
                [exe, "-f", "json1", "-s", dialect, "-S", "warning", "-"],
                input=art.text,
                capture_output=True,
                text=True,
                timeout=60,
            )
            comments = json.loads(proc.stdout or "{}").get("comments", [])
        except (OSError, subprocess.TimeoutExpired, ValueError) as exc:
            yield Result.error(f"{art.path}: shellcheck failed: {exc}", art.evidence(1), subject=art.path)
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
