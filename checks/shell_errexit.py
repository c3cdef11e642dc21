"""Errexit pitfalls beyond conditions: `set +e` never restored, predicate functions called bare under
`set -e`, and verifications on the left of `&&` whose failure set -e ignores (BashFAQ 105).

Built on the shell-program model (``chom_validate.facts.shell_program``): the set -e state at each
line, function bodies and their call sites across sourced libraries.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from chom_validate.api import Context as ScanContext
from chom_validate.artifacts.shell import Command
from chom_validate.facts.shell_program import ShellProgram, set_flags
from chom_validate.findings import Result
from chom_validate.registry import check

from ._shell_semantics_util import ERRORISH, MUTATING, _ok, _programs, is_printer, printed_text


def _unchecked_step(c: Command) -> bool:
    return (
        bool(MUTATING.match(c.name.rsplit("/", 1)[-1]))
        and c.name not in ("mkdir", "chmod", "ln")
        and not c.errexit_suppressed
        and "||" not in c.logical
        and "$?" not in c.logical
        and not any(x in c.contexts for x in ("cmdsubst", "subshell", "pipeline"))
    )


def _is_errexit_off(c: Command) -> bool:
    return c.words[:1] == ["set"] and ("e", False) in set_flags(c.words)


def _is_errexit_on(c: Command) -> bool:
    return c.words[:1] == ["set"] and ("e", True) in set_flags(c.words)


@check("DEP051", "errexit-never-restored", category="deploy", severity="medium", pillar="reliability")
@_ok("every `set +e` is followed by `set -e` before the steps that rely on it")
def errexit_never_restored(ctx: ScanContext) -> Iterator[Result]:
    """`set +e` is switched back with `set -e` before the steps that rely on errexit.

    What it does
        In scripts that turn `set -e` on, finds `set +e` with no later `set -e` (in the script or
        the libraries it sources) and reports the state-changing steps that run after it with
        nothing checking them: the `set +e` line is the first evidence, those steps the second.
        A `set +e` in a function counts for everything after its call (the option is global);
        one followed by `exit` in the same body (a cleanup trap) does not.
    Why it matters
        The script was written to stop at the first failure. After a forgotten `set +e` every
        later failure is ignored: a failed `apt-get install` or `systemctl restart` is followed by
        the next step and the final "done".
    Example
        set -e
        set +e; grep -q x /etc/app.conf; found=$?      # no `set -e` after this
        apt-get install -y app
        systemctl restart app
    Fix
        Restore it right after the command whose status you wanted (`set -e`), or test that
        command directly (`if grep -q ...; then`).
    References
        https://mywiki.wooledge.org/BashFAQ/105
    Severity
        Medium: failed steps pass silently from that line on.
    """
    for prog in _programs(ctx):
        if not prog.errexit_anywhere():
            continue
        for art, script in prog.units:
            offs = [c for c in script.commands if _is_errexit_off(c) and "subshell" not in c.contexts]
            ons = [c for c in script.commands if _is_errexit_on(c)]
            for off in offs:
                if "cmdsubst" in off.contexts:
                    continue
                if any(
                    (on.line > off.line and (on.function == off.function or on.function is None))
                    for on in ons
                ):
                    continue
                after = [c for c in script.commands if c.line > off.line]
                if off.function:
                    body = [c for c in after if c.function == off.function]
                    if any(c.name == "exit" for c in body):
                        continue  # a cleanup/exit path
                    # the option stays off after the function returns: the steps after its calls
                    calls = [c for a, c in prog.calls(off.function) if a is art and c.function is None]
                    if not calls:
                        continue
                    first_call = min(c.line for c in calls)
                    after = body + [c for c in script.commands if c.function is None and c.line > first_call]
                else:
                    after = [c for c in after if c.function is None]
                steps = [c for c in after if _unchecked_step(c)]
                if not steps:
                    continue
                where = (
                    f" (in `{off.function}`, so for the rest of the script after its call)"
                    if off.function
                    else ""
                )
                yield Result.fail(
                    f"{art.path}: `set +e` is never switched back{where}: {len(steps)} later step(s) such as "
                    f"`{steps[0].text[:50]}` no longer stop the script when they fail",
                    art.evidence(off.line, note="errexit switched off, never restored"),
                    *[art.evidence(c.line, note="failure no longer stops the script") for c in steps[:3]],
                    subject=f"{art.path}:{off.line}",
                )


_ERROR_RETURN = re.compile(r"^return\s+[1-9]")


def _predicate_returns(prog: ShellProgram, name: str) -> list[Command]:
    """`return 1` lines of a function that answer "no" (a predicate), not report an error: no
    error message printed just before them, and the function also returns 0 somewhere."""
    fn = prog.functions[name]
    cmds = fn.commands()
    texts = [c.text.strip() for c in cmds]
    if not any(re.match(r"^return(\s+0)?$", t) for t in texts) and not any(
        t.startswith(("[", "test ")) for t in texts[-1:]
    ):
        return []
    out = []
    for i, c in enumerate(cmds):
        if not _ERROR_RETURN.match(c.text.strip()):
            continue
        prev = cmds[i - 1] if i else None
        if prev is not None and prev.line >= c.line - 2 and is_printer(prev):
            msg = printed_text(prev)
            if (
                ERRORISH.search(msg)
                or ">&2" in prev.logical
                or prev.name.startswith(("err", "die", "fatal", "warn"))
            ):
                continue
        if re.search(r"(?i)error|fail|fatal|die", c.logical):
            continue
        out.append(c)
    return out


@check(
    "DEP052",
    "predicate-called-bare-under-errexit",
    category="deploy",
    severity="medium",
    pillar="reliability",
)
@_ok("no yes/no function is called bare under set -e")
def predicate_called_bare(ctx: ScanContext) -> Iterator[Result]:
    """A function that answers yes/no with `return 1` is not called bare under `set -e`.

    What it does
        Finds functions with a `return 1` that answers "no" (the function also returns 0, and no
        error message precedes the `return 1`) and reports their plain calls at lines where
        errexit is on (not in `if`, `&&`/`||`, `!` or `$( )`). The call is the first evidence, the
        `return 1` the second.
    Why it matters
        Under `set -e` the "no" answer is an error: the script exits at the call, silently, with
        status 1, in the middle of the run (`is_installed` on a fresh host ends the installer
        before it installs anything).
    Example
        set -e
        is_installed() { [ -x /usr/bin/app ] && return 0; return 1; }
        is_installed        # exits here on a fresh host
    Fix
        Use the answer: `if is_installed; then ...; fi`, or `is_installed || install_app`.
    References
        https://mywiki.wooledge.org/BashFAQ/105
    Severity
        Medium: the run stops half-way without a message.
    """
    for prog in _programs(ctx):
        if not prog.errexit_anywhere():
            continue
        for name in sorted(prog.functions):
            returns = None
            for a, c in prog.calls(name):
                if c.words[:1] != [name] or c.errexit_suppressed or "||" in c.logical or "&&" in c.logical:
                    continue
                if any(
                    x in c.contexts
                    for x in ("cmdsubst", "subshell", "pipeline", "pipeline_last", "background")
                ):
                    continue
                if c.function is not None and (c.function == name or _last_of_function(prog, c)):
                    continue  # recursion, or the call's status is its function's return value
                if not prog.errexit_at(a, c) or _in_suppressed_caller(prog, c):
                    continue
                if returns is None:
                    returns = _predicate_returns(prog, name)
                if not returns:
                    break
                fn = prog.functions[name]
                yield Result.fail(
                    f'{a.path}: `{name}` answers "no" with `return 1`, but it is called bare under set -e: '
                    "the script exits there silently (status 1) instead of acting on the answer",
                    a.evidence(c.line, note="bare call under set -e"),
                    fn.artifact.evidence(returns[0].line, note="non-error `return 1`"),
                    subject=f"{a.path} {name}",
                )
                break


def _last_of_function(prog: ShellProgram, c: Command) -> bool:
    fn = prog.functions.get(c.function or "")
    if fn is None:
        return False
    cmds = fn.commands()
    return bool(cmds) and cmds[-1].line == c.line


def _in_suppressed_caller(prog: ShellProgram, c: Command) -> bool:
    """The call sits in a function whose own callers switch errexit off (then nothing aborts)."""
    if c.function is None or c.function not in prog.functions:
        return False
    return bool(prog.suppressed_callers(c.function))


_VERIFY = re.compile(
    r"^(sha(1|224|256|384|512)sum|md5sum|b2sum|gpg|gpgv|cosign|minisign|signify|nginx|apachectl|apache2ctl|"
    r"visudo|sshd|named-checkconf|promtool|amtool|haproxy|systemd-analyze|php-fpm\d*(\.\d+)?)$"
)


def _is_verification(c: Command) -> bool:
    argv = c.argv
    name = c.name.rsplit("/", 1)[-1]
    if not _VERIFY.match(name):
        return False
    rest = argv[1:]
    if name.endswith("sum"):
        return "-c" in rest or "--check" in rest
    if name in ("gpg", "gpgv"):
        return name == "gpgv" or "--verify" in rest
    if name in ("nginx", "sshd", "php-fpm") or name.startswith("php-fpm"):
        return "-t" in rest or "-T" in rest
    if name in ("apachectl", "apache2ctl"):
        return "configtest" in rest or "-t" in rest
    if name == "visudo":
        return "-c" in rest
    if name in ("promtool", "amtool"):
        return "check" in rest or "check-config" in rest
    if name == "systemd-analyze":
        return "verify" in rest
    if name == "haproxy":
        return "-c" in rest
    return name in ("cosign", "minisign", "signify", "named-checkconf") and (
        "verify" in rest or "-V" in rest or name == "named-checkconf"
    )


@check("DEP053", "verification-left-of-and", category="deploy", severity="medium", pillar="reliability")
@_ok("no verification on the left of `&&` is silently skipped under set -e")
def verification_left_of_and(ctx: ScanContext) -> Iterator[Result]:
    """A verification (`sha256sum -c`, `gpg --verify`, `nginx -t`, `visudo -c`...) on the left of
    `&&` does not silently skip the step under `set -e`.

    What it does
        Reports `verify && apply` lists at lines where errexit is on, when the verification is
        not the last command of its function (whose status would be returned) and nothing handles
        its failure (`||`).
    Why it matters
        set -e ignores a failure on the left of `&&`: when the checksum or the config test fails,
        the apply step is skipped and the script carries on to "done" with the old binary or a
        service never reloaded, and exit status 0.
    Example
        set -e
        sha256sum -c app.sha256 && install -m 0755 app /usr/local/bin/app
        echo "installed"
    Fix
        Run the verification on its own line (set -e stops on failure), or
        `sha256sum -c app.sha256 || { echo "checksum mismatch" >&2; exit 1; }`.
    References
        https://www.gnu.org/software/bash/manual/html_node/The-Set-Builtin.html
    Severity
        Medium: a failed verification passes as success.
    """
    for prog in _programs(ctx):
        if not prog.errexit_anywhere():
            continue
        for art, script in prog.units:
            for i, c in enumerate(script.commands):
                if "andor" not in c.contexts or "condition" in c.contexts or "negated" in c.contexts:
                    continue
                if not _is_verification(c) or not prog.errexit_at(art, c):
                    continue
                logical = c.logical
                idx = logical.find(c.text)
                rest = logical[idx + len(c.text) :] if idx >= 0 else logical
                if not rest.lstrip().startswith("&&") or "||" in rest:
                    continue
                later = [
                    x for x in script.commands[i + 1 :] if x.function == c.function and x.line > c.end_line
                ]
                if not later and c.function is not None:
                    continue  # the list's status is the function's: its caller sees the failure
                yield Result.fail(
                    f"{art.path}: `{c.text[:50]}` on the left of `&&` under set -e: when it fails the step "
                    f"after it is skipped and the script carries on as if it had succeeded",
                    art.evidence(c.line, note="failure ignored by set -e (left of &&)"),
                    *([art.evidence(later[0].line, note="runs anyway")] if later else []),
                    subject=f"{art.path}:{c.line}",
                )


_GATE_NAME = re.compile(r"(?i)health|verify|validat|smoke|^check_|_check$|^ensure_|^wait_for|^test_")


def _cannot_fail(cmds: list[Command], prog: ShellProgram) -> Command | None:
    """The body's failure message, when nothing in the body can make its status non-zero: no
    `return N`/`exit N` (N != 0, or a variable), no fatal helper, and the last command always
    succeeds (a message, `return 0`, `true`)."""
    if not cmds:
        return None
    for c in cmds:
        t = c.text.strip()
        if re.match(r"^(return|exit)\s+(?!0\b)\S", t) or (
            re.match(r"^(return|exit)$", t) and c is not cmds[-1]
        ):
            return None
        if re.search(r"(?i)die|fatal|abort|fail", c.name) or c.name.startswith(("err", "error")):
            return None
        if c.name in prog.functions and c.name != c.function and _GATE_NAME.search(c.name):
            return None  # delegates to another gate: judged there
    last = cmds[-1]
    lt = last.text.strip()
    if not (is_printer(last) or lt in ("return 0", "exit 0", "true", ":", "return")):
        return None
    if (
        "andor" in last.contexts
        or "condition" in last.contexts
        or "||" in last.logical
        or "&&" in last.logical
    ):
        return None
    failure = next(
        (c for c in cmds if is_printer(c) and ERRORISH.search(printed_text(c)) and c.guarded),
        None,
    )
    return failure


@check("DEP054", "gate-cannot-fail", category="deploy", severity="medium", pillar="reliability")
@_ok("health and verification functions used as gates can fail")
def gate_cannot_fail(ctx: ScanContext) -> Iterator[Result]:
    """Health and verification functions that callers use as gates can return a failure.

    What it does
        Finds functions named like gates (`*health*`, `verify*`, `validate*`, `check_*`,
        `wait_for*`, `ensure_*`) that callers test (`if verify_x`, `verify_x || exit 1`,
        `verify_x && deploy`) while their body cannot return non-zero: a failure branch that only
        prints a warning, no `return 1`/`exit 1`/fatal helper, and a last command that always
        succeeds (a message, `return 0`). The call is the first evidence, the warn-only failure
        message the second.
    Why it matters
        The caller's `|| rollback` or `if ...; then deploy` never sees the failure: a deploy
        goes on to a service that failed its health check, and the log says only "warning".
    Example
        check_health() { curl -fsS localhost:8080/health || echo "WARN: unhealthy"; echo "checked"; }
        check_health || rollback     # never rolls back
    Fix
        `return 1` on the failure branch (or let the last command be the check itself).
    References
        https://mywiki.wooledge.org/BashFAQ/105
    Severity
        Medium: a gate that always opens.
    """
    for prog in _programs(ctx):
        for name in sorted(prog.functions):
            if not _GATE_NAME.search(name):
                continue
            gated = [
                (a, c)
                for a, c in prog.calls(name)
                if c.words[:1] == [name]
                and (c.errexit_suppressed or "||" in c.logical)
                and c.function != name
            ]
            if not gated:
                continue
            fn = prog.functions[name]
            failure = _cannot_fail(fn.commands(), prog)
            if failure is None:
                continue
            a, c = gated[0]
            yield Result.fail(
                f"{a.path}: `{name}` is used as a gate here, but it cannot fail: its failure branch only prints "
                f"`{printed_text(failure)[:50]}` and it always returns 0",
                a.evidence(c.line, note="status tested here"),
                fn.artifact.evidence(failure.line, note="failure only reported, status stays 0"),
                subject=f"{a.path} {name}",
            )


_GATE_FILE = re.compile(r"(?i)health|verify|validat|smoke|check")


def _can_exit_nonzero(cmds: list[Command]) -> bool:
    return any(re.match(r"^exit\s+(?!0\b)\S", c.text.strip()) for c in cmds)


@check("DEP055", "gate-script-cannot-fail", category="deploy", severity="medium", pillar="reliability")
@_ok("health and verification scripts exit non-zero on failure")
def gate_script_cannot_fail(ctx: ScanContext) -> Iterator[Result]:
    """Health and verification scripts that something runs as a gate exit non-zero on failure.

    What it does
        For scripts named like gates (`*health*`, `*verify*`, `*validate*`, `*smoke*`, `check*`)
        that another script, a CI workflow, a Makefile, a compose healthcheck or a unit runs,
        reports the ones that print failure messages but cannot exit non-zero: no `exit 1` (or
        `exit $rc`), no fatal helper, no `set -e`, and the script ends with `exit 0` or a message.
        The failure message is the first evidence, the caller the second.
    Why it matters
        A health check that always exits 0 turns every gate built on it into a formality: the
        deploy pipeline goes green, the compose healthcheck reports healthy, the rollback never
        runs.
    Example
        curl -fsS http://localhost:8080/health || echo "FAIL: app not healthy"
        exit 0
    Fix
        Count failures and `exit 1` when there are any (`[ "$failed" -eq 0 ]` as the last line).
    References
        https://docs.docker.com/reference/dockerfile/#healthcheck
    Severity
        Medium: a gate that always opens.
    """
    programs = _programs(ctx)
    others = [a for a in ctx.artifacts() if a.kind != "shell" and not a.embedded]
    for prog in programs:
        art = prog.entry
        base = art.path.rsplit("/", 1)[-1]
        if art.embedded or not _GATE_FILE.search(base) or prog.errexit_anywhere():
            continue
        top = [c for c in prog.script.commands if c.function is None]
        failure = _cannot_fail(top, prog)
        called = {c.words[0] for c in top if c.words and c.words[0] in prog.functions}
        if failure is None or any(_can_exit_nonzero(prog.functions[f].commands()) for f in called):
            continue
        caller = None
        for p in programs:
            if p is prog:
                continue
            for a, c in p.commands():
                if any(w.rsplit("/", 1)[-1] == base for w in c.words[:3]):
                    caller = (a, c.line)
                    break
            if caller:
                break
        if caller is None:
            for o in others:
                if base in o.text:
                    ln = next((i for i, t in enumerate(o.lines, 1) if base in t), 1)
                    caller = (o, ln)
                    break
        if caller is None:
            continue
        yield Result.fail(
            f"{art.path}: gate script cannot fail: it reports `{printed_text(failure)[:50]}` but always exits 0, "
            f"so {caller[0].path} relies on a status that never changes",
            art.evidence(failure.line, note="failure only printed"),
            caller[0].evidence(caller[1], note="runs it as a gate"),
            subject=art.path,
        )
