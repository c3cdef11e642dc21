"""Shell value and status flow: detected values written unchecked, security steps whose failure is
ignored, and installs that float with whatever upstream publishes.

Built on the shell-program model (``chom_validate.facts.shell_program``): assignments across the
sourced libraries, wrapper functions, the set -e state at each line.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from chom_validate.api import Context as ScanContext
from chom_validate.artifacts import Artifact
from chom_validate.artifacts.shell import Command
from chom_validate.facts.inputs import ShellcheckFacts
from chom_validate.facts.shell_program import Assignment, ShellProgram
from chom_validate.findings import Result
from chom_validate.registry import check

from ._shell_semantics_util import _ok, _programs, indent, shellcheck_agrees

_VAR = re.compile(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)")

# ---- DEP048: detected values --------------------------------------------------------------------
# Commands that detect the host's addresses or resolvers: their output is empty on a host that lacks
# what they look for (no global IPv4, an IPv6-only resolv.conf, a lookup service down).
_DETECT = re.compile(
    r"\bip\s+(?:-[46o]\s+|-\w+\s+)*(?:addr|address|a|route|r|-br\s+a)\b"
    r"|\bhostname\s+(?:-I|-i|--all-ip-addresses|--ip-address)\b"
    r"|\bifconfig\b"
    r"|resolv[._]conf\b"
    r"|\bdig\b[^|)]*\b(?:myip|myaddr|whoami)\b"
    r"|\b(?:curl|wget)\b[^|)]*\b(?:ifconfig\.(?:me|co)|icanhazip|ipify|ipinfo\.io|seeip|checkip|ident\.me"
    r"|dynupdate|myip|ip\.sb|ipecho|api\.ip)"
)
_NON_INTERACTIVE = re.compile(
    r"^(?:NON_?INTERACTIVE\w*|\w*UNATTENDED\w*|HEADLESS|AUTO_?INSTALL|BATCH_?MODE)$", re.I
)
_STOPS = re.compile(r"\b(?:exit|return\s+[1-9]|die|fatal|abort|read|\w*_(?:fatal|die|abort|error)|error)\b")
_GROUP_CLOSE = re.compile(r"^\s*\}\s*(>>?)\s*(\S+)")
_SEPARATOR = re.compile(r"^\s*(?:;;|else\b|elif\b|[^()#\s][^()]*\)\s*$)")
_CLOSER = re.compile(r"^\s*(?:esac|fi|done)\b")


def _is_file_target(t: str) -> bool:
    t = t.strip("\"'")
    return (
        bool(t) and not t.startswith(("/dev/", "&")) and not re.search(r"(?i)(\.log\b|log_?file|\blog\b)", t)
    )


@dataclass
class _Write:
    art: Artifact
    line: int
    target: str
    start: int  # the line of the command that writes (heredoc operator, echo)


def _writes_of(prog: ShellProgram) -> dict[str, list[_Write]]:
    """Variable name -> lines where its value is written into a file (an unquoted heredoc with a
    target, `echo/printf ... > f`, `echo ... | tee f`, an echo inside `{ ...; } > f`)."""
    out: dict[str, list[_Write]] = {}

    def add(art: Artifact, ln: int, text: str, target: str, start: int) -> None:
        for m in _VAR.finditer(text):
            lst = out.setdefault(m.group(1), [])
            if not any(w.art is art and w.line == ln for w in lst):
                lst.append(_Write(art, ln, target, start))

    for art, script in prog.units:
        for h in script.heredocs:
            if h.quoted:
                continue
            m = re.search(r"(?:>>?|\btee\s+(?:-a\s+)?)\s*(\S+)", h.command)
            tgt = m.group(1) if m else h.target
            if not tgt or not _is_file_target(tgt):
                continue
            for ln in range(h.body_start, h.body_end + 1):
                add(art, ln, art.line_text(ln), tgt, h.line)
        groups: list[tuple[int, int, str]] = []
        for i, text in enumerate(art.lines, 1):
            m = _GROUP_CLOSE.match(text)
            if not m or not _is_file_target(m.group(2)):
                continue
            ind = indent(art, i)
            for j in range(i - 1, max(0, i - 120), -1):
                t = art.line_text(j)
                if indent(art, j) == ind and t.rstrip().endswith("{"):
                    groups.append((j, i, m.group(2)))
                    break
        for c in script.commands:
            if c.name not in ("echo", "printf"):
                continue
            tgt = next((t for op, t in c.redirects if op in (">", ">>") and _is_file_target(t)), None)
            if tgt is None and re.search(r"\|\s*(?:sudo\s+)?tee\s", c.logical):
                m = re.search(r"\btee\s+(?:-a\s+)?(\S+)", c.logical)
                tgt = m.group(1) if m and _is_file_target(m.group(1)) else None
            if tgt is None:
                tgt = next((g[2] for g in groups if g[0] < c.line < g[1]), None)
            if tgt is None:
                continue
            for ln in range(c.line, c.end_line + 1):
                add(art, ln, art.line_text(ln), tgt, c.line)
    return out


_NONEMPTY_TEST = re.compile(
    r"-n\s+\"?\$\{?(\w+)|\$\{(\w+):?\+|\[\[?\s+\"?\$\{?(\w+)\}?\"?\s+\]|\$\{?(\w+)\}?\"?\s*!=\s*(?:\"\"|'')"
)
_IF_HEAD = re.compile(r"^\s*(?:if|elif)\b")
_FN_HEAD = re.compile(r"^\s*(?:function\s+)?\w+\s*\(\)")


def _tests_nonempty(text: str, name: str) -> bool:
    return any(name in m.groups() for m in _NONEMPTY_TEST.finditer(text)) if name in text else False


def _guarded_use(art: Artifact, line: int, start: int, name: str) -> bool:
    """The write at ``line`` only happens when ``name`` is non-empty: `$([[ -n $V ]] && ...)` on
    the line, `${V:+...}`, or an enclosing `if [[ -n $V ]]` (`[ "$V" ]`, `!= ""`) block."""
    if _tests_nonempty(art.line_text(line), name):
        return True
    ind = indent(art, start)
    for ln in range(start - 1, max(0, start - 200), -1):
        t = art.line_text(ln)
        if not t.strip() or indent(art, ln) >= ind:
            continue
        ind = indent(art, ln)
        if _IF_HEAD.match(t) and _tests_nonempty(t, name):
            return True
        if _FN_HEAD.match(t) or ind == 0:
            break
    return False


def _prompting(prog: ShellProgram) -> set[str]:
    """Functions that prompt the operator (`read -p`): the interactive path."""
    return {
        c.function
        for _a, s in prog.units
        for c in s.commands
        if c.name == "read" and c.function and any(re.match(r"^-\w*p", w) for w in c.argv[1:])
    }


def _consequence(art: Artifact, c: Command) -> str:
    """What runs when the test at ``c`` decides: the rest of its `&&`/`||` list, or its whole
    if/while/until block (every branch)."""
    logical = c.logical
    idx = logical.find(c.text)
    rest = logical[idx + len(c.text) :] if idx >= 0 else ""
    head = art.line_text(c.line)
    if not re.match(r"^\s*(?:if|elif|until|while)\b", head):
        return rest
    ind = indent(art, c.line)
    body = [rest]
    for ln in range(c.end_line + 1, min(len(art.lines), c.end_line + 60) + 1):
        t = art.line_text(ln)
        if t.strip() and indent(art, ln) <= ind and _CLOSER.match(t):
            break
        body.append(t)
    return "\n".join(body)


def _same_branch(art: Artifact, origin: int, later: int) -> bool:
    """``later`` runs after ``origin`` on the same path: no case arm / else between them that
    ``later`` is still inside."""
    d = indent(art, origin)
    other = False
    for ln in range(origin + 1, later):
        t = art.line_text(ln)
        if not t.strip():
            continue
        i = indent(art, ln)
        if i < d and _SEPARATOR.match(t):
            other, d = True, i
        elif i < d and _CLOSER.match(t):
            other, d = False, i
    return not other


def _detected(prog: ShellProgram) -> tuple[dict[str, list[Assignment]], set[str]]:
    """Variables assigned from a detection command (directly, through a function that prints
    one, or copied from such a variable): name -> the assignments that carry the detected value."""
    fn_text: dict[str, list[str]] = {}
    fn_calls: dict[str, set[str]] = {}
    for _art, script in prog.units:
        for c in script.commands:
            if c.function:
                fn_text.setdefault(c.function, []).append(c.logical)
                if c.words and "cmdsubst" not in c.contexts:
                    fn_calls.setdefault(c.function, set()).add(c.words[0])
    detect_fns = {f for f, t in fn_text.items() if _DETECT.search("\n".join(t))}
    for _ in range(3):  # a function that calls one (`resolvePublicIP` -> `resolvePublicIPv4`)
        detect_fns |= {f for f, calls in fn_calls.items() if calls & detect_fns}
    tainted: dict[str, list[Assignment]] = {}
    for x in prog.assignments:
        v = x.value
        if "$(" in v or "`" in v:
            inner = re.match(r"^[\"']?\$\(\s*([A-Za-z_][\w-]*)", v)
            if _DETECT.search(v) or (inner and inner.group(1) in detect_fns):
                tainted.setdefault(x.name, []).append(x)
    for _ in range(4):
        changed = False
        for x in prog.assignments:
            m = re.fullmatch(r"[\"']?\$\{?([A-Za-z_]\w*)\}?[\"']?", x.value.strip())
            if m and m.group(1) in tainted and x.name != m.group(1) and x not in tainted.get(x.name, []):
                tainted.setdefault(x.name, []).append(x)
                changed = True
        if not changed:
            break
    return tainted, detect_fns


_ASSIGNED = re.compile(r"\b([A-Za-z_]\w*)=")
_REQUIRED = re.compile(r"\$\{(\w+):?\?")


class _TestIndex:
    """Commands that mention each variable, built once per program (per-name regexes would be
    compiled again for every variable of a 3,000-line script)."""

    def __init__(self, prog: ShellProgram) -> None:
        self.by_name: dict[str, list[tuple[Artifact, Command, bool]]] = {}
        for art, script in prog.units:
            for c in script.commands:
                required = set(_REQUIRED.findall(c.text))
                for n in set(_VAR.findall(c.text)) | required:
                    self.by_name.setdefault(n, []).append((art, c, n in required))
        self._cons: dict[int, str] = {}

    def checks(self, name: str, skip_fns: set[str]) -> list[tuple[Artifact, Command]]:
        """Tests of ``name`` whose outcome stops, re-prompts or replaces the value (a validation)."""
        out = []
        for art, c, required in self.by_name.get(name, []):
            if c.function in skip_fns:
                continue
            if required:
                out.append((art, c))
                continue
            if c.name in ("[[", "[", "test") or ("condition" in c.contexts or "andor" in c.contexts):
                cons = self._cons.get(id(c))
                if cons is None:
                    cons = self._cons[id(c)] = _consequence(art, c)
                if _STOPS.search(cons) or name in _ASSIGNED.findall(cons):
                    out.append((art, c))
        return out


@check("DEP048", "detected-value-unchecked", category="deploy", severity="medium", pillar="reliability")
@_ok("detected addresses and resolvers are checked before they are written into configs")
def detected_value_unchecked(ctx: ScanContext, facts: ShellcheckFacts) -> Iterator[Result]:
    """An address or resolver the script detects is checked before it is written into a config.

    What it does
        Follows variables assigned from detection commands (`ip -4 addr | ...`, `hostname -I`,
        nameservers grepped out of resolv.conf, a public-IP lookup with curl/wget/dig, or a
        function that prints one) through copies (`IP=$IP_IPV4`) to the lines that write them
        into files (heredocs, `echo ... > f`, `{ ...; } >> f`). Reports the ones that no test
        validates on the way: a `-z`/`-n`/regex test whose outcome stops, re-prompts or replaces
        the value. When the script has a non-interactive mode, tests made only inside prompting
        functions do not count (that path never runs them). The detection line is the first
        evidence, the write the second; ShellCheck's SC2312 (the detection pipeline's status is
        masked) is added where it agrees.
    Why it matters
        Detection prints nothing on hosts that lack what it looks for (an IPv6-only host, a
        lookup service that is down, resolv.conf with only IPv6 or stub resolvers): the config
        gets `Endpoint = :51820`, `remote  1194` or `DNS = ` and every client fails to connect,
        while the installer reports success.
    Example
        ip=$(ip -4 addr | grep inet | grep -v 127 | cut -d/ -f1 | grep -oE '[0-9.]+' | head -1)
        echo "Endpoint = $ip:51820" >> client.conf
    Fix
        `[[ -n $ip ]] || { echo "no IPv4 address found; pass --endpoint" >&2; exit 1; }` right
        after the detection (and in the non-interactive path too).
    References
        https://mywiki.wooledge.org/BashPitfalls#pf14
    Severity
        Medium: clients cannot connect; nothing on the server shows why.
    """
    for prog in _programs(ctx):
        tainted, _fns = _detected(prog)
        if not tainted:
            continue
        writes = _writes_of(prog)
        index = _TestIndex(prog)
        noninteractive = any(_NON_INTERACTIVE.match(x.name) for x in prog.assignments)
        skip = _prompting(prog) if noninteractive else set()
        reported: set[int] = set()
        found: list[tuple[str, list[Assignment], list[_Write]]] = []
        for name in sorted(tainted):
            ws = [w for w in writes.get(name, []) if not _guarded_use(w.art, w.line, w.start, name)]
            if not ws:
                continue
            # every detected origin reaching `name`, each with its own "was it checked" verdict
            unchecked: list[Assignment] = []
            todo = [name]
            seen: set[str] = set()
            while todo:
                var = todo.pop()
                if var in seen:
                    continue
                seen.add(var)
                checks = index.checks(var, skip)
                for x in tainted.get(var, []):
                    ok = any(
                        (a is x.artifact and c.line > x.line and _same_branch(a, x.line, c.line))
                        or (c.function != x.function and c.function is not None and x.function is not None)
                        for a, c in checks
                    )
                    if ok:
                        continue
                    m = re.fullmatch(r"[\"']?\$\{?([A-Za-z_]\w*)\}?[\"']?", x.value.strip())
                    if m and m.group(1) in tainted:
                        todo.append(m.group(1))
                    else:
                        unchecked.append(x)
            if not unchecked or any(id(x) in reported for x in unchecked):
                continue
            reported.update(id(x) for x in unchecked)
            found.append((name, unchecked, ws))
        if not found:
            continue
        parts = []
        evidence = []
        for name, unchecked, ws in found[:4]:
            first = unchecked[0]
            src = re.sub(r"\s+", " ", first.value.strip("\"'"))[:48]
            loop = ""
            if re.search(r"resolv[._]conf", first.value):
                excl = re.findall(r"grep\s+-v\w*\s+['\"]?([^'\"|]*127[^'\"|]*)", first.value)
                if not excl or all(re.search(r"127\\?\.\d+\\?\.\d+\\?\.\d+", e) for e in excl):
                    loop = (
                        "; only the listed loopback stub is filtered out, so a local resolver such as "
                        "127.0.0.1 (dnsmasq, unbound) is copied to clients, which cannot reach it"
                    )
            via = f" (via `{first.name}`)" if first.name != name else ""
            parts.append(f"`{name}`{via} from `{src}...` into {ws[0].target}{loop}")
            evidence += [
                x.artifact.evidence(x.line, note=f"`{name}` detected, can be empty") for x in unchecked[:4]
            ]
            evidence += shellcheck_agrees(facts, first.artifact, first.line, 2312)
            evidence += [v.art.evidence(v.line, note=f"`{name}` written into {v.target}") for v in ws[:3]]
        path = " on the non-interactive path" if noninteractive else ""
        yield Result.fail(
            f"{prog.entry.path}: detected address/resolver values are written into configs with nothing "
            f"checking{path} that detection found anything (empty on a host without that address, e.g. "
            f"IPv6-only, or when the lookup fails): " + "; ".join(parts),
            *evidence,
            subject=prog.entry.path,
        )


# ---- DEP049: security steps whose failure is ignored -----------------------------------------
_SECURITY = re.compile(r"^(semanage|restorecon|setsebool|chcon|ufw|firewall-cmd|aa-enforce|apparmor_parser)$")
_IGNORE_RHS = re.compile(r"\|\|\s*(?:true|:|echo\b|printf\b|log_?(?:warn|info|debug)\w*|warn\w*)")


def _fatal_wrapper(prog: ShellProgram, name: str, cache: dict[str, bool]) -> bool:
    """The wrapper exits when the command fails (`run_fatal`, `|| exit 1`, `die`)."""
    if name not in cache:
        fn = prog.functions.get(name)
        cache[name] = fn is not None and any(
            c.name == "exit" or re.search(r"(?i)die|fatal|abort", c.name) for c in fn.commands()
        )
    return cache[name]


@check("DEP049", "security-step-failure-ignored", category="deploy", severity="medium", pillar="security")
@_ok("failures of SELinux/AppArmor/firewall steps stop the script")
def security_step_failure_ignored(ctx: ScanContext) -> Iterator[Result]:
    """A failing SELinux, AppArmor or firewall step (`semanage`, `restorecon`, `setsebool`, `ufw`,
    `firewall-cmd`) is not ignored.

    What it does
        Reports those commands (also when run through a wrapper function such as
        `run_cmd "..." semanage ...` that logs and returns) when their failure cannot stop the
        script: `|| true` / `|| echo`, or no `set -e` at that line and nothing checks the status
        (`||`, `if`, `$?`). A wrapper that exits on failure counts as checking.
    Why it matters
        The installer reports success while the policy it needed is not in place: `semanage port
        -a` fails for a port that already has a label (53/udp, 443/tcp), so the service cannot
        bind under SELinux; a failed `ufw allow` leaves the port closed, a failed `ufw deny`
        leaves it open.
    Example
        run_cmd "Configuring SELinux port" semanage port -a -t openvpn_port_t -p udp "$PORT"
    Fix
        `semanage port -a ... || semanage port -m ... || exit 1` (or a fatal wrapper), and
        stop on any other failure.
    References
        https://man7.org/linux/man-pages/man8/semanage-port.8.html
    Severity
        Medium: the service fails to start or the host is exposed, after a "successful" install.
    """
    for prog in _programs(ctx):
        hits: dict[int, list[tuple[Artifact, Command, str]]] = {}
        fatal: dict[str, bool] = {}
        for art, c in prog.commands():
            via = c.words[0] if c.words and c.words[0] in prog.wrappers else None
            argv = c.argv
            if via:
                style, n = prog.wrappers[via]
                if style != "argv":
                    continue
                argv = [w for w in c.words[1 + n :] if w != "sudo"]
            if not argv or not _SECURITY.match(argv[0].rsplit("/", 1)[-1]) or not _applies(argv):
                continue
            if (via and _fatal_wrapper(prog, via, fatal)) or _UNDO.search(c.function or ""):
                continue
            rhs = c.logical[c.logical.find(c.text) + len(c.text) :] if c.text in c.logical else c.logical
            why = ""
            if _IGNORE_RHS.search(rhs) and "exit" not in rhs:
                why = "its failure is discarded (`|| true`/`|| echo`)"
            elif (
                via
                and not prog.errexit_at(art, c)
                and not any(x in c.contexts for x in ("condition", "negated", "andor"))
                and "||" not in rhs
                and "&&" not in rhs
            ):
                why = f"`{via}` logs the failure and carries on, and there is no `set -e`"
            if why:
                hits.setdefault(id(art), []).append(
                    (art, Command(c.line, c.end_line, " ".join(argv), argv), why)
                )
        for lst in hits.values():
            lst.sort(key=lambda h: (h[1].name != "semanage", h[1].line))
            art, c, why = lst[0]
            extra = ""
            if any(x.argv[:3] == ["semanage", "port", "-a"] for _, x, _ in lst) and not re.search(
                r"semanage\s+port\s+-m", art.text
            ):
                extra = (
                    "; `semanage port -a` fails when the port already has a label (e.g. 443/tcp, 53/udp) "
                    "and there is no `semanage port -m` fallback, so the service cannot bind under SELinux"
                )
            others = sorted({" ".join(x.argv[:2]) for _, x, _ in lst[1:]} - {" ".join(c.argv[:2])})
            more = f" (also {', '.join(others[:4])})" if others else ""
            yield Result.fail(
                f"{art.path}: security step `{' '.join(c.argv)[:60]}` can fail unnoticed: {why}{extra}{more}",
                *[a.evidence(x.line, note="failure ignored") for a, x, _ in lst[:6]],
                subject=f"{art.path}:{c.line}",
            )


_UNDO = re.compile(r"(?i)remove|uninstall|purge|cleanup|clean_up|revoke|teardown|rollback")


def _applies(argv: list[str]) -> bool:
    """The step puts a policy in place (removals may fail harmlessly: the rule is already gone)."""
    name = argv[0].rsplit("/", 1)[-1]
    rest = argv[1:]
    if name == "semanage":
        return any(w in ("-a", "--add", "-m", "--modify") for w in rest)
    if name == "firewall-cmd":
        return any(w.startswith(("--add-", "--set-", "--new-", "--change-")) for w in rest)
    if name == "ufw":
        return bool(rest) and rest[0] in ("allow", "deny", "limit", "reject", "enable", "default")
    if name == "apparmor_parser":
        return any(w in ("-r", "-a", "--replace", "--add") for w in rest)
    return True


# ---- DEP050: floating installs ----------------------------------------------------------------
_NODE_LINE = re.compile(
    r"deb\.nodesource\.com/(?:node_|setup_)(\d+|current)\.x|\bNODE_MAJOR=[\"']?(\d+)\b|\bnodejs:(\d+)\b"
)
_LATEST_URL = re.compile(r"https?://\S*/releases/latest/download/\S*")


@check("DEP050", "floating-or-short-lived-release", category="deploy", severity="low", pillar="operations")
@_ok("installs pin a version and a supported release line")
def floating_release(ctx: ScanContext) -> Iterator[Result]:
    """Installs pin a release: no `releases/latest` downloads, no short-lived runtime lines.

    What it does
        Reports downloads from GitHub-style `releases/latest/download/` URLs (whatever upstream
        publishes next is installed, unverifiable by checksum) and Node.js release lines that
        never become LTS (odd majors such as `node_21.x`, or `current`) configured through
        NodeSource (`deb.nodesource.com/node_N.x`, `setup_N.x`, `NODE_MAJOR=N`) or `nodejs:N`
        modules.
    Why it matters
        Two runs of the same script build different hosts; a breaking upstream release lands
        unannounced. Odd Node.js majors get six months of support and no security fixes after
        that: the box ships a runtime past end of life within months.
    Example
        echo "deb https://deb.nodesource.com/node_21.x nodistro main" > /etc/apt/sources.list.d/nodesource.list
    Fix
        Pin a version (`releases/download/v1.2.3/...` with its checksum) and an LTS line (even
        Node.js majors: `node_20.x`, `node_22.x`).
    References
        https://nodejs.org/en/about/previous-releases
        https://github.com/nodesource/distributions
    Severity
        Low: drift and an unsupported runtime, not an outage by itself.
    """
    for prog in _programs(ctx):
        for art, script in prog.units:
            done: set[int] = set()
            for c in script.commands:
                if c.line in done:
                    continue
                m = _NODE_LINE.search(c.text)
                if m:
                    major = next(g for g in m.groups() if g)
                    if major == "current" or (major.isdigit() and int(major) % 2 == 1 and int(major) >= 5):
                        what = "the `current` line" if major == "current" else f"Node.js {major}"
                        yield Result.fail(
                            f"{art.path}: installs {what}, a release line that never becomes LTS (odd "
                            "majors get about six months of support, then no security fixes): pin an even "
                            "LTS major",
                            art.evidence(c.line, note="short-lived release line"),
                            subject=f"{art.path}:{c.line}",
                        )
                        done.add(c.line)
                        continue
                u = _LATEST_URL.search(c.text)
                if u and c.name in ("curl", "wget"):
                    yield Result.fail(
                        f"{art.path}: downloads `{u.group(0)[:80]}`: whatever upstream releases next is "
                        "installed, so two runs build different hosts and no checksum can be pinned",
                        art.evidence(c.line, note="floating `latest` release"),
                        subject=f"{art.path}:{c.line}",
                    )
                    done.add(c.line)


# ---- DEP056: repository signing keys ----------------------------------------------------------
_KEY_ID = re.compile(r"^(?:0x)?([0-9A-Fa-f]{8,40})$")
_KEY_SINK = re.compile(
    r"\bapt-key\s+add\b|\bgpg\b[^|]*--(?:dearmou?r|import)\b|/(?:trusted\.gpg\.d|keyrings)/"
)


@check("DEP056", "apt-key-not-pinned", category="deploy", severity="high", pillar="security")
@_ok("repository signing keys are fetched by full fingerprint or over HTTPS")
def apt_key_not_pinned(ctx: ScanContext) -> Iterator[Result]:
    """Repository signing keys are pinned: fetched from a keyserver by full fingerprint, or over
    HTTPS from the vendor, never by a short key id or over plain HTTP.

    What it does
        Reports `apt-key adv --recv-keys ID` / `gpg --recv-keys ID` with an 8- or 16-hex key id
        (not the 40-hex fingerprint), and keys downloaded over `http://` that are added to APT
        (`apt-key add`, `gpg --dearmor`/`--import`, written under `/etc/apt/keyrings` or
        `trusted.gpg.d`).
    Why it matters
        Short key ids collide (anyone can generate a key with the same 32-bit id in seconds, and
        keyservers serve it), and a key fetched over HTTP can be swapped in transit. Either way
        the host then trusts packages signed by someone else, as root, for every later upgrade.
    Example
        apt-key adv --keyserver keyserver.ubuntu.com --recv-keys 7FCC7D46
    Fix
        `gpg --recv-keys 0x<full 40-hex fingerprint>` (and check it), or download the vendor's
        key over HTTPS into `/etc/apt/keyrings/` with `signed-by=`.
    References
        https://wiki.debian.org/DebianRepository/UseThirdParty
        https://evil32.com/
    Severity
        High: a supply-chain path to root on every host built by the script.
    """
    for prog in _programs(ctx):
        for art, script in prog.units:
            for c in script.commands:
                argv = c.argv
                if "--recv-keys" in argv or "--recv-key" in argv:
                    i = argv.index("--recv-keys" if "--recv-keys" in argv else "--recv-key")
                    ids = [w for w in argv[i + 1 :] if _KEY_ID.match(w)]
                    short = [w for w in ids if len(_KEY_ID.match(w).group(1)) < 40]  # type: ignore[union-attr]
                    if short:
                        yield Result.fail(
                            f"{art.path}: signing key fetched by the short id `{short[0]}`: short ids collide, "
                            "so the keyserver can hand out someone else's key; use the full 40-hex fingerprint",
                            art.evidence(c.line, note="key not pinned by fingerprint"),
                            subject=f"{art.path}:{c.line}",
                        )
                    continue
                plain_http = c.name in ("curl", "wget") and any(w.startswith("http://") for w in argv[1:])
                if plain_http and (
                    _KEY_SINK.search(c.logical)
                    or any(_KEY_SINK.search(w) for w in argv[1:] if not w.startswith("http"))
                ):
                    url = next(w for w in argv[1:] if w.startswith("http://"))
                    yield Result.fail(
                        f"{art.path}: APT signing key `{url[:70]}` downloaded over plain HTTP: anyone on "
                        "the path can substitute their own key, and the host then trusts their packages",
                        art.evidence(c.line, note="signing key over HTTP"),
                        subject=f"{art.path}:{c.line}",
                    )
