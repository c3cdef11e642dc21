"""Target access: what could not be read or parsed is reported, never silently skipped."""

from __future__ import annotations

from collections.abc import Iterator

from chom_validate.api import Context as ScanContext
from chom_validate.findings import Evidence, Result
from chom_validate.registry import check


@check("TGT001", "target-readable", category="target", severity="info", pillar="compliance")
def target_readable(ctx: ScanContext) -> Iterator[Result]:
    """Every file of the target could be read safely.

    What it does
        Reports files that were refused or could not be analysed: symlinks leaving the scanned tree,
        files above the size cap, binary or non-UTF-8 content in text files, unreadable paths.
    Why it matters
        A validator that silently skips what it cannot read reports a PASS it never earned. Every
        skipped file is named so a reviewer knows exactly what was not looked at.
    Example
        `deploy/secrets -> /etc/passwd` (a symlink out of the tree) is refused, not followed.
    Fix
        Replace out-of-tree symlinks with the real files, split huge generated files, or exclude
        them with `exclude:` in chom-validate.yaml.
    References
        chom-validate DESIGN.md, "Targets".
    Severity
        Info: not a defect of the deployment; it names what the run could not read (an error, no
        verdict) so that no pass is claimed for it.
    """
    problems = list(ctx.problems) + list(ctx.index.problems)
    for p in problems:
        yield Result.error(f"{p.path}: {p.reason}", Evidence(path=p.path, host=_host(ctx)), subject=p.path)
    if not problems:
        yield Result.passed(
            f"all {len(ctx.index.files)} files of {ctx.name} were readable",
            Evidence(host=_host(ctx), note=f"every file listed under {ctx.name} was read"),
            subject=ctx.name,
            files=len(ctx.index.files),
        )


@check("TGT002", "artifact-parseable", category="target", severity="info", pillar="compliance")
def artifact_parseable(ctx: ScanContext) -> Iterator[Result]:
    """Every discovered artifact parses.

    What it does
        Parses each artifact found by content (shell scripts, units, Prometheus and Alertmanager
        configs, rules, dashboards, documents) and reports those that do not parse, with the line.
    Why it matters
        A config that does not parse is not checked by the domain checks; it is reported here once
        so the gap is visible instead of silently passing.
    Example
        `prometheus/rules/app.yml:12: invalid YAML: mapping values are not allowed here`
    Fix
        Correct the syntax at the reported line; for Jinja templates, render them first or exclude
        the template directory.
    References
        chom-validate DESIGN.md, "Targets".
    Severity
        Info: the broken file is a defect, but its consequences are judged by the domain checks; this
        one makes the unchecked file visible as an error.
    """
    n = 0
    for a in ctx.index.artifacts:
        err = a.parse_error
        if err is None:
            n += 1
            continue
        if a.templated:
            yield Result.not_applicable(
                f"{a.label}: templated {a.kind} could not be parsed ({err}); values unknown",
                a.evidence(err.line),
                subject=a.label,
            )
        else:
            yield Result.error(
                f"{a.label}: {a.kind} does not parse: {err}", a.evidence(err.line), subject=a.label
            )
    if n:
        yield Result.passed(
            f"{n} artifact(s) parsed",
            Evidence(
                host=_host(ctx),
                note=f"artifacts discovered in {ctx.name}; any that failed are reported separately",
            ),
            subject=ctx.name,
            artifacts=n,
        )
    elif not ctx.index.artifacts:
        yield Result.not_applicable("no artifacts found in the target", subject=ctx.name)


def _host(ctx: ScanContext) -> str | None:
    return ctx.name if ctx.kind != "local" else None
