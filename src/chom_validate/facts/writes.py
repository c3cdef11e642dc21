"""What shell programs write: files created or changed, with resolved path, content, mode and line.

API (no I/O; memoised per scan through ``ctx.derived``):

- ``program_writes(program) -> list[FileWrite]``: every write of one ``ShellProgram`` (redirections
  `>`/`>>`, `tee [-a]`, `cp`/`install` destinations, `sed -i`, heredocs with a target, heredocs
  captured into a variable with `read -d ''` or `V=$(cat <<EOF)` and written later with
  `echo "$V" > f`/`printf`), in line order.
- ``all_writes(ctx) -> list[FileWrite]``: the writes of every program of the scan.
- ``FileWrite``: ``path`` (resolved with the program's known constants; unknown parts stay `$X`),
  ``raw`` (as written), ``op``, ``artifact``/``line`` (where the write happens), ``content`` (when
  known: heredoc body, echo/printf text), ``mode`` and ``mode_line`` (`install -m`, a later
  `chmod` of the same path, else the umask in effect: ``mode_assumed`` is True when it rests on
  the default umask 022), ``owner`` (a later `chown`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..artifacts import Artifact
from ..artifacts.shell import Command
from .shell_program import ShellProgram, shell_programs

if TYPE_CHECKING:
    from ..api import Context


@dataclass
class FileWrite:
    path: str
    raw: str
    op: str  # '>', '>>', 'tee', 'tee -a', 'cp', 'install', 'sed -i', 'heredoc', 'heredoc >>'
    artifact: Artifact
    line: int
    function: str | None
    content: str | None = None
    mode: str | None = None
    mode_line: int | None = None
    mode_assumed: bool = True
    owner: str | None = None

    @property
    def where(self) -> str:
        return f"{self.artifact.path}:{self.line + self.artifact.line_offset}"


_SKIP = ("/dev/null", "/dev/stderr", "/dev/stdout", "/dev/tty")
_WRITERS = frozenset(("umask", "read", "tee", "cp", "install", "sed"))
_UMASK = re.compile(r"0?[0-7]{3}")
_CAT_CAPTURE = re.compile(r"^\s*(?:local\s+|export\s+)?(\w+)=\$\(\s*cat\s*<<")
_ECHO_FLAGS = re.compile(r"-[neE]+")
_VAR_REF = re.compile(r"\s*\$\{?(\w+)\}?\s*")


def _content(c: Command) -> str | None:
    name = c.name
    if name == "echo":
        args = [w for w in c.argv[1:] if not _ECHO_FLAGS.fullmatch(w)]
        return " ".join(args) + "\n"
    if name == "printf":
        argv = c.argv
        return argv[1].replace("\\n", "\n") if len(argv) > 1 else None
    return None


def program_writes(prog: ShellProgram) -> list[FileWrite]:
    out: list[FileWrite] = []
    captured: dict[str, str] = {}  # variables holding a heredoc body (`read -d '' V <<EOF`, `V=$(cat <<EOF)`)
    wrapped: dict[int, list[Command]] = {}  # commands run through wrappers (`run_cmd "x" cp a b`)
    for wa, wc in prog.wrapped_commands():
        if wc.name in ("cp", "install", "tee", "sed") or wc.redirects:
            wrapped.setdefault(id(wa), []).append(wc)
    for art, script in prog.units:
        docs = {h.line: h for h in script.heredocs}
        umask = "022"
        cmds = script.commands
        if id(art) in wrapped:  # those the parser did not already see through a known wrapper name
            seen = {(c.line, c.name) for c in cmds}
            extra = [wc for wc in wrapped[id(art)] if (wc.line, wc.name) not in seen]
            cmds = sorted([*cmds, *extra], key=lambda x: x.line)
        for c in cmds:
            name = c.name  # asked once per command: checks scan every command of the tree
            h = docs.get(c.line)
            if not c.redirects and h is None and name not in _WRITERS:
                continue  # nothing below applies (no redirect, no heredoc, not a writing command)
            argv = c.argv
            if name == "umask" and len(argv) > 1 and _UMASK.fullmatch(argv[1]):
                umask = argv[1][-3:]
            if h is not None and name == "read" and "-d" in argv:
                var = argv[-1]
                captured[var] = h.body
            m = _CAT_CAPTURE.match(script.logical_line(c.line)) if h is not None else None
            if h is not None and m:
                captured[m.group(1)] = h.body
            targets: list[tuple[str, str]] = [(op, t) for op, t in c.redirects if op in (">", ">>")]
            if name == "tee":
                append = any(w in ("-a", "--append") for w in argv[1:])
                targets += [("tee -a" if append else "tee", w) for w in argv[1:] if not w.startswith("-")]
            elif name in ("cp", "install") and len(argv) >= 3:
                args = [w for w in argv[1:] if not w.startswith("-")]
                if name == "install":
                    args = [
                        w
                        for i, w in enumerate(argv[1:], 1)
                        if not w.startswith("-")
                        and argv[i - 1] not in ("-m", "-o", "-g", "--mode", "--owner", "--group")
                    ]
                if len(args) >= 2:
                    targets.append((name, args[-1]))
            elif name == "sed" and any(w.startswith("-i") or w == "--in-place" for w in argv[1:]):
                plain = [w for w in argv[1:] if not w.startswith("-")]
                has_e = any(w in ("-e", "--expression") for w in argv[1:])
                files = plain if has_e else plain[1:]  # the first word is the script
                targets += [("sed -i", w) for w in files]
            if h is not None and h.target and not any(t == h.target for _, t in targets):
                # `cat << EOF > /etc/x.conf`: the redirect sits after the heredoc operator
                targets.append((">>" if h.append else ">", h.target))
            for op, raw in targets:
                if raw in _SKIP or raw.startswith("&"):
                    continue
                content: str | None = None
                if h is not None and (h.target or op in ("tee", "tee -a", ">", ">>")):
                    content = h.body
                    op = "heredoc" if op in (">", "tee") else "heredoc >>" if op in (">>", "tee -a") else op
                elif op in (">", ">>"):
                    content = _content(c)
                    if content is not None:
                        ref = _VAR_REF.fullmatch(content)
                        if ref and ref.group(1) in captured:
                            content = captured[ref.group(1)]
                path = prog.value(raw) or raw
                mode = None
                assumed = True
                if name == "install":
                    mi = next((argv[i + 1] for i, w in enumerate(argv[:-1]) if w in ("-m", "--mode")), None)
                    if mi:
                        mode, assumed = mi, False
                if mode is None and op == "sed -i":
                    mode, assumed = None, False  # sed -i keeps the file's existing mode
                elif mode is None:
                    base = 0o666 & ~int(umask, 8)
                    mode = f"0{base:o}"
                    assumed = umask == "022"
                out.append(FileWrite(path, raw, op, art, c.line, c.function, content, mode, None, assumed))
    # later chmod/chown of the same path
    by_path: dict[str, list[FileWrite]] = {}
    for w in out:
        by_path.setdefault(w.path, []).append(w)
    for art, c in prog.commands():
        name = c.name
        if name not in ("chmod", "chown"):
            continue
        argv = c.argv
        if len(argv) < 3:
            continue
        arg = argv[1] if not argv[1].startswith("-") else (argv[2] if len(argv) > 3 else None)
        for f in argv[2:]:
            path = prog.value(f) or f
            for w in by_path.get(path, []):
                if w.artifact is art and w.line > c.line:
                    continue
                if name == "chmod" and arg:
                    w.mode, w.mode_line, w.mode_assumed = arg, c.line, False
                elif name == "chown" and arg:
                    w.owner = arg
    return out


def assembled(writes: list[FileWrite]) -> dict[str, tuple[str, list[FileWrite]]]:
    """Content of each path as the writes build it in line order (`>` restarts, `>>` appends);
    only paths whose every write has known content."""
    out: dict[str, tuple[str, list[FileWrite]]] = {}
    unknown: set[str] = set()
    for w in sorted(writes, key=lambda x: (x.artifact.path, x.line)):
        if w.content is None or w.op in ("cp", "install", "sed -i"):
            unknown.add(w.path)
            continue
        if w.op in (">", "heredoc", "tee") or w.path not in out:
            out[w.path] = (w.content, [w])
        else:
            text, ws = out[w.path]
            out[w.path] = (text + w.content, [*ws, w])
    return {k: v for k, v in out.items() if k not in unknown}


def all_writes(ctx: Context) -> list[FileWrite]:
    return ctx.derived(  # type: ignore[no-any-return]
        ("facts.writes",), lambda: [w for p in shell_programs(ctx) for w in program_writes(p)]
    )
