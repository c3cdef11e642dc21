"""Joins between artifacts that only make sense together: unit names a unit refers to vs the units
that exist (in the tree or on the host), scripts that units run vs the files those scripts use.

Pure functions over parsed artifacts and command outputs; the checks in ``checks/wiring_*.py``
turn them into results with evidence from both sides of each join.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Container, Iterator
from dataclasses import dataclass

from chom_validate.artifacts import Artifact
from chom_validate.artifacts.systemd import Unit

# -- unit references --------------------------------------------------------------------------------

# Keys whose names systemd resolves to units, and what a name that resolves to nothing does.
HARD_KEYS = ("Requires", "Requisite", "BindsTo")  # the unit itself fails to start
SOFT_KEYS = ("Conflicts", "OnFailure", "OnSuccess", "PartOf", "Wants", "Upholds")  # silently no effect
ORDER_KEYS = ("After", "Before")  # ordering only: a missing name is often deliberate portability
REF_KEYS = HARD_KEYS + SOFT_KEYS + ORDER_KEYS

EFFECT = {
    **{k: "the unit fails to start (dependency not found)" for k in HARD_KEYS},
    "Conflicts": "the two jobs are never serialised",
    "OnFailure": "no failure action ever runs",
    "OnSuccess": "no success action ever runs",
    "PartOf": "stops and restarts are not propagated",
    "Wants": "the wanted unit is never started",
    "Upholds": "the upheld unit is never started",
    "After": "the start order is lost",
    "Before": "the start order is lost",
}

# Unit types that are never unit files (created at runtime by the kernel, fstab or the manager).
_RUNTIME_TYPES = {".device", ".scope", ".swap", ".mount", ".automount"}
# systemd.special(7) units and the manager's own services: present wherever systemd runs.
SPECIAL_UNITS = frozenset(
    [
        "basic.target",
        "default.target",
        "multi-user.target",
        "graphical.target",
        "rescue.target",
        "emergency.target",
        "network.target",
        "network-online.target",
        "network-pre.target",
        "nss-lookup.target",
        "nss-user-lookup.target",
        "remote-fs.target",
        "remote-fs-pre.target",
        "local-fs.target",
        "local-fs-pre.target",
        "sysinit.target",
        "timers.target",
        "sockets.target",
        "paths.target",
        "slices.target",
        "swap.target",
        "time-sync.target",
        "time-set.target",
        "shutdown.target",
        "umount.target",
        "final.target",
        "reboot.target",
        "halt.target",
        "poweroff.target",
        "sleep.target",
        "suspend.target",
        "hibernate.target",
        "cryptsetup.target",
        "getty.target",
        "sound.target",
        "printer.target",
        "bluetooth.target",
        "smartcard.target",
        "user.slice",
        "system.slice",
        "machine.slice",
        "-.slice",
        "systemd-journald.service",
        "systemd-journald.socket",
        "dbus.service",
        "dbus.socket",
        "systemd-tmpfiles-setup.service",
        "systemd-user-sessions.service",
        "systemd-sysctl.service",
        "systemd-udevd.service",
        "systemd-modules-load.service",
    ]
)
_VERSION_RE = re.compile(r"[0-9]+(?:\.[0-9]+)*")


@dataclass(frozen=True)
class UnitRef:
    artifact: Artifact
    unit: Unit
    key: str
    line: int  # artifact-local line of the directive
    name: str  # referenced unit name, specifiers expanded


def unit_refs(units: dict[str, tuple[Artifact, Unit]]) -> list[UnitRef]:
    """Every unit name named by a dependency key of the ``[Unit]`` section, specifiers resolved
    where they are machine-independent; names still holding a ``%`` specifier are left out."""
    out: list[UnitRef] = []
    for art, u in units.values():
        for key in REF_KEYS:
            for d in u.entries("Unit", key):
                for raw in d.value.split():
                    name = u.expand(raw) if "%" in raw else raw
                    if "%" in name or "$" in name or "{" in name or not posixpath.splitext(name)[1]:
                        continue
                    out.append(UnitRef(art, u, key, d.line, name))
    return out


def template_of(name: str) -> str | None:
    """``foo@bar.service`` -> ``foo@.service``; None for a plain name."""
    stem, ext = posixpath.splitext(name)
    return f"{stem.split('@', 1)[0]}@{ext}" if "@" in stem else None


def plain_of_template(name: str, known: set[str]) -> str | None:
    """The template ``X@.service`` in ``known`` when ``name`` is the plain ``X.service`` (which
    systemd can never load: a template exists only as its instances ``X@NAME.service``)."""
    if "@" in name:
        return None
    stem, ext = posixpath.splitext(name)
    tmpl = f"{stem}@{ext}"
    return tmpl if tmpl in known else None


def resolves(name: str, known: set[str]) -> bool:
    if name in known:
        return True
    tmpl = template_of(name)
    return bool(tmpl and tmpl != name and tmpl in known)


def runtime_unit(name: str) -> bool:
    """Names that are never unit files: devices, scopes, mounts/swaps generated from fstab."""
    return posixpath.splitext(name)[1] in _RUNTIME_TYPES


def version_free(name: str) -> str:
    """``php8.2-fpm.service`` and ``php-fpm.service`` -> ``php-fpm.service`` (versions dropped)."""
    return _VERSION_RE.sub("", name)


def near_names(name: str, known: set[str], index: dict[str, list[str]] | None = None) -> list[str]:
    """Existing units that differ from ``name`` only by a version (``php-fpm.service`` vs
    ``php8.2-fpm.service``) or by being the template of that plain name."""
    out: list[str] = []
    tmpl = plain_of_template(name, known)
    if tmpl:
        out.append(tmpl)
    idx = index if index is not None else version_index(known)
    for other in idx.get(version_free(name), []):
        if other != name and other not in out:
            out.append(other)
    return out


def version_index(known: set[str]) -> dict[str, list[str]]:
    idx: dict[str, list[str]] = {}
    for n in sorted(known):
        idx.setdefault(version_free(n), []).append(n)
    return idx


def parse_list_unit_files(text: str) -> set[str]:
    """``systemctl list-unit-files --no-legend --plain`` -> the set of unit file names."""
    out: set[str] = set()
    for line in text.splitlines():
        parts = line.split()
        if parts and "." in parts[0] and not parts[0].startswith(("UNIT", "-")):
            out.add(parts[0])
    return out


# -- scripts that units run -------------------------------------------------------------------------

_TMP_FIXED = re.compile(
    r"""(?P<q>["']?)(?P<path>/(?:tmp|var/tmp|dev/shm)/(?:[A-Za-z0-9_.+-]|\$\{?[A-Za-z_][A-Za-z0-9_]*\}?)+)"""
)
_UNIQUE_VARS = re.compile(r"\$\{?(\$|BASHPID|RANDOM|[A-Za-z_]*(?:PID|pid|TMP|tmp|mktemp)[A-Za-z_]*)\b")


def fixed_tmp_paths(text: str, assignments: dict[str, str]) -> list[tuple[int, str]]:
    """(line, path) of fixed, predictable paths in a world-writable directory (/tmp, /var/tmp,
    /dev/shm) that a script creates, tests or writes: names built from constants or from
    variables that hold constants (``$(basename "$0")``), not from ``mktemp``, ``$$`` or a
    per-run value. Lines are 1-based."""
    out: list[tuple[int, str]] = []
    for n, raw in enumerate(text.splitlines(), 1):
        s = raw.strip()
        if s.startswith("#") or "mktemp" in s:
            continue
        for m in _TMP_FIXED.finditer(raw):
            path = m.group("path")
            if _UNIQUE_VARS.search(path):
                continue
            var_names = re.findall(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)", path)
            if any("mktemp" in assignments.get(v, "") or "$$" in assignments.get(v, "") for v in var_names):
                continue
            out.append((n, path))
    return out


# -- launchd jobs (macOS LaunchAgents/LaunchDaemons) ------------------------------------------------


@dataclass
class LaunchdJob:
    path: str
    label: str
    command: str  # ProgramArguments joined (or Program)
    run_at_load: bool
    run_at_load_line: int | None
    calendar: list[str]  # StartCalendarInterval entries as cron specs
    calendar_line: int | None
    label_line: int | None


_CAL_FIELDS = (("Minute", "*"), ("Hour", "*"), ("Day", "*"), ("Month", "*"), ("Weekday", "*"))


def _key_line(lines: list[str], key: str) -> int | None:
    needle = f"<key>{key}</key>"
    return next((n for n, s in enumerate(lines, 1) if needle in s), None)


def parse_launchd(path: str, text: str) -> LaunchdJob | None:
    """An XML launchd property list -> its job; None when it is not one (or does not parse)."""
    import plistlib

    if "<plist" not in text[:2000]:
        return None
    try:
        data = plistlib.loads(text.encode("utf-8", "replace"))
    except Exception:  # malformed XML or not a plist: not a job we can read
        return None
    if not isinstance(data, dict) or not isinstance(data.get("Label"), str):
        return None
    args = data.get("ProgramArguments")
    command = " ".join(str(a) for a in args) if isinstance(args, list) else str(data.get("Program") or "")
    cal = data.get("StartCalendarInterval")
    entries = cal if isinstance(cal, list) else [cal] if isinstance(cal, dict) else []
    specs = []
    for e in entries:
        if isinstance(e, dict):
            specs.append(" ".join(str(e.get(k, d)) for k, d in _CAL_FIELDS))
    lines = text.splitlines()
    return LaunchdJob(
        path=path,
        label=data["Label"],
        command=command,
        run_at_load=data.get("RunAtLoad") is True,
        run_at_load_line=_key_line(lines, "RunAtLoad"),
        calendar=specs,
        calendar_line=_key_line(lines, "StartCalendarInterval"),
        label_line=_key_line(lines, "Label"),
    )


# -- environment preconditions of sibling scripts ---------------------------------------------------

_INDIRECT_TEST = re.compile(r"-[zn]\s+\"?\$\{!")
_ABORTS = re.compile(r"\bexit\b|\breturn\s+[1-9]")
_REQUIRED_EXP = re.compile(r"\$\{([A-Z][A-Z0-9_]*):?\?")
_OPTIONAL_EXP = re.compile(r"\$\{([A-Z][A-Z0-9_]*):?-")
_VAR_ARG = re.compile(r"^[A-Z][A-Z0-9_]*$")


@dataclass
class EnvPreconditions:
    required: dict[str, int]  # variable -> line of the assertion
    optional: dict[str, int]  # variable -> line where it is declared optional (a warning, a default)


def continued_lines(lines: list[str], skip: Container[int] = ()) -> Iterator[tuple[int, int, str]]:
    """(first line, last line, text) of each line with its backslash continuations joined, as bash
    reads them: a comment line does not continue (its trailing `\\` belongs to the comment), and a
    line in ``skip`` (heredoc bodies, for callers that read commands) starts nothing. Blank lines
    and comments are yielded: the callers decide what to skip."""
    i = 0
    while i < len(lines):
        start = i + 1
        if start in skip:
            i += 1
            continue
        text = lines[i].rstrip()
        if not text.lstrip().startswith("#"):
            while text.endswith("\\") and i + 1 < len(lines):
                i += 1
                text = text[:-1].rstrip() + " " + lines[i].strip()
        i += 1
        yield start, i, text


def env_preconditions(lines: list[str], functions: dict[str, tuple[int, int]]) -> EnvPreconditions:
    """Which environment variables a script refuses to run without, and which it says it can do
    without: arguments of checker functions (a loop testing `${!name}` that exits = asserting, one
    that only prints = warning), `${VAR:?}` expansions, and `${VAR:-default}` defaults."""
    asserting: set[str] = set()
    warning: set[str] = set()
    inside: set[int] = set()
    for name, (start, end) in functions.items():
        body = "\n".join(lines[start - 1 : end])
        inside.update(range(start, end + 1))
        if _INDIRECT_TEST.search(body):
            (asserting if _ABORTS.search(body) else warning).add(name)
    req: dict[str, int] = {}
    opt: dict[str, int] = {}
    for start, _, text in continued_lines(lines):
        stripped = text.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if start not in inside:
            words = stripped.split()
            head = words[0].rstrip("\\")
            if head in asserting or head in warning:
                target = req if head in asserting else opt
                for w in words[1:]:
                    if _VAR_ARG.match(w):
                        target.setdefault(w, start)
        for m in _REQUIRED_EXP.finditer(text):
            req.setdefault(m.group(1), start)
        for m in _OPTIONAL_EXP.finditer(text):
            opt.setdefault(m.group(1), start)
    return EnvPreconditions(req, opt)


# -- values joined onto one line, then counted as lines ---------------------------------------------

_ASSIGN_SUBST = re.compile(
    r"^\s*(?:local\s+|declare\s+|readonly\s+)?([A-Za-z_][A-Za-z0-9_]*)=\"?\$\((?P<body>.*)\)\"?\s*$"
)
_JOINS = re.compile(
    r"""\|\s*(?:tr\s+(?:-d\s+)?(['"])\\n\1(?:\s+(['"])[^'"\\]\2)?|paste\s+-s\S*(?:\s+-d\S*)?|xargs(?:\s+echo)?)\s*$"""
)


@dataclass(frozen=True)
class OneLineCount:
    var: str
    assigned: int  # line where the value is joined onto one line
    counted: int  # line where its lines are counted


def one_line_counts(lines: list[str]) -> list[OneLineCount]:
    """`v=$(... | tr '\\n' ' ')` (or `paste -s`, a bare `xargs`) makes a one-line value; a later
    `echo "$v" | wc -l` / `wc -l <<< "$v"` then counts 1 whatever the data. Reassignments reset."""
    joined: dict[str, int] = {}
    out: list[OneLineCount] = []
    counters: dict[str, re.Pattern[str]] = {}
    for start, _, text in continued_lines(lines):
        if text.lstrip().startswith("#"):
            continue
        for var, at in list(joined.items()):
            rx = counters.get(var)
            if rx is None:
                v = re.escape(var)
                rx = re.compile(
                    rf"(?:echo|printf\s+['\"]%s\\n['\"])\s+\"?\$\{{?{v}\}}?\"?\s*\|\s*wc\s+-l|wc\s+-l\s*<<<\s*\"?\$\{{?{v}\}}?"
                )
                counters[var] = rx
            if rx.search(text):
                out.append(OneLineCount(var, at, start))
        m = _ASSIGN_SUBST.match(text)
        if m:
            if _JOINS.search(m.group("body")):
                joined[m.group(1)] = start
            else:
                joined.pop(m.group(1), None)
    return out


# -- web route prefixes of Prometheus and Alertmanager vs the clients that call them ---------------

DEFAULT_PORTS = {"prometheus": 9090, "alertmanager": 9093}
LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "0.0.0.0", "::1", "[::1]", "ip6-localhost"})


def route_prefix(flags: dict[str, str]) -> str:
    """The path Prometheus/Alertmanager serve under: `--web.route-prefix`, else the path of
    `--web.external-url`, normalised without a trailing slash ('' for the root)."""
    rp = flags.get("--web.route-prefix")
    if rp is None:
        url = flags.get("--web.external-url") or ""
        m = re.match(r"^[a-z][a-z0-9+.-]*://[^/]*(?P<path>/.*)?$", url)
        rp = (m.group("path") or "") if m else (url if url.startswith("/") else "")
    return "/" + rp.strip("/") if rp.strip("/") else ""


def web_flags(words: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for i, w in enumerate(words):
        w = w.strip("'\"")
        if not w.startswith("--web."):
            continue
        if "=" in w:
            k, v = w.split("=", 1)
            out[k] = v.strip("'\"")
        elif i + 1 < len(words) and not words[i + 1].startswith("-"):
            out[w] = words[i + 1].strip("'\"")
    return out


def listen_port(flags: dict[str, str], tool: str) -> int:
    addr = flags.get("--web.listen-address", "")
    tail = addr.rsplit(":", 1)[-1] if ":" in addr else ""
    return int(tail) if tail.isdigit() else DEFAULT_PORTS[tool]


_URL = re.compile(
    r"\bhttps?://(?P<host>\[[0-9a-fA-F:]+\]|[A-Za-z0-9_.-]+):(?P<port>\d{2,5})(?P<path>/[^\s\"'`)<>|;]*)?"
)
_AMTOOL_URL = re.compile(r"--alertmanager\.url[=\s]+[\"']?(?P<url>https?://[^\s\"']+)")


def urls_in_line(line: str) -> list[tuple[str, int, str]]:
    """(host, port, path) of every http(s) URL with an explicit port on the line."""
    return [(m["host"], int(m["port"]), m["path"] or "/") for m in _URL.finditer(line)]


def amtool_urls(line: str) -> list[str]:
    return [m["url"] for m in _AMTOOL_URL.finditer(line)]


def path_under(path: str, prefix: str) -> bool:
    """A request path is served by a route prefix (the prefix itself, or below it)."""
    p = path.split("?", 1)[0].split("#", 1)[0]
    return not prefix or p == prefix or p.startswith(prefix + "/")


# -- exporter credentials vs the service they log in to ---------------------------------------------

_REQUIREPASS = re.compile(r"(?:^|[\s\"'/])(?:--)?requirepass[\s\"']+(?P<value>[^\s\"'/]+)", re.M)
_CREATE_USER = re.compile(
    r"\bCREATE\s+USER\s+(?:IF\s+NOT\s+EXISTS\s+)?[`'\"]?(?P<user>[A-Za-z0-9_$.{}-]+)[`'\"]?\s*@", re.I
)
_DSN_USER = re.compile(r"^(?P<user>[^:@/\s]+)(?::[^@]*)?@")


@dataclass(frozen=True)
class Located:
    artifact: Artifact
    line: int  # artifact-local
    value: str


def requirepass_lines(art: Artifact) -> list[Located]:
    """`requirepass VALUE` in a Redis config, a `redis-server --requirepass`, or a script line
    that writes/sets it (`sed`, `echo >>`, `CONFIG SET`). Commented lines are left out."""
    out = []
    for n, line in enumerate(art.text.splitlines(), 1):
        s = line.strip()
        if "requirepass" not in s or s.startswith(("#", ";", "//")):
            continue
        m = _REQUIREPASS.search(s)
        if m and m.group("value") not in ('""', "''", "nopass"):
            out.append(Located(art, n, m.group("value")))
    return out


def created_mysql_users(art: Artifact) -> list[Located]:
    return [
        Located(art, art.text.count("\n", 0, m.start()) + 1, m.group("user"))
        for m in _CREATE_USER.finditer(art.text)
        if not art.text[art.text.rfind("\n", 0, m.start()) + 1 : m.start()].lstrip().startswith(("#", "--"))
    ]


def dsn_user(dsn: str) -> str | None:
    m = _DSN_USER.match(dsn.strip("'\""))
    return m.group("user") if m else None


# -- php-fpm pools vs php-fpm_exporter ---------------------------------------------------------------


@dataclass
class FpmPool:
    path: str
    name: str
    line: int  # the [pool] header
    values: dict[str, tuple[str, int]]  # key -> (value, line)

    def get(self, key: str) -> str | None:
        v = self.values.get(key)
        return v[0] if v else None

    def line_of(self, key: str) -> int:
        v = self.values.get(key)
        return v[1] if v else self.line


def parse_fpm_pools(path: str, text: str) -> list[FpmPool]:
    """php-fpm pool files (`[www]` sections of `key = value`); globals and comments skipped."""
    pools: list[FpmPool] = []
    cur: FpmPool | None = None
    for n, raw in enumerate(text.splitlines(), 1):
        s = raw.strip()
        if not s or s.startswith((";", "#")):
            continue
        if s.startswith("[") and s.endswith("]"):
            name = s[1:-1].strip()
            cur = None if name.lower() == "global" else FpmPool(path, name, n, {})
            if cur is not None:
                pools.append(cur)
            continue
        if cur is not None and "=" in s:
            k, _, v = s.partition("=")
            cur.values[k.strip()] = (v.split(";", 1)[0].strip().strip("'\""), n)
    return [p for p in pools if "listen" in p.values or "pm" in p.values or "pm.status_path" in p.values]


def fpm_scrape_uris(words: list[str]) -> list[str]:
    """`--phpfpm.scrape-uri` values of a php-fpm_exporter command line (comma-separated lists too)."""
    out = []
    for i, w in enumerate(words):
        w = w.strip("'\"")
        if w.startswith("--phpfpm.scrape-uri="):
            out.extend(w.split("=", 1)[1].strip("'\"").split(","))
        elif w == "--phpfpm.scrape-uri" and i + 1 < len(words):
            out.extend(words[i + 1].strip("'\"").split(","))
    return [u for u in out if u]


def split_fpm_uri(uri: str) -> tuple[str, str]:
    """`unix:///run/php/x.sock;/status` -> ('/run/php/x.sock', '/status');
    `tcp://127.0.0.1:9000/status` -> ('127.0.0.1:9000', '/status')."""
    if uri.startswith("unix://"):
        sock, _, path = uri[len("unix://") :].partition(";")
        return sock, path or "/status"
    rest = re.sub(r"^[a-z]+://", "", uri)
    addr, slash, path = rest.partition("/")
    return addr, "/" + path if slash else "/status"
