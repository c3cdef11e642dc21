"""Artifact discovery by content.

Every readable file is offered to the registered detectors (first match wins); shell scripts are
also searched for heredocs, and each heredoc whose target path or content says what it is becomes
an embedded artifact of that kind, with line numbers mapped into the script. Path globs in config
may narrow discovery, never widen it past the target's root.
"""

from __future__ import annotations

import fnmatch
import json
import posixpath
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from ..findings import sha256_hex
from ..targets.base import Target, TargetError, TargetProblem
from .base import Artifact, ArtifactParseError
from .scope import Scope
from .shell import detect_shell, find_heredocs
from .systemd import UNIT_SUFFIXES, looks_like_unit
from .templating import TEMPLATE_MARKERS, untemplated
from .yamlfile import load_yaml_discovery, share_yaml

BINARY_EXTS = {
    ".png",
    ".jpg",
    ".jpeg",
    ".gif",
    ".ico",
    ".svg",
    ".webp",
    ".pdf",
    ".gz",
    ".tgz",
    ".bz2",
    ".xz",
    ".zst",
    ".zip",
    ".tar",
    ".7z",
    ".woff",
    ".woff2",
    ".ttf",
    ".otf",
    ".eot",
    ".mp3",
    ".mp4",
    ".mov",
    ".so",
    ".o",
    ".a",
    ".pyc",
    ".class",
    ".jar",
    ".db",
    ".sqlite",
    ".bin",
    ".exe",
    ".dll",
    ".deb",
    ".rpm",
    ".whl",
    ".lock",
    ".map",
}
TEXT_EXTS = {
    ".sh",
    ".bash",
    ".yml",
    ".yaml",
    ".json",
    ".md",
    ".conf",
    ".cfg",
    ".ini",
    ".service",
    ".timer",
    ".socket",
    ".target",
    ".mount",
    ".path",
    ".rules",
    ".env",
    ".txt",
    ".php",
    ".j2",
    ".tmpl",
    ".tpl",
    "",
}
_TEMPLATE_RE = TEMPLATE_MARKERS


@dataclass
class Candidate:
    path: str  # path used for detection: install path for heredocs, file path otherwise
    text: str
    data: Any = None  # pre-parsed YAML (with line numbers when it loads so)/JSON, when the file is YAML/JSON
    data_error: ArtifactParseError | None = None
    is_yaml: bool = False
    is_json: bool = False


Detector = Callable[[Candidate], str | None]
_DETECTORS: list[tuple[int, str, Detector]] = []


def detector(name: str, order: int = 50) -> Callable[[Detector], Detector]:
    """Register a content detector; lower ``order`` runs first. Returns the artifact kind or None."""

    def deco(fn: Detector) -> Detector:
        _DETECTORS[:] = [d for d in _DETECTORS if d[1] != name]
        _DETECTORS.append((order, name, fn))
        _DETECTORS.sort(key=lambda d: d[0])
        return fn

    return deco


def _ext(path: str) -> str:
    return posixpath.splitext(path)[1].lower()


def _untemplated(path: str) -> str:
    """``x.service.j2`` -> ``x.service``: a template is detected as the file it renders to."""
    return untemplated(path)


# -- built-in detectors ------------------------------------------------------------------------------


@detector("systemd", order=10)
def _detect_systemd(c: Candidate) -> str | None:
    path = _untemplated(c.path)
    ext = _ext(path)
    if ext == ".conf" and posixpath.dirname(path).endswith((".service.d", ".socket.d", ".timer.d")):
        return "systemd_dropin" if looks_like_unit(c.text) or "[" in c.text else None
    if ext in UNIT_SUFFIXES and looks_like_unit(c.text):
        return "systemd_unit"
    return None


@detector("shell", order=20)
def _detect_shell(c: Candidate) -> str | None:
    return "shell" if detect_shell(c.text, c.path) else None


# Text probes for YAML that does not load (templated or broken). Each is anchored at a line start
# and has no two adjacent quantifiers over the same characters, so a failed match costs the
# length of one line (``^\s*-?\s*`` re-tried every indentation split: quadratic on deep indents).
_GROUPS_KEY = re.compile(r"^groups[ \t]*:", re.M)
_RULE_KEY = re.compile(r"^[ \t]*(?:-[ \t]*)?(?:alert|record)[ \t]*:", re.M)
_SCRAPE_KEY = re.compile(r"^scrape_configs[ \t]*:", re.M)
_ROUTE_KEY = re.compile(r"^route[ \t]*:", re.M)
_RECEIVERS_KEY = re.compile(r"^receivers[ \t]*:", re.M)


@detector("yaml", order=30)
def _detect_yaml(c: Candidate) -> str | None:
    if not c.is_yaml:
        return None
    d = c.data
    if c.data_error is not None:  # templated or broken: decide from the text
        if _SCRAPE_KEY.search(c.text):
            return "prometheus_config"
        if _GROUPS_KEY.search(c.text) and _RULE_KEY.search(c.text):
            return "prometheus_rules"
        if _ROUTE_KEY.search(c.text) and _RECEIVERS_KEY.search(c.text):
            return "alertmanager_config"
        return "yaml"
    if isinstance(d, dict):
        if "scrape_configs" in d or ("global" in d and "rule_files" in d):
            return "prometheus_config"
        groups = d.get("groups")
        if isinstance(groups, list) and any(isinstance(g, dict) and "rules" in g for g in groups):
            return "prometheus_rules"
        if "route" in d and "receivers" in d:
            return "alertmanager_config"
        if "datasources" in d and "apiVersion" in d:
            return "grafana_datasources"
        if "providers" in d and "apiVersion" in d:
            return "grafana_dashboard_provider"
    return "yaml"


@detector("json", order=40)
def _detect_json(c: Candidate) -> str | None:
    if not c.is_json:
        return None
    d = c.data
    if isinstance(d, dict):
        dash = d.get("dashboard", d)
        if (
            isinstance(dash, dict)
            and ("panels" in dash or "rows" in dash)
            and ("title" in dash or "uid" in dash)
        ):
            return "grafana_dashboard"
    return "json"


@detector("markdown", order=60)
def _detect_markdown(c: Candidate) -> str | None:
    return "markdown" if _ext(c.path) in (".md", ".markdown") else None


@detector("cron", order=70)
def _detect_cron(c: Candidate) -> str | None:
    p = c.path
    if (
        re.search(r"(^|/)(cron\.d|cron\.(hourly|daily|weekly|monthly))/[^/]+$", p)
        or posixpath.basename(p) in ("crontab",)
        or p.endswith((".cron", ".crontab"))
        or "/spool/cron/" in p
    ):
        return "cron"
    return None


# ``^[ \t]*`` not ``^\s*``: under re.M, ``\s*`` runs across newlines, so every line start of a
# blank-heavy file would rescan all the whitespace after it (quadratic).
_NGINX_SERVER = re.compile(r"^[ \t]*server\s*\{", re.M)
_NGINX_DIRECTIVE = re.compile(r"^[ \t]*(?:listen|server_name|location)\b", re.M)


@detector("nginx", order=80)
def _detect_nginx(c: Candidate) -> str | None:
    if _NGINX_SERVER.search(c.text) and _NGINX_DIRECTIVE.search(c.text):
        return "nginx_site"
    return None


# -- discovery -------------------------------------------------------------------------------------


def make_candidate(path: str, text: str) -> Candidate:
    c = Candidate(path=path, text=text)
    ext = _ext(path)
    if ext in (".yml", ".yaml") or (
        _ext(untemplated(path)) in (".yml", ".yaml")
    ):
        c.is_yaml = True
        try:
            c.data = load_yaml_discovery(text)
        except ArtifactParseError as exc:
            c.data_error = exc
    elif ext == ".json":
        c.is_json = True
        try:
            c.data = json.loads(text)
        except ValueError as exc:
            c.data_error = ArtifactParseError(f"invalid JSON: {exc}")
        except RecursionError:
            c.data_error = ArtifactParseError("JSON nesting too deep")
    return c


def detect_kind(c: Candidate) -> str | None:
    for _, _, fn in _DETECTORS:
        kind = fn(c)
        if kind:
            return kind
    return None


@dataclass
class ArtifactIndex:
    artifacts: list[Artifact] = field(default_factory=list)
    by_kind: dict[str, list[Artifact]] = field(default_factory=dict)
    files: dict[str, Artifact | None] = field(default_factory=dict)  # every file path in the target
    problems: list[TargetProblem] = field(default_factory=list)
    skipped: int = 0
    out_of_focus: int = 0  # unchanged shell scripts left out by --changed-only
    out_of_scope: int = 0  # files left out by scope.py (tests, vendored code, samples, globs)

    def add(self, a: Artifact) -> None:
        self.artifacts.append(a)
        self.by_kind.setdefault(a.kind, []).append(a)

    def of(self, *kinds: str, host: str | None = None) -> list[Artifact]:
        out = [a for k in kinds for a in self.by_kind.get(k, [])]
        return [a for a in out if host is None or a.host == host] if host else out

    def exists(self, path: str) -> bool:
        return path.lstrip("/") in self.files or any(a.install_path == path for a in self.artifacts)

    def get(self, path: str) -> Artifact | None:
        return self.files.get(path.lstrip("/"))


def _host_for(path: str, host_globs: dict[str, list[str]]) -> str | None:
    for host, globs in host_globs.items():
        if any(fnmatch.fnmatchcase(path, g) for g in globs):
            return host
    return None


def _unicode_bom(data: bytes) -> str | None:
    if data[:4] in (b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff"):
        return "UTF-32"
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return "UTF-16"
    return None


def discover(
    target: Target,
    *,
    include: Iterable[str] = (),
    exclude: Iterable[str] = (),
    host_globs: dict[str, list[str]] | None = None,
    default_host: str | None = None,
    focus: frozenset[str] | None = None,
) -> ArtifactIndex:
    """Read every file of ``target`` once and build the artifact index.

    ``focus`` (``--changed-only``: the changed paths) leaves unchanged shell scripts out of the
    ``shell`` kind unless cross-artifact models may need them (see ``_focus_filter``); they stay
    in ``files`` and their heredoc artifacts (units, configs...) stay indexed. Every other kind is
    kept whole, so monitoring, topology, DR and firewall models see the same tree.
    """
    scope = Scope.of(include, exclude)
    host_globs = host_globs or {}
    index = ArtifactIndex()
    found: list[tuple[Artifact, list[Artifact]]] = []
    for entry in target.files():
        path = entry.path
        if scope.skips(path):  # tests, vendored code, samples: they exist but are not artifacts
            index.files[path] = None
            index.out_of_scope += 1
            continue
        ext = _ext(path)
        index.files[path] = None
        if ext in BINARY_EXTS:
            index.skipped += 1
            continue
        try:
            data = target.read_bytes(path)
        except (OSError, TargetError) as exc:
            index.problems.append(TargetProblem(path, f"cannot read: {exc}"))
            continue
        bom = _unicode_bom(data)
        if bom:  # UTF-16/32 text: NUL bytes everywhere, and no tool reading it on a host expects it
            index.problems.append(
                TargetProblem(path, f"{bom} encoded (byte-order mark), not UTF-8; not read")
            )
            continue
        if b"\x00" in data:  # anywhere (memchr: linear), not only in the first block
            if ext in TEXT_EXTS and ext != "":
                index.problems.append(
                    TargetProblem(path, "binary content (NUL bytes) in a text file; not analysed")
                )
            else:
                index.skipped += 1
            continue
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            index.problems.append(
                TargetProblem(path, f"not UTF-8 text (invalid byte at offset {exc.start}); not analysed")
            )
            continue
        if text.startswith("\ufeff"):
            text = text[1:]
        if not text.strip():  # an empty file says nothing: not an artifact (but it exists)
            continue
        cand = make_candidate(path, text)
        kind = detect_kind(cand)
        if kind is None:
            if text.strip() and _ext(_untemplated(path)) in (".service", ".socket", ".timer"):
                index.problems.append(
                    TargetProblem(
                        path,
                        "named like a systemd unit but is not one (no [Section] with Key=value lines); not analysed",
                    )
                )
            continue
        host = _host_for(path, host_globs) or default_host
        art = Artifact(
            path=path,
            kind=kind,
            text=text,
            digest=sha256_hex(data),
            mode=entry.mode,
            host=host,
            remote_host=default_host,
            templated=bool(_TEMPLATE_RE.search(text)),
        )
        if cand.data_error is not None:
            art._parse_error = cand.data_error
        share_yaml(art, kind, cand.data)  # loaded once: the monitoring parsers take it over
        if kind == "shell":
            art.meta["shell"] = detect_shell(text, path)
        index.files[path] = art
        found.append((art, embedded_artifacts(art) if kind == "shell" else []))
    keep = _focus_filter(found, focus) if focus is not None else None
    for art, children in found:
        if keep is None or art in keep:
            index.add(art)
        else:
            index.out_of_focus += 1
        for child in children:
            index.add(child)
    return index


# Unchanged scripts that whole-tree models read: firewall (ufw/iptables/nft), backup/restore/DR,
# cron schedules written by scripts, certificates. Broad on purpose: a false keep only costs time.
_CONTEXT_SCRIPT = re.compile(
    r"\b(ufw|iptables|ip6tables|nft|backup|restore|dump|restic|borg|rsync|snapshot|crontab|cron|"
    r"certbot|letsencrypt|wal-g|pgbackrest|xtrabackup|mariabackup|mydumper|rclone|s3|drill)",
    re.I,
)
_SOURCE_RE = re.compile(r"(?:^|[;&|({]|\bthen|\bdo)\s*(?:source|\.)\s+(.*)$", re.M)
_NAME_RE = re.compile(r"[\w.@+-]+")


def _sourced_names(text: str) -> set[str]:
    """Every name-like token after `source`/`.` (a superset of the sourced files' basenames:
    `. "$(dirname "$0")/lib.sh"` gives lib.sh, dirname, 0)."""
    return {n for m in _SOURCE_RE.finditer(text) for n in _NAME_RE.findall(m.group(1))}


def _focus_filter(found: list[tuple[Artifact, list[Artifact]]], focus: frozenset[str]) -> set[Artifact]:
    """Artifacts to index for a --changed-only run: all but unchanged, context-free shell scripts.

    Kept scripts: changed ones, libraries (no shebang), scripts that source a changed script (their
    findings can point into it), whatever a kept script sources (by basename, transitively), and
    scripts matching ``_CONTEXT_SCRIPT``.
    """
    scripts = [a for a, _ in found if a.kind == "shell"]
    sources = {a: _sourced_names(a.text) for a in scripts}
    by_name: dict[str, list[Artifact]] = {}
    for a in scripts:
        by_name.setdefault(posixpath.basename(a.path), []).append(a)
    changed_names = {posixpath.basename(a.path) for a in scripts if a.path in focus}
    keep: set[Artifact] = {a for a, _ in found if a.kind != "shell"}
    todo = [
        a
        for a in scripts
        if a.path in focus
        or not a.text.startswith("#!")
        or sources[a] & changed_names
        or _CONTEXT_SCRIPT.search(a.path)
        or _CONTEXT_SCRIPT.search(a.text)
    ]
    while todo:
        a = todo.pop()
        if a in keep:
            continue
        keep.add(a)
        for name in sources[a]:
            todo += [b for b in by_name.get(name, []) if b not in keep]
    return keep


def embedded_artifacts(script: Artifact) -> list[Artifact]:
    """Heredocs in a script that are recognisable artifacts (units, configs, rules, cron, sites)."""
    out = []
    for h in find_heredocs(script.lines):
        if not h.body.strip():
            continue
        where = h.target or f"{script.path}#heredoc-{h.line}"
        cand = make_candidate(where, h.body)
        kind = detect_kind(cand)
        # A generated script (`cat > /etc/x/rules.sh <<EOF` with a shebang) is a program of its own;
        # other shell-looking heredocs (snippets fed to `bash <<EOF`, messages) are not.
        generated_script = kind == "shell" and h.target is not None and h.body.startswith("#!")
        if kind in (None, "yaml", "json", "markdown") or (kind == "shell" and not generated_script):
            continue
        child = Artifact(
            path=script.path,
            kind=kind,
            text=h.body,
            digest=script.digest,
            line_offset=h.body_start - 1,
            install_path=h.target,
            parent=script,
            mode=None,
            host=script.host,
            remote_host=script.remote_host,
            templated=bool(_TEMPLATE_RE.search(h.body)) or (not h.quoted and "$" in h.body),
        )
        child.meta["heredoc"] = h
        if kind == "shell":
            child.meta["shell"] = detect_shell(h.body, h.target or "")
        if cand.data_error is not None:
            child._parse_error = ArtifactParseError(cand.data_error.args[0], cand.data_error.line)
        out.append(child)
    return out
