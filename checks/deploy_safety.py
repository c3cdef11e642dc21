"""Deploy scripts: dangerous commands (pipes to a shell, unverified downloads, rm -rf, eval, temp files)
and service restarts without a health check."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator

from chom_validate.api import Context as ScanContext
from chom_validate.artifacts import Artifact
from chom_validate.artifacts.shell import Command, ShellScript
from chom_validate.facts.shell_program import ShellProgram, recipe_scripts, shell_programs
from chom_validate.findings import Evidence, Result
from chom_validate.registry import check

from ._deploy_util import is_printer, ops_scripts


def _scripts(ctx: ScanContext) -> list[tuple[Artifact, ShellScript]]:
    return [(a, s) for a, s in ctx.parsed("shell") if not a.embedded]


def _report(
    art: Artifact, bad: list[tuple[Command, str]], ok_msg: str, bad_msg: str, *, severity: str | None = None
) -> Result:
    if bad:
        _, why = bad[0]
        more = f" (+{len(bad) - 1} more)" if len(bad) > 1 else ""
        return Result.fail(
            f"{art.path}: {bad_msg}: {why}{more}",
            *[art.evidence(b.line, note=w) for b, w in bad[:5]],
            subject=art.path,
            severity=severity,
        )
    return Result.passed(
        f"{art.path}: {ok_msg}", art.evidence(1, note="whole script inspected"), subject=art.path
    )


_PIPE_SHELL = re.compile(
    r"\b(curl|wget)\b[^|;&]*\|\s*(sudo\s+(-\S+\s+)*)?((ba|z|da)?sh|php\d*|python[\d.]*|perl|ruby|node)\b|"
    r"\b(ba)?sh\s+(-s\s+)?<\(\s*(curl|wget)\b|\b(ba)?sh\s+-c\s+[\"']?\$\(\s*(curl|wget)\b"
)


@check("DEP009", "no-curl-pipe-shell", category="deploy", severity="high", pillar="security")
def curl_pipe_shell(ctx: ScanContext) -> Iterator[Result]:
    """Scripts never pipe a download straight into a shell (`curl ... | bash`).

    What it does
        Reports `curl|wget ... | sh/bash` (or `php`, `python`, `perl`, `ruby`, `node`), `bash <(curl ...)` and `sh -c "$(curl ...)"` in every
        shell script.
    Why it matters
        Whatever the server (or anyone in the middle, or a truncated transfer) sends runs as
        root, unreviewed and unverified; a connection cut half-way runs half a script.
    Example
        curl -fsSL https://get.example.sh | sudo bash
    Fix
        Download to a file, verify its checksum or signature, review it, then run it; better, use
        the distribution package.
    References
        https://www.idontplaydarts.com/2016/04/detecting-curl-pipe-bash-server-side/
    Severity
        High: unreviewed remote code runs as root, so a compromised vendor server or a truncated
        download is a breach or a broken host; it takes a compromise elsewhere first, so it is not
        critical by itself.
    """
    scripts = _scripts(ctx)
    if not scripts:
        yield Result.not_applicable("no shell scripts found")
    for art, script in scripts:
        bad, lines = [], set()
        piped: dict[str, bool] = {}  # per logical line: the commands of one pipeline share it
        for c in script.commands:
            if c.line in lines or c.name not in ("curl", "wget"):
                continue
            if c.logical not in piped:
                piped[c.logical] = bool(_PIPE_SHELL.search(c.logical))
            if piped[c.logical]:
                lines.add(c.line)
                bad.append((c, "download piped into a shell"))
        yield _report(
            art,
            bad,
            "no download piped into a shell",
            "runs a download unverified",
        )


_VERIFY = re.compile(
    r"\b(sha(1|224|256|384|512)sum|md5sum|b2sum|gpg|gpgv|cosign|minisign|signify)\b|--checksum|verify"
)
_ARTIFACT_URL = re.compile(
    r"\.(tar\.gz|tgz|tar\.xz|tar\.bz2|zip|deb|rpm|gz|bin|run|sh|jar|phar|asc|key|gpg)\b|/releases/download/"
)


def _downloads_file(c: Command) -> bool:
    if c.name == "curl":
        return any(
            w in ("-o", "-O", "--output", "--remote-name") or re.match(r"^-\w*[oO]$", w) for w in c.argv
        ) or any(op == ">" for op, _ in c.redirects)
    if c.name == "wget":
        to_stdout = any(w in ("-O-", "-qO-", "--spider") for w in c.argv) or "-" in c.argv
        return not to_stdout
    return False


@check("DEP010", "verified-downloads", category="deploy", severity="high", pillar="security")
def verified_downloads(ctx: ScanContext) -> Iterator[Result]:
    """Downloaded release artifacts are verified (checksum or signature) before use.

    What it does
        For every `curl -o`/`wget` that saves a release artifact (tarball, package, binary),
        looks for a checksum or signature verification (`sha256sum -c`, `gpg --verify`,
        `cosign`) later in the same function (or script). Each unverified download is named.
    Why it matters
        A compromised mirror, a hijacked release or a truncated transfer installs something
        other than what was reviewed, as root, on a production host.
    Example
        curl -fsSLO "https://github.com/prometheus/node_exporter/releases/download/v1.8.2/node_exporter-1.8.2.linux-amd64.tar.gz"
        tar xzf node_exporter-1.8.2.linux-amd64.tar.gz       # never verified: fails
    Fix
        Pin the expected sha256 next to the version and run
        `echo "$SHA256  $file" | sha256sum -c -` before extracting.
    References
        https://slsa.dev/spec/v1.0/threats
    Severity
        High: a tampered or truncated artifact is installed as root on a production host; likely to
        cause a breach or a broken install.
    """
    scripts = _scripts(ctx)
    if not scripts:
        yield Result.not_applicable("no shell scripts found")
    for art, script in scripts:
        bad = []
        for c in script.commands:
            piped = _piped_into_extractor(script, c)
            if not piped and not (
                _downloads_file(c) and (_ARTIFACT_URL.search(c.text) or "releases" in c.text)
            ):
                continue
            if not piped and not _used_as_install(script, c):
                continue  # saved for comparison or reading, never installed or run
            if not _verified_after(script, c):
                what = f"`{c.name}` piped into `{piped}`" if piped else f"`{c.name}` download"
                bad.append((c, f"{what} never verified"))
        yield _report(art, bad, "downloads are verified", "unverified download")


def _saved_name(c: Command) -> str | None:
    args = c.argv[1:]
    for i, w in enumerate(args):
        if w in ("-o", "-O", "--output", "--output-document") and i + 1 < len(args):
            return args[i + 1].rsplit("/", 1)[-1]
    urls = [w for w in args if "://" in w]
    return urls[0].rsplit("/", 1)[-1] if urls else None


def _verified_after(script: ShellScript, c: Command) -> bool:
    """A checksum/signature step that names the saved file, or follows within a few lines."""
    name = _saved_name(c)
    if "pipeline" in c.contexts:
        name = None
    rng = script.functions.get(c.function or "", (c.line, len(script.lines)))
    for o in script.commands:
        if not (c.line <= o.line <= rng[1]) or o.function != c.function or is_printer(o):
            continue
        if not _VERIFY.search(o.logical):
            continue
        near = o.line - c.end_line <= 6
        names_it = bool(name) and name is not None and (name in o.logical or "$" in name)
        if near or names_it or (c.function is not None and name is None):
            return True
    return False


def _piped_into_extractor(script: ShellScript, c: Command) -> str | None:
    """`curl URL | tar x -C /usr/local/bin`: a download unpacked straight into a system directory."""
    if c.name not in ("curl", "wget") or "pipeline" not in c.contexts:
        return None
    for o in script.commands:
        if o.line == c.line and "pipeline_last" in o.contexts and o.name in ("tar", "bsdtar"):
            dest = next((o.argv[i + 1] for i, w in enumerate(o.argv[:-1]) if w in ("-C", "--directory")), "")
            if re.match(r"^/(usr|opt|bin|sbin|lib|etc)\b", dest):
                return o.name
    return None


_INSTALLS = (
    "tar",
    "unzip",
    "install",
    "mv",
    "cp",
    "chmod",
    "dpkg",
    "rpm",
    "apt-get",
    "apt",
    "sh",
    "bash",
    "gunzip",
    "php",
    "python3",
)


def _used_as_install(script: ShellScript, c: Command) -> bool:
    """The saved file is later unpacked, installed, made executable or run (or saved into a system path)."""
    name = _saved_name(c)
    args = c.argv[1:]
    out = next(
        (args[i + 1] for i, w in enumerate(args[:-1]) if w in ("-o", "--output", "-O", "--output-document")),
        "",
    )
    if re.match(r"^/(usr|opt|bin|sbin|lib|etc)\b", out):
        return True
    if not name or ("$" in name and not out):
        return True  # cannot tell: keep the conservative reading
    for o in script.commands:
        if o.line <= c.line or name not in o.text:
            continue
        if o.name in _INSTALLS or o.name.endswith(name) or o.name.startswith("./"):
            return True
    return False


def _world_writable(mode: str) -> bool:
    if re.fullmatch(r"0?[0-7]{3,4}", mode):
        return int(mode[-1]) & 2 != 0
    return bool(re.search(r"(^|,)[ao]*[ao]\+[rwxXst]*w|(^|,)\+[rx]*w", mode))


@check("DEP011", "no-world-writable", category="deploy", severity="high", pillar="security")
def world_writable(ctx: ScanContext) -> Iterator[Result]:
    """Scripts never make files or directories world-writable (`chmod 777`, `o+w`).

    What it does
        Reports `chmod`, `install -m` and `mkdir -m` with a mode that grants write to others
        (`777`, `666`, `o+w`, `a+w`).
    Why it matters
        Any local user or compromised service (PHP-FPM, a queue worker) can then replace code,
        config or scripts that root runs later: a local privilege escalation waiting to happen.
    Example
        chmod -R 777 /var/www/chom/storage
    Fix
        Give ownership to the service user and use `775`/`755` for directories, `664`/`644` for
        files (`chown -R www-data:www-data storage; chmod -R ug+rwX,o-w storage`).
    References
        https://cwe.mitre.org/data/definitions/732.html
    Severity
        High: any local user or compromised service can replace code or config that root runs later, a
        likely privilege escalation.
    """
    scripts = _scripts(ctx)
    if not scripts:
        yield Result.not_applicable("no shell scripts found")
    for art, script in scripts:
        bad = []
        for c in script.commands:
            args = c.argv[1:]
            mode = None
            if c.name == "chmod":
                mode = next((a for a in args if not a.startswith("-") or re.match(r"^-[rwx]+$", a)), None)
            elif c.name in ("install", "mkdir"):
                for i, a in enumerate(args):
                    if a in ("-m", "--mode") and i + 1 < len(args):
                        mode = args[i + 1]
                    elif a.startswith(("-m", "--mode=")) and len(a) > 2:
                        mode = a.split("=", 1)[-1] if "=" in a else a[2:]
            if mode and "$" not in mode and _world_writable(mode):
                bad.append((c, f"`{c.name} {mode}` is world-writable"))
        yield _report(art, bad, "no world-writable modes", "world-writable file mode")


def _rm_rf(c: Command) -> bool:
    if c.name != "rm":
        return False
    flags = "".join(w[1:] for w in c.argv[1:] if w.startswith("-") and not w.startswith("--"))
    long = [w for w in c.argv[1:] if w.startswith("--")]
    return ("r" in flags.lower() or "--recursive" in long) and ("f" in flags or "--force" in long)


@check("DEP012", "rm-rf-guarded", category="deploy", severity="high", pillar="reliability")
def rm_rf_guarded(ctx: ScanContext) -> Iterator[Result]:
    """`rm -rf` never runs on a path built from an unguarded, possibly empty variable.

    What it does
        For every `rm -rf` (in scripts and in Makefile recipes), looks at path arguments that
        start with a variable. The variable is fine when written `${VAR:?}`, when it holds
        `$(mktemp ...)`, or when the script assigns it a literal constant; otherwise (command
        output, environment) it is reported. A function's positional parameter (`$1`, or
        `local dir=$1`) is followed to every call site, through `"$@"` forwarding: a call that
        passes nothing, an empty string, or a variable that can be empty (unset environment
        variable without `set -u`, command output, the script's own `$1`) is the finding, with
        the call site as second evidence; an emptiness test in the function guards it.
    Why it matters
        `rm -rf "$APP_DIR/"*` with `APP_DIR` empty (a typo, a failed `cd`, a missing argument)
        is `rm -rf /*`. Steam's installer deleted users' home directories this way.
    Example
        cleanup_release() { rm -rf "$1/"*; }
    Fix
        `rm -rf "${RELEASE_DIR:?}/"*` aborts with a message when the variable is empty or unset.
    References
        https://github.com/valvesoftware/steam-for-linux/issues/3671
        https://www.shellcheck.net/wiki/SC2115
    Severity
        High: an empty variable turns the command into `rm -rf /*`, likely data loss on the day it
        happens.
    """
    # Makefile recipes are shell too (`make clean` runs `rm -rf $(BUILD)/*`): those with an rm
    scripts = _scripts(ctx) + [(a, s) for a, s in recipe_scripts(ctx) if any(_rm_rf(c) for c in s.commands)]
    if not scripts:
        yield Result.not_applicable("no shell scripts found")
    programs = shell_programs(ctx)
    for art, script in scripts:
        bad: list[tuple[Command, str, list[Evidence]]] = []
        progs = [p for p in programs if any(a is art for a, _ in p.units)]
        for c in script.commands:
            if not _rm_rf(c):
                continue
            for a in c.argv[1:]:
                m = re.match(r"^\$\{?([A-Za-z_][A-Za-z0-9_]*|[0-9@*])(:?[?])?\}?(.*)$", a)
                if not m or m.group(2):
                    continue
                var, rest = m.group(1), m.group(3)
                loop_src = _loop_source(script, c, var)
                if loop_src is not None:
                    # `for old in $(ls "$DIR"/*)`: the danger is DIR, the loop variable is never empty
                    inner = re.search(r"\$\{?([A-Za-z_]\w*)\}?\"?/", loop_src)
                    if inner and _may_be_empty(script, c, inner.group(1)):
                        bad.append(
                            (
                                c,
                                f"`rm -rf {a}` over `{loop_src[:40]}` with ${inner.group(1)} possibly empty",
                                [],
                            )
                        )
                        break
                    continue
                # `rm -rf "$X"` with X empty removes nothing; `"$X/"*` or `$X/sub` becomes `/...`
                if not rest.startswith(("/", "*")):
                    continue
                param = _parameter(progs, c, var)
                if param is not None:
                    hit = _empty_argument(progs, script, c, var, param, a)
                    if hit is not None:
                        bad.append(hit)
                        break
                    continue
                if _may_be_empty(script, c, var):
                    bad.append((c, f"`rm -rf {a}` with ${var} possibly empty", []))
                    break
        if not bad:
            yield _report(art, [], "rm -rf paths are guarded", "dangerous rm -rf")
            continue
        why = bad[0][1]
        more = f" (+{len(bad) - 1} more)" if len(bad) > 1 else ""
        yield Result.fail(
            f"{art.path}: dangerous rm -rf: {why}{more}",
            *[ev for b, w, extra in bad[:5] for ev in (art.evidence(b.line, note=w), *extra)],
            subject=art.path,
        )


def _parameter(progs: list[ShellProgram], c: Command, var: str) -> int | None:
    """N when ``var`` in ``c`` is its function's positional parameter N (`$1`, `local d=$1`)."""
    if c.function is None or var in ("@", "*"):
        return None
    if var.isdigit():
        return int(var)
    return next((n for p in progs if (n := p.parameter_alias(c.function, var)) is not None), None)


@functools.lru_cache(maxsize=256)
def _guard_re(names: tuple[str, ...]) -> re.Pattern[str]:
    alts = "|".join(re.escape(n) for n in names)
    return re.compile(rf"-[nzdefs]\s+\"?\$\{{?({alts})\b|\$\{{({alts}):[?=]")


def _guarded_in(cmds: list[Command], names: list[str]) -> bool:
    """An emptiness/existence test or `${X:?}` on one of ``names`` among ``cmds``."""
    guard = _guard_re(tuple(names))
    return any(guard.search(x.text) for x in cmds)


def _empty_argument(
    progs: list[ShellProgram], script: ShellScript, c: Command, var: str, n: int, word: str
) -> tuple[Command, str, list[Evidence]] | None:
    """Interprocedural: the call site that can pass an empty or missing ``$n`` to ``c``'s function."""
    fn = c.function
    assert fn is not None
    body = [x for x in script.commands if x.function == fn and x.line < c.line]
    if _guarded_in(body, [str(n), var]):
        return None
    calls = [(p, ca, call, w) for p in progs for ca, call, w in p.positional_arguments(fn, n)]
    if not calls:
        return (c, f"`rm -rf {word}` in `{fn}` with ${n} possibly empty (no caller passes it)", [])
    for prog, ca, call, w in calls:
        reason = _argument_may_be_empty(prog, ca, call, w, 0)
        if reason is None:
            continue
        passed = f"`{call.text.strip()[:60]}`"
        return (
            c,
            f"`rm -rf {word}` in `{fn}`: {passed} at {ca.path}:{call.line + ca.line_offset} passes ${n} "
            f"{reason}, so the command becomes `rm -rf /{word.split('/', 1)[-1] if '/' in word else ''}`",
            [ca.evidence(call.line, note=f"${n} {reason}")],
        )
    return None


_WORD_VAR = re.compile(r"\$\{?([A-Za-z_]\w*|[0-9])(?:(:?[-=?+])([^}]*))?\}?")
_NON_EMPTY_SUBST = re.compile(r"^\$\((\s*(mktemp|pwd|dirname|date|realpath|readlink)\b|\s*cd\s)")
_ALWAYS_SET = frozenset({"HOME", "PWD", "USER", "PATH", "HOSTNAME", "UID", "EUID", "SHELL", "BASH_SOURCE"})


def _argument_may_be_empty(
    prog: ShellProgram, art: Artifact, call: Command, word: str | None, depth: int
) -> str | None:
    """Why the word a call passes can be empty or missing (a short phrase), or None when it cannot
    or the model does not know enough to say so."""
    if word is None:
        return "not at all (missing argument)"
    if word in ("", '""', "''"):
        return "as an empty string"
    m = _WORD_VAR.fullmatch(word)
    if m is None:
        return None  # literal text in the word: never empty (or not a simple variable: unknown)
    name, op, default = m.group(1), m.group(2), m.group(3) or ""
    if op in ("?", ":?", "+", ":+") or (op and default.strip("\"'")):
        return None
    if name in _ALWAYS_SET:
        return None
    if name.isdigit():
        if call.function is None:
            if prog.nounset_at(art, call):
                return None  # `set -u`: a missing script argument aborts before the call
            return f"from the script's own ${name}, empty when it is run without arguments"
        if depth >= 3:
            return None
        for ca, c2, w2 in prog.positional_arguments(call.function, int(name)):
            if (r := _argument_may_be_empty(prog, ca, c2, w2, depth + 1)) is not None:
                return f"from `{call.function}`'s ${name}, which {c2.text.strip()[:40]!r} passes {r}"
        return None
    script = next(s for a, s in prog.units if a is art)
    if _loop_source(script, call, name) is not None:
        return None
    all_cmds = [x for _a, x in prog.commands()]
    if _guarded_in(all_cmds, [name]):
        return None
    reader = next((c for c in all_cmds if c.name == "read" and name in c.argv[1:]), None)
    if reader is not None:
        return f"from ${name}, read from input at line {reader.line} (empty on an empty answer or line)"
    assigns = [
        x for x in prog.assignments if x.name == name and (x.function is None or x.function == call.function)
    ]
    if not assigns:
        if prog.nounset_at(art, call):
            return None
        return f"from ${name}, which the script never sets (empty when the environment lacks it)"
    for x in assigns:
        v = x.value.strip()
        val = v.strip("'\"")
        if not val:
            return f"from ${name}, assigned empty at {x.artifact.path}:{x.line + x.artifact.line_offset}"
        if val.startswith("$(") and not _NON_EMPTY_SUBST.match(val):
            return (
                f"from ${name}, command output (`{val[:40]}` at line {x.line + x.artifact.line_offset}) "
                "that can be empty"
            )
        if (
            _WORD_VAR.fullmatch(val)
            and depth < 3
            and (r := _argument_may_be_empty(prog, x.artifact, call, val, depth + 1)) is not None
        ):
            return r
    return None


_EXTERNAL = re.compile(r"\$\{?([1-9@*]|OPTARG|REPLY)\b|\$\((curl|wget|cat)\b")


def _loop_source(script: ShellScript, c: Command, var: str) -> str | None:
    """The word list of the `for VAR in ...` loop around ``c``, if VAR is its loop variable."""
    for ln in range(c.line, max(0, c.line - 30), -1):
        m = re.match(rf"^\s*for\s+{re.escape(var)}\s+in\s+(.*?)(;\s*do)?\s*$", script.logical_line(ln))
        if m:
            return m.group(1)
    return None


def _may_be_empty(script: ShellScript, c: Command, var: str) -> bool:
    """Can ``$var`` be empty or unset when ``c`` runs? False when every assignment gives a
    non-empty value (literal, default, mktemp), an emptiness test guards it, or (for `$1`) every
    caller of the function passes a non-empty word."""
    if var.isdigit():
        if c.function is None:
            return True
        calls = [x for x in script.commands if x.words[:1] == [c.function]]
        n = int(var)
        return not calls or any(len(x.words) <= n or x.words[n] in ("", '""') for x in calls)
    assigns = [(v, ln) for name, v, ln in script.assignments if name == var]
    if not assigns:
        return True
    for v, _ in assigns:
        val = v.strip("'\"")
        if not val or (
            val.startswith("$") and not val.startswith("$(mktemp") and not re.search(r":[-=][^}]+\}", val)
        ):
            # a value from another variable or command: safe only if a guard tests it
            break
    else:
        return False
    guard = re.compile(
        rf"(-[nzdefs]\s+\"?\$\{{?{re.escape(var)}\b|\$\{{{re.escape(var)}:[?]|\$\{{{re.escape(var)}:=)"
    )
    # a guard anywhere counts: functions defined early are called after the script's own checks
    return not any(guard.search(x.text) for x in script.commands)


@check("DEP013", "no-eval-external-input", category="deploy", severity="high", pillar="security")
def eval_external(ctx: ScanContext) -> Iterator[Result]:
    """`eval` is never applied to external input (arguments, downloads, `read`).

    What it does
        Reports `eval` whose arguments contain positional parameters, `$OPTARG`, `$REPLY`,
        `$(curl ...)`, or a variable assigned from one of those or from `read`.
    Why it matters
        `eval "$1"` runs whatever the caller (or a crafted file name, or a compromised server)
        passes, with the script's privileges: command injection as root.
    Example
        eval "$EXTRA_ARGS"          # EXTRA_ARGS=$2
    Fix
        Use arrays (`args=("$@"); cmd "${args[@]}"`) or a `case` over allowed values.
    References
        https://cwe.mitre.org/data/definitions/95.html
        https://mywiki.wooledge.org/BashFAQ/048
    Severity
        High: command injection with the script's privileges (often root) from whoever controls the
        input.
    """
    scripts = _scripts(ctx)
    if not scripts:
        yield Result.not_applicable("no shell scripts found")
    for art, script in scripts:
        tainted = {n for n, v, _ in script.assignments if _EXTERNAL.search(v)}
        tainted |= {
            w for c in script.commands if c.name == "read" for w in c.argv[1:] if not w.startswith("-")
        }
        bad = []
        for c in script.commands:
            if c.name != "eval":
                continue
            rest = " ".join(c.argv[1:])
            refs = set(re.findall(r"\$\{?([A-Za-z_]\w*)", rest))
            external = _EXTERNAL.search(rest)
            if external and c.function is not None and re.fullmatch(r"\$\{?[1-9]", external.group(0)):
                external = None  # a function's own argument: what its callers pass, not user input
            if external or refs & tainted:
                bad.append((c, "eval of external input"))
        yield _report(art, bad, "no eval of external input", "command injection risk")


_FIXED_TMP = re.compile(r"^(/tmp|/var/tmp|/dev/shm)/[^$\s]+$")


@check("DEP014", "mktemp-temp-files", category="deploy", severity="medium", pillar="security")
def temp_files(ctx: ScanContext) -> Iterator[Result]:
    """Temporary files come from `mktemp`, not fixed names in /tmp.

    What it does
        Reports commands that write to (redirect into, download to, extract into) a fixed path
        under `/tmp`, `/var/tmp` or `/dev/shm`.
    Why it matters
        A fixed name in a world-writable directory can be pre-created or symlinked by any local
        user (root then overwrites `/etc/shadow` through the link), and two runs clobber each
        other's files.
    Example
        curl -o /tmp/node_exporter.tar.gz "$URL"
    Fix
        `tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT; curl -o "$tmp/node_exporter.tar.gz" "$URL"`
    References
        https://cwe.mitre.org/data/definitions/377.html
    Severity
        Medium: a local attacker or a concurrent run can pre-create or clobber the file; it needs local
        access or bad timing, so it degrades security rather than exposing it outright.
    """
    scripts = _scripts(ctx)
    if not scripts:
        yield Result.not_applicable("no shell scripts found")
    for art, script in scripts:
        bad = []
        for c in script.commands:
            targets = [t for op, t in c.redirects if op in (">", ">>")]
            if c.name in ("curl", "wget", "tar", "cp", "mv", "tee", "touch", "unzip"):
                targets += [w for w in c.argv[1:] if not w.startswith("-")]
            hit = next((t for t in targets if _FIXED_TMP.match(t)), None)
            if hit:
                bad.append((c, f"fixed temp path {hit}"))
        yield _report(art, bad, "temporary files come from mktemp", "predictable temp file")


_RESTART = re.compile(
    r"\b(systemctl\s+(\S+\s+)*(restart|reload-or-restart|try-restart|start)|service\s+\S+\s+(restart|start))\b"
)
_HEALTH = re.compile(
    r"health|/-/(ready|healthy)|\bis-active\b|\bwait_for|\bverify|smoke|\bnc\s+-z\b|/ping\b|/ready\b|/status\b",
    re.I,
)


@check("DEP015", "health-check-after-restart", category="deploy", severity="medium", pillar="reliability")
def health_after_restart(ctx: ScanContext) -> Iterator[Result]:
    """Deploy scripts verify that a restarted service is healthy before declaring success.

    What it does
        For each `systemctl restart|start` / `service X restart` in a deploy/provision script,
        looks for a health check after it: `systemctl is-active`, a `curl` to a health or
        readiness endpoint, `nc -z`, or a function named like `health`/`verify`/`wait_for`.
    Why it matters
        `systemctl restart` returns as soon as the process is forked. A config typo that makes
        Prometheus exit two seconds later still ends in "Deployment complete" and a silent
        monitoring outage.
    Example
        systemctl restart prometheus
        log "done"                           # nothing checks it came up: fails
    Fix
        `systemctl restart prometheus && wait_for_http http://127.0.0.1:9090/-/ready 30`
    References
        https://www.freedesktop.org/software/systemd/man/systemctl.html#is-active%20PATTERN%E2%80%A6
    Severity
        Medium: a service that fails after restart is reported as deployed and found later by monitoring
        or users; a delay in detection, not an outage by itself.
    """
    seen = False
    for art, script in ops_scripts(ctx, deploy_only=True):
        restarts = [
            c for c in script.commands if c.name in ("systemctl", "service") and _RESTART.search(c.text)
        ]
        if not restarts:
            continue
        seen = True
        last = restarts[-1]
        # functions called after the last restart run after it too
        later_funcs = {c.name for c in script.commands if c.line > last.line and c.name in script.functions}
        checks = [
            c
            for c in script.commands
            if not is_printer(c)
            and c is not last
            and _HEALTH.search(c.text)
            and not _IGNORED.search(c.logical)
            and (c.line > last.line or c.function in later_funcs)
        ]
        if checks:
            yield Result.passed(
                f"{art.path}: services are health-checked after restart",
                art.evidence(checks[0].line, note="health check"),
                subject=art.path,
            )
        else:
            yield Result.fail(
                f"{art.path}: `{last.text[:60]}` with no health check afterwards",
                art.evidence(last.line, note="restart not verified"),
                subject=art.path,
            )
    if not seen:
        yield Result.not_applicable("no service restarts in deploy scripts")


_IGNORED = re.compile(r"\|\|\s*(true|:|echo\b|log\w*\b|warn\b|printf\b)|;\s*true\s*$")


@check("DEP016", "health-check-exit-code", category="deploy", severity="high", pillar="reliability")
def health_exit_ignored(ctx: ScanContext) -> Iterator[Result]:
    """A failing health check fails the deploy: its exit code is not swallowed.

    What it does
        Finds health checks (`curl` to `/health`, `/-/ready`..., `systemctl is-active`, calls
        to `*health*`/`verify*` functions) whose failure is swallowed by `|| true`, `|| :` or
        `|| echo/log ...` (warning and carrying on).
    Why it matters
        A health check that cannot fail the deploy is decoration: the script reports success,
        the pipeline goes green and the outage is found by users.
    Example
        curl -fsS http://127.0.0.1:8080/health || true
    Fix
        Let it fail (`set -e`), or `|| { log_error "health check failed"; rollback; exit 1; }`.
    References
        https://sre.google/workbook/canarying-releases/
    Severity
        High: a health check that cannot fail lets a broken release go green and stay in production, a
        likely outage.
    """
    scripts = _scripts(ctx)
    seen = False
    for art, script in scripts:
        bad = []
        found = False
        for c in script.commands:
            if is_printer(c) or c.name in ("true", ":"):
                continue
            is_health = (
                (c.name in ("curl", "wget") and _HEALTH.search(c.text))
                or (c.name == "systemctl" and "is-active" in c.words)
                or bool(re.search(r"health|verify|^wait_for", c.name, re.I))
            )
            if not is_health:
                continue
            found = True
            if _IGNORED.search(c.logical) and not re.match(r"^\s*(if|while|until)\b", c.logical):
                bad.append((c, "failure ignored"))
        if found:
            seen = True
            yield _report(art, bad, "health-check failures stop the script", "health-check exit code ignored")
    if not seen:
        yield Result.not_applicable("no health checks in shell scripts")
