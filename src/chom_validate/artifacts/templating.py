"""Template syntax, in one place: which files are templates, which placeholders they hold, and the
Makefiles that render them.

The rendering itself (values from the deploying scripts, assumed samples) is a fact and lives in
``facts/templates/``; this module only says what a placeholder looks like, so discovery, the
unit parser and the checks agree on it:

- ``TEMPLATE_EXTS``/``untemplated(path)``: ``x.service.j2`` is detected as the ``x.service`` it
  renders to (``.j2``, ``.jinja``, ``.jinja2``, ``.tmpl``, ``.tpl``, ``.template``, ``.in``);
- ``placeholders(text, shell=False)``: ``{{ X }}`` (Jinja/mustache expressions, not Go templates'
  ``{{ $labels.x }}``/``{{ .Field }}``), ``@X@`` (autoconf) and, with ``shell=True``, ``${X}``/``$X``;
- ``jinja_control(text)``: the first ``{% if %}``/``{% for %}``... line (control flow that cannot be
  rendered without knowing the data: such a template stays unknown);
- ``is_templated_value(v)``: a directive value still holding a placeholder (value unknown);

The ``template`` and ``makefile`` artifact kinds are registered in ``make.py``.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass

TEMPLATE_EXTS = (".j2", ".jinja", ".jinja2", ".tmpl", ".tpl", ".template", ".in")
_TEMPLATE_SUFFIX = re.compile(r"(\.[A-Za-z0-9]+)\.(j2|jinja2?|tmpl|tpl|template|in)$", re.I)

# `{{ NAME }}`, `{{ name | default('x') }}`: not Go templates (`{{ $labels.x }}`, `{{ .Field }}`,
# `{{ range ... }}`, `{{ template "x" . }}`), which are native to Prometheus rules and Alertmanager.
JINJA_EXPR = re.compile(r"\{\{-?\s*(?P<expr>[A-Za-z_][\w.]*(?:\s*\|[^{}]*)?)\s*-?\}\}")
_GO_WORDS = frozenset({"range", "if", "else", "end", "template", "define", "with", "block", "printf", "len"})
JINJA_STMT = re.compile(r"\{%-?\s*(?P<word>\w+)")
AT_VAR = re.compile(r"@(?P<name>[A-Z][A-Z0-9_]{2,})@")
SHELL_VAR = re.compile(r"\$\{(?P<braced>[A-Za-z_]\w*)\}|\$(?P<bare>[A-Za-z_]\w*)")
# Text still holding a placeholder whose value is unknown: Jinja statements, `{{ name }}`
# expressions (not Go templates' `{{ end }}`/`{{ $x }}`/`{{ .X }}`), `${VAR}`
UNRENDERED = re.compile(
    r"\{%|\{\{\s*(?!(?:end|else|break|continue)\s*\}\})[A-Za-z_][\w.]*\s*(?:\|[^}]*)?\}\}|\$\{[A-Za-z_]\w*\}"
)
# Any `{{ }}`/`{% %}` pair: discovery's first look (Go templates included)
TEMPLATE_MARKERS = re.compile(r"\{\{.*?\}\}|\{%.*?%\}")
# A directive value still holding a placeholder: `{{ x }}`, `${X}`, `$X`, systemd `%i` specifiers
TEMPLATED_VALUE = re.compile(r"\{\{|\{%|\$\{?[A-Za-z_]|@[A-Z][A-Z0-9_]{2,}@")


def untemplated(path: str) -> str:
    """``x.service.j2`` -> ``x.service``; other paths unchanged."""
    return _TEMPLATE_SUFFIX.sub(r"\1", path)


def has_template_ext(path: str) -> bool:
    return posixpath.splitext(path)[1].lower() in TEMPLATE_EXTS


def jinja_name(expr: str) -> tuple[str, str | None] | None:
    """(name, default) of a Jinja expression, or None when it is a Go template action."""
    head = expr.split("|", 1)[0].strip()
    if not head or head.split(".")[0] in _GO_WORDS:
        return None
    m = re.search(r"\|\s*default\(\s*(['\"])(.*?)\1", expr)
    return head, (m.group(2) if m else None)


@dataclass
class Placeholder:
    name: str
    token: str  # as written: `{{ X }}`, `@X@`, `${X}`
    line: int  # 1-based line of the template
    default: str | None = None  # `{{ x | default('v') }}`


def placeholders(text: str, *, shell: bool = False, at: bool = True) -> list[Placeholder]:
    out = []
    for i, ln in enumerate(text.splitlines(), 1):
        if "{{" in ln:
            for m in JINJA_EXPR.finditer(ln):
                nd = jinja_name(m.group("expr"))
                if nd:
                    out.append(Placeholder(nd[0], m.group(0), i, nd[1]))
        if at and "@" in ln:
            out += [Placeholder(m.group("name"), m.group(0), i) for m in AT_VAR.finditer(ln)]
        if shell and "$" in ln:
            for m in SHELL_VAR.finditer(ln):
                if m.start() > 0 and ln[m.start() - 1] == "\\":
                    continue
                out.append(Placeholder(m.group("braced") or m.group("bare"), m.group(0), i))
    return out


def jinja_control(text: str) -> tuple[int, str] | None:
    """(line, keyword) of the first Jinja statement (`{% if %}`, `{% for %}`, ...), or None."""
    if "{%" not in text:
        return None
    for i, ln in enumerate(text.splitlines(), 1):
        m = JINJA_STMT.search(ln)
        if m and m.group("word") not in ("raw", "endraw", "comment"):
            return i, m.group("word")
    return None


def is_templated_value(value: str) -> bool:
    return bool(TEMPLATED_VALUE.search(value))
