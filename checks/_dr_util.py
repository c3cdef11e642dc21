"""How the backup, DR and incident checks report repository-wide absences (the documents, RTO/RPO
table, stateful components and documented retention are facts: facts/recovery.py). Not scanned for
checks (leading underscore)."""

from __future__ import annotations

import posixpath

from chom_validate.api import Context as ScanContext
from chom_validate.facts.deployment import deployment
from chom_validate.facts.recovery import docs
from chom_validate.findings import Evidence, Result


def obligations_na(ctx: ScanContext) -> Result | None:
    """not_applicable for repository-wide absences when the tree is not a deployment, else None."""
    d = deployment(ctx)
    if not d.is_deployment:
        return Result.not_applicable(d.reason)
    if d.certified_only and not docs(ctx):  # a folder of scripts certified on its own has no docs to judge
        return Result.not_applicable(
            "no Markdown documents in this target (certified profile, no deployment found)"
        )
    return None


def absence_evidence(ctx: ScanContext, note: str) -> Evidence:
    """Where a repository-wide absence is reported: the first document, else the config, else the
    first artifact of the tree."""
    ds = docs(ctx)
    if ds:
        return ds[0][0].evidence(None, note=note)
    if ctx.config.source:
        return Evidence(path=posixpath.basename(ctx.config.source), note=note)
    arts = ctx.index.artifacts
    return arts[0].evidence(None, note=note) if arts else Evidence(path=".", note=note)
