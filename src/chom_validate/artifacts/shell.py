"""Shell scripts: commands, heredocs (with their install target), functions, assignments, flags.

Two layers. The line-level layer (always run) splits logical lines and finds heredocs; heredoc
extraction here is what turns ``cat > /etc/systemd/system/x.service <<EOF`` into an embedded
artifact during discovery. On top of it, when ``tree-sitter-bash`` is installed, a real parse gives
exact commands (also inside ``$(...)``, pipelines, ``case`` arms and process substitutions),
function ranges, assignments and redirects. Where tree-sitter reports a syntax error, the
line-level commands of those lines are used instead and a warning is recorded; parsing never
raises. Flag handling (``case "$1" in --dry-run) DRY_RUN=true`` and ``getopts``) comes out as
``ShellScript.flags``.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field

from .base import Artifact, parser

_HEREDOC_RE = re.compile(r"<<(?P<dash>-?)\s*(?P<q>['\"]?)\\?(?P<delim>[A-Za-z_][A-Za-z0-9_]*)(?P=q)")
_REDIRECT_TARGET = re.compile(r"(?<![<>&0-9])(?P<op>>>?)\s*(?P<target>\"[^\"]+\"|'[^']+'|[^\s;|&<>()]+)")
_TEE_TARGET = re.compile(r"\btee\s+(?P<flags>(?:-[a-zA-Z]+\s+)*)(?P<target>\"[^\"]+\"|'[^']+'|[^\s;|&<>()]+)")
_FUNC_RE = re.compile(
    r"^\s*(?:function\s+)?(?P<name>[A-Za-z_][A-Za-z0-9_:.-]*)\s*\(\s*\)\s*(?:\{\s*)?$|"
    r"^\s*function\s+(?P<name2>[A-Za-z_][A-Za-z0-9_:.-]*)\s*(?:\{\s*)?$"
)
_ASSIGN_RE = re.compile(
    r"^\s*(?:(?:export|readonly|local|declare(?:\s+-[a-zA-Z]+)*)\s+)?"
    r"(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?P<arr>\[[^\]]*\])?\+?=(?P<value>.*)$"
)


@dataclass
class Heredoc:
    line: int  # line holding the `<<` operator
    body_start: int  # first body line (line + 1 for the first heredoc on that line)
    body_end: int  # last body line (the delimiter line is body_end + 1)
    delimiter: str
    quoted: bool  # quoted delimiter: body is literal, no expansion
    strip_tabs: bool
    command: str  # the command line that opens it
    target: str | None  # file it is written to (cat > X / tee X), when known
    append: bool
    body: str


# Dry-run/retry helpers that run their arguments (`run curl ...`): the real command follows them.
WRAPPERS = ("run", "run_cmd", "execute", "dry_run", "maybe_run", "retry", "with_retry", "do_cmd")


_WRAPPER_WORDS = frozenset(("sudo", "command", "exec", "nohup", "time", *WRAPPERS))
_ENV_ASSIGN_RE = re.compile(r"^\w+=")  # `VAR=value cmd`: an environment prefix, not the command


def _strip_wrappers(words: tuple[str, ...]) -> tuple[str, ...]:
    i, n = 0, len(words)
    while i < n and (words[i] in _WRAPPER_WORDS or _ENV_ASSIGN_RE.match(words[i])):
        i += 1
        while i < n and words[i].startswith("-") and n - i > 1:
            i += 1
    return words[i:]


@dataclass
class Command:
    line: int
    end_line: int
    text: str  # the simple command (line-level: the logical-line piece), comments removed
    words: list[str]  # best-effort argv (quotes removed, expansions kept verbatim)
    function: str | None = None  # enclosing function name
    logical: str = ""  # the whole logical line(s) holding it: pipes, `|| true`, `&&` guards
    redirects: list[tuple[str, str]] = field(default_factory=list)  # (op, target) e.g. ('>>', '/etc/x')
    conditional: bool = False  # runs as an if/while condition or in a `&&`/`||` list
    guarded: bool = False  # conditional, or inside an if/case branch (runs only when a test holds)
    # Where the command runs, innermost first, up to its function body (tree-sitter layer only):
    # 'condition' (if/while/until test), 'andor' (left of a `&&`/`||`), 'andor_last' (after the last
    # `&&`/`||`), 'negated', 'cmdsubst', 'pipeline' (not its last element), 'pipeline_last',
    # 'subshell', 'background', 'procsubst'. Errexit is off for the first three and under 'cmdsubst'.
    contexts: tuple[str, ...] = ()

    @property
    def errexit_suppressed(self) -> bool:
        """bash ignores errexit for this command's own failure (its context, not its callers')."""
        return any(c in ("condition", "andor", "negated") for c in self.contexts)

    @property
    def name(self) -> str:
        """Command name without a leading `sudo`/`env`/`command`/`exec` wrapper."""
        # the hottest accessor of a scan (checks ask it of every command): the memo is read inline
        words = self.words
        cached = self.__dict__.get("_argv_cache")
        if cached is None or cached[0] is not words or cached[1] != len(words):
            cached = self._memo()
        return cached[3]  # type: ignore[no-any-return]

    @property
    def argv(self) -> list[str]:
        """argv of the command that really runs: wrappers (`sudo`, `run "$@"` helpers) removed."""
        return list(self._argv())

    def _argv(self) -> tuple[str, ...]:
        words = self.words
        cached = self.__dict__.get("_argv_cache")
        if cached is None or cached[0] is not words or cached[1] != len(words):
            cached = self._memo()
        return cached[2]  # type: ignore[no-any-return]

    def _memo(self) -> tuple[list[str], int, tuple[str, ...], str]:
        # Checks ask for argv/name millions of times on large trees: memoised (out of the dataclass
        # fields, so eq/repr are unchanged), recomputed if `words` is replaced or changes length;
        # `argv` returns a fresh list, so callers cannot alter the cache.
        words = self.words
        argv = _strip_wrappers(tuple(words))
        cached = (words, len(words), argv, argv[0] if argv else "")
        self.__dict__["_argv_cache"] = cached
        return cached


@dataclass
class Flag:
    """One command-line option handled by the script (a `case` arm or a getopts letter)."""

    name: str  # '--dry-run', '-n'
    line: int
    body: str  # text of the arm (what handling the flag does)
    assigns: list[tuple[str, str]] = field(default_factory=list)  # variables it sets


@dataclass
class ShellScript:
    shell: str
    lines: list[str]
    commands: list[Command] = field(default_factory=list)
    heredocs: list[Heredoc] = field(default_factory=list)
    functions: dict[str, tuple[int, int]] = field(default_factory=dict)
    assignments: list[tuple[str, str, int]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    heredoc_lines: set[int] = field(default_factory=set)
    flags: dict[str, Flag] = field(default_factory=dict)
    parser: str = "line"  # 'tree-sitter' when the real parser produced the commands

    def logical_line(self, line: int) -> str:
        return strip_comment(self.lines[line - 1]) if 1 <= line <= len(self.lines) else ""

    def variables(self) -> set[str]:
        return {a[0] for a in self.assignments}

    def commands_named(self, *names: str) -> list[Command]:
        return [c for c in self.commands if c.words and c.words[0] in names]


def detect_shell(text: str, path: str) -> str | None:
    directive = re.search(r"^#\s*shellcheck\s+shell=(\w+)", text[:2000], re.M)
    if directive:
        return directive.group(1)
    first = text.split("\n", 1)[0]
    if first.startswith("#!"):
        m = re.search(r"\b(bash|sh|dash|ksh|zsh|ash)\b", first)
        return m.group(1) if m else None
    if path.endswith((".sh", ".bash")):
        return "bash" if path.endswith(".bash") else "sh"
    return None


def strip_comment(line: str) -> str:
    """Remove a trailing comment, respecting quotes (best effort, line-level)."""
    if "#" not in line:
        return line.rstrip()
    out = []
    q: str | None = None
    prev = " "
    i = 0
    while i < len(line):
        ch = line[i]
        if q:
            if ch == q and (q == "'" or prev != "\\"):
                q = None
        elif ch in "'\"":
            q = ch
        elif ch == "#" and (prev.isspace() or prev in ";&|("):
            break
        out.append(ch)
        prev = ch
        i += 1
    return "".join(out).rstrip()


def _target(cmd: str) -> tuple[str | None, bool]:
    before = cmd.split("<<", 1)
    m = _TEE_TARGET.search(cmd)
    if m:
        return m.group("target").strip("'\""), "-a" in (m.group("flags") or "")
    for part in (before[0], before[1] if len(before) > 1 else ""):
        for m2 in _REDIRECT_TARGET.finditer(part):
            tgt = m2.group("target").strip("'\"")
            if tgt.startswith("&") or tgt in ("/dev/null", "/dev/stderr", "/dev/stdout"):
                continue
            return tgt, m2.group("op") == ">>"
    return None, False


def find_heredocs(lines: list[str]) -> list[Heredoc]:
    docs: list[Heredoc] = []
    i = 0
    n = len(lines)
    while i < n:
        line = lines[i]
        code = strip_comment(line)
        opens = [
            m for m in _HEREDOC_RE.finditer(code) if "<<<" not in code[max(0, m.start() - 1) : m.start() + 3]
        ]
        if not opens:
            i += 1
            continue
        j = i + 1
        for m in opens:
            delim = m.group("delim")
            strip = m.group("dash") == "-"
            start = j
            while j < n:
                cand = lines[j].lstrip("\t") if strip else lines[j]
                if cand.rstrip() == delim:
                    break
                j += 1
            end = j - 1
            body_lines = lines[start:j]
            if strip:
                body_lines = [b.lstrip("\t") for b in body_lines]
            target, append = _target(code)
            docs.append(
                Heredoc(
                    line=i + 1,
                    body_start=start + 1,
                    body_end=end + 1,
                    delimiter=delim,
                    quoted=bool(m.group("q")) or "\\" + delim in code,
                    strip_tabs=strip,
                    command=code.strip(),
                    target=target,
                    append=append,
                    body="\n".join(body_lines) + ("\n" if body_lines else ""),
                )
            )
            j += 1  # skip the delimiter line
        i = j
    return docs


def _words(text: str) -> list[str]:
    try:
        lex = shlex.shlex(text, posix=True, punctuation_chars=";&|()<>")
        lex.whitespace_split = True
        lex.commenters = ""
        out = []
        for tok in lex:
            if tok and all(c in ";&|()<>" for c in tok):
                break
            out.append(tok)
        return out
    except ValueError:
        return text.split()


def _redirects(text: str) -> list[tuple[str, str]]:
    out = []
    for m in _REDIRECT_TARGET.finditer(text.split("<<", 1)[0]):
        tgt = m.group("target").strip("'\"")
        if not tgt.startswith("&"):
            out.append((m.group("op"), tgt))
    return out


_LIST_SEP = re.compile(r";|&&|\|\|")
_CONDITIONAL_LINE = re.compile(r"&&|\|\||^\s*(if|elif|while|until)\b|^!")
_GUARDED_LINE = re.compile(r"&&|\|\||^\s*(if|elif|while|until|then)\b|^!")


def _split_list(line: str) -> list[str]:
    """Split a logical line at ``;``, ``&&`` and ``||`` outside quotes, in one pass.

    A separator splits when the rest of the line is plain characters and complete '...'/"..."
    strings (what the former look-ahead ``(?=(?:[^'"]|'[^']*'|"[^"]*")*$)`` tested, once per
    candidate and to the end of the line: quadratic on a line of many commands).
    """
    n = len(line)
    balanced = bytearray(n + 1)  # balanced[p]: line[p:] is plain text and complete quoted strings
    balanced[n] = 1
    after: dict[str, int] = {}  # the next index of each quote character
    for p in range(n - 1, -1, -1):
        ch = line[p]
        if ch == "'" or ch == '"':
            j = after.get(ch)
            balanced[p] = balanced[j + 1] if j is not None else 0
            after[ch] = p
        else:
            balanced[p] = balanced[p + 1]
    out, last = [], 0
    for m in _LIST_SEP.finditer(line):
        if balanced[m.end()]:
            out.append(line[last : m.start()].strip())
            last = m.end()
    out.append(line[last:].strip())
    return out


def _parse_lines(text: str, shell: str = "bash") -> ShellScript:
    lines = text.splitlines()
    script = ShellScript(shell=shell, lines=lines)
    script.heredocs = find_heredocs(lines)
    for h in script.heredocs:
        script.heredoc_lines.update(range(h.body_start, h.body_end + 2))
    func_stack: list[tuple[str, int, int]] = []  # name, start line, brace depth at start
    depth = 0
    i = 0
    while i < len(lines):
        ln = i + 1
        if ln in script.heredoc_lines:
            i += 1
            continue
        start = ln
        part = strip_comment(lines[i])
        parts = [part]
        while part.endswith("\\") and i + 1 < len(lines) and (i + 2) not in script.heredoc_lines:
            i += 1
            parts[-1] = part[:-1]
            part = strip_comment(lines[i]).lstrip()
            parts.append(part)
        logical = " ".join(parts)  # joined once: appending line by line was quadratic
        end = i + 1
        i += 1
        stripped = logical.strip()
        if not stripped:
            continue
        fm = _FUNC_RE.match(stripped)
        if fm:
            name = fm.group("name") or fm.group("name2")
            func_stack.append((name, start, depth))
        opens = stripped.count("{") - stripped.count("${")
        closes = stripped.count("}") - stripped.count("${")
        depth += opens - max(closes, 0)
        current = func_stack[-1][0] if func_stack else None
        conditional = bool(_CONDITIONAL_LINE.search(stripped))
        guarded = bool(_GUARDED_LINE.search(stripped))
        for piece in _split_list(stripped):
            piece = piece.strip().lstrip("{(").strip()
            if not piece or piece in ("}", ")", "fi", "done", "esac", "then", "do", "else", ";;"):
                continue
            for kw in ("if ", "elif ", "while ", "until ", "then ", "do ", "else ", "! "):
                if piece.startswith(kw):
                    piece = piece[len(kw) :].strip()
            am = _ASSIGN_RE.match(piece)
            if am and " " not in piece.split("=", 1)[0].strip().split()[-1]:
                script.assignments.append((am.group("name"), am.group("value").strip(), start))
            script.commands.append(
                Command(
                    start,
                    end,
                    piece,
                    _words(piece),
                    current,
                    logical=stripped,
                    redirects=_redirects(piece),
                    conditional=conditional,
                    guarded=guarded,
                )
            )
        while func_stack and depth <= func_stack[-1][2] and "}" in stripped:
            name, fstart, _ = func_stack.pop()
            script.functions[name] = (fstart, end)
    for name, fstart, _ in func_stack:
        script.functions.setdefault(name, (fstart, len(lines)))
    return script


_ARM_PAT = r"[\"']?-[-\w]*[\"']?"
_CASE_ARM = re.compile(rf"^\s*\(?\s*(?P<pats>{_ARM_PAT}(?:\s*\|\s*{_ARM_PAT})*)\s*\)\s*(?P<body>.*)$")
# arms of a one-line `case $1 in --dry-run) DRY=1;; -f|--force) F=1;; esac`
_INLINE_ARM = re.compile(
    rf"(?:\bin\s+|;;\s*)\(?\s*(?P<pats>{_ARM_PAT}(?:\s*\|\s*{_ARM_PAT})*)\s*\)\s*(?P<body>(?:[^;]|;(?!;))*)(?=;;)"
)
_FLAG_ASSIGN = re.compile(r"\b([A-Za-z_]\w*)=(\S*)")


def _line_flags(script: ShellScript) -> None:
    """`--dry-run) DRY_RUN=true ;;` arms and getopts letters, line-level (also the fallback)."""
    lines = script.lines
    for i, raw in enumerate(lines):
        if i + 1 in script.heredoc_lines:
            continue
        code = strip_comment(raw)
        if re.search(r"\bcase\b.*\bin\b", code) and ";;" in code:
            for im in _INLINE_ARM.finditer(code):
                for pat in re.split(r"\s*\|\s*", im.group("pats")):
                    pat = pat.strip("\"'")
                    if pat in ("-", "--") or pat in script.flags:
                        continue
                    body = im.group("body").strip()
                    assigns = [(a, v.strip("'\";")) for a, v in _FLAG_ASSIGN.findall(body)]
                    script.flags[pat] = Flag(pat, i + 1, body, assigns)
            continue
        m = _CASE_ARM.match(code)
        if not m:
            continue
        body_parts = [m.group("body")]
        j = i + 1
        while ";;" not in body_parts[-1] and j < len(lines) and j < i + 15:
            body_parts.append(strip_comment(lines[j]).strip())
            j += 1
        body = " ; ".join(p for p in body_parts if p).split(";;")[0].strip()
        for pat in re.split(r"\s*\|\s*", m.group("pats")):
            pat = pat.strip("\"'")
            if pat in ("-", "--") or pat in script.flags:
                continue
            assigns = [(a, v.strip("'\";")) for a, v in _FLAG_ASSIGN.findall(body)]
            script.flags[pat] = Flag(pat, i + 1, body, assigns)
    for c in script.commands:
        if c.words[:1] == ["getopts"] and len(c.words) >= 3:
            letters = re.sub(r"[^A-Za-z]", "", c.words[1])
            for ch in letters:
                script.flags.setdefault("-" + ch, Flag("-" + ch, c.line, "", []))
    # getopts arms are bare letters: `n) DRY_RUN=1 ;;`
    if any(c.words[:1] == ["getopts"] for c in script.commands):
        for i, raw in enumerate(lines):
            m2 = re.match(r"^\s*([A-Za-z])\s*\)\s*(.*)$", strip_comment(raw))
            if m2 and "-" + m2.group(1) in script.flags:
                f = script.flags["-" + m2.group(1)]
                if not f.body:
                    f.line, f.body = i + 1, m2.group(2)
                    f.assigns = [(a, v.strip("'\";")) for a, v in _FLAG_ASSIGN.findall(m2.group(2))]


def parse_shell_text(text: str, shell: str = "bash") -> ShellScript:
    """Parse a script: tree-sitter when available, line-level otherwise or where it fails."""
    script: ShellScript | None = None
    if shell in ("bash", "sh", "dash", "ash", "ksh", None):
        try:
            from . import _shell_ts

            script = _shell_ts.parse(text, shell or "bash", _parse_lines)
        except ImportError:
            warning = "tree-sitter-bash not installed: line-level shell analysis only"
        except Exception as exc:  # a parser bug must never stop the run
            warning = f"tree-sitter parse failed ({type(exc).__name__}: {exc}); line-level analysis"
    else:
        warning = f"{shell} is not a Bourne shell dialect: line-level analysis only"
    if script is None:
        script = _parse_lines(text, shell)
        script.warnings.append(warning)
    _line_flags(script)
    return script


@parser("shell")
def parse_shell(artifact: Artifact) -> ShellScript:
    return parse_shell_text(artifact.text, artifact.meta.get("shell", "bash"))


_VAR_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?[-=][^}]*)?\}|\$([A-Za-z_][A-Za-z0-9_]*)")


def expand_vars(text: str, env: dict[str, str]) -> str:
    """`$X`, `${X}` and `${X:-default}` replaced by X's value in ``env``; unknown names are kept."""
    return _VAR_REF.sub(lambda m: env.get(m.group(1) or m.group(2), m.group(0)), text)
