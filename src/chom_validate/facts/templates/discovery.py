"""Finding what renders each template: the scripts' ``sed``/``envsubst`` sites (with the values
their constant propagation knows), Makefile pattern rules, templates by extension or placeholder,
and the unquoted heredocs whose constants get interpolated in place.
"""

from __future__ import annotations

import posixpath
import re
import shlex
from typing import TYPE_CHECKING, Any

from ...artifacts import Artifact
from ...artifacts.base import ArtifactParseError
from ...artifacts.discover import make_candidate
from ...artifacts.make import Makefile
from ...artifacts.templating import (
    has_template_ext,
    jinja_control,
    placeholders,
)
from ..shell_program import _SELF_DIR, ShellProgram, evaluate, shell_programs
from .render import Rendering, Site, _apply_assumed, _finish, _interpolate, _render_site, _sed_subs

if TYPE_CHECKING:
    from ...engine import ScanContext  # rendering runs inside the engine, before the checks

# Kinds rendered when a config of that kind holds `{{ X }}`/`@X@` placeholders without a
# template extension; other kinds (dashboards, rules, compose files) hold native `{{ }}`/`${}`.
_CONFIG_KINDS = frozenset(
    {"systemd_unit", "systemd_dropin", "prometheus_config", "nginx_site", "cron", "journald", "template"}
)
_NEVER = frozenset({"shell", "markdown", "makefile", "json", "grafana_dashboard", "app_routes"})


# -- finding the rendering sites ---------------------------------------------------------------------


class _Resolver:
    """Tree paths of words a script names (`$DIR/templates/x.tmpl`, `./x.tmpl`)."""

    def __init__(self, ctx: ScanContext) -> None:
        self.files = ctx.index.files
        self.by_name: dict[str, list[Artifact]] = {}
        for a in ctx.index.artifacts:
            if not a.embedded:
                self.by_name.setdefault(posixpath.basename(a.path), []).append(a)

    def artifact(self, raw: str, art: Artifact, prog: ShellProgram | None) -> Artifact | None:
        here = posixpath.dirname(art.path)
        text = _SELF_DIR.sub(here or ".", raw)
        if prog is not None:
            text = evaluate(text, prog.constants, keep_unknown=True) or text
        text = text.strip("\"'")
        if "$" not in text:
            for cand in (
                posixpath.normpath(posixpath.join(here, text)),
                posixpath.normpath(text.lstrip("/")),
            ):
                a = self.files.get(cand)
                if a is not None:
                    return a
        base = text.rsplit("/", 1)[-1]
        if not base or "$" in base:
            return None
        same = [a for a in self.by_name.get(base, []) if a.host == art.host]
        return same[0] if len(same) == 1 else None


def _split_value(prog: ShellProgram | None, consts: dict[str, str]) -> Any:
    def value_of(text: str) -> tuple[str | None, str | None]:
        refs = re.findall(r"\$\{?([A-Za-z_]\w*)", text)
        v = evaluate(text, consts) if refs else text
        if v is not None:
            return v, refs[0] if refs else None
        return None, refs[0] if refs else None

    return value_of


def _read_vars(prog: ShellProgram) -> set[str]:
    """Variables a script also sets from input (`read`, `for`, `getopts`, `mapfile`): not constants."""
    out: set[str] = set()
    for _, c in prog.commands():
        if c.name in ("read", "getopts", "mapfile", "readarray"):
            out.update(w for w in c.argv[1:] if re.fullmatch(r"[A-Za-z_]\w*", w))
        elif c.name == "for" and len(c.words) > 1:
            out.add(c.words[1])
    for _, s in prog.units:
        for ln in s.lines if hasattr(s, "lines") else []:
            m = re.match(r"^\s*for\s+([A-Za-z_]\w*)\s+in\b", ln)
            if m:
                out.add(m.group(1))
    return out


def _constants(prog: ShellProgram) -> dict[str, str]:
    drop = _read_vars(prog)
    return {k: v for k, v in prog.constants.items() if k not in drop and v != "\0SELF"}


def _sed_args(argv: list[str]) -> tuple[list[str], list[str], bool, bool]:
    exprs: list[str] = []
    files: list[str] = []
    inplace = extended = False
    i = 1
    script_file = False
    while i < len(argv):
        w = argv[i]
        if w in ("-e", "--expression") and i + 1 < len(argv):
            exprs.append(argv[i + 1])
            i += 2
            continue
        if w.startswith("--expression="):
            exprs.append(w.split("=", 1)[1])
        elif w in ("-f", "--file"):
            script_file = True
            i += 2
            continue
        elif w.startswith("-i") or w.startswith("--in-place"):
            inplace = True
        elif w in ("-E", "-r", "--regexp-extended"):
            extended = True
        elif w.startswith("-") and len(w) > 1:
            if "i" in w[1:] and not w.startswith("--"):
                inplace = True
            if "E" in w[1:] or "r" in w[1:]:
                extended = True
        else:
            files.append(w)
        i += 1
    if not exprs and not script_file and files:
        exprs, files = [files[0]], files[1:]
    return exprs, files, inplace, extended


def _shell_sites(ctx: ScanContext, res: _Resolver) -> list[Site]:
    sites: list[Site] = []
    for prog in shell_programs(ctx):
        consts = _constants(prog)
        value_of = _split_value(prog, consts)
        copies: dict[str, Artifact] = {}
        cmds = prog.effective_commands()
        by_line: dict[tuple[int, int], list[Any]] = {}
        for art, c in cmds:
            by_line.setdefault((id(art), c.line), []).append(c)
        for art, c in cmds:
            name = c.name
            if name in ("cp", "install") and len(c.argv) >= 3:
                args = [
                    w
                    for i, w in enumerate(c.argv[1:], 1)
                    if not w.startswith("-")
                    and c.argv[i - 1] not in ("-m", "-o", "-g", "--mode", "--owner", "--group")
                ]
                if len(args) == 2:
                    src = res.artifact(args[0], art, prog)
                    if src is not None:
                        copies[prog.value(args[1]) or args[1]] = src
            elif name == "sed":
                exprs, files, inplace, extended = _sed_args(c.argv)
                subs = [s for e in exprs for s in _sed_subs(e, extended, value_of)]
                if not subs:
                    continue
                out = next((t for op, t in c.redirects if op == ">"), None)
                for f in files:
                    dest = prog.value(f) or f
                    tpl = copies.get(dest) if inplace else None
                    tpl = tpl or res.artifact(f, art, prog)
                    if tpl is None:
                        continue
                    how = "sed -i" if inplace else "sed"
                    d = dest if inplace else (prog.value(out) or out) if out else None
                    sites.append(Site(how, art, c.line, tpl, d, subs))
            elif name == "envsubst":
                src_word = next((t for op, t in c.redirects if op == "<"), None)
                if src_word is None:
                    prev = [
                        p for p in by_line.get((id(art), c.line), []) if p.name == "cat" and len(p.argv) == 2
                    ]
                    src_word = prev[0].argv[1] if prev else None
                dest_word = next((t for op, t in c.redirects if op == ">"), None)
                if dest_word is None:
                    m = re.search(r"\benvsubst\b[^|>]*>\s*(\S+)", c.logical)
                    dest_word = m.group(1) if m else None
                if dest_word is None:
                    m = re.search(r"\benvsubst\b[^|]*\|\s*(?:sudo\s+)?tee\s+(?:-a\s+)?(\S+)", c.logical)
                    dest_word = m.group(1) if m else None
                tpl = res.artifact(src_word, art, prog) if src_word else None
                if tpl is None:
                    continue
                only = None
                fmt = [w for w in c.argv[1:] if not w.startswith("-")]
                if fmt:
                    only = set(re.findall(r"\$\{?([A-Za-z_]\w*)", " ".join(fmt)))
                d = (prog.value(dest_word) or dest_word).strip("\"'") if dest_word else None
                sites.append(Site("envsubst", art, c.line, tpl, d, env=consts, env_only=only))
    return sites


def _make_sites(ctx: ScanContext) -> list[Site]:
    sites: list[Site] = []
    for art, mk in ctx.parsed("makefile"):
        assert isinstance(mk, Makefile)
        for r in mk.recipes:
            if "sed" not in r.text:
                continue

            def value_of(text: str, mk: Makefile = mk) -> tuple[str | None, str | None]:
                refs = re.findall(r"\$[({]([A-Za-z_][\w-]*)[)}]", text)
                v = mk.expand(text, undefined_empty=True)
                return v, refs[0] if refs else None

            for piece in re.split(r"\s*(?:;|&&|\|\|)\s*", r.text):
                try:
                    argv = shlex.split(piece)
                except ValueError:
                    continue
                if not argv or argv[0] != "sed":
                    continue
                exprs, files, inplace, extended = _sed_args(argv)
                subs = [s for e in exprs for s in _sed_subs(e, extended, value_of)]
                if subs and (inplace or files):
                    sites.append(Site("make sed", art, r.line, None, None, subs))
    return sites


def _is_template(a: Artifact) -> bool:
    if a.embedded or a.kind in _NEVER or a.kind.startswith("grafana"):
        return False
    if has_template_ext(a.path):
        return bool(placeholders(a.text, shell=True) or jinja_control(a.text))
    return a.kind in _CONFIG_KINDS and bool(placeholders(a.text))


def _build(ctx: ScanContext) -> list[Rendering]:
    res = _Resolver(ctx)
    sites = _shell_sites(ctx, res) + _make_sites(ctx)
    by_tpl: dict[int, list[Site]] = {}
    generic = [s for s in sites if s.template is None]
    for s in sites:
        if s.template is not None:
            by_tpl.setdefault(id(s.template), []).append(s)
    out: list[Rendering] = []
    for a in list(ctx.index.artifacts):
        if a.embedded or a.kind in _NEVER or a.kind.startswith("grafana"):
            continue
        mine = by_tpl.get(id(a), [])
        mine += [s for s in generic if any(sub.literal and sub.literal in a.text for sub in s.subs)]
        control = jinja_control(a.text)
        if control is not None:
            line, word = control
            out.append(
                Rendering(
                    a,
                    "unknown",
                    mine[0].where if mine else None,
                    None,
                    a.text,
                    a.kind,
                    unknown=f"Jinja control flow ({{% {word} %}} at line {line}) cannot be rendered "
                    "without the template's data; values unknown",
                )
            )
            continue
        if mine:
            seen: set[str] = set()
            for s in mine:
                r = _render_site(a, s)
                if r.text == a.text or r.text in seen:
                    continue
                seen.add(r.text)
                out.append(_finish(r))
            if seen:
                continue
        if _is_template(a):
            text, values, assumed = _apply_assumed(a.text, shell=has_template_ext(a.path))
            if text != a.text:
                out.append(_finish(Rendering(a, "assumed", None, None, text, None, values, assumed)))
    return out


def _heredocs(ctx: ScanContext) -> list[tuple[Artifact, str]]:
    """Interpolate known constants into unquoted heredoc artifacts (in place); (artifact, note)."""
    owner: dict[int, ShellProgram] = {}
    for prog in shell_programs(ctx):
        for a, _ in prog.units:
            owner.setdefault(id(a), prog)
    consts_of: dict[int, dict[str, str]] = {}
    done = []
    for a in ctx.index.artifacts:
        h = a.meta.get("heredoc")
        if not a.embedded or h is None or h.quoted or "$" not in a.text or a.parent is None:
            continue
        owning = owner.get(id(a.parent))
        if owning is None:
            continue
        prog = owning
        consts = consts_of.get(id(prog))
        if consts is None:
            consts = consts_of[id(prog)] = _constants(prog)
        text, unknown = _interpolate(a.text, consts)
        if text == a.text:
            continue
        a.meta["heredoc_raw"] = a.text
        a.text = text
        a._lines = None
        a._parsed = None
        cand = make_candidate(a.install_path or a.path, text)
        a._parse_error = (
            ArtifactParseError(cand.data_error.args[0], cand.data_error.line) if cand.data_error else None
        )
        a.templated = unknown or bool(placeholders(text))
        done.append((a, "known values interpolated"))
    return done
