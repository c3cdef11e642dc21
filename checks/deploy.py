"""Deploy, setup and backup scripts: strict mode, traps and cleanup."""

from __future__ import annotations

import re
from collections.abc import Iterator

from chom_validate.artifacts import Artifact
from chom_validate.artifacts.shell import ShellScript
from chom_validate.engine import ScanContext
from chom_validate.findings import Result
from chom_validate.registry import check

_OPS_NAME = re.compile(
    r"(deploy|setup|install|provision|backup|restore|migrat|rollback|upgrade|bootstrap)", re.I
)


def is_library(script: ShellScript, artifact: Artifact) -> bool:
    """A sourced library: no shebang and nothing at top level but functions and assignments."""
    if artifact.text.startswith("#!"):
        return False
    top = [c for c in script.commands if c.function is None]
    return all(
        re.match(
            r"^[A-Za-z_][A-Za-z0-9_]*(\[.*\])?\+?=|^(readonly|export|declare|local)\b|^\w+\s*\(\)", c.text
        )
        or c.words[:1] in (["source"], ["."], ["}"])
        for c in top
    )


def _set_flags(words: list[str]) -> list[tuple[str, bool]]:
    """('e', True) for set -e, ('pipefail', False) for set +o pipefail, ..."""
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
        elif w == "--":
            break
        i += 1
    return [("e" if f == "errexit" else "u" if f == "nounset" else f, on) for f, on in out]


@check("DEP001", "strict-mode", category="deploy", severity="high", pillar="reliability")
def strict_mode(ctx: ScanContext) -> Iterator[Result]:
    """Scripts run in strict mode (`set -euo pipefail`) and never switch it off for good.

    What it does
        For every shell script, finds `set -e`, `set -u` and `set -o pipefail` (or the shebang
        `#!/bin/bash -e` form) before the first real command, and reports a later `set +e`,
        `set +u` or `set +o pipefail` that is never switched back on. POSIX `sh` scripts need
        `-e` and `-u` (pipefail is not POSIX). Sourced libraries inherit the caller's mode.
    Why it matters
        Without `-e` a failed step (a download, a migration) is ignored and the script carries on
        deploying a half-configured host; without `pipefail` `curl ... | tar x` hides a failed
        download; without `-u` an unset variable expands to empty, turning `rm -rf "$DIR/"` into
        `rm -rf /`.
    Example
        #!/usr/bin/env bash
        set -eo pipefail        # -u missing: fails
    Fix
        Put `set -euo pipefail` right after the shebang. Where a command may fail on purpose,
        use `cmd || true` or `if cmd; then` rather than `set +e`.
    References
        https://www.gnu.org/software/bash/manual/html_node/The-Set-Builtin.html
        https://www.shellcheck.net/wiki/SC2039
    """
    scripts = ctx.parsed("shell")
    if not scripts:
        yield Result.not_applicable("no shell scripts found")
        return
    for art, script in scripts:
        if is_library(script, art):
            yield Result.not_applicable(
                f"{art.path} is a sourced library; it inherits the caller's mode",
                art.evidence(1),
                subject=art.path,
            )
            continue
        posix = art.meta.get("shell") in ("sh", "dash", "ash")
        need = {"e", "u"} if posix else {"e", "u", "pipefail"}
        state: dict[str, bool] = {}
        where: dict[str, int] = {}
        shebang = art.lines[0] if art.lines else ""
        m = re.match(r"^#!\S+(?:\s+\S*(?:bash|sh))?\s+-(\w+)", shebang)
        if m:
            for ch in m.group(1):
                state[ch] = True
                where[ch] = 1
        first_cmd_line: int | None = None
        undone: list[tuple[str, int]] = []
        for cmd in script.commands:
            if cmd.words[:1] == ["set"]:
                for flag, on in _set_flags(cmd.words):
                    if on:
                        state[flag] = True
                        where.setdefault(flag, cmd.line)
                        undone = [(f, ln) for f, ln in undone if f != flag]
                    elif state.get(flag):
                        undone.append((flag, cmd.line))
            elif (
                first_cmd_line is None
                and cmd.function is None
                and not re.match(r"^(readonly |export |declare |local )?[A-Za-z_]\w*=", cmd.text)
            ):
                first_cmd_line = cmd.line
        missing = sorted(f for f in need if not state.get(f))
        late = sorted(f for f in need if state.get(f) and first_cmd_line and where.get(f, 0) > first_cmd_line)
        flags_txt = "set -eu" if posix else "set -euo pipefail"
        if missing:
            ev = (
                art.evidence(min(where.values()))
                if where
                else art.evidence(1, note="no strict-mode `set` found")
            )
            yield Result.fail(
                f"{art.path}: strict mode incomplete, missing {', '.join('-' + f if len(f) == 1 else f for f in missing)} "
                f"(want `{flags_txt}`)",
                ev,
                subject=art.path,
            )
        elif undone:
            flag, line = undone[0]
            yield Result.fail(
                f"{art.path}: strict mode switched off at line {line + art.line_offset} "
                f"(`set +{'o ' if len(flag) > 1 else ''}{flag}`) and never restored",
                art.evidence(line),
                art.evidence(where[flag], note="enabled here"),
                subject=art.path,
            )
        elif late:
            yield Result.fail(
                f"{art.path}: strict mode set only after commands already ran (line "
                f"{where[late[0]] + art.line_offset})",
                art.evidence(where[late[0]]),
                art.evidence(first_cmd_line, note="first command runs without strict mode"),
                subject=art.path,
            )
        else:
            yield Result.passed(
                f"{art.path}: {flags_txt} in effect", art.evidence(min(where.values())), subject=art.path
            )


@check("DEP002", "error-trap-cleanup", category="deploy", severity="medium", pillar="reliability")
def error_trap(ctx: ScanContext) -> Iterator[Result]:
    """Operational scripts install an ERR or EXIT trap whose handler exists.

    What it does
        For deploy, setup, install, backup, restore and migration scripts (by name) and any script
        that creates temporary files, looks for `trap HANDLER ERR|EXIT|INT|TERM` and checks that a
        handler named as a function is defined in the script.
    Why it matters
        When a deploy dies half-way, the trap is what releases the lock, removes temp files, logs
        the failing line and (ideally) rolls back. Without it the next run starts from an unknown
        state and the operator learns nothing about where it failed.
    Example
        trap cleanup EXIT          # but no cleanup() function: fails
    Fix
        Define `cleanup() { rm -f "$TMP"; release_lock; }` and `trap cleanup EXIT`, plus
        `trap 'on_error $LINENO' ERR` to log the failing line.
    References
        https://www.gnu.org/software/bash/manual/html_node/Bourne-Shell-Builtins.html#index-trap
    """
    seen = False
    for art, script in ctx.parsed("shell"):
        creates_tmp = any("mktemp" in c.text for c in script.commands)
        if not (_OPS_NAME.search(art.path) or creates_tmp) or is_library(script, art):
            continue
        seen = True
        traps = [c for c in script.commands if c.words[:1] == ["trap"] and len(c.words) >= 3]
        useful = [c for c in traps if {"ERR", "EXIT", "INT", "TERM", "0"} & {w.upper() for w in c.words[2:]}]
        if not useful:
            yield Result.fail(
                f"{art.path}: no ERR/EXIT trap; a failure leaves locks, temp files and a "
                "half-applied change behind",
                art.evidence(1, note="no `trap ... ERR|EXIT`"),
                subject=art.path,
            )
            continue
        bad = []
        for c in useful:
            handler = c.words[1]
            name = handler.split()[0] if handler else ""
            if (
                re.match(r"^[A-Za-z_][\w:.-]*$", name)
                and name not in script.functions
                and name not in ("exit", "true", ":", "echo", "rm", "kill", "wait", "return")
            ):
                bad.append((c, name))
        if bad:
            c, name = bad[0]
            yield Result.fail(
                f"{art.path}: trap handler `{name}` is not defined in the script",
                art.evidence(c.line),
                subject=art.path,
            )
        else:
            yield Result.passed(
                f"{art.path}: trap on {' '.join(useful[0].words[2:])}",
                art.evidence(useful[0].line),
                subject=art.path,
            )
    if not seen:
        yield Result.not_applicable("no deploy/setup/backup scripts found")
