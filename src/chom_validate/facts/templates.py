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
"""

from __future__ import annotations

import posixpath
import re
import shlex
import warnings
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..artifacts import Artifact
from ..artifacts.base import ArtifactParseError
from ..artifacts.discover import detect_kind, make_candidate
from ..artifacts.make import Makefile
from ..artifacts.templating import (
    AT_VAR,
    JINJA_EXPR,
    SHELL_VAR,
    has_template_ext,
    jinja_control,
    jinja_name,
    placeholders,
    untemplated,
)
from ..findings import Evidence
from .secrets import is_secret_key
from .shell_program import _SELF_DIR, ShellProgram, evaluate, shell_programs

if TYPE_CHECKING:
    from ..engine import ScanContext  # rendering runs inside the engine, before the checks

# Kinds rendered when a config of that kind holds `{{ X }}`/`@X@` placeholders without a
# template extension; other kinds (dashboards, rules, compose files) hold native `{{ }}`/`${}`.
_CONFIG_KINDS = frozenset(
    {"systemd_unit", "systemd_dropin", "prometheus_config", "nginx_site", "cron", "journald", "template"}
)
_NEVER = frozenset({"shell", "markdown", "makefile", "json", "grafana_dashboard", "app_routes"})
_SAMPLES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(rx, re.I), v)
    for rx, v in (
        (r"(^|_)PORT$", "8080"),
        (r"(^|_)(URL|ENDPOINT|URI)$", "http://192.0.2.10:8080"),
        (r"(^|_)(HOST|ADDR|ADDRESS|IP|BIND|LISTEN)$", "192.0.2.10"),
        (r"(^|_)(DOMAIN|FQDN|HOSTNAME|SERVER_NAME|SERVERNAME)$", "example.invalid"),
        (r"(^|_)(E?MAIL|EMAIL_ADDRESS)$", "ops@example.invalid"),
        (r"(^|_)(USER|OWNER|GROUP|USERNAME)$", "sample"),
        (r"(^|_)(DIR|PATH|PREFIX|ROOT|HOME|DEST)$", "/opt/sample"),
        (r"(^|_)VERSION$", "0.0.0"),
    )
)


def sample_value(name: str) -> str:
    """The neutral value an unset placeholder is rendered with (a secret stays a reference)."""
    leaf = name.rsplit(".", 1)[-1]
    if is_secret_key(leaf):
        return "${" + re.sub(r"\W", "_", leaf).upper() + "}"
    for rx, v in _SAMPLES:
        if rx.search(leaf):
            return v
    return "sample"


@dataclass
class Value:
    name: str
    value: str
    source: str  # "deploy.sh:12", "Makefile:60", "template default", "assumed"
    assumed: bool


@dataclass
class Rendering:
    """One template as one deploying site renders it."""

    template: Artifact
    how: str  # 'sed', 'sed -i', 'make sed', 'envsubst', 'assumed', 'unknown'
    site: str | None  # `script:line` that renders it
    install_path: str | None
    text: str
    kind: str | None
    values: list[Value] = field(default_factory=list)
    assumed_lines: dict[int, list[Value]] = field(default_factory=dict)
    unknown: str | None = None  # why it cannot be rendered (Jinja control flow)
    artifact: Artifact | None = None

    @property
    def assumed(self) -> list[Value]:
        return [v for v in self.values if v.assumed]


@dataclass(eq=False)
class RenderedArtifact(Artifact):
    """A template rendered: lines are the template's own lines (substitutions stay within a line)."""

    rendering: Rendering | None = None

    @property
    def label(self) -> str:
        r = self.rendering
        if r is None:
            return self.path
        by = f" by {r.site}" if r.site else ""
        dest = f"{r.install_path} " if r.install_path else ""
        assumed = ""
        if r.assumed:
            names = ", ".join(sorted({v.name for v in r.assumed})[:4])
            assumed = f"; assumed {names}"
        return f"{dest}(template {self.path} rendered{by}{assumed})"

    def evidence(
        self,
        line: int | None = None,
        *,
        excerpt: str | None = None,
        note: str | None = None,
        end_line: int | None = None,
    ) -> Evidence:
        ev = super().evidence(line, excerpt=excerpt, note=note, end_line=end_line)
        r = self.rendering
        extra = []
        if r is not None and line is not None and r.assumed_lines.get(line):
            vals = r.assumed_lines[line]
            extra.append(
                "rests on assumed value(s) "
                + ", ".join(f"{v.name}={v.value}" for v in vals)
                + " (nobody sets them)"
            )
        if r is not None and r.site:
            extra.append(f"rendered by {r.site}")
        if extra:
            ev = ev.model_copy(update={"note": "; ".join([*(filter(None, [note])), *extra])})
        return ev


# -- substitutions -----------------------------------------------------------------------------------


@dataclass
class Sub:
    """One sed `s` command: regex, replacement (None when its value is unknown), the variable."""

    regex: re.Pattern[str]
    replacement: str | None
    var: str | None
    literal: str  # the pattern as a literal (for matching templates by content)
    global_: bool


@dataclass
class Site:
    how: str
    artifact: Artifact
    line: int
    template: Artifact | None  # None: every file holding the placeholder (a make pattern rule)
    dest: str | None
    subs: list[Sub] = field(default_factory=list)
    env: dict[str, str] | None = None  # envsubst: known values
    env_only: set[str] | None = None  # envsubst SHELL-FORMAT

    @property
    def where(self) -> str:
        return f"{self.artifact.path}:{self.line + self.artifact.line_offset}"


_UNKNOWN = "\x00"


def _bre_to_py(pat: str, extended: bool) -> str:
    out = []
    i = 0
    while i < len(pat):
        ch = pat[i]
        if ch == "\\" and i + 1 < len(pat):
            nxt = pat[i + 1]
            if extended:
                out.append("\\" + nxt)
            elif nxt in "(){}+?|":
                out.append(nxt)
            elif nxt == "n":
                out.append("\\n")
            else:
                out.append(re.escape(nxt) if not nxt.isdigit() else "\\" + nxt)
            i += 2
            continue
        if not extended and ch in "(){}+?|":
            out.append("\\" + ch)
        else:
            out.append(ch)
        i += 1
    return "".join(out)


def _literal(pat: str) -> str:
    return re.sub(r"\\(.)", r"\1", pat)


def _sed_subs(expr: str, extended: bool, value_of: Any) -> list[Sub]:
    """The `s` commands of a sed script (other commands ignored)."""
    out = []
    i = 0
    n = len(expr)
    while i < n:
        while i < n and expr[i] in " \t\n;":
            i += 1
        if i >= n or expr[i] != "s" or i + 1 >= n:
            nxt = expr.find(";", i)
            if nxt < 0:
                break
            i = nxt + 1
            continue
        delim = expr[i + 1]
        parts: list[str] = []
        j = i + 2
        cur = []
        while j < n and len(parts) < 2:
            if expr[j] == "\\" and j + 1 < n:
                cur.append(expr[j : j + 2] if expr[j + 1] != delim else delim)
                j += 2
                continue
            if expr[j] == delim:
                parts.append("".join(cur))
                cur = []
                j += 1
                continue
            cur.append(expr[j])
            j += 1
        if len(parts) < 2:
            break
        m = re.match(r"[gipI0-9]*", expr[j:])
        flags = m.group(0) if m else ""
        i = j + len(flags)
        pat, rep = parts
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                rx = re.compile(_bre_to_py(pat, extended), re.I if ("i" in flags or "I" in flags) else 0)
        except re.error:
            continue
        value, var = value_of(rep)
        out.append(Sub(rx, value, var, _literal(pat), "g" in flags))
    return out


def _sed_replacement(rep: str) -> Any:
    """A re.sub replacement function for a sed replacement text (`&`, `\\1`, `\\&`, `\\n`)."""

    def fn(m: re.Match[str]) -> str:
        out = []
        i = 0
        while i < len(rep):
            ch = rep[i]
            if ch == "\\" and i + 1 < len(rep):
                nxt = rep[i + 1]
                if nxt.isdigit():
                    out.append(m.group(int(nxt)) or "" if int(nxt) <= (m.re.groups or 0) else "")
                elif nxt == "n":
                    out.append(" ")  # a newline would break the template's line mapping
                else:
                    out.append(nxt)
                i += 2
                continue
            out.append(m.group(0) if ch == "&" else ch)
            i += 1
        return "".join(out)

    return fn


# -- finding the rendering sites ---------------------------------------------------------------------


def _placeholder_name(literal: str) -> str | None:
    m = JINJA_EXPR.search(literal) or AT_VAR.search(literal) or SHELL_VAR.search(literal)
    if m is None:
        m2 = re.fullmatch(r"[_%#]*([A-Za-z][\w]*)[_%#]*", literal.strip())
        return m2.group(1) if m2 and m2.group(1).isupper() else None
    if m.re is JINJA_EXPR:
        nd = jinja_name(m.group("expr"))
        return nd[0] if nd else None
    gd = m.groupdict()
    return gd.get("name") or gd.get("braced") or gd.get("bare")


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


# -- rendering ---------------------------------------------------------------------------------------


def _apply_subs(text: str, subs: list[Sub], where: str) -> tuple[str, list[Value], dict[int, list[Value]]]:
    lines = text.split("\n")
    values: dict[str, Value] = {}
    assumed: dict[int, list[Value]] = {}
    for i, ln in enumerate(lines):
        for s in subs:
            if not s.regex.search(ln):
                continue
            if s.replacement is None:
                name = _placeholder_name(s.literal) or s.var or "value"
                v = values.setdefault(name, Value(name, sample_value(name), "assumed", True))
                ln = s.regex.sub(lambda _m, v=v: v.value, ln, count=0 if s.global_ else 1)
                assumed.setdefault(i + 1, []).append(v)
            else:
                name = _placeholder_name(s.literal) or s.var or s.literal
                values.setdefault(name, Value(name, s.replacement, where, False))
                ln = s.regex.sub(_sed_replacement(s.replacement), ln, count=0 if s.global_ else 1)
        lines[i] = ln
    return "\n".join(lines), list(values.values()), assumed


def _apply_env(
    text: str, env: dict[str, str], only: set[str] | None, where: str
) -> tuple[str, list[Value], dict[int, list[Value]]]:
    values: dict[str, Value] = {}
    assumed: dict[int, list[Value]] = {}
    lines = text.split("\n")
    for i, ln in enumerate(lines):
        if "$" not in ln:
            continue

        def sub(m: re.Match[str], i: int = i) -> str:
            name = m.group("braced") or m.group("bare")
            if only is not None and name not in only:
                return m.group(0)
            if name in env:
                v = values.setdefault(name, Value(name, env[name], where, False))
            else:
                v = values.setdefault(name, Value(name, sample_value(name), "assumed", True))
                assumed.setdefault(i + 1, []).append(v)
            return v.value

        lines[i] = SHELL_VAR.sub(sub, ln)
    return "\n".join(lines), list(values.values()), assumed


def _apply_assumed(text: str, shell: bool) -> tuple[str, list[Value], dict[int, list[Value]]]:
    values: dict[str, Value] = {}
    assumed: dict[int, list[Value]] = {}
    lines = text.split("\n")
    for i, ln in enumerate(lines):
        if "{{" not in ln and "@" not in ln and not (shell and "$" in ln):
            continue

        def val(name: str, default: str | None, i: int = i) -> str:
            if default is not None:
                v = values.setdefault(name, Value(name, default, "template default", False))
            else:
                v = values.setdefault(name, Value(name, sample_value(name), "assumed", True))
                assumed.setdefault(i + 1, []).append(v)
            return v.value

        def jinja(m: re.Match[str]) -> str:
            nd = jinja_name(m.group("expr"))
            return m.group(0) if nd is None else val(nd[0], nd[1])

        ln = JINJA_EXPR.sub(jinja, ln)
        ln = AT_VAR.sub(lambda m: val(m.group("name"), None), ln)
        if shell:
            ln = re.sub(r"\$\{([A-Za-z_]\w*)\}", lambda m: val(m.group(1), None), ln)
        lines[i] = ln
    return "\n".join(lines), list(values.values()), assumed


def _finish(r: Rendering) -> Rendering:
    tpl = r.template
    path = r.install_path or untemplated(tpl.path)
    cand = make_candidate(path if "$" not in path else untemplated(tpl.path), r.text)
    kind = detect_kind(cand)
    if kind in (None, "template") or (
        kind in ("yaml", "json") and tpl.kind not in ("yaml", "json", "template")
    ):
        kind = tpl.kind if tpl.kind != "template" else kind
    r.kind = kind
    if kind is None or kind == "template":
        return r
    art = RenderedArtifact(
        path=tpl.path,
        kind=kind,
        text=r.text,
        digest=tpl.digest,
        install_path=r.install_path if r.install_path and "$" not in r.install_path else tpl.install_path,
        mode=tpl.mode,
        host=tpl.host,
        remote_host=tpl.remote_host,
        templated=bool(placeholders(r.text)) or bool(r.assumed),
        meta={**tpl.meta, "rendered_from": tpl.path},
        rendering=r,
    )
    if cand.data_error is not None:
        art._parse_error = ArtifactParseError(cand.data_error.args[0], cand.data_error.line)
    r.artifact = art
    return r


def _is_template(a: Artifact) -> bool:
    if a.embedded or a.kind in _NEVER or a.kind.startswith("grafana"):
        return False
    if has_template_ext(a.path):
        return bool(placeholders(a.text, shell=True) or jinja_control(a.text))
    return a.kind in _CONFIG_KINDS and bool(placeholders(a.text))


def _render_site(tpl: Artifact, site: Site) -> Rendering:
    if site.how == "envsubst":
        text, values, assumed = _apply_env(tpl.text, site.env or {}, site.env_only, site.where)
    else:
        text, values, assumed = _apply_subs(tpl.text, site.subs, site.where)
    return Rendering(tpl, site.how, site.where, site.dest, text, None, values, assumed)


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


# -- heredocs ---------------------------------------------------------------------------------------

_HEREDOC_EXP = re.compile(r"\\([$`\\])|\$\{[^{}]*\}|\$[A-Za-z_]\w*")


def _interpolate(text: str, consts: dict[str, str]) -> tuple[str, bool]:
    """An unquoted heredoc body with known constants expanded; (text, anything left unknown)."""
    unknown = False

    def sub(m: re.Match[str]) -> str:
        nonlocal unknown
        if m.group(1):
            return m.group(0)  # an escape: kept as written (the body text is what checks read)
        v = evaluate(m.group(0), consts)
        if v is None or "\n" in v:
            unknown = True
            return m.group(0)
        return v

    out = [_HEREDOC_EXP.sub(sub, ln) if "$" in ln else ln for ln in text.split("\n")]
    if "$(" in text or "`" in text.replace("\\`", ""):
        unknown = True
    return "\n".join(out), unknown


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
