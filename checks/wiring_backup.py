"""Backup scripts of one repository agree on what their environment must provide."""

from __future__ import annotations

import posixpath
from collections.abc import Iterator

from chom_validate.api import Context as ScanContext
from chom_validate.artifacts import Artifact
from chom_validate.artifacts.shell import ShellScript
from chom_validate.facts.backups import _family
from chom_validate.facts.wiring import EnvPreconditions, env_preconditions
from chom_validate.findings import Result
from chom_validate.registry import check


@check("BAK032", "sibling-env-preconditions", category="backup", severity="low", pillar="reliability")
def sibling_env_preconditions(ctx: ScanContext) -> Iterator[Result]:
    """Scripts of one backup tool do not require what their siblings treat as optional.

    What it does
        For the shell scripts of one backup tool or name family (`restic_backup.sh`,
        `restic_check.sh`...), reads which environment variables each refuses to run without
        (a checker function that exits, `${VAR:?}`) and which each declares optional (a checker
        function that only warns, `${VAR:-default}`). Reports a script that asserts a variable a
        sibling declares optional.
    Why it matters
        The profiles are written for the script that accepts alternatives (`RESTIC_PASSWORD`
        or `RESTIC_PASSWORD_COMMAND` instead of `RESTIC_PASSWORD_FILE`); with such a profile the
        sibling exits 1 on every run, so the monthly check or the prune never happens and only a
        log line says why.
    Example
        restic_check.sh:  assert_envvars RESTIC_PASSWORD_FILE RESTIC_REPOSITORY
        restic_backup.sh: warn_on_missing_envvars RESTIC_PASSWORD_FILE
    Fix
        Make the scripts share one precondition list (a sourced library), or assert the same
        alternatives in both.
    References
        https://restic.readthedocs.io/en/stable/040_backup.html#environment-variables
    Severity
        Low: the sibling job (check/prune) stops on profiles the backup accepts; backups themselves
        still run.
    """
    scripts: list[tuple[Artifact, ShellScript, str, EnvPreconditions]] = []
    for a, s in ctx.parsed("shell"):
        if not isinstance(s, ShellScript) or a.embedded:
            continue
        fam = _family(posixpath.basename(a.path))
        if fam is None:
            continue
        pre = env_preconditions(s.lines, s.functions)
        if pre.required or pre.optional:
            scripts.append((a, s, fam, pre))
    scripts.sort(key=lambda t: t[0].path)
    pairs = 0
    failed = 0
    for a, _, fam, pre in scripts:
        for b, _, fam_b, pre_b in scripts:
            if b is a or fam_b != fam:
                continue
            pairs += 1
            clash = sorted(
                v
                for v in pre.required
                if v in pre_b.optional and v not in pre_b.required and v not in pre.optional
            )
            if not clash:
                continue
            failed += 1
            yield Result.fail(
                f"{a.label} refuses to run without {', '.join(clash)}, which {b.label} (same {fam} "
                "profile) treats as optional: with another source configured this script exits 1 every run",
                *(a.evidence(pre.required[v], note=f"{v} asserted") for v in clash[:3]),
                *(b.evidence(pre_b.optional[v], note=f"{v} optional here") for v in clash[:3]),
                subject=f"{a.path}|{b.path}",
            )
    if not scripts or not pairs:
        yield Result.not_applicable("no sibling scripts of one backup tool with environment preconditions")
    elif not failed:
        yield Result.passed(
            f"{len(scripts)} sibling backup script(s) agree on their required environment",
            scripts[0][0].evidence(1),
        )
