"""The ShellCheck probe: runs ShellCheck on every shell script of a target, off the check path.

Started in the background when the scan starts if an enabled check declares
``needs=["shellcheck"]`` (so ShellCheck's CPU time overlaps the Python checks), else on first use;
``chom_validate.facts.shellcheck`` reads the result. The runner (batching, cache) is
``chom_validate.shellcheck``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from .. import shellcheck as runner
from ..artifacts import Artifact
from ..facts.shellcheck import INSTALL_HINT, ScriptShellcheck, ShellcheckComment, ShellcheckFacts
from . import background, prestart, started

if TYPE_CHECKING:
    from ..engine import ScanContext


def _scripts(ctx: ScanContext) -> list[Artifact]:
    return [a for a in ctx.artifacts("shell") if not a.embedded]


def _skipped(art: Artifact) -> str | None:
    """Why ShellCheck is not run on ``art`` (too large, or a shape it cannot finish on), or None."""
    if len(art.text) > runner.MAX_SCRIPT_CHARS:
        return f"{len(art.text)} characters, too large for shellcheck (limit {runner.MAX_SCRIPT_CHARS})"
    why = runner.too_complex(art.text)
    return f"{why}: not analysed by shellcheck" if why is not None else None


def _job(art: Artifact) -> runner.Job:
    return art.text, runner.dialect(art.meta.get("shell"))


def _build(
    scripts: list[Artifact],
    no_cache: bool,
    root: Path | None,
    exe: str | None = None,
    early: runner.Started | None = None,
) -> ShellcheckFacts:
    exe = exe or runner.find_shellcheck()
    if exe is None:
        return ShellcheckFacts(None, None, missing=f"shellcheck not found ({INSTALL_HINT})")
    facts = ShellcheckFacts(exe, runner.version(exe))
    todo = []
    for art in scripts:
        if (why := _skipped(art)) is not None:
            facts.scripts[id(art)] = ScriptShellcheck(art, skipped=why)
        else:
            todo.append(art)
    cache = runner.Cache.open(exe, no_cache, root)
    jobs = [_job(a) for a in todo]
    for art, outcome in zip(todo, runner.run_all(exe, jobs, cache, early), strict=True):
        if isinstance(outcome, Exception):
            facts.scripts[id(art)] = ScriptShellcheck(art, error=f"shellcheck failed: {outcome}")
        else:
            comments = tuple(ShellcheckComment.from_json(c) for c in outcome)
            facts.scripts[id(art)] = ScriptShellcheck(art, comments=comments)
    return facts


def _inputs(ctx: ScanContext) -> tuple[list[Artifact], bool, Path | None]:
    root = getattr(ctx.target, "root", None)
    return _scripts(ctx), bool(ctx.options.extra.get("no_cache")), root if isinstance(root, Path) else None


@prestart("shellcheck")
def shellcheck_early(ctx: ScanContext) -> runner.Started | None:
    """ShellCheck on the scripts discovered so far, started before the scan parses them (rendered
    templates that turn out to be scripts are analysed later, when the probe runs)."""
    exe = runner.find_shellcheck()
    if exe is None:
        return None
    scripts, no_cache, root = _inputs(ctx)
    jobs = [_job(a) for a in scripts if _skipped(a) is None]
    return runner.Started(exe, jobs, runner.Cache.open(exe, no_cache, root))


@background("shellcheck")
def shellcheck_probe(ctx: ScanContext) -> Callable[[], ShellcheckFacts]:
    """Read the inputs here, in the engine's thread; the returned work runs in a background thread."""
    args = _inputs(ctx)
    early = started(ctx, "shellcheck")
    return lambda: _build(*args, early=early)
