"""Shell scripts: logical commands, heredocs (with their install target), functions, assignments.

This is the line-level layer every shell check can rely on; heredoc extraction here is what turns
``cat > /etc/systemd/system/x.service <<EOF`` into an embedded artifact during discovery.
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
    r"^\s*(?:function\s+)?(?P<name>[A-Za-z_][A-Za-z0-9_:.-]*)\s*\(\s*\)\s*\{?\s*$|"
    r"^\s*function\s+(?P<name2>[A-Za-z_][A-Za-z0-9_:.-]*)\s*\{?\s*$"
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


@dataclass
class Command:
    line: int
    end_line: int
    text: str  # the logical line (continuations joined), comments removed
    words: list[str]  # best-effort argv of the first simple command
    function: str | None = None  # enclosing function name


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

    def commands_named(self, *names: str) -> list[Command]:
        return [c for c in self.commands if c.words and c.words[0] in names]


def detect_shell(text: str, path: str) -> str | None:
    first = text.split("\n", 1)[0]
    if first.startswith("#!"):
        m = re.search(r"\b(bash|sh|dash|ksh|zsh|ash)\b", first)
        return m.group(1) if m else None
    if path.endswith((".sh", ".bash")):
        return "bash" if path.endswith(".bash") else "sh"
    return None


def strip_comment(line: str) -> str:
    """Remove a trailing comment, respecting quotes (best effort, line-level)."""
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


def parse_shell_text(text: str, shell: str = "bash") -> ShellScript:
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
        logical = strip_comment(lines[i])
        while logical.endswith("\\") and i + 1 < len(lines) and (i + 2) not in script.heredoc_lines:
            i += 1
            logical = logical[:-1] + " " + strip_comment(lines[i]).lstrip()
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
        for piece in re.split(r"\s*(?:;|&&|\|\|)\s*(?=(?:[^'\"]|'[^']*'|\"[^\"]*\")*$)", stripped):
            piece = piece.strip().lstrip("{(").strip()
            if not piece or piece in ("}", ")", "fi", "done", "esac", "then", "do", "else", ";;"):
                continue
            for kw in ("if ", "elif ", "while ", "until ", "then ", "do ", "else ", "! "):
                if piece.startswith(kw):
                    piece = piece[len(kw) :].strip()
            am = _ASSIGN_RE.match(piece)
            if am and " " not in piece.split("=", 1)[0].strip().split()[-1]:
                script.assignments.append((am.group("name"), am.group("value").strip(), start))
            script.commands.append(Command(start, end, piece, _words(piece), current))
        while func_stack and depth <= func_stack[-1][2] and "}" in stripped:
            name, fstart, _ = func_stack.pop()
            script.functions[name] = (fstart, end)
    for name, fstart, _ in func_stack:
        script.functions.setdefault(name, (fstart, len(lines)))
    return script


@parser("shell")
def parse_shell(artifact: Artifact) -> ShellScript:
    return parse_shell_text(artifact.text, artifact.meta.get("shell", "bash"))
