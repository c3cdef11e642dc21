"""Shell semantics: defects that show only when you know what bash (or dash) really does.

Built on the shell-program model (``chom_validate.facts.shell_program``): sourced libraries, the
set -e / pipefail state at each line, call contexts, readonly declarations and known constants.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from chom_validate.api import Context as ScanContext
from chom_validate.artifacts import Artifact
from chom_validate.artifacts.shell import Command
from chom_validate.facts.inputs import ShellcheckFacts
from chom_validate.facts.shell_program import ShellProgram
from chom_validate.facts.writes import assembled, program_writes
from chom_validate.findings import Result
from chom_validate.registry import check

from ._shell_semantics_util import (
    ALWAYS_OK_SINK,
    ERRORISH,
    MUTATING,
    SUCCESSISH,
    _ok,
    _programs,
    indent,
    is_printer,
    printed_text,
    shellcheck_agrees,
)


def _name(c: Command) -> str:
    return c.name.rsplit("/", 1)[-1]


def _status_read_after(prog: ShellProgram, art: Artifact, pipe: Command) -> Command | None:
    """The command reading `$?` that receives ``pipe``'s status (same function, nothing in between
    on the pipeline's own path)."""
    script = next(s for a, s in prog.units if a is art)
    base = indent(art, pipe.line)
    left_branch = False
    for c in script.commands:
        if c.line <= pipe.end_line or c.function != pipe.function:
            continue
        # lines between: an `else`/`elif` at a shallower indent means we left the pipeline's branch
        for ln in range(pipe.end_line + 1, c.line):
            t = art.line_text(ln).strip()
            if re.match(r"^(else|elif)\b", t) and indent(art, ln) < base:
                left_branch = True
            if t.startswith("fi") and indent(art, ln) < base:
                base = indent(art, ln)
                left_branch = False
        if left_branch:
            continue
        if "$?" in c.text:
            return c
        return None
    return None


@check("DEP030", "pipeline-status-masked", category="deploy", severity="high", pillar="reliability")
@_ok("no pipeline hides a failing command's status")
def pipeline_status_masked(ctx: ScanContext, facts: ShellcheckFacts) -> Iterator[Result]:
    """A command's failure is not hidden by the filter it is piped into (`cmd | tee log`).

    What it does
        Finds pipelines whose last element always succeeds (`tee`, `cat`, `logger`, `sed`...) and
        whose status the script then uses (`$?` read right after it, an `if`/`&&`/`||` test, or
        errexit) while `pipefail` is off at that line. The finding names the command whose status is
        lost and where the status is read; ShellCheck's SC2312 (masked return value) on the
        pipeline is added as evidence where it agrees.
    Why it matters
        Without `pipefail` a pipeline's status is its last command's: `"$@" 2>&1 | tee -a "$LOG"`
        followed by `ret=$?` reports tee's 0 for every failed step, so a wrapper that is meant to
        abort on failure never does and the installer carries on with half its steps failed.
    Example
        run() { "$@" 2>&1 | tee -a "$LOG"; local ret=$?; return $ret; }   # ret is tee's status
    Fix
        `set -o pipefail` (bash), or read `${PIPESTATUS[0]}` right after the pipeline.
    References
        https://www.gnu.org/software/bash/manual/html_node/Pipelines.html
        https://mywiki.wooledge.org/BashFAQ/105
    Severity
        High when the status is read explicitly (the script believes a failure was a success);
        medium when only errexit would have caught it.
    """
    seen = False
    for prog in _programs(ctx):
        if prog.interpreter != "bash":
            continue  # POSIX sh before 2024 has no pipefail: nothing to fix there
        for art, script in prog.units:
            seen = True
            bad: list[tuple[Command, Command, str, str]] = []
            by_line: dict[int, list[Command]] = {}
            for c in script.commands:
                by_line.setdefault(c.line, []).append(c)
            for c in script.commands:
                if "pipeline_last" not in c.contexts or c.name not in ALWAYS_OK_SINK:
                    continue
                if "cmdsubst" in c.contexts or "procsubst" in c.contexts:
                    continue
                if prog.pipefail_at(art, c) or "PIPESTATUS" in " ".join(
                    x.text for x in script.commands if c.line <= x.line <= c.line + 2
                ):
                    continue
                lhs = [x for x in by_line.get(c.line, []) if "pipeline" in x.contexts and x.line == c.line]
                if not lhs:
                    continue
                src = lhs[0]
                runs_step = (
                    bool(MUTATING.match(src.name))
                    or src.name in prog.functions
                    or src.words[:1] in (['"$@"'], ["$@"])
                )
                if src.name in (*ALWAYS_OK_SINK, "echo", "printf") or not runs_step:
                    continue
                reader = _status_read_after(prog, art, c)
                if reader is not None:
                    bad.append(
                        (
                            src,
                            reader,
                            f"`{src.text[:50]}` status read at line "
                            f"{reader.line + art.line_offset} is `{c.name}`'s, not the command's",
                            "high",
                        )
                    )
                elif any(x in c.contexts for x in ("condition", "andor")):
                    bad.append(
                        (
                            src,
                            c,
                            f"`{src.text[:50]} | {c.name}` is tested, but its status is `{c.name}`'s",
                            "high",
                        )
                    )
                elif (
                    prog.errexit_at(art, c)
                    and c.name == "tee"
                    and (MUTATING.match(src.name) or src.name in prog.functions)
                    and src.name not in ("docker", "git", "sed")
                ):
                    bad.append(
                        (
                            src,
                            c,
                            f"set -e cannot stop on a failed `{src.text[:50]}`: the pipeline "
                            f"ends in `{c.name}`",
                            "medium",
                        )
                    )
            for src, reader, why, sev in bad[:5]:
                yield Result.fail(
                    f"{art.path}: pipeline status masked without pipefail: {why}",
                    art.evidence(src.line, note="pipeline without pipefail"),
                    art.evidence(reader.line, note="status used here"),
                    *shellcheck_agrees(facts, art, src.line, 2312),
                    subject=f"{art.path}:{src.line}",
                    severity=sev,
                )
    if not seen:
        yield Result.not_applicable("no bash scripts found")


@check("DEP031", "readonly-reassigned", category="deploy", severity="medium", pillar="reliability")
@_ok("readonly variables are never reassigned")
def readonly_reassigned(ctx: ScanContext) -> Iterator[Result]:
    """A variable declared `readonly` is never assigned again (option parsing included).

    What it does
        Collects `readonly X=...` / `declare -r X` across a script and the libraries it sources, then
        reports every later assignment to X (plain, `local`, `read X`) with the declaration as
        second evidence. When the assignment sits in an option's `case` arm, the option is named.
    Why it matters
        bash refuses the assignment ("X: readonly variable") and a non-interactive shell exits with
        status 1 there: every invocation that reaches the line (e.g. a documented `--no-color`
        option) aborts before doing anything.
    Example
        readonly COLOR_RED='\\033[0;31m'
        case $1 in --no-color) COLOR_RED='' ;; esac      # aborts the script
    Fix
        Decide the value once (`if no_color; then readonly RED=''; else readonly RED=...; fi`) or do
        not declare it readonly.
    References
        https://www.gnu.org/software/bash/manual/html_node/Bourne-Shell-Builtins.html#index-readonly
    Severity
        Medium: the script stops at once (nothing half-done), but the path is unusable.
    """
    seen = False
    for prog in _programs(ctx):
        if not prog.readonly:
            continue
        seen = True
        decl_lines = {(id(d.artifact), d.line) for ds in prog.readonly.values() for d in ds}
        reported: set[str] = set()
        for x in prog.assignments:
            ds = prog.readonly.get(x.name)
            if not ds or (id(x.artifact), x.line) in decl_lines or x.name in reported:
                continue
            first = min(ds, key=lambda d: d.line)
            if x.artifact is first.artifact and x.line < first.line:
                continue
            flags = [f for a, sc in prog.units if a is x.artifact for f in sc.flags.values()]
            before = [f for f in flags if f.line <= x.line <= f.line + 15]
            flag = max(before, key=lambda f: f.line) if before else None
            reported.add(x.name)
            same = [
                y
                for y in prog.assignments
                if y.artifact is x.artifact
                and y.line != x.line
                and abs(y.line - x.line) <= 12
                and y.name in prog.readonly
                and (id(y.artifact), y.line) not in decl_lines
            ]
            also = f" (and {len(same)} more readonly variables next to it)" if same else ""
            reported.update(y.name for y in same)
            where = f" in the `{flag.name}` option" if flag is not None else ""
            yield Result.fail(
                f"{x.artifact.path}: readonly `{x.name}` assigned again{where}{also}: bash stops with "
                f"'{x.name}: readonly variable' (status 1)",
                x.artifact.evidence(x.line, note="assignment to a readonly variable"),
                first.artifact.evidence(first.line, note="declared readonly here"),
                subject=f"{x.artifact.path} {x.name}",
            )
    if not seen:
        yield Result.not_applicable("no readonly variables in shell scripts")


_BASH_ONLY: list[tuple[re.Pattern[str], str, str]] = [
    (
        re.compile(r"(?<![\w\[])\[\[\s"),
        "`[[ ]]`",
        "dash has no `[[`: 'not found' (status 127); in an `if` the else branch runs",
    ),
    (
        re.compile(r"&>\s*\S"),
        "`&>`",
        "dash reads `cmd &>file` as `cmd &` then `>file`: cmd runs in the background with its output not redirected",
    ),
    (re.compile(r"(?<![<])<<<(?!<)"), "here-string `<<<`", "dash: syntax error"),
    (re.compile(r"^\s*function\s+\w+"), "`function` keyword", "dash: syntax error"),
    (re.compile(r"\$'[^']*'"), "`$'...'`", "dash keeps the `$` and the backslashes literally"),
    (
        re.compile(r"(?<![=!<>])\[\s[^\]]*\s==\s"),
        "`==` in `[ ]`",
        "dash `[`: 'unexpected operator' (status 2), the test is false",
    ),
    (re.compile(r"^\s*[A-Za-z_]\w*=\((?!\()"), "array assignment", "dash: syntax error"),
    (re.compile(r"\$\{[A-Za-z_]\w*:(?:[0-9]|\s+-[0-9])"), "`${v:off:len}`", "dash: 'Bad substitution'"),
    (re.compile(r"^\s*source\s"), "`source`", "dash: 'source: not found' (use `.`)"),
]


def _bash_only(line: str) -> tuple[str, str] | None:
    code = line.split(" #", 1)[0]
    for rx, what, effect in _BASH_ONLY:
        if rx.search(code):
            return what, effect
    return None


@check("DEP032", "posix-sh-bashisms", category="deploy", severity="medium", pillar="reliability")
@_ok("no bash-only syntax in scripts or cron lines run by /bin/sh")
def posix_sh_bashisms(ctx: ScanContext) -> Iterator[Result]:
    """Scripts and cron lines run by `sh` use no bash-only syntax.

    What it does
        For scripts run by `/bin/sh` (a `#!/bin/sh` shebang, or a `sh script` call elsewhere in the
        tree, which wins over the shebang) and for cron lines a script writes (cron runs them with
        /bin/sh), reports bash-only syntax (`[[ ]]`, `&>`, `<<<`, `function`, arrays, `$'..'`,
        `==` in `[ ]`, `${v:0:1}`, `source`) and says what dash does with it.
    Why it matters
        /bin/sh is dash on Debian and Ubuntu. dash does not fail loudly on most of these: `[[` is
        "not found" inside an `if`, so the else branch runs and the wrong toolchain is installed;
        `cmd &>/dev/null` in a crontab backgrounds cmd and mails its output.
    Example
        { crontab -l; echo "0 3 * * * /usr/local/sbin/upgrade &>/dev/null"; } | crontab -
    Fix
        POSIX forms: `[ "$a" = b ]`, `>/dev/null 2>&1`, `.` instead of `source`; or run with bash.
    References
        https://wiki.ubuntu.com/DashAsBinSh
        https://www.shellcheck.net/wiki/SC3010
    Severity
        Medium: the script keeps running with the wrong result, silently.
    """
    seen = False
    for prog in _programs(ctx):
        art, script = prog.entry, prog.script
        if prog.interpreter == "sh":
            seen = True
            hits: list[tuple[int, str, str]] = []
            for c in script.commands:
                if c.line in script.heredoc_lines:
                    continue
                text = art.line_text(c.line)
                if "bash" in text and re.search(r"\bbash\b.*-c", text):
                    continue
                found = _bash_only(text)
                if found and c.line not in {h[0] for h in hits}:
                    hits.append((c.line, *found))
            origin = prog.interpreter_origin
            for line, what, effect in hits[:5]:
                ev = [art.evidence(line, note=f"{what} under /bin/sh")]
                if origin is not None:
                    ev.append(origin[0].evidence(origin[1], note="runs it with sh"))
                yield Result.fail(
                    f"{art.path}: {what} in a script run by /bin/sh: {effect}",
                    *ev,
                    subject=f"{art.path}:{line}",
                )
        # cron lines the script writes (crontab pipes, /etc/cron.d heredocs and echoes)
        for a, s in prog.units:
            for c in s.commands:
                if c.name not in ("echo", "printf") or (
                    "crontab" not in c.logical and "/etc/cron" not in c.logical
                ):
                    continue
                line_text = " ".join(c.argv[1:])
                if not re.match(r"^\s*(@\w+|[\d*$(][^ ]*\s+\S+\s+\S+\s+\S+\s+\S+)\s+\S", line_text):
                    continue
                found = _bash_only(line_text)
                if found:
                    seen = True
                    yield Result.fail(
                        f"{a.path}: cron line written by the script uses {found[0]}; cron runs it with "
                        f"/bin/sh: {found[1]}",
                        a.evidence(c.line, note="cron entry written here"),
                        subject=f"{a.path}:{c.line}",
                        severity="low",
                    )
    if not seen:
        yield Result.not_applicable("no scripts run by /bin/sh")


@check("DEP033", "error-exit-status", category="deploy", severity="low", pillar="reliability")
@_ok("error paths exit non-zero")
def error_exit_status(ctx: ScanContext) -> Iterator[Result]:
    """Error and refusal paths exit with a non-zero status.

    What it does
        Reports a bare `exit` (or `exit 0`) that directly follows an error message (`echo "...not
        supported"`, `echo ... >&2`) in a branch: the script's status is then the echo's, 0.
    Why it matters
        Automation (cloud-init, Ansible `script`, CI) records a refused or aborted installation as
        a success, and the next step runs against a host that was never configured.
    Example
        if [ "$EUID" -ne 0 ]; then echo "This installer needs to be run with superuser privileges."; exit; fi
    Fix
        `exit 1` (or a `die` helper that exits non-zero).
    References
        https://www.gnu.org/software/bash/manual/html_node/Exit-Status.html
    Severity
        Low: nothing breaks by itself, but callers cannot see the failure.
    """
    seen = False
    for prog in _programs(ctx):
        for art, script in prog.units:
            if art.embedded:
                continue
            seen = True
            cmds = script.commands
            hits = []
            for i, c in enumerate(cmds):
                if c.name != "exit" or len(c.argv) > 1:
                    continue  # `exit 0` is a deliberate choice; a bare exit inherits the echo's 0
                if not c.guarded or i == 0:
                    continue
                prev = cmds[i - 1]
                if not is_printer(prev) or prev.line < c.line - 4 or prev.function != c.function:
                    continue
                msg = printed_text(prev)
                to_stderr = (
                    any(t in ("&2", "/dev/stderr") for _, t in prev.redirects) or ">&2" in prev.logical
                )
                if not (ERRORISH.search(msg) or to_stderr) or SUCCESSISH.search(msg) or "PASS" in msg:
                    continue
                hits.append((c, prev))
            if hits:
                c, prev = hits[0]
                more = f" (+{len(hits) - 1} more)" if len(hits) > 1 else ""
                yield Result.fail(
                    f"{art.path}: error path ends in a bare `exit`: status 0 after `{prev.text[:60]}`{more}",
                    *[art.evidence(h.line, note="exits 0 after an error message") for h, _ in hits[:12]],
                    subject=art.path,
                )
    if not seen:
        yield Result.not_applicable("no shell scripts found")


def _checked(c: Command) -> bool:
    return c.errexit_suppressed or "||" in c.logical or bool(re.search(r"\$\?", c.logical))


@check("DEP034", "no-error-handling", category="deploy", severity="medium", pillar="reliability")
@_ok("installers stop or check their steps")
def no_error_handling(ctx: ScanContext) -> Iterator[Result]:
    """An installer that neither uses `set -e` nor checks its steps does not announce success.

    What it does
        For a script (with its libraries) without errexit, counts the state-changing steps
        (package installs, service enablement, downloads, key generation) whose status nothing
        checks (`||`, `if`, `$?`). When most of them are unchecked and the script ends with a
        success message, reports the first unchecked steps and the success message.
    Why it matters
        A failed `apt-get install` (dpkg lock held at first boot, a mirror down) is ignored: later
        steps write empty keys and configs for tools that are not there, and the operator reads
        "Finished!" with exit status 0.
    Example
        apt-get install -y wireguard qrencode
        echo "PrivateKey = $(wg genkey)" > wg0.conf
        echo "Finished!"
    Fix
        `set -e` (with `|| true` where a failure is expected), or check each step
        (`apt-get install -y ... || { echo "install failed" >&2; exit 1; }`).
    References
        https://mywiki.wooledge.org/BashFAQ/105
    Severity
        Medium: silent half-installs, not a breach.
    """
    seen = False
    for prog in _programs(ctx):
        if prog.entry.embedded or prog.errexit_anywhere():
            continue
        steps = [
            (a, c)
            for a, c in prog.commands()
            if MUTATING.match(c.name)
            and c.name not in ("mkdir", "chmod", "ln", "sed")
            and "cmdsubst" not in c.contexts
        ]
        if len(steps) < 8:
            continue
        seen = True
        unchecked = [(a, c) for a, c in steps if not _checked(c)]
        if len(unchecked) < 0.7 * len(steps):
            continue
        final = None
        for a, c in reversed(prog.commands()):
            if a is prog.entry and is_printer(c) and SUCCESSISH.search(printed_text(c)):
                final = (a, c)
                break
        if final is None:
            continue
        pkg = [
            (a, c)
            for a, c in unchecked
            if c.name in ("apt-get", "apt", "dnf", "yum", "zypper", "apk", "pacman")
        ]
        first = (pkg or unchecked)[:4]
        svc = [(a, c) for a, c in unchecked if c.name == "systemctl"][:1]
        yield Result.fail(
            f"{prog.entry.path}: no `set -e` and {len(unchecked)} of {len(steps)} state-changing steps "
            f"unchecked, yet it ends with `{final[1].text[:40]}`: a failed install still reports success",
            *[a.evidence(c.line, note="failure ignored") for a, c in first + svc],
            final[0].evidence(final[1].line, note="success message printed regardless"),
            subject=prog.entry.path,
        )
    if not seen:
        yield Result.not_applicable("no installer without errexit")


def _saves_file(c: Command) -> bool:
    args = c.argv[1:]
    return any(
        w in ("-o", "-O", "--output", "--remote-name", "--remote-name-all")
        or re.match(r"^-[a-zA-Z]*[oO]$", w)
        for w in args
    ) or any(op == ">" for op, _ in c.redirects)


def _has_fail(c: Command) -> bool:
    for w in c.argv[1:]:
        if w in ("--fail", "--fail-with-body", "--fail-early") or re.match(r"^-[a-zA-Z]*f[a-zA-Z]*$", w):
            return True
    return False


@check("DEP035", "curl-without-fail", category="deploy", severity="medium", pillar="reliability")
@_ok("curl downloads to files use --fail")
def curl_without_fail(ctx: ScanContext) -> Iterator[Result]:
    """`curl` that saves a download to a file uses `-f`, so an HTTP error is an error.

    What it does
        Reports `curl -o FILE`/`curl -O`/`curl URL > FILE` without `-f`/`--fail` (`-fsSL` counts).
    Why it matters
        Without `-f` curl exits 0 on a 404 or 500 and writes the server's error page to the file;
        `chmod +x` follows and the host gets an HTML page installed as a binary, with nothing in
        the log.
    Example
        curl -L "https://github.com/x/y/releases/download/2.23.0/tool-$(uname -s)" -o /usr/local/bin/tool
    Fix
        `curl -fsSL -o FILE URL` and verify the file's checksum before installing it.
    References
        https://curl.se/docs/manpage.html#-f
    Severity
        Medium: a broken install that looks successful.
    """
    seen = False
    for prog in _programs(ctx):
        for art, script in prog.units:
            cmds = [c for c in script.commands if c.name == "curl"]
            if not cmds:
                continue
            seen = True
            for c in cmds:
                if (
                    _saves_file(c)
                    and not _has_fail(c)
                    and not any(w.startswith(("-w", "--write-out")) for w in c.argv)
                ):
                    yield Result.fail(
                        f"{art.path}: `curl` without -f saves an HTTP error page as the file: {c.text[:90]}",
                        art.evidence(c.line, note="no --fail"),
                        subject=f"{art.path}:{c.line}",
                    )
    if not seen:
        yield Result.not_applicable("no curl downloads in shell scripts")


@check("DEP036", "option-never-read", category="deploy", severity="low", pillar="operations")
@_ok("every option changes something the script reads")
def option_never_read(ctx: ScanContext) -> Iterator[Result]:
    """A command-line option sets something the script reads.

    What it does
        For every option handled in a `case` arm or by getopts that only sets variables, reports
        the ones whose variables nothing in the script or its libraries ever reads (not exported
        for a child either).
    Why it matters
        A documented `--force` or `--yes` that changes nothing misleads the operator: the
        confirmation it claims to skip does not exist, or the behaviour it claims to change stays.
    Example
        -f|--force) REVOKE_CONFIRM=y ;;        # nothing reads REVOKE_CONFIRM
    Fix
        Implement what the option promises (read the variable where the behaviour changes), or
        remove the option and its help text.
    References
        https://www.gnu.org/prep/standards/html_node/Command_002dLine-Interfaces.html
    Severity
        Low: no damage by itself, but the documented behaviour is false.
    """
    seen = False
    for prog in _programs(ctx):
        exported = {
            w.split("=", 1)[0]
            for _, c in prog.commands()
            if c.name in ("export", "declare")
            for w in c.words[1:]
        }
        for art, script in prog.units:
            # `-f|--force)`: one case arm (same line, same assignments), one root cause, one finding
            arms: dict[tuple[int, tuple[str, ...]], list[str]] = {}
            for f in script.flags.values():
                arms.setdefault((f.line, tuple(sorted(v for v, _ in f.assigns))), []).append(f.name)
            for flag in script.flags.values():
                if not flag.assigns or flag.name in ("-h", "--help", "--dry-run", "--rollback"):
                    continue  # --dry-run/--rollback: DEP007 judges what they promise
                seen = True
                arm = arms.get((flag.line, tuple(sorted(v for v, _ in flag.assigns))), [flag.name])
                if arm[0] != flag.name:
                    continue  # reported with the first spelling of its arm
                dead = []
                for var, _ in flag.assigns:
                    if var in exported or any(var in e for e in exported):
                        continue
                    readers = [r for r in prog.reads(var) if not (r[0] is art and r[1] == flag.line)]
                    assign_lines = {x.line for x in prog.assignments if x.name == var and x.artifact is art}
                    readers = [r for r in readers if not (r[0] is art and r[1] in assign_lines)]
                    if not readers:
                        dead.append(var)
                if dead and len(dead) == len({v for v, _ in flag.assigns}):
                    line = next(
                        (
                            x.line
                            for x in prog.assignments
                            if x.name == dead[0] and x.artifact is art and x.line >= flag.line
                        ),
                        flag.line,
                    )
                    yield Result.fail(
                        f"{art.path}: {', '.join(dead)} is set by an option but nothing reads it: the "
                        f"option has no effect ({'|'.join(arm)})",
                        art.evidence(line, note=f"{dead[0]} set here, never read"),
                        art.evidence(flag.line, note="option handled here"),
                        subject=f"{art.path} {flag.name}",
                    )
            # second order: `--force) force=true` then `if [[ $force == true ]]; then CONFIRM=y; fi`
            option_vars = {v for f in script.flags.values() for v, _ in f.assigns}
            tests = [
                c for c in script.commands if c.name in ("[[", "[", "test") and "condition" in c.contexts
            ]
            for x in prog.assignments:
                if x.artifact is not art or x.name in option_vars or x.name in exported or x.local:
                    continue
                t = next(
                    (
                        c
                        for c in tests
                        if 0 < x.line - c.line <= 2
                        and c.function == x.function
                        and set(re.findall(r"\$\{?(\w+)", c.text)) & option_vars
                    ),
                    None,
                )
                if t is None or any(r for r in prog.reads(x.name) if not (r[0] is art and r[1] == x.line)):
                    continue
                seen = True
                opt = sorted(set(re.findall(r"\$\{?(\w+)", t.text)) & option_vars)[0]
                flag = next(f for f in script.flags.values() if any(v == opt for v, _ in f.assigns))
                yield Result.fail(
                    f"{art.path}: `{x.name}={x.value[:40]}` is set for an option but nothing reads it: the "
                    f"option has no effect ({flag.name})",
                    art.evidence(x.line, note=f"{x.name} set here, never read"),
                    art.evidence(flag.line, note="option handled here"),
                    subject=f"{art.path} {x.name}",
                )
    if not seen:
        yield Result.not_applicable("no options that set variables")


_GREP_C_OR_ECHO = re.compile(r"\bgrep\s+(?:-\w*\s+)*-\w*c\w*\b[^|;&]*\|\|\s*echo\s+0\b")


@check("DEP037", "grep-count-fallback-doubles", category="deploy", severity="low", pillar="reliability")
@_ok("no `grep -c || echo 0` double counts")
def grep_count_fallback(ctx: ScanContext) -> Iterator[Result]:
    """`$(grep -c ... || echo 0)` does not yield two lines when nothing matches.

    What it does
        Reports command substitutions that count with `grep -c` and fall back with `|| echo 0`.
    Why it matters
        `grep -c` prints `0` and exits 1 when nothing matches, so the fallback prints a second
        `0`: the value is "0\\n0", comparisons with 0 are false and numeric tests error out (the
        "no items" branch never runs; selection loops never end).
    Example
        COUNT=$(echo "$list" | grep -c . || echo 0)
    Fix
        `COUNT=$(grep -c . <<<"$list" || true)` (grep already printed 0).
    References
        https://www.gnu.org/software/grep/manual/grep.html#Exit-Status
    Severity
        Low: a wrong branch in an edge case.
    """
    seen = False
    for prog in _programs(ctx):
        for art, script in prog.units:
            seen = True
            done: set[int] = set()
            for c in script.commands:
                if c.name == "grep" and "cmdsubst" in c.contexts and c.line not in done:
                    m = _GREP_C_OR_ECHO.search(art.line_text(c.line))
                    if m:
                        done.add(c.line)
                        yield Result.fail(
                            f'{art.path}: `grep -c ... || echo 0` yields "0\\n0" when nothing matches '
                            "(grep -c already prints 0 and exits 1)",
                            art.evidence(c.line, note="count is two lines when empty"),
                            subject=f"{art.path}:{c.line}",
                        )
    if not seen:
        yield Result.not_applicable("no shell scripts found")


@check("DEP038", "relative-path-after-cd", category="deploy", severity="low", pillar="observability")
@_ok("no relative log/state paths used after cd")
def relative_path_after_cd(ctx: ScanContext) -> Iterator[Result]:
    """A log or state file given as a relative path is not written after the script changes directory.

    What it does
        Finds variables holding a relative file name (default or constant, e.g.
        `LOG_FILE=${LOG_FILE:-install.log}`) that commands append to, in scripts that `cd` to
        another directory: from then on the writes land in that directory.
    Why it matters
        The log splits in two: the part written after `cd /etc/app/pki` (usually the failing
        step) is in a directory nobody looks in, and messages pointing at "install.log" name the
        wrong half.
    Example
        LOG_FILE=${LOG_FILE:-install.log}; ...; cd /etc/openvpn/easy-rsa; run_cmd ./easyrsa build-ca
    Fix
        Make it absolute at start-up: `LOG_FILE=$(realpath -m "$LOG_FILE")` or `"$PWD/install.log"`.
    References
        https://www.gnu.org/software/bash/manual/html_node/Bourne-Shell-Builtins.html#index-cd
    Severity
        Low: logs go astray; nothing breaks.
    """
    seen = False
    for prog in _programs(ctx):
        cds = [
            (a, c)
            for a, c in prog.commands()
            if c.name in ("cd", "pushd")
            and len(c.argv) > 1
            and c.argv[1].startswith(("/", "$"))
            and "subshell" not in c.contexts
            and "cmdsubst" not in c.contexts
        ]
        if not cds:
            continue
        seen = True
        cds = [(a, c) for a, c in cds if c.argv[1].startswith("/")]
        for name, val in prog.defaults.items():
            if not val or "/" in val or not re.search(r"\.(log|txt|out|state)$", val):
                continue
            decl0 = next(x for x in prog.assignments if x.name == name)
            if not re.search(rf"\$\{{{re.escape(name)}:?[-=]", decl0.value):
                continue  # only a configurable default is meant as "the log file here"
            targets = [
                (a, c)
                for a, c in prog.effective_commands()
                if any(op == ">>" and re.search(rf"\$\{{?{name}\}}?", t) for op, t in c.redirects)
                or (c.name == "tee" and any(re.search(rf"\$\{{?{name}\}}?", w) for w in c.argv[1:]))
            ]
            if not targets:
                continue
            decl = next(x for x in prog.assignments if x.name == name)
            a, c = cds[0]
            yield Result.fail(
                f"{decl.artifact.path}: `{name}` is the relative path `{val}`, appended to after "
                f"`cd {c.argv[1]}`: later writes land in that directory",
                decl.artifact.evidence(decl.line, note="relative path"),
                a.evidence(c.line, note="changes directory"),
                targets[0][0].evidence(targets[0][1].line, note="written here"),
                subject=f"{decl.artifact.path} {name}",
            )
    if not seen:
        yield Result.not_applicable("no scripts that change directory")


_SHELL_FED = re.compile(r"^(su|sudo|bash|sh|runuser)$")
_SET_E = re.compile(r"^set\s+-\w*e")


@check("DEP039", "fed-shell-without-errexit", category="deploy", severity="low", pillar="reliability")
@_ok("heredoc-fed shells and generated scripts stop on failure")
def fed_shell_without_errexit(ctx: ScanContext) -> Iterator[Result]:
    """Commands fed to another shell through a heredoc, and generated scripts, stop on failure.

    What it does
        Reports heredocs fed to `su USER`, `sudo -u USER bash`, `bash`/`sh` that hold several
        commands and no `set -e`, and generated `#!/bin/sh` scripts (written by the installer)
        with several commands and no `set -e`.
    Why it matters
        Only the last command's status comes back: an earlier failure is ignored and the outer
        script (even under `set -e`) or the unit running the generated script reports success.
    Example
        sudo su vagrant <<'EOF'
        composer global require laravel/envoy
        composer global require laravel/installer
        EOF
    Fix
        Start the body with `set -e` (or join the commands with `&&`).
    References
        https://www.gnu.org/software/bash/manual/html_node/The-Set-Builtin.html
    Severity
        Low: a partial step, hidden.
    """
    seen = False
    for prog in _programs(ctx):
        art, script = prog.entry, prog.script
        if art.embedded:
            # a generated script: several commands, no errexit
            cmds = [c for c in script.commands if c.name not in ("echo", "printf", ":", "true")]
            seen |= len(cmds) >= 3  # looked at: a pass when it has errexit
            if len(cmds) >= 3 and not prog.errexit_anywhere():
                yield Result.fail(
                    f"{art.label}: generated script runs {len(cmds)} commands without `set -e`; only the "
                    "last one's status is its exit status",
                    art.evidence(cmds[0].line, note="failure ignored"),
                    art.evidence(cmds[-1].line, note="exit status comes from here"),
                    subject=art.label,
                )
            continue
        # scripts assembled by `echo "#!/bin/sh" > f; echo "..." >> f` (no heredoc artifact)
        for path, (text, ws) in assembled(program_writes(prog)).items():
            if not text.startswith("#!") or any(w.op.startswith("heredoc") for w in ws):
                continue
            body = [
                ln.strip() for ln in text.splitlines()[1:] if ln.strip() and not ln.strip().startswith("#")
            ]
            seen |= len(body) >= 3
            if len(body) < 3 or any(_SET_E.match(ln) for ln in body):
                continue
            yield Result.fail(
                f"{art.path}: generated script {path} runs {len(body)} commands without `set -e`; only the "
                "last one's status is its exit status (a unit running it reports success)",
                ws[0].artifact.evidence(ws[0].line, note=f"{path} started here"),
                ws[-1].artifact.evidence(ws[-1].line, note="last command appended here"),
                subject=f"{art.path} {path}",
            )
        fed: dict[int, Command] = {}  # the first shell-feeding command of each line (one pass, not per heredoc)
        for x in script.commands if script.heredocs else ():
            if x.line not in fed and _SHELL_FED.match(x.name):
                fed[x.line] = x
        for h in script.heredocs:
            c = fed.get(h.line)
            if c is None or h.target:
                continue
            if c.name == "sudo" and not any(w in ("su", "bash", "sh", "-s", "-i") for w in c.words):
                continue
            body = [ln.strip() for ln in h.body.splitlines() if ln.strip() and not ln.strip().startswith("#")]
            seen |= len(body) >= 2
            if len(body) < 2 or any(_SET_E.match(ln) for ln in body):
                continue
            yield Result.fail(
                f"{art.path}: {len(body)} commands fed to `{c.text[:30]}` without `set -e`: only the last "
                "one's status is returned",
                art.evidence(h.line, note="heredoc fed to a shell"),
                art.evidence(h.body_start, note="failure here is ignored"),
                subject=f"{art.path}:{h.line}",
            )
    if not seen:
        yield Result.not_applicable("no heredocs fed to a shell")


@check("DEP040", "find-name-unquoted-glob", category="deploy", severity="low", pillar="reliability")
@_ok("find patterns are quoted")
def find_unquoted_glob(ctx: ScanContext) -> Iterator[Result]:
    """`find -name` patterns are quoted so the shell does not expand them first.

    What it does
        Reports `find ... -name *.log` / `-iname`/`-path` with an unquoted glob.
    Why it matters
        The shell expands `*.log` in the current directory: with one match find looks for that
        exact name and quietly does (almost) nothing; with two it fails with "paths must precede
        expression", which under `set -e` aborts the run.
    Example
        find /var/log/ -name *.log -exec rm -f {} \\;
    Fix
        `find /var/log/ -name '*.log' -delete`
    References
        https://www.shellcheck.net/wiki/SC2061
    Severity
        Low: the step does the wrong thing depending on the working directory.
    """
    seen = False
    for prog in _programs(ctx):
        for art, script in prog.units:
            for c in script.commands:
                if c.name != "find":
                    continue
                seen = True
                raw = art.line_text(c.line)
                m = re.search(r"\s-(i?name|i?path|wholename)\s+([^\s'\"]*[*?][^\s'\"]*)", raw)
                if m and "\\*" not in m.group(2):
                    yield Result.fail(
                        f"{art.path}: `find -{m.group(1)} {m.group(2)}` unquoted: the shell expands the "
                        "glob in the current directory first",
                        art.evidence(c.line, note="quote the pattern"),
                        subject=f"{art.path}:{c.line}",
                    )
    if not seen:
        yield Result.not_applicable("no find commands")


@check("DEP041", "sysctl-not-persisted", category="deploy", severity="low", pillar="reliability")
@_ok("runtime sysctl settings are persisted")
def sysctl_not_persisted(ctx: ScanContext) -> Iterator[Result]:
    """Kernel settings a script applies are also written where they survive a reboot.

    What it does
        Reports `sysctl key=value` / `sysctl -w key=value` when no file under /etc/sysctl.d or
        /etc/sysctl.conf written by the script (or its libraries) mentions the key.
    Why it matters
        The setting holds until the next boot (or, for images, is lost when the image is
        packaged), so the host quietly returns to the default it was meant to change.
    Example
        sysctl fs.protected_regular=0
    Fix
        `echo 'fs.protected_regular = 0' > /etc/sysctl.d/60-app.conf && sysctl --system`
    References
        https://man7.org/linux/man-pages/man5/sysctl.d.5.html
    Severity
        Low: a setting that silently reverts.
    """
    seen = False
    for prog in _programs(ctx):
        text = "\n".join(a.text for a, _ in prog.units)
        for art, script in prog.units:
            for c in script.commands:
                if _name(c) != "sysctl":
                    continue
                kv = [w for w in c.argv[1:] if "=" in w and not w.startswith("-")]
                if not kv:
                    continue
                seen = True
                key = kv[0].split("=", 1)[0]
                persisted = any(
                    key in ln and ("sysctl.d" in ln or "sysctl.conf" in ln or ln.lstrip().startswith(key))
                    for ln in text.splitlines()
                    if ln.strip() != art.line_text(c.line).strip()
                )
                if not persisted:
                    yield Result.fail(
                        f"{art.path}: `sysctl {kv[0]}` applies to the running kernel only; nothing writes it "
                        "to /etc/sysctl.d, so it is lost at reboot",
                        art.evidence(c.line, note="runtime-only setting"),
                        subject=f"{art.path}:{c.line}",
                    )
    if not seen:
        yield Result.not_applicable("no runtime sysctl settings")


@check("DEP042", "swapfile-mode", category="deploy", severity="low", pillar="security")
@_ok("swap files are 0600")
def swapfile_mode(ctx: ScanContext) -> Iterator[Result]:
    """Swap files are made 0600 before `mkswap`/`swapon`.

    What it does
        For `mkswap FILE`/`swapon FILE` on a regular file, looks for `chmod 600 FILE` (or
        `install -m 600`, `umask 077`) earlier in the script.
    Why it matters
        `dd`/`fallocate` create the file with the umask's 0644: every local user can read memory
        pages swapped out by other processes (keys, passwords). mkswap itself warns.
    Example
        dd if=/dev/zero of=/var/swap.1 bs=1M count=1024; mkswap /var/swap.1; swapon /var/swap.1
    Fix
        `chmod 600 /var/swap.1` before `mkswap`.
    References
        https://man7.org/linux/man-pages/man8/mkswap.8.html
    Severity
        Low: local information disclosure.
    """
    seen = False
    for prog in _programs(ctx):
        for art, script in prog.units:
            for c in script.commands:
                if _name(c) not in ("mkswap", "swapon") or len(c.argv) < 2:
                    continue
                f = c.argv[-1]
                if f.startswith("-") or (f.startswith("/dev/") and not f.startswith("/dev/shm")):
                    continue
                seen = True
                ok = any(
                    (
                        _name(o) == "chmod"
                        and f in o.argv
                        and any(re.fullmatch(r"0?[46]00|u=rw|go-\w+", w) for w in o.argv)
                    )
                    or (o.name == "umask" and "077" in o.text)
                    or (o.name == "install" and f in o.argv)
                    for o in script.commands
                    if o.line < c.line
                )
                if not ok:
                    yield Result.fail(
                        f"{art.path}: swap file {f} is never made 0600 (umask default 0644): swapped-out "
                        "memory is readable by local users",
                        art.evidence(c.line, note="swap file without chmod 600"),
                        subject=f"{art.path} {f}",
                    )
                    break
    if not seen:
        yield Result.not_applicable("no swap files")


@check("DEP043", "delete-by-pattern-in-homes", category="deploy", severity="medium", pillar="reliability")
@_ok("no deletion by pattern in users' home directories")
def delete_by_pattern_in_homes(ctx: ScanContext) -> Iterator[Result]:
    """Uninstall and cleanup code deletes the files it created, not every match in users' homes.

    What it does
        Reports `find /home ... -delete` / `-exec rm` and `rm` of `/home/*/...` globs: deletion by
        pattern across every user's home directory.
    Why it matters
        Users keep files of the same type for other purposes (other VPN profiles, keys, configs);
        a pattern deletes them all, irrecoverably, as root.
    Example
        find /home/ -maxdepth 2 -name "*.ovpn" -delete
    Fix
        Record the files you create (a manifest, or names derived from your own state) and delete
        exactly those.
    References
        https://cwe.mitre.org/data/definitions/459.html
    Severity
        Medium: data loss of files the script did not create.
    """
    seen = False
    for prog in _programs(ctx):
        for art, c in prog.effective_commands():
            if True:
                argv = c.argv
                if _name(c) in ("rm", "find") and any(w == "/home" or w.startswith("/home/") for w in argv[1:]):
                    seen = True  # a deletion in home directories was looked at: a pass when exact
                if (
                    _name(c) == "find"
                    and len(argv) > 1
                    and re.match(r"^/home/?$", argv[1])
                    and ("-delete" in argv or ("-exec" in argv and "rm" in argv))
                    and any(w in ("-name", "-iname") for w in argv)
                ) or (_name(c) == "rm" and any(re.match(r"^/home/\*", w) for w in argv[1:])):
                    yield Result.fail(
                        f"{art.path}: deletes by pattern in every home directory: {c.text[:80]}",
                        art.evidence(c.line, note="deletes files it did not create"),
                        subject=f"{art.path}:{c.line}",
                    )
    if not seen:
        yield Result.not_applicable("no deletions in home directories")


def _ends_branch(art: Artifact, c: Command) -> bool:
    """The command is the last of a `case` arm or if/else branch: its status can be the function's."""
    for ln in range(c.end_line + 1, min(c.end_line + 4, len(art.lines) + 1)):
        t = art.line_text(ln).strip()
        if not t or t.startswith("#"):
            continue
        return bool(re.match(r"^(;;|esac|else|elif|fi|\})", t)) or t.endswith(";;")
    return True


def _relies_on_errexit(prog: ShellProgram, name: str) -> list[Command]:
    """Steps in a function body whose failure only errexit would catch: state-changing commands,
    not the last one (whose status is the function's), not checked by `||`/`if`/`$?`."""
    fn = prog.functions[name]
    cmds = [c for c in fn.commands() if "cmdsubst" not in c.contexts and "subshell" not in c.contexts]
    if len(cmds) < 2:
        return []
    last = cmds[-1]
    out = []
    for c in cmds:
        if (
            c is last
            # on a multi-line body's last line (`x | y`, `a; b` closing it) the status is the function's;
            # a one-line body (`f() { apt-get ...; systemctl ...; }`) is a sequence like any other
            or (c.line == last.line and fn.start != fn.end)
            or c.errexit_suppressed
            or "||" in c.logical
            or "pipeline" in c.contexts
        ):
            continue
        if c.name == "return" or "$?" in c.logical:
            return []  # the function reports its own status explicitly
        if (
            MUTATING.match(_name(c))
            and c.name not in ("mkdir", "chmod", "ln")
            and not _ends_branch(fn.artifact, c)
        ):
            out.append(c)
    return out


@check("DEP044", "errexit-off-in-condition", category="deploy", severity="medium", pillar="reliability")
@_ok("no function relying on set -e is called where bash ignores it")
def errexit_off_in_condition(ctx: ScanContext, facts: ShellcheckFacts) -> Iterator[Result]:
    """Functions that rely on `set -e` are not called where bash switches errexit off.

    What it does
        In scripts that use `set -e`, finds functions whose state-changing steps are checked by
        nothing but errexit, and reports their calls in an `if`/`while`/`until` condition, on the
        left of `&&`/`||`, after `!`, or (without `shopt -s inherit_errexit`) inside `$( )`. The
        call is the first evidence, the unchecked step in the body the second.
    Why it matters
        bash ignores errexit for the whole body of a function called in those contexts: the step
        fails, the next one runs, and the function returns the status of its last command. The
        classic `install_app || rollback` never rolls back (BashFAQ 105).
    Example
        set -e
        install() { apt-get install -y app; systemctl enable --now app; }
        if install; then echo ok; fi     # a failed apt-get still prints ok
    Fix
        Check each step inside the function (`apt-get install -y app || return 1`), or call it
        plainly and let errexit work.
    References
        https://mywiki.wooledge.org/BashFAQ/105
        https://www.shellcheck.net/wiki/SC2310
    Severity
        Medium: failed steps pass silently on that path.
    """
    for prog in _programs(ctx):
        if not prog.errexit_anywhere():
            continue
        for name in sorted(prog.functions):
            suppressed = [(a, c, why) for a, c, why in prog.suppressed_callers(name) if c.words[:1] == [name]]
            if not suppressed:
                continue
            steps = _relies_on_errexit(prog, name)
            if not steps:
                continue
            a, c, why = suppressed[0]
            if not prog.errexit_at(a, c):
                continue
            fn = prog.functions[name]
            label = {
                "condition": "an if/while condition",
                "andor": "a `&&`/`||` list",
                "negated": "`!`",
                "cmdsubst": "`$( )` without inherit_errexit",
            }[why]
            yield Result.fail(
                f"{a.path}: `{name}` is called in {label}, where bash ignores set -e inside it: a failing "
                f"`{steps[0].text[:50]}` does not stop it",
                a.evidence(c.line, note="errexit off for this call"),
                fn.artifact.evidence(steps[0].line, note="unchecked step in the body"),
                *shellcheck_agrees(facts, a, c.line, 2311 if why == "cmdsubst" else 2310),
                subject=f"{a.path} {name}",
                # under `$( )` the caller usually trips over the missing output soon after: low
                severity="low" if why == "cmdsubst" else None,
            )


_POST_INC = re.compile(
    r"^\s*(?:\(\(\s*([A-Za-z_]\w*)(\+\+|--)\s*\)\)|let\s+[\"']?([A-Za-z_]\w*)(\+\+|--)[\"']?)\s*$"
)


@check("DEP045", "arith-status-under-errexit", category="deploy", severity="medium", pillar="reliability")
@_ok("no `((x++))` that set -e turns into an exit")
def arith_status_under_errexit(ctx: ScanContext) -> Iterator[Result]:
    """`((x++))` / `let x++` are not used under `set -e` on a counter that starts at 0.

    What it does
        Reports a standalone `((x++))`, `((x--))` or `let x++` at a line where errexit is on, when x
        is initialised to 0 in the script.
    Why it matters
        An arithmetic command's status is 1 when its value is 0, and `x++` evaluates to the old
        value: the first increment of a zero counter returns 1 and `set -e` ends the script there.
    Example
        set -e; count=0; for f in *.conf; do ((count++)); done     # exits at the first file
    Fix
        `((count+=1))`, `count=$((count + 1))` or `((count++)) || true`.
    References
        https://mywiki.wooledge.org/BashFAQ/105
    Severity
        Medium: the script stops early and halfway.
    """
    for prog in _programs(ctx):
        if not prog.errexit_anywhere():
            continue
        zero = {x.name for x in prog.assignments if x.value.strip("'\"") == "0"}
        for art, script in prog.units:
            fn_ranges = sorted(script.functions.items(), key=lambda kv: kv[1][0])
            for i, ln in enumerate(art.lines, 1):
                m = _POST_INC.match(ln)
                if not m or i in script.heredoc_lines:
                    continue
                var = m.group(1) or m.group(3)
                if var not in zero:
                    continue
                func = next((n for n, (s, e) in fn_ranges if s < i <= e), None)
                probe = Command(i, i, ln.strip(), ln.split(), func)
                if not prog.errexit_at(art, probe):
                    continue
                yield Result.fail(
                    f"{art.path}: `{ln.strip()}` under set -e returns status 1 when {var} is 0, and the "
                    "script exits there",
                    art.evidence(i, note="arithmetic status 1 on 0"),
                    subject=f"{art.path}:{i}",
                )


_LOOP_HEAD = re.compile(r"^\s*(until|while)\s+(?:\[\[|\[)\s*[!]?\s*\"?\$\{?([A-Za-z_]\w*)")


def _read_var(c: Command) -> str | None:
    if c.name != "read":
        return None
    names = [w for w in c.argv[1:] if re.fullmatch(r"[A-Za-z_]\w*", w)]
    return names[-1] if names else None


def _under_z_guard(art: Artifact, c: Command, start: int) -> bool:
    """The command sits in an `if` whose condition tests `-z $X` (it runs only when X is unset)."""
    ind = indent(art, c.line)
    for ln in range(c.line - 1, start, -1):
        t = art.line_text(ln)
        if t.strip() and indent(art, ln) < ind:
            if re.match(r"^\s*(if|elif)\b", t):
                return bool(re.search(r"-z\s+\"?\$", t))
            ind = indent(art, ln)
    return False


_VAR_REF = re.compile(r"\$\{?(\w+)")
_UNATTENDED = re.compile(r"^-(f|y|-force|-yes|-assume-yes|-non-?interactive|-batch|-unattended)$")


def _option_answers(prog: ShellProgram) -> set[str]:
    """Variables an unattended option (`--force`, `--yes`, ...) answers: set in its `case` arm, or
    in a branch testing such a variable."""
    first = {
        v for _, s in prog.units for f in s.flags.values() if _UNATTENDED.match(f.name) for v, _ in f.assigns
    }
    out = set(first)
    if not first:  # no test can name an answered variable
        return out
    for art, script in prog.units:
        # lines of the tests naming such a variable; an assignment one or two lines below is in its branch
        hits = {
            c.line
            for c in script.commands
            if c.name in ("[[", "[", "test") and "condition" in c.contexts and set(_VAR_REF.findall(c.text)) & first
        }
        if not hits:
            continue
        for x in prog.assignments:
            if x.artifact is art and (x.line - 1 in hits or x.line - 2 in hits):
                out.add(x.name)
    return out



@check("DEP046", "prompt-loop-without-eof", category="deploy", severity="low", pillar="operations")
@_ok("non-interactive paths never reach a prompt loop that spins at end of input")
def prompt_loop_without_eof(ctx: ScanContext) -> Iterator[Result]:
    """A path meant to run unattended does not reach a prompt loop that never ends at end of input.

    What it does
        Finds functions that skip their prompt when the answer is already set (`if [[ -z $X ]];
        then read ... X; fi`: the unattended path, e.g. after `--force`) and follows their calls to
        `until [[ $Y =~ ... ]]; do read ... Y; done` loops whose answer nothing pre-sets and whose
        `read` status is unchecked.
    Why it matters
        With stdin at end of file (CI, cloud-init, Ansible, `</dev/null`) `read` fails at once and
        leaves Y unchanged, so the loop repeats forever, often logging on each pass: the
        unattended run never finishes and can fill the disk.
    Example
        remove() { [[ -z $REMOVE ]] && read -rp "remove? " REMOVE; ...; remove_extra; }
        remove_extra() { until [[ $ALSO =~ (y|n) ]]; do read -rp "also? " ALSO; done; }
    Fix
        `read ... || exit 1` (or `|| break` with a default), and let the unattended option answer
        the second question too.
    References
        https://www.gnu.org/software/bash/manual/html_node/Bash-Builtins.html#index-read
    Severity
        Low: a hang on one unattended path.
    """
    for prog in _programs(ctx):
        assigned = {x.name for x in prog.assignments if x.value}
        answers = _option_answers(prog)
        pre_answered: dict[str, tuple[Artifact, Command]] = {}  # function -> guarded prompt
        spinning: dict[str, tuple[Artifact, int, str]] = {}  # function -> loop line, variable
        for art, script in prog.units:
            for c in script.commands:
                var = _read_var(c)
                if var is None or not c.function:
                    continue
                above = " ".join(art.line_text(i) for i in range(max(1, c.line - 2), c.line + 1))
                if re.search(rf"-z\s+\"?\$\{{?{var}\b", above) and var in answers:
                    pre_answered.setdefault(c.function, (art, c))
                    continue
                for ln in range(c.line - 1, max(0, c.line - 4), -1):
                    m = _LOOP_HEAD.match(art.line_text(ln))
                    if m and m.group(2) == var and "||" not in c.logical and var not in assigned:
                        spinning.setdefault(c.function, (art, ln, var))
                        break
        for fn, (art, prompt) in pre_answered.items():
            todo: list[tuple[str, int, tuple[Artifact, Command] | None]] = [(fn, 0, None)]
            seen = {fn}
            while todo:
                cur, depth, via = todo.pop(0)
                if cur in spinning and cur != fn:
                    la, line, var = spinning[cur]
                    assert via is not None
                    yield Result.fail(
                        f"{la.path}: `{fn}` skips its prompt when answered in advance (unattended use), but "
                        f"then reaches the `{var}` prompt loop, which spins forever when stdin is at end of file",
                        la.evidence(line, note="read failure at EOF never ends this loop"),
                        art.evidence(prompt.line, note="prompt skipped when pre-answered"),
                        via[0].evidence(via[1].line, note="called here"),
                        subject=f"{la.path} {var}",
                    )
                    break
                if depth >= 3 or cur not in prog.functions:
                    continue
                fart = prog.functions[cur].artifact
                for c in prog.functions[cur].commands():
                    callee = c.words[0] if c.words else ""
                    if _under_z_guard(fart, c, prog.functions[cur].start):
                        continue  # this call only prompts when the answer is not given: pre-answerable
                    if callee in prog.functions and callee not in seen:
                        seen.add(callee)
                        todo.append((callee, depth + 1, via or (prog.functions[cur].artifact, c)))
