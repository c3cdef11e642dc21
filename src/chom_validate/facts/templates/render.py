"""Rendering a template's text: sed ``s`` expressions (BRE/ERE to Python, replacements with ``&``
and ``\\1``), envsubst (all variables or a SHELL-FORMAT list), neutral sample values for what
nobody sets (marked assumed), heredoc interpolation of known constants, and the rendered artifact
with evidence that says which values were assumed.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass, field
from typing import Any

from ...artifacts import Artifact
from ...artifacts.base import ArtifactParseError
from ...artifacts.discover import detect_kind, make_candidate
from ...artifacts.templating import (
    AT_VAR,
    JINJA_EXPR,
    SHELL_VAR,
    jinja_name,
    placeholders,
    untemplated,
)
from ...findings import Evidence
from ..secrets import is_secret_key
from ..shell_program import evaluate

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


def _render_site(tpl: Artifact, site: Site) -> Rendering:
    if site.how == "envsubst":
        text, values, assumed = _apply_env(tpl.text, site.env or {}, site.env_only, site.where)
    else:
        text, values, assumed = _apply_subs(tpl.text, site.subs, site.where)
    return Rendering(tpl, site.how, site.where, site.dest, text, None, values, assumed)


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
