"""Deploy, setup and backup scripts: strict mode, traps and cleanup."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

from chom_validate.api import Context as ScanContext
from chom_validate.artifacts import Artifact
from chom_validate.artifacts.shell import Command
from chom_validate.facts.anchors import first_code_line, script_setup
from chom_validate.facts.shell_program import is_library, library_callers, set_flags
from chom_validate.findings import Evidence, Result
from chom_validate.registry import check

from ._deploy_util import (
    LONG_RUNNING_NAME,
    effective_commands,
    is_printer,
    ops_scripts,
    sourced_functions,
    var_refs,
)
from ._deploy_util import OPS_NAME as _OPS_NAME
from ._shell_semantics_util import MUTATING

__all__ = ["is_library"]


_TEST_DIR = re.compile(r"(^|/)(tests?|testdata|e2e|fixtures?)/")


@check("DEP001", "strict-mode", category="deploy", severity="high", pillar="reliability")
def strict_mode(ctx: ScanContext) -> Iterator[Result]:
    """Scripts run in strict mode (`set -euo pipefail`) and never switch it off for good.

    What it does
        For every shell script, finds `set -e`, `set -u` and `set -o pipefail` (or the shebang
        `#!/bin/bash -e` form) before the first real command, and reports a later `set +e`,
        `set +u` or `set +o pipefail` that is never switched back on. POSIX `sh` scripts need
        `-e` and `-u` (pipefail is not POSIX). Sourced libraries inherit the caller's mode.
        Missing errexit is high in operational scripts (deploy, install, setup, backup...) and low
        elsewhere (build helpers, best-effort cleanup); with errexit on, a missing `-u` is not
        reported, and a missing pipefail only for deploy/backup jobs (low), since masked pipelines
        are reported where they matter by DEP030.
    Why it matters
        Without `-e` a failed step (a download, a migration) is ignored and the script carries on
        deploying a half-configured host; without `pipefail` `curl ... | tar x` hides a failed
        download; without `-u` an unset variable expands to empty, turning `rm -rf "$DIR/"` into
        `rm -rf /`.
    Example
        #!/usr/bin/env bash
        set -uo pipefail        # -e missing: a failed step does not stop the deploy
    Fix
        Put `set -euo pipefail` right after the shebang. Where a command may fail on purpose,
        use `cmd || true` or `if cmd; then` rather than `set +e`.
    References
        https://www.gnu.org/software/bash/manual/html_node/The-Set-Builtin.html
        https://www.shellcheck.net/wiki/SC2039
    Severity
        High: without errexit a failed step (download, migration) is ignored and the script goes on
        switching a half-built release into production; outside operational scripts it is reported low.
    """
    scripts = ctx.parsed("shell")
    if not scripts:
        yield Result.not_applicable("no shell scripts found")
        return
    for art, script in scripts:
        if art.embedded:
            continue  # generated scripts: DEP039 judges their error handling
        if _TEST_DIR.search(art.path):
            continue  # test harness scripts are not deployment artifacts
        if is_library(script, art) or library_callers(ctx, art):
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
                for flag, on in set_flags(cmd.words):
                    if flag not in ("e", "u", "pipefail"):
                        continue
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
        long_job = bool(LONG_RUNNING_NAME.search(art.path.rsplit("/", 1)[-1]))
        ops = bool(_OPS_NAME.search(art.path.rsplit("/", 1)[-1]))
        if missing and "e" in missing and not ops:
            steps = [
                c
                for c in script.commands
                if MUTATING.match(c.name.rsplit("/", 1)[-1])
                and not c.errexit_suppressed
                and "||" not in c.logical
            ]
            if len(steps) < 3:
                # a helper with nothing to abort half-way: errexit would change nothing that matters
                yield Result.passed(
                    f"{art.path}: no errexit, but fewer than 3 unchecked state-changing steps",
                    art.evidence(1),
                    subject=art.path,
                )
                continue
        if missing and "e" not in missing and (not long_job or missing == ["u"]):
            # errexit is on: -u and pipefail are hardening the script's authors may reasonably skip
            # (masked pipelines are reported by DEP030 where they matter); policy, not a defect
            yield Result.passed(
                f"{art.path}: errexit on (`set -e`); {', '.join(missing)} not set",
                art.evidence(min(where.values())),
                subject=art.path,
            )
            continue
        late = sorted(f for f in need if state.get(f) and first_cmd_line and where.get(f, 0) > first_cmd_line)
        flags_txt = "set -eu" if posix else "set -euo pipefail"
        if missing:
            first = first_code_line(art)
            ev = (
                art.evidence(min(where.values()))
                if where
                else art.evidence(
                    first,
                    note=f"no strict-mode `set` in the script: `{flags_txt}` belongs before this first command",
                )
                if first is not None
                else art.evidence(None, note="no strict-mode `set` in the script")
            )
            # Missing errexit matters most in operational scripts; elsewhere (build helpers,
            # best-effort cleanup) it is a policy choice: low.
            sev = "high" if "e" in missing and ops else "low"
            yield Result.fail(
                f"{art.path}: strict mode incomplete, missing {', '.join('-' + f if len(f) == 1 else f for f in missing)} "
                f"(want `{flags_txt}`)",
                ev,
                subject=art.path,
                severity=sev,
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
        elif late and ops:
            yield Result.fail(
                f"{art.path}: strict mode set only after commands already ran (line "
                f"{where[late[0]] + art.line_offset})",
                art.evidence(where[late[0]]),
                art.evidence(first_cmd_line, note="first command runs without strict mode"),
                subject=art.path,
                severity="high" if ops else "low",
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
    Severity
        Medium: a failed run leaves locks, temp files and no failing line behind; the next run needs
        manual cleanup, but nothing breaks by itself.
    """
    seen = False
    for art, script in ctx.parsed("shell"):
        if art.embedded:
            continue
        tmp_vars = [n for n, v, _ in script.assignments if "mktemp" in v]
        # temp files removed explicitly on the normal path need no trap to be tidy
        leaked = [
            v
            for v in tmp_vars
            if not any(c.name == "rm" and re.search(rf"\$\{{?{v}\b", c.text) for c in script.commands)
        ]
        long_job = bool(LONG_RUNNING_NAME.search(art.path.rsplit("/", 1)[-1]))
        if not (long_job or leaked) or is_library(script, art):
            continue
        seen = True
        traps = [c for c in script.commands if c.words[:1] == ["trap"] and len(c.words) >= 3]
        useful = [c for c in traps if {"ERR", "EXIT", "INT", "TERM", "0"} & {w.upper() for w in c.words[2:]}]
        if not useful:
            yield Result.fail(
                f"{art.path}: no ERR/EXIT trap; a failure leaves locks, temp files and a "
                "half-applied change behind",
                _missing_setup(art, "no `trap ... ERR|EXIT` in the script"),
                subject=art.path,
                severity=None if long_job else "low",
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


def _missing_setup(art: Artifact, what: str) -> Evidence:
    """Evidence for a script-wide setting the script lacks: its setup lines (after the strict-mode
    ``set``, else before the first command), or the file without a line when it has no code."""
    line, where = script_setup(art)
    return (
        art.evidence(line, note=f"{what}; it {where}") if line is not None else art.evidence(None, note=what)
    )


def _first(
    pairs: list[tuple[Artifact, Command]], pred: Callable[[Command], bool]
) -> tuple[Artifact, Command] | None:
    return next(((a, c) for a, c in pairs if pred(c)), None)


@check("DEP003", "concurrency-lock", category="deploy", severity="medium", pillar="reliability")
def concurrency_lock(ctx: ScanContext) -> Iterator[Result]:
    """Deploy and backup scripts take a lock so two runs cannot interleave.

    What it does
        For deploy, provision, upgrade, backup, restore and migration scripts (by name: jobs that are
        re-run or scheduled; a one-shot installer is not), looks for `flock` (directly or in a sourced library function), `mkdir` of a lock directory, `lockfile`/`lockrun`, or a
        `set -o noclobber` lock file.
    Why it matters
        Two overlapping runs (a cron backup and a manual one, two operators deploying) write the
        same files, restart services under each other and leave a mixed state behind.
    Example
        #!/usr/bin/env bash
        set -euo pipefail
        apt-get install -y nginx      # no lock anywhere: fails
    Fix
        `exec 9>/var/lock/deploy.lock; flock -n 9 || { echo "already running"; exit 1; }`
    References
        https://man7.org/linux/man-pages/man1/flock.1.html
    Severity
        Medium: two overlapping runs can leave a mixed state, but only when runs coincide; it degrades
        reliability, it is not an outage by itself.
    """
    seen = False
    for art, script in ops_scripts(ctx, long_running=True):
        seen = True
        cmds = effective_commands(ctx, art, script)
        hit = _first(
            cmds,
            lambda c: (
                c.name in ("flock", "lockfile", "lockrun", "lckdo")
                or (c.name == "mkdir" and "lock" in c.text.lower())
                or (c.name == "set" and "noclobber" in c.words)
            ),
        )
        if hit:
            yield Result.passed(
                f"{art.path}: lock via `{hit[1].name}`", hit[0].evidence(hit[1].line), subject=art.path
            )
        else:
            yield Result.fail(
                f"{art.path}: no lock against concurrent runs (flock, lock directory)",
                _missing_setup(art, "no flock/lock directory in the script"),
                subject=art.path,
            )
    if not seen:
        yield Result.not_applicable("no deploy/setup/backup scripts found")


@check("DEP004", "timestamped-log-file", category="deploy", severity="low", pillar="observability")
def log_file(ctx: ScanContext) -> Iterator[Result]:
    """Operational scripts log to a file, with timestamps.

    What it does
        For deploy, provision, upgrade, backup, restore and migration scripts (by name; one-shot
        installers are not expected to keep a log file), looks for output written to a log file (`tee -a FILE`, `>> "$LOG_FILE"`,
        `exec > >(tee -a ...)`) or sent to syslog (`logger`), and for timestamps (`date`,
        `logger`, `ts`) in the script or the library functions it sources.
    Why it matters
        After a failed 3 a.m. deploy the terminal is gone; the log file with timestamps is what
        tells the on-call engineer which step failed and when, and lines it up with the alerts.
    Example
        echo "Installing node_exporter"      # terminal only: fails
    Fix
        `log() { printf '%s %s\\n' "$(date -Is)" "$*" | tee -a "$LOG_FILE" >&2; }`
    References
        https://man7.org/linux/man-pages/man1/logger.1.html
    Severity
        Low: observability hygiene; a missing log slows the post-mortem but breaks nothing.
    """
    seen = False
    for art, script in ops_scripts(ctx, long_running=True):
        seen = True
        cmds = effective_commands(ctx, art, script)
        to_file = _first(
            cmds,
            lambda c: (
                c.name == "logger"
                or (
                    c.name == "tee"
                    and any(w in ("-a", "--append") for w in c.words)
                    and "log" in c.text.lower()
                )
                or any(op == ">>" and "log" in t.lower() for op, t in c.redirects)
                or ("exec" in c.words[:1] and "log" in c.logical.lower())
            ),
        )
        stamp = _first(
            cmds,
            lambda c: (
                c.name in ("date", "logger", "ts")
                or "date +" in c.logical
                or "$(date" in c.logical
                or (c.name == "printf" and re.search(r"%\([^)]*\)T", c.logical) is not None)  # bash builtin
            ),
        )
        if to_file and stamp:
            yield Result.passed(
                f"{art.path}: logs to a file with timestamps",
                to_file[0].evidence(to_file[1].line),
                subject=art.path,
            )
        else:
            what = "no log file" if not to_file else "log lines carry no timestamp"
            ev = (
                to_file[0].evidence(to_file[1].line)
                if to_file
                else _missing_setup(art, "no log file in the script: output goes to the terminal only")
            )
            yield Result.fail(f"{art.path}: {what}", ev, subject=art.path)
    if not seen:
        yield Result.not_applicable("no deploy/setup/backup scripts found")


_PREFLIGHT: dict[str, Callable[[Command], bool]] = {
    "root/user": lambda c: bool(re.search(r"\bEUID\b|\bid -u\b|\$UID\b|\bwhoami\b", c.logical)),
    "OS": lambda c: bool(
        re.search(r"/etc/os-release|lsb_release|/etc/debian_version|\bVERSION_ID\b", c.logical)
    ),
    "memory/disk": lambda c: c.name in ("df", "free") or "/proc/meminfo" in c.logical,
    "ports": lambda c: c.name in ("ss", "netstat", "lsof") or "/dev/tcp/" in c.logical,
    "required commands": lambda c: (
        c.words[:1] in (["hash"], ["which"])
        or c.words[:2] in (["command", "-v"], ["type", "-p"], ["type", "-P"])
    ),
}


@check("DEP005", "preflight-checks", category="deploy", severity="medium", pillar="operations")
def preflight(ctx: ScanContext) -> Iterator[Result]:
    """Deploy scripts check the host before they change it (user, OS, resources, ports, tools).

    What it does
        For deploy/provision/bootstrap/upgrade scripts, looks (in the script and the library functions it
        sources) for: a root/user check (`$EUID`, `id -u`), an OS check (`/etc/os-release`),
        a memory/disk check (`df`, `free`, `/proc/meminfo`), a port check (`ss`, `netstat`) and
        a required-commands check (`command -v`). Each missing kind is named.
    Why it matters
        A deploy that discovers half-way that the disk is full, the port is taken or `jq` is
        missing leaves the host half-configured. Checking first costs a second and fails cleanly.
    Example
        #!/usr/bin/env bash
        set -euo pipefail
        apt-get install -y prometheus      # no preflight: fails
    Fix
        Add a `preflight()` function that checks `$EUID`, `/etc/os-release`, `df`/`free`,
        `ss -ltn` for the ports to bind and `command -v` for every tool, and call it first.
    References
        https://sre.google/sre-book/reliable-product-launches/
    Severity
        Medium: without preflight a deploy can stop half-way on a full disk or taken port; re-running
        after the fix is the workaround.
    """
    seen = False
    for art, script in ops_scripts(ctx, deploy_only=True):
        seen = True
        cmds = effective_commands(ctx, art, script)
        found: dict[str, tuple[Artifact, Command]] = {}
        for kind, pred in _PREFLIGHT.items():
            hit = _first(cmds, pred)
            if hit:
                found[kind] = hit
        missing = [k for k in _PREFLIGHT if k not in found]
        if missing:
            ev = [a.evidence(c.line, note=f"{k} check") for k, (a, c) in found.items()][:3]
            what = f"no {', '.join(missing)} check"
            if found:  # the missing checks belong with the preflight checks the script has
                k0, (a0, c0) = next(iter(found.items()))
                ev[0] = a0.evidence(c0.line, note=f"{k0} check; {what}: it belongs with this one")
            else:
                ev = [_missing_setup(art, f"{what} in the script")]
            yield Result.fail(
                f"{art.path}: preflight misses {', '.join(missing)} check(s)",
                *ev,
                subject=art.path,
                missing=missing,
            )
        else:
            yield Result.passed(
                f"{art.path}: preflight checks user, OS, resources, ports and commands",
                *[a.evidence(c.line, note=f"{k} check") for k, (a, c) in found.items()],
                subject=art.path,
            )
    if not seen:
        yield Result.not_applicable("no deploy/provision scripts found")


_CONFIG_PATH = re.compile(
    r"^(/etc/|/usr/local/etc/)|\.(conf|cnf|ini|cfg|ya?ml|service|env|list|rules|json)$|/etc/"
)
_GUARD_CMDS = ("grep", "id", "getent", "test", "[", "[[")


@check("DEP006", "idempotent-steps", category="deploy", severity="medium", pillar="reliability")
def idempotency(ctx: ScanContext) -> Iterator[Result]:
    """Create and append steps are guarded, so a second run does not duplicate or fail.

    What it does
        Reports `>>` appends to configuration files (under `/etc`, `*.conf`, `*.ini`, ...)
        that are not guarded (`grep -q ... || echo ... >>`, inside an `if`), `useradd`/
        `groupadd` without an `id`/`getent` guard, `mkdir` without `-p` and `ln -s` without
        `-f` outside a guard. Logs (`>> "$LOG_FILE"`) are fine.
    Why it matters
        Deploy scripts are re-run: after a failure, for an upgrade, by someone else. An
        unguarded append adds the same line again on each run (a duplicated `Include`, cron
        line or sysctl), `useradd` fails on the second run and with `set -e` stops the deploy.
    Example
        echo "vm.swappiness=10" >> /etc/sysctl.conf        # duplicated on every run: fails
    Fix
        `grep -qxF 'vm.swappiness=10' /etc/sysctl.conf || echo 'vm.swappiness=10' >> /etc/sysctl.conf`,
        better a drop-in file written whole (`/etc/sysctl.d/60-chom.conf`); `id -u x >/dev/null 2>&1 || useradd x`.
    References
        https://en.wikipedia.org/wiki/Idempotence#Computer_science_meaning
    Severity
        Medium: a second run duplicates configuration lines or stops on an existing user; it degrades
        re-runs and upgrades, with a manual workaround.
    """
    seen = False
    for art, script in ops_scripts(ctx):
        seen = True
        bad: list[tuple[Command, str]] = []
        for c in script.commands:
            if c.guarded:
                continue
            for op, tgt in c.redirects:
                if op == ">>" and _CONFIG_PATH.search(tgt) and "log" not in tgt.lower():
                    bad.append((c, f"unguarded append to {tgt}"))
            if c.name == "tee" and any(w in ("-a", "--append") for w in c.argv):
                tgts = [w for w in c.argv[1:] if not w.startswith("-")]
                if tgts and _CONFIG_PATH.search(tgts[0]) and "log" not in tgts[0].lower():
                    bad.append((c, f"unguarded `tee -a` to {tgts[0]}"))
            if c.name in ("useradd", "groupadd", "adduser", "addgroup"):
                bad.append((c, f"`{c.name}` without an id/getent guard"))
            if c.name == "mkdir" and not any(re.match(r"^-\w*p", w) or w == "--parents" for w in c.argv[1:]):
                bad.append((c, "`mkdir` without -p"))
            if (
                c.name == "ln"
                and any(re.match(r"^-\w*s", w) for w in c.argv[1:])
                and not any(re.match(r"^-\w*f", w) for w in c.argv[1:])
            ):
                bad.append((c, "`ln -s` without -f"))
        if bad:
            c, why = bad[0]
            yield Result.fail(
                f"{art.path}: not idempotent: {why}" + (f" (+{len(bad) - 1} more)" if len(bad) > 1 else ""),
                *[art.evidence(b.line, note=w) for b, w in bad[:5]],
                subject=art.path,
            )
        else:
            state = next((c for c in script.commands if "state" in c.logical.lower() or c.guarded), None)
            yield Result.passed(
                f"{art.path}: create/append steps are guarded",
                art.evidence(state.line if state else 1, note="guards or state tracking"),
                subject=art.path,
            )
    if not seen:
        yield Result.not_applicable("no deploy/setup/backup scripts found")


_PROMISABLE = ("--dry-run", "--rollback")


@check("DEP007", "promised-flags-work", category="deploy", severity="high", pillar="reliability")
def promised_flags(ctx: ScanContext) -> Iterator[Result]:
    """A `--dry-run` or `--rollback` that the usage text promises is parsed and changes what runs.

    What it does
        Finds `--dry-run`/`--rollback` in the usage text (header comments, `usage()` output),
        then checks that the argument parser handles it (`case` arm or getopts) and that the
        arm has an effect: it calls a function, or sets a variable that some later command or
        condition reads (not only `echo`/`log`).
    Why it matters
        Operators trust `--dry-run` to change nothing. A flag that is documented but ignored,
        or only printed ("DRY RUN mode") while every step still runs, deploys to production
        from a "dry run". A `--rollback` that does nothing is found out during an outage.
    Example
        # Usage: deploy.sh [--dry-run]
        case "$1" in --dry-run) DRY_RUN=true ;; esac
        [[ $DRY_RUN == true ]] && echo "dry run"   # nothing else reads DRY_RUN: fails
    Fix
        Route every mutating command through `run() { if [[ $DRY_RUN == true ]]; then echo "+ $*"; else "$@"; fi; }`,
        and make `--rollback` call a tested `rollback` function.
    References
        https://www.gnu.org/prep/standards/html_node/Command_002dLine-Interfaces.html
    Severity
        High: operators trust --dry-run and --rollback; one that does nothing deploys to production or
        fails during an outage.
    """
    seen = False
    for art, script in ops_scripts(ctx):
        arm_lines = {f.line for f in script.flags.values()}
        for flag in _PROMISABLE:
            promise = None
            for i, ln in enumerate(art.lines, 1):
                if flag in ln and i not in arm_lines and re.search(rf"{re.escape(flag)}(?![\w-])", ln):
                    low = ln.lower()
                    if (
                        ln.lstrip().startswith("#")
                        or "usage" in low
                        or i in script.heredoc_lines
                        or "echo" in low
                        or "printf" in low
                    ):
                        promise = i
                        break
            if promise is None:
                continue
            seen = True
            f = script.flags.get(flag)
            if f is None:
                yield Result.fail(
                    f"{art.path}: usage promises {flag} but the argument parser never handles it",
                    art.evidence(promise, note="promised here"),
                    subject=f"{art.path} {flag}",
                )
                continue
            called = [
                w
                for w in re.findall(r"[A-Za-z_][\w-]*", f.body)
                if w in script.functions and not re.match(r"^(log|echo|printf|info|warn|die|usage|msg)", w)
            ]
            readers: list[int] = []
            for var, _ in f.assigns:
                for i, ln in enumerate(art.lines, 1):
                    if i == f.line or i in script.heredoc_lines:
                        continue
                    code = ln.split("#", 1)[0] if not ln.lstrip().startswith("#") else ""
                    if var not in var_refs(code) and not _arith_reads(code, var):
                        continue
                    if re.match(r"^\s*(echo|printf|log\w*|info|warn)\b", code) or re.match(
                        rf"^\s*(readonly |export |local )?{var}=", code
                    ):
                        continue
                    readers.append(i)
            if not readers:
                for var, _ in f.assigns:
                    for lib_art, _lib in sourced_functions(ctx, art).values():
                        if any(
                            var in var_refs(ln) and not re.match(r"^\s*(echo|printf|log\w*)\b|^\s*\w+=", ln)
                            for ln in lib_art.lines
                        ):
                            readers.append(f.line)
                            break
            if called or readers:
                where = readers[0] if readers else f.line
                yield Result.passed(
                    f"{art.path}: {flag} is parsed and changes what runs",
                    art.evidence(f.line, note="parsed here"),
                    art.evidence(where, note="used here"),
                    subject=f"{art.path} {flag}",
                )
            else:
                yield Result.fail(
                    f"{art.path}: {flag} is parsed but has no effect (only printed or never read)",
                    art.evidence(f.line, note="flag handled here; nothing reads what it sets"),
                    art.evidence(promise, note="promised here"),
                    subject=f"{art.path} {flag}",
                )
    if not seen:
        yield Result.not_applicable("no script promises --dry-run or --rollback")


def _arith_reads(code: str, var: str) -> bool:
    """``(( DRY_RUN ))``, ``if (( ! ROLLBACK ))``, ``$(( N + 1 ))``: bash arithmetic reads bare names."""
    return any(
        re.search(rf"(?<![\w$]){re.escape(var)}(?!\w)", body)
        and not re.search(rf"(?<![\w$]){re.escape(var)}\s*=(?!=)", body)
        for body in re.findall(r"\(\((.*?)\)\)", code)
    )


_DESTRUCTIVE = re.compile(
    r"\bartisan\s+migrate\b(?!:status)|\b(DROP|TRUNCATE)\s+(TABLE|DATABASE)\b|\bmigrate\s+--force\b|\bdb:wipe\b",
    re.I,
)
_BACKUP = re.compile(r"\b(mysqldump|mariadb-dump|pg_dump|xtrabackup|mariabackup)\b|\bbackup|\bsnapshot", re.I)


@check("DEP008", "backup-before-destructive", category="deploy", severity="high", pillar="reliability")
def backup_before_destructive(ctx: ScanContext) -> Iterator[Result]:
    """Database migrations and drops run only after a backup the rollback can restore.

    What it does
        Finds destructive steps (`artisan migrate`, `DROP/TRUNCATE TABLE|DATABASE`,
        `db:wipe`) and checks that the script (or a library function it calls) takes a backup
        (`mysqldump`, `pg_dump`, a `backup*`/`snapshot*` function) on an earlier line.
    Why it matters
        A migration that fails half-way or drops the wrong column cannot be undone without the
        dump taken just before it. Nightly backups are up to 24 h old: a deploy-time dump is the
        rollback.
    Example
        php artisan migrate --force       # no dump before: fails
    Fix
        `mysqldump --single-transaction chom | gzip > "$BACKUP_DIR/pre-deploy-$RELEASE.sql.gz"` before migrating.
    References
        https://laravel.com/docs/migrations#running-migrations
    Severity
        High: a failed or wrong migration without a fresh dump is data loss that only a day-old backup
        can partly undo.
    """
    seen = False
    for art, script in ops_scripts(ctx):
        cmds = effective_commands(ctx, art, script)
        destructive = [
            c for a, c in cmds if a is art and _DESTRUCTIVE.search(c.logical) and not is_printer(c)
        ]
        if not destructive:
            continue
        seen = True
        first = destructive[0]
        backups = [
            (a, c)
            for a, c in cmds
            if (_BACKUP.search(c.name) or c.name in ("mysqldump", "mariadb-dump", "pg_dump"))
            and (a is not art or c.line < first.line or (c.function and c.function != first.function))
        ]
        if backups:
            a, c = backups[0]
            yield Result.passed(
                f"{art.path}: backup (`{c.name}`) before `{first.name}`",
                a.evidence(c.line, note="backup"),
                art.evidence(first.line, note="destructive step"),
                subject=art.path,
            )
        else:
            yield Result.fail(
                f"{art.path}: destructive step without a backup first: {first.text[:80]}",
                art.evidence(first.line, note="no backup/dump before this"),
                subject=art.path,
            )
    if not seen:
        yield Result.not_applicable("no destructive steps (migrations, drops) in deploy scripts")
