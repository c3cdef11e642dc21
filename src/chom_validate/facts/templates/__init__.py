"""Templates rendered as the deploying scripts render them, so checks see the config that is installed.

A template (``x.service.tmpl``, ``prometheus.yml.j2``, ``site.conf.in``, or a config holding
``{{ X }}``/``@X@`` placeholders) is rendered with the substitutions a script or Makefile applies to
it:

- ``sed -e 's|{{X}}|'"$V"'|g' tpl > out``, ``sed -i`` on a copy (``cp tpl out; sed -i ... out``),
  ``sed -i`` in a Makefile pattern rule (``$@``: every file holding the placeholder);
- ``envsubst ['$A $B'] < tpl > out`` and ``cat tpl | envsubst > out``;
- heredocs (``cat > /etc/x.conf <<EOF``) get the script's known constants interpolated.

Values come from the program's constant propagation (``facts/shell_program.py``) or the Makefile's
variables. A value nobody sets is a neutral sample (``8080`` for a port, ``192.0.2.10`` for an
address, ``${NAME}`` for a secret) marked *assumed*: the rendered artifact's label and the evidence
of every line resting on one say so. A Jinja template with control flow (``{% if %}``, ``{% for %}``)
cannot be rendered without its data: it stays unknown (a parse error the checks skip, reported
by TGT002 as not applicable), never pass, never fail.

API (no I/O): ``render_templates(ctx)`` (called once per target after discovery) replaces each
template artifact in the index by its rendering(s), and interpolates heredocs in place;
``renderings(ctx)`` lists what was rendered (for ``chom-validate model``).

Modules: ``render`` (sed/envsubst/sample-value rendering of a text, the rendered artifact) and
``discovery`` (which script, Makefile or heredoc renders which template, with what values).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ...artifacts import Artifact
from ...artifacts.base import ArtifactParseError
from .discovery import _build, _heredocs
from .render import RenderedArtifact, Rendering, Value, sample_value

if TYPE_CHECKING:
    from ...engine import ScanContext  # rendering runs inside the engine, before the checks


# -- the index -------------------------------------------------------------------------------------


def render_templates(ctx: ScanContext) -> list[Rendering]:
    """Render every template of the target into the index (once; memoised)."""

    def build() -> list[Rendering]:
        rs = _build(ctx)
        changed = _heredocs(ctx)
        index = ctx.index
        repl: dict[int, list[Artifact]] = {}
        for r in rs:
            if r.unknown is not None:
                r.template._parse_error = ArtifactParseError(r.unknown)
                r.template.templated = True
                continue
            if r.artifact is not None:
                repl.setdefault(id(r.template), []).append(r.artifact)
        if repl:
            arts: list[Artifact] = []
            for a in index.artifacts:
                arts += repl.get(id(a), [a])
            index.artifacts[:] = arts
            index.by_kind.clear()
            for a in arts:
                index.by_kind.setdefault(a.kind, []).append(a)
            for path, f in list(index.files.items()):
                if f is not None and id(f) in repl:
                    index.files[path] = repl[id(f)][0]
        # Only the shell programs were derived so far; rebuild them if a script changed (a generated
        # script whose heredoc got values, a template rendering to a script).
        if any(a.kind == "shell" for a, _ in changed) or any(
            r.artifact is not None and r.artifact.kind == "shell" for r in rs
        ):
            ctx._cache.clear()
        ctx._cache[("facts.templates",)] = rs
        return rs

    key = ("facts.templates",)
    if key in ctx._cache:
        return ctx._cache[key]  # type: ignore[no-any-return]
    return build()


def renderings(ctx: ScanContext) -> list[Rendering]:
    return render_templates(ctx)


__all__ = ["RenderedArtifact", "Rendering", "Value", "render_templates", "renderings", "sample_value"]
