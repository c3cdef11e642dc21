"""Makefiles (variables and recipe lines: `make install` is a deploying script too) and the
``template`` kind: template files no other detector recognises, kept so they can be rendered."""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field

from .base import Artifact, parser
from .discover import Candidate, detector
from .templating import Placeholder, has_template_ext, jinja_control, placeholders

# -- template files no other detector recognises ---------------------------------------------------


@detector("template", order=95)
def _detect_template(c: Candidate) -> str | None:
    if not has_template_ext(c.path):
        return None
    base = posixpath.basename(c.path)
    if base in ("Makefile.in", "configure.in", "config.h.in") or base.endswith((".am.in", ".m4.in")):
        return None  # autotools build inputs: no deployment config in them
    if placeholders(c.text) or jinja_control(c.text) or "${" in c.text:
        return "template"
    return None


@parser("template")
def _parse_template(art: Artifact) -> list[Placeholder]:
    return placeholders(art.text, shell=True)


# -- Makefiles ---------------------------------------------------------------------------------------


@dataclass
class MakeVar:
    name: str
    value: str
    op: str  # '=', ':=', '?=', '+=', '::='
    line: int


@dataclass
class RecipeLine:
    line: int
    text: str  # the shell command, make's `@`/`-` prefixes removed
    rule: str  # the rule's target pattern
    end_line: int = 0  # last physical line (backslash continuations)
    prereqs: str = ""  # the rule's prerequisites as written


@dataclass
class Makefile:
    variables: dict[str, MakeVar] = field(default_factory=dict)
    recipes: list[RecipeLine] = field(default_factory=list)

    def expand(self, text: str, depth: int = 0, *, undefined_empty: bool = False) -> str | None:
        """``text`` with ``$(X)``/``${X}`` expanded from the Makefile's own variables; None when a
        reference stays unknown (automatic variables such as ``$@`` are kept as written). With
        ``undefined_empty`` an undefined variable is empty, as make expands it when the environment
        does not set it."""
        unknown = False

        def sub(m: re.Match[str]) -> str:
            nonlocal unknown
            v = self.variables.get(m.group(1))
            if v is None and undefined_empty and depth <= 8:
                return ""
            if v is None or depth > 8:
                unknown = True
                return m.group(0)
            got = self.expand(v.value, depth + 1, undefined_empty=undefined_empty)
            if got is None:
                unknown = True
                return m.group(0)
            return got

        out = re.sub(r"\$[({]([A-Za-z_][\w-]*)[)}]", sub, text)
        return None if unknown else out


_MAKE_VAR = re.compile(r"^(?:export\s+|override\s+)?([A-Za-z_][\w-]*)\s*(::=|:=|\?=|\+=|=)\s*(.*)$")
_MAKE_RULE = re.compile(r"^([^\t#=][^=]*?)\s*::?(?!=)(.*)$")


@detector("makefile", order=5)
def _detect_makefile(c: Candidate) -> str | None:
    base = posixpath.basename(c.path)
    return "makefile" if base in ("Makefile", "GNUmakefile", "makefile") or base.endswith(".mk") else None


@parser("makefile")
def parse_makefile(art: Artifact) -> Makefile:
    mk = Makefile()
    rule = prereqs = ""
    lines = art.lines
    i = 0
    while i < len(lines):
        ln = lines[i]
        start = i
        while ln.endswith("\\") and i + 1 < len(lines):  # continuation lines form one logical line
            i += 1
            ln = ln[:-1] + " " + lines[i].strip()
        i += 1
        if ln.startswith("\t"):
            if rule:
                mk.recipes.append(RecipeLine(start + 1, ln.strip().lstrip("@-+ "), rule, i, prereqs))
            continue
        s = ln.strip()
        if not s or s.startswith("#"):
            continue
        m = _MAKE_VAR.match(s)
        if m:
            name, op, value = m.groups()
            if op == "?=" and name in mk.variables:
                continue
            if op == "+=" and name in mk.variables:
                prev = mk.variables[name]
                value = f"{prev.value} {value}".strip()
            mk.variables[name] = MakeVar(name, value.split(" #", 1)[0].strip(), op, start + 1)
            continue
        r = _MAKE_RULE.match(s)
        rule = r.group(1).strip() if r else ""
        prereqs = r.group(2).split(";", 1)[0].split("|", 1)[0].strip() if r else ""
    return mk


# -- recipes as a shell script ------------------------------------------------------------------------
#
# Each recipe line is a shell command (make runs it with /bin/sh), so the shell checks can read the
# recipes as one script whose line N is line N of the Makefile: other lines are blank, make's `$$`
# becomes `$`, the Makefile's own variables are expanded (undefined ones become shell variables,
# which is what an unset make variable from the environment is), and the automatic variables
# (`$@`, `$<`, `$^`, `$*`) become the rule's target and prerequisites.

_BUILTIN_VARS = {"RM": "rm -f", "MAKE": "make", "INSTALL": "install", "CP": "cp", "MKDIR_P": "mkdir -p"}
_MAKE_REF = re.compile(r"\$[({]([A-Za-z_][\w-]*)[)}]")
_AUTO = re.compile(r"\$(?:[@<^*?]|[({][@<^*?][DF]?[)}])")
_DOLLAR = "\0DOLLAR\0"


_MAX_EXPANSION = 4096  # a variable that expands to more stays a reference (no expansion bombs)


def _expand_partial(mk: Makefile, text: str, memo: dict[str, str], depth: int = 0) -> str:
    """``text`` with the Makefile's variables expanded (each once: ``memo``), undefined ones as shell
    variables; a cyclic, too deep or too long expansion keeps the reference as a shell variable."""

    def sub(m: re.Match[str]) -> str:
        name = m.group(1)
        shell_ref = "${" + name.replace("-", "_") + "}"
        v = mk.variables.get(name)
        if v is None:
            return _BUILTIN_VARS.get(name, shell_ref)
        if name not in memo:
            memo[name] = shell_ref  # while expanding: a cycle reads the reference
            got = (
                shell_ref
                if depth > 8
                else _expand_partial(mk, v.value.replace("$$", _DOLLAR), memo, depth + 1)
            )
            memo[name] = got if len(got) <= _MAX_EXPANSION else shell_ref
        return memo[name]

    return _MAKE_REF.sub(sub, text)


def recipe_script_text(art: Artifact, mk: Makefile) -> str:
    """The recipes of ``mk`` as shell text with the Makefile's line numbers (see above)."""
    out = [""] * len(art.lines)
    memo: dict[str, str] = {}
    for r in mk.recipes:
        target = _expand_partial(mk, r.rule.split()[0] if r.rule.split() else "", memo)
        pre = _expand_partial(mk, r.prereqs, memo).split()
        auto = {"@": target, "<": pre[0] if pre else "", "^": " ".join(pre), "*": "%", "?": " ".join(pre)}

        def automatic(m: re.Match[str], auto: dict[str, str] = auto) -> str:
            tok = m.group(0).strip("$(){}")
            val = auto.get(tok[0], "")
            if tok.endswith("D"):
                return posixpath.dirname(val) or "."
            if tok.endswith("F"):
                return posixpath.basename(val)
            return val

        for k in range(r.line, max(r.line, r.end_line) + 1):
            raw = art.lines[k - 1]
            t = raw[1:] if raw.startswith("\t") else raw
            if k == r.line:
                t = t.lstrip().lstrip("@-+ ")
            t = t.replace("$$", _DOLLAR)
            t = _AUTO.sub(automatic, _expand_partial(mk, t, memo)).replace("$(shell ", "$(")
            out[k - 1] = t.replace(_DOLLAR, "$")
    return "\n".join(out) + "\n"


def recipe_artifact(art: Artifact, mk: Makefile) -> Artifact | None:
    """A shell artifact holding the recipes (embedded in the Makefile: evidence points at its lines);
    None for a Makefile without recipes."""
    if not mk.recipes:
        return None
    child = Artifact(
        path=art.path,
        kind="shell",
        text=recipe_script_text(art, mk),
        digest=art.digest,
        parent=art,
        host=art.host,
        remote_host=art.remote_host,
        templated=True,
    )
    child.meta["shell"] = "sh"
    child.meta["make_recipes"] = {
        k: r for r in mk.recipes for k in range(r.line, max(r.line, r.end_line) + 1)
    }
    return child
