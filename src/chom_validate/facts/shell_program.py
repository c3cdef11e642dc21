"""Shell programs: an entry script with the libraries it sources, as bash runs them.

API (all builders are memoised per scan through ``ctx.derived``; no I/O):

- ``shell_programs(ctx) -> list[ShellProgram]``: one program per entry script (a non-embedded
  shell artifact that is not only sourced by others) and per generated script (a ``#!`` heredoc).
- ``program_for(ctx, artifact) -> ShellProgram | None``: the program whose entry is ``artifact``.
- ``recipe_scripts(ctx) -> [(artifact, ShellScript)]``: each Makefile's recipes as a shell script
  with the Makefile's line numbers (make variables expanded, `$@`/`$<` the rule's files).
- ``ShellProgram``:
  - ``entry``/``script``: the entry artifact and its parsed ``ShellScript``;
  - ``units``: ``[(artifact, script)]`` entry first, then every library it sources (transitively;
    `source "$(dirname "$0")/lib.sh"`, `${BASH_SOURCE%/*}`, `$SCRIPT_DIR/...` resolved against the
    script's own directory, then by file name on the same host);
  - ``interpreter``: 'bash' or 'sh' (shebang, or `sh script` from another script in the tree,
    which wins: ``interpreter_origin`` says which line decided it);
  - ``functions``: name -> ``FunctionDef`` (artifact, start, end) across all units;
  - ``commands()``: ``[(artifact, Command)]`` over all units; ``calls(name)``: the call sites of a
    function; ``suppressed_callers(name)``: call sites where bash turns errexit off (if/while/until
    condition, left of `&&`/`||`, negated, or inside `$( )` without inherit_errexit), transitively;
  - ``errexit_at(art, line)`` / ``pipefail_at(art, line)``: the `set` state bash applies at a line
    (shebang flags, top-level `set -e`/`set +e` in order, and a function's own `set` lines);
  - ``assignments``: ``[Assignment]``; ``constants``: name -> value for variables whose every
    assignment gives the same known value (``${X:-v}``/``${X:=v}`` defaults, `dirname`/`basename`
    and ``${v%%:*}``-style operations evaluated on constants); ``readonly``: name -> declaration
    lines; ``reads(name)``: lines that expand the variable (also `(( ))` arithmetic);
  - ``positional_arguments(f, n)``: the word each call of ``f`` passes as ``$n`` (None: none),
    following `"$@"` forwarding; ``parameter_alias(f, var)``: N for `local var=$N`;
    ``nounset_at(art, cmd)``: `set -u` at a line;
  - ``wrappers``: functions that run their arguments (`"$@"`, `eval "$1"`, `bash -c "$1"`, via
    `local cmd=$1`); ``wrapped_commands()``: each string argument given to a wrapper parsed as a
    command at the call's line, known variables substituted.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..artifacts import Artifact
from ..artifacts.make import recipe_artifact
from ..artifacts.shell import Command, ShellScript, parse_shell_text

_VAR_REF = re.compile(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)")
_SELF_DIR = re.compile(
    r"\$\(\s*dirname\s+[\"']?\$\{?(?:0|BASH_SOURCE(?:\[0\])?)\}?[\"']?\s*\)"
    r"|\$\{BASH_SOURCE(?:\[0\])?%/\*\}|\$\{0%/\*\}"
    r"|\$\(\s*cd\s+[\"']?\$\(\s*dirname\s+[\"']?\$\{?(?:0|BASH_SOURCE(?:\[0\])?)\}?[\"']?\s*\)[\"']?\s*(?:&&|;)\s*pwd(?:\s+-P)?\s*\)"
    r"|\$\(\s*realpath\s+[\"']?\$\(\s*dirname\s+[\"']?\$\{?(?:0|BASH_SOURCE(?:\[0\])?)\}?[\"']?\s*\)[\"']?\s*\)"
)
_SUPPRESSING = ("condition", "andor", "negated")
_POS_ARG = re.compile(r"[\"']?\$\{?([1-9])\}?[\"']?")

if TYPE_CHECKING:
    from ..api import Context


@dataclass
class FunctionDef:
    name: str
    artifact: Artifact
    script: ShellScript
    start: int
    end: int
    _cmds: list[Command] | None = field(default=None, repr=False, compare=False)

    def commands(self) -> list[Command]:
        """The body's commands (indexed once per program: a 3,000-line script has hundreds)."""
        if self._cmds is None:
            self._cmds = [
                c
                for c in self.script.commands
                if c.function == self.name and self.start <= c.line <= self.end
            ]
        return self._cmds


@dataclass
class Assignment:
    name: str
    value: str  # as written (quotes kept)
    artifact: Artifact
    line: int
    function: str | None
    readonly: bool = False
    local: bool = False


@dataclass
class ShellProgram:
    entry: Artifact
    script: ShellScript
    units: list[tuple[Artifact, ShellScript]]
    interpreter: str
    interpreter_origin: tuple[Artifact, int] | None
    functions: dict[str, FunctionDef] = field(default_factory=dict)
    assignments: list[Assignment] = field(default_factory=list)
    constants: dict[str, str] = field(default_factory=dict)
    readonly: dict[str, list[Assignment]] = field(default_factory=dict)
    wrappers: dict[str, tuple[str, int]] = field(default_factory=dict)
    defaults: dict[str, str] = field(default_factory=dict)  # first top-level value, when known
    _calls: dict[str, list[tuple[Artifact, Command]]] = field(default_factory=dict)
    _set_events: list[tuple[Artifact, int, str | None, str, bool]] = field(default_factory=list)
    _shebang_flags: set[str] = field(default_factory=set)

    # ---- commands and calls -------------------------------------------------------------------
    def commands(self) -> list[tuple[Artifact, Command]]:
        # asked by many checks of every program: built once per (units, command counts), a fresh
        # list each time so no caller can change what the next one sees
        key = tuple((id(s.commands), len(s.commands)) for _, s in self.units)
        cached = self.__dict__.get("_commands_cache")
        if cached is None or cached[0] != key:
            cached = (key, [(a, c) for a, s in self.units for c in s.commands])
            self.__dict__["_commands_cache"] = cached
        return list(cached[1])

    def calls(self, name: str) -> list[tuple[Artifact, Command]]:
        return self._calls.get(name, [])

    def suppressed_callers(self, name: str) -> list[tuple[Artifact, Command, str]]:
        """Call sites (direct, or through callers) where errexit is off for the called body."""
        out: list[tuple[Artifact, Command, str]] = []
        seen: set[str] = set()
        todo = [name]
        while todo:
            fn = todo.pop()
            if fn in seen:
                continue
            seen.add(fn)
            for art, c in self.calls(fn):
                why = next((x for x in c.contexts if x in _SUPPRESSING), None)
                if why is None and "cmdsubst" in c.contexts and not self.inherit_errexit:
                    why = "cmdsubst"
                if why:
                    out.append((art, c, why))
                elif c.function:
                    todo.append(c.function)
        return out

    @property
    def inherit_errexit(self) -> bool:
        return any(
            c.name == "shopt" and "inherit_errexit" in c.words and "-s" in c.words for _, c in self.commands()
        )

    # ---- set -e / pipefail state ------------------------------------------------------------
    def _flag_at(self, flag: str, art: Artifact, line: int, function: str | None) -> bool:
        on = flag in self._shebang_flags
        for a, ln, fn, f, val in self._set_events:
            if f != flag:
                continue
            if (fn is None and a is self.entry and (a is not art or ln < line or function is not None)) or (
                fn is not None and fn == function and a is art and ln < line
            ):
                on = val
        return on

    def errexit_at(self, art: Artifact, cmd: Command) -> bool:
        return self._flag_at("e", art, cmd.line, cmd.function)

    def pipefail_at(self, art: Artifact, cmd: Command) -> bool:
        return self._flag_at("pipefail", art, cmd.line, cmd.function)

    def nounset_at(self, art: Artifact, cmd: Command) -> bool:
        return self._flag_at("u", art, cmd.line, cmd.function)

    def errexit_anywhere(self) -> bool:
        return "e" in self._shebang_flags or any(f == "e" and v for _, _, _, f, v in self._set_events)

    # ---- variables ------------------------------------------------------------------------------
    def reads(self, name: str) -> list[tuple[Artifact, int]]:
        """Lines that read the variable: `$X`, `${X...}`, `${#X}`, `${!X}`, bare names in `(( ))`
        and `[[ ]]` arithmetic, and `-v X` tests."""
        out = []
        n = re.escape(name)
        exp = re.compile(rf"\$\{{?[#!]?{n}\b|\$\{{{n}\[")
        arith = re.compile(rf"\(\([^)]*(?<![\w$]){n}\b(?!\s*=[^=])|-v\s+{n}\b|\blet\b.*\b{n}\b")
        for art, script in self.units:
            if name in art.text:  # no line can match otherwise (one C-level scan instead of a loop)
                for i, ln in enumerate(art.lines, 1):
                    if name in ln and (exp.search(ln) or arith.search(ln)):
                        out.append((art, i))
            # passed by name to a function (`local -n ref=$2` namerefs, `${!2}` indirection)
            for line, args in self._function_calls(script):
                if name in args:
                    out.append((art, line))
        return out

    def positional_arguments(
        self, name: str, n: int, _depth: int = 0
    ) -> list[tuple[Artifact, Command, str | None]]:
        """The word each call of function ``name`` passes as ``$n`` (None: not passed), as written
        at the call site (quotes removed). A call that forwards its own ``"$@"`` is followed to
        the callers of the forwarding function (a few levels), so each word comes from the call
        that wrote it."""
        out: list[tuple[Artifact, Command, str | None]] = []
        for art, c in self.calls(name):
            if c.words[:1] != [name]:
                continue  # `sudo f`, `timeout f`: not a plain call
            args = c.words[1:]
            fwd = next((i for i, w in enumerate(args) if w in ("$@", "${@}", "$*", "${*}")), None)
            if fwd is not None and fwd < n and c.function and c.function != name and _depth < 3:
                out += self.positional_arguments(c.function, n - fwd, _depth + 1)
                continue
            out.append((art, c, args[n - 1] if len(args) >= n else None))
        return out

    def parameter_alias(self, function: str, var: str) -> int | None:
        """N when ``var`` is a variable of ``function`` whose every assignment there is ``$N``
        (`local dir="$1"`), and nothing outside the function assigns it."""
        ns = set()
        for x in self.assignments:
            if x.name != var:
                continue
            if x.function != function:
                if not x.local:
                    return None
                continue
            m = _POS_ARG.fullmatch(x.value.strip())
            if not m:
                return None
            ns.add(int(m.group(1)))
        return ns.pop() if len(ns) == 1 else None

    def _function_calls(self, script: ShellScript) -> list[tuple[int, list[str]]]:
        """(line, arguments) of the script's calls of this program's functions, in command order;
        memoised (out of the dataclass fields) while the functions and commands stay the same."""
        memo: dict[tuple[int, int, int], list[tuple[int, list[str]]]] = self.__dict__.setdefault(
            "_function_calls_memo", {}
        )
        key = (id(script), len(self.functions), len(script.commands))
        got = memo.get(key)
        if got is None:
            got = memo[key] = [
                (c.line, c.words[1:]) for c in script.commands if c.words and c.words[0] in self.functions
            ]
        return got

    def value(self, text: str) -> str | None:
        """``text`` (a word as written) with known constants substituted; None when unknown."""
        return evaluate(text, self.constants)

    # ---- wrappers --------------------------------------------------------------------------
    def wrapped_commands(self) -> list[tuple[Artifact, Command]]:
        """Commands run through wrapper functions, parsed as commands at the call's line."""
        out: list[tuple[Artifact, Command]] = []
        for name, (style, n) in self.wrappers.items():
            for art, c in self.calls(name):
                if style == "argv":
                    words = c.words[1 + n :]
                    if not words:
                        continue
                    out.append((art, self._at(c, " ".join(words), words, c.redirects, ())))
                    continue
                if len(c.words) <= n:
                    continue
                text = c.words[n]
                sub = evaluate(text, self.constants, keep_unknown=True) or text
                try:
                    inner = parse_shell_text(sub, "bash")
                except Exception:  # a parser failure on one argument must not stop the model
                    continue
                for ic in inner.commands:
                    out.append((art, self._at(c, ic.text, ic.words, ic.redirects, ic.contexts)))
        return out

    def effective_commands(self) -> list[tuple[Artifact, Command]]:
        """Every command as it runs: the program's own plus those its wrapper functions run."""
        return self.commands() + self.wrapped_commands()

    @staticmethod
    def _at(
        c: Command, text: str, words: list[str], redirects: list[tuple[str, str]], ctx: tuple[str, ...]
    ) -> Command:
        return Command(
            c.line,
            c.end_line,
            text,
            words,
            c.function,
            logical=c.logical,
            redirects=list(redirects),
            conditional=c.conditional,
            guarded=c.guarded,
            contexts=ctx + c.contexts,
        )


# ---- evaluation on constants -----------------------------------------------------------------
_PARAM = re.compile(
    r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-=])([^}]*)|(%%?|##?)([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)"
)


def _strip_pattern(value: str, op: str, pat: str) -> str:
    import fnmatch

    rx = fnmatch.translate(pat)[:-2]  # drop the \Z
    if op in ("%", "%%"):
        cands = [i for i in range(len(value) + 1) if re.fullmatch(rx, value[i:], re.S)]
        if not cands:
            return value
        i = min(cands) if op == "%%" else max(cands)
        return value[:i]
    cands = [i for i in range(len(value) + 1) if re.fullmatch(rx, value[:i], re.S)]
    if not cands:
        return value
    i = max(cands) if op == "##" else min(cands)
    return value[i:]


def evaluate(text: str, consts: dict[str, str], *, keep_unknown: bool = False) -> str | None:
    """Evaluate a shell word on known constants: quotes removed, ``$X``/``${X:-v}``/``${X%%pat}``,
    ``$(dirname X)``/``$(basename X)``. None when something unknown remains (unless keep_unknown)."""
    t = text.strip()
    if len(t) >= 2 and t[0] == t[-1] == "'":
        return t[1:-1]
    if len(t) >= 2 and t[0] == t[-1] == '"':
        t = t[1:-1]
    unknown = False

    def param(m: re.Match[str]) -> str:
        nonlocal unknown
        name = m.group(1) or m.group(6)
        val = consts.get(name)
        if m.group(2):  # ${X:-v} ${X-v} ${X:=v}
            default = evaluate(m.group(3), consts, keep_unknown=keep_unknown)
            if val is None or (val == "" and m.group(2).startswith(":")):
                if default is None:
                    unknown = True
                    return m.group(0)
                return default
            return val
        if val is None:
            unknown = True
            return m.group(0)
        if m.group(4):
            return _strip_pattern(val, m.group(4), m.group(5))
        return val

    t = _PARAM.sub(param, t)

    def sub_cmd(m: re.Match[str]) -> str:
        nonlocal unknown
        fn, arg = m.group(1), m.group(2).strip().strip("\"'")
        if "$" in arg or "`" in arg:
            unknown = True
            return m.group(0)
        return posixpath.dirname(arg) or "." if fn == "dirname" else posixpath.basename(arg.rstrip("/"))

    t = re.sub(r"\$\(\s*(dirname|basename)\s+([^()]*)\)", sub_cmd, t)
    if "$(" in t or "`" in t:
        unknown = True
    if unknown and not keep_unknown:
        return None
    return t.replace('"', "").replace("'", "") if not keep_unknown else t


# ---- building --------------------------------------------------------------------------------
def _set_flags(words: list[str]) -> list[tuple[str, bool]]:
    out: list[tuple[str, bool]] = []
    i = 1
    while i < len(words):
        w = words[i]
        if w in ("-o", "+o") and i + 1 < len(words):
            out.append((words[i + 1], w == "-o"))
            i += 2
            continue
        if re.match(r"^[-+][a-zA-Z]+$", w):
            on = w[0] == "-"
            for ch in w[1:]:
                if ch == "o" and i + 1 < len(words):
                    out.append((words[i + 1], on))
                    i += 1
                else:
                    out.append((ch, on))
        elif w == "--" or not w.startswith(("-", "+")):
            break
        i += 1
    norm = {"errexit": "e", "nounset": "u"}
    return [(norm.get(f, f), on) for f, on in out]


def set_flags(words: list[str]) -> list[tuple[str, bool]]:
    """('e', True) for `set -e`, ('pipefail', False) for `set +o pipefail`, ..."""
    return _set_flags(words)


def _source_target(cmd: Command) -> str | None:
    if cmd.name not in ("source", ".") or len(cmd.argv) < 2:
        return None
    return cmd.argv[1]


def _resolve_source(
    raw: str,
    art: Artifact,
    consts: dict[str, str],
    by_path: dict[str, Artifact],
    by_name: dict[str, list[Artifact]],
) -> Artifact | None:
    here = posixpath.dirname(art.path)
    text = _SELF_DIR.sub(here or ".", raw)
    for name, val in consts.items():
        if val == "\0SELF":
            text = re.sub(rf"\$\{{?{name}\}}?", here or ".", text)
    val = evaluate(text, {k: v for k, v in consts.items() if v != "\0SELF"}, keep_unknown=True) or text
    val = val.strip("\"'")
    if "$" not in val:
        cand = posixpath.normpath(val if not posixpath.isabs(val) else val.lstrip("/"))
        for c in (cand, posixpath.normpath(posixpath.join(here, val))):
            if c in by_path:
                return by_path[c]
    base = val.rsplit("/", 1)[-1]
    if "$" in base:
        return None
    same = [a for a in by_name.get(base, []) if a.host == art.host and a is not art]
    if len(same) == 1:
        return same[0]
    near = [a for a in same if posixpath.dirname(a.path).startswith(here)]
    return near[0] if near else (same[0] if same else None)


def _self_dir_vars(script: ShellScript) -> dict[str, str]:
    out = {}
    for name, value, _ in script.assignments:
        if _SELF_DIR.search(value) and _SELF_DIR.sub("", value).strip("\"' ") == "":
            out[name] = "\0SELF"
    return out


def _collect_constants(assigns: list[Assignment]) -> dict[str, str]:
    by_name: dict[str, list[Assignment]] = {}
    for a in assigns:
        by_name.setdefault(a.name, []).append(a)
    consts: dict[str, str] = {}
    # a few passes so constants built from constants resolve
    for _ in range(3):
        changed = False
        for name, lst in by_name.items():
            if name in consts:
                continue
            vals = {evaluate(a.value, consts) for a in lst}
            if len(vals) == 1 and None not in vals:
                v = vals.pop()
                assert v is not None
                if not v.startswith("("):  # arrays: not a scalar constant
                    consts[name] = v
                    changed = True
        if not changed:
            break
    return consts


_INTERP_CALL = re.compile(r"^(?:ba|da)?sh$")


def _build(ctx_shell: list[tuple[Artifact, ShellScript]]) -> list[ShellProgram]:
    originals = [(a, s) for a, s in ctx_shell if not a.embedded]
    by_path = {posixpath.normpath(a.path): a for a, _ in originals}
    by_name: dict[str, list[Artifact]] = {}
    for a, _ in originals:
        by_name.setdefault(posixpath.basename(a.path), []).append(a)
    model = {id(a): s for a, s in ctx_shell}
    # who sources whom; who runs whom with `sh script`
    sourced_by: dict[int, list[Artifact]] = {}
    sources: dict[int, list[Artifact]] = {}
    run_by_sh: dict[int, tuple[Artifact, int]] = {}
    for a, s in originals:
        consts = _self_dir_vars(s)
        for c in s.commands:
            raw = _source_target(c)
            if raw is not None:
                lib = _resolve_source(raw, a, consts, by_path, by_name)
                if lib is not None and lib is not a:
                    sources.setdefault(id(a), []).append(lib)
                    sourced_by.setdefault(id(lib), []).append(a)
                continue
            argv = c.argv
            if argv and _INTERP_CALL.match(argv[0]) and argv[0] != "bash":
                script_arg = next((w for w in argv[1:] if not w.startswith("-")), None)
                if (
                    script_arg
                    and "$" not in script_arg
                    and script_arg.endswith((".sh", ""))
                    and "/" in script_arg
                ):
                    tgt = _resolve_source(script_arg, a, consts, by_path, by_name)
                    if tgt is not None:
                        run_by_sh.setdefault(id(tgt), (a, c.line))
    programs = []
    for a, s in ctx_shell:
        if a.embedded and not a.text.startswith("#!"):
            continue
        if not a.embedded and id(a) in sourced_by and not a.text.startswith("#!"):
            continue  # a library: judged inside its callers' programs
        units = [(a, s)]
        seen = {id(a)}
        todo = list(sources.get(id(a), []))
        while todo:
            lib = todo.pop(0)
            if id(lib) in seen or id(lib) not in model:
                continue
            seen.add(id(lib))
            units.append((lib, model[id(lib)]))
            todo += sources.get(id(lib), [])
        interp = a.meta.get("shell") or s.shell or "bash"
        origin = None
        if id(a) in run_by_sh:
            interp, origin = "sh", run_by_sh[id(a)]
        interp = "sh" if interp in ("sh", "dash", "ash") else "bash" if interp in ("bash", None) else interp
        programs.append(_program(a, s, units, interp, origin))
    return programs


def _program(
    a: Artifact,
    s: ShellScript,
    units: list[tuple[Artifact, ShellScript]],
    interp: str,
    origin: tuple[Artifact, int] | None,
) -> ShellProgram:
    prog = ShellProgram(a, s, units, interp, origin)
    first = a.lines[0] if a.lines else ""
    m = re.match(r"^#!\S+(?:\s+\S*(?:bash|sh))?\s+-(\w+)", first)
    if m:
        prog._shebang_flags = set(m.group(1))
    for art, script in units:
        for name, (start, end) in script.functions.items():
            prog.functions.setdefault(name, FunctionDef(name, art, script, start, end))
    for fdef0 in prog.functions.values():
        fdef0._cmds = []
    for _art, script in units:
        for c in script.commands:
            fdef = prog.functions.get(c.function or "")
            if (
                fdef is not None
                and fdef.script is script
                and fdef.start <= c.line <= fdef.end
                and fdef._cmds is not None
            ):
                fdef._cmds.append(c)
    ro_words = ("readonly", "declare -r", "typeset -r", "local -r", "declare -rx", "declare -xr")
    for art, script in units:
        fn_at = {c.line: c.function for c in reversed(script.commands)}
        for name, value, line in script.assignments:
            text = script.logical_line(line).lstrip()
            fn = fn_at.get(line)
            if fn is None:
                fn = next((f for f, (st, en) in script.functions.items() if st < line <= en), None)
            ro = text.startswith(ro_words) or bool(re.match(r"^(declare|typeset|local)\s+-\w*r", text))
            local = text.startswith(("local ", "declare ")) and fn is not None
            prog.assignments.append(Assignment(name, value, art, line, fn, ro, local))
        for c in script.commands:
            if c.name == "readonly" or (
                c.name in ("declare", "typeset") and any(re.match(r"^-\w*r", w) for w in c.words[1:3])
            ):
                for w in c.words[1:]:
                    if re.fullmatch(r"[A-Za-z_]\w*", w):
                        prog.assignments.append(Assignment(w, "", art, c.line, c.function, True, False))
        for c in script.commands:
            if c.words[:1] == ["set"]:
                for f, on in _set_flags(c.words):
                    prog._set_events.append((art, c.line, c.function, f, on))
            callee = c.words[0] if c.words and c.words[0] in prog.functions else c.name
            if callee in prog.functions:
                prog._calls.setdefault(callee, []).append((art, c))
    prog.constants = _collect_constants([x for x in prog.assignments if x.value or not x.readonly])
    for x in prog.assignments:
        if x.readonly:
            prog.readonly.setdefault(x.name, []).append(x)
    prog.wrappers = _wrappers(prog)
    for x in prog.assignments:
        if x.function is None and x.artifact is a and x.name not in prog.defaults:
            v = evaluate(x.value, prog.constants)
            if v is not None:
                prog.defaults[x.name] = v
    return prog


def _wrappers(prog: ShellProgram) -> dict[str, tuple[str, int]]:
    """Functions that run their arguments: name -> ('argv', shifted) for `shift N; "$@"`, or
    ('string', index) for `eval "$1"` / `bash -c "$1"` / `local cmd=$1; eval "$cmd"`."""
    out: dict[str, tuple[str, int]] = {}
    # indexes first: a 3,000-line script has hundreds of functions
    cmds_of: dict[str, list[Command]] = {}
    for _a, script in prog.units:
        for c in script.commands:
            if c.function in prog.functions:
                cmds_of.setdefault(c.function, []).append(c)
    args_of: dict[str, dict[str, int]] = {}
    for x in prog.assignments:
        if x.function and "$" in x.value:
            m = _POS_ARG.fullmatch(x.value.strip())
            if m:
                args_of.setdefault(x.function, {})[x.name] = int(m.group(1))
    # only functions that run something given to them can be wrappers
    candidates = [
        n
        for n, cs in cmds_of.items()
        if any(
            c.words
            and (c.words[0] in ("eval", "bash", "sh") or "$@" in c.words[0] or "$@" in " ".join(c.words[1:]))
            for c in cs
        )
    ]
    for _ in range(3):  # wrappers of wrappers (`run_fatal() { shift; run "$desc" "$@"; }`)
        for name in candidates:
            if name in out:
                continue
            cmds = cmds_of.get(name, [])
            shifted = 0
            arg_vars: dict[str, int] = dict(args_of.get(name, {}))
            for c in cmds:
                w = c.words
                if not w:
                    continue
                if w[0] == "shift":
                    shifted += int(w[1]) if len(w) > 1 and w[1].isdigit() else 1
                    continue
                if w[0] in ('"$@"', "$@", "${@}") or (
                    w[0] in out and any(x in ("$@", '"$@"') for x in w[1:])
                ):
                    inner = out.get(w[0], ("argv", 0))[1] if w[0] in out else 0
                    pre = len([x for x in w[1:] if x not in ("$@", '"$@"')]) if w[0] in out else 0
                    out[name] = ("argv", shifted + max(0, inner - pre))
                    break
                strs = {**arg_vars, "1": 1, "2": 2}
                if w[0] == "eval" or (w[0] in ("bash", "sh") and "-c" in w):
                    for v, idx in strs.items():
                        if any(re.search(rf"\$\{{?{re.escape(v)}\b", x) for x in w[1:]):
                            out[name] = ("string", idx + shifted if v in ("1", "2") else idx)
                            break
                    if name in out:
                        break
    return out


def shell_programs(ctx: Context) -> list[ShellProgram]:
    """Every shell program of the scan (memoised)."""
    return ctx.derived(("facts.shell_programs",), lambda: _build(ctx.parsed("shell")))  # type: ignore[no-any-return]


def recipe_scripts(ctx: Context) -> list[tuple[Artifact, ShellScript]]:
    """Every Makefile's recipes as a shell script whose lines are the Makefile's
    (``chom_validate.artifacts.make.recipe_artifact``), memoised. Not programs of their own: each
    recipe line runs in its own `sh -c`, so only line-level checks read them (destructive `rm`,
    installs over live state)."""

    def build() -> list[tuple[Artifact, ShellScript]]:
        out = []
        for art, mk in ctx.parsed("makefile"):
            child = recipe_artifact(art, mk)
            if child is not None:
                try:
                    out.append((child, parse_shell_text(child.text, "sh")))
                except Exception:  # a parser failure on one Makefile must not stop the model
                    continue
        return out

    return ctx.derived(("facts.recipe_scripts",), build)  # type: ignore[no-any-return]


def program_for(ctx: Context, artifact: Artifact) -> ShellProgram | None:
    """The program whose entry script is ``artifact`` (None for a library or a non-script heredoc)."""
    by_entry: dict[int, ShellProgram] = ctx.derived(
        ("facts.program_by_entry",), lambda: {id(p.entry): p for p in shell_programs(ctx)}
    )
    return by_entry.get(id(artifact))


def library_callers(ctx: Context, artifact: Artifact) -> list[ShellProgram]:
    """Programs that source ``artifact`` (a library is judged in its callers' context)."""
    return [
        p for p in shell_programs(ctx) if p.entry is not artifact and any(a is artifact for a, _ in p.units)
    ]


def iter_units(programs: Iterable[ShellProgram]) -> Iterable[tuple[ShellProgram, Artifact, ShellScript]]:
    for p in programs:
        for a, s in p.units:
            yield p, a, s


# -- sourced libraries by their content --------------------------------------------------------------


_DECL = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\[.*\])?\+?=|^(readonly|export|declare|local)\b|^\w+\s*\(\)")


def is_library(script: ShellScript, artifact: Artifact) -> bool:
    """A sourced library by its content (whoever sources it): no shebang and nothing at top level
    but functions and assignments (an env file sourced by a script or a unit counts too)."""
    if artifact.text.startswith("#!"):
        return False
    top = [c for c in script.commands if c.function is None]
    return (bool(top) or bool(script.functions)) and all(
        _DECL.match(c.text) or _DECL.match(c.logical) or c.words[:1] in (["source"], ["."], ["}"])
        for c in top
    )
