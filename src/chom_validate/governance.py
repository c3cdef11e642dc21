"""Governance applied by the engine after checks ran, never inside checks.

- **Fingerprints** (``finalize_fingerprints``): stable ids for failures, from check id, target, path,
  subject and a normalized excerpt; never line numbers, so moving a line does not change them.
  Identical findings in one file get an occurrence index so they never collapse into one.
- **Waivers** (``apply_waivers``): from ``chom-validate.yaml``; reason, owner and expiry required;
  an expired waiver stops applying and is reported by name (check, file:line, reason, owner).
- **Baselines** (``load_baseline``/``apply_baseline``): ``chom-validate baseline create`` records the
  fingerprints of today's failures; with ``--baseline FILE`` only new failures count. Baselined
  findings stay in every output with ``suppressed.kind == "baseline"``.
- **Changed-only** (``changed_files``/``restrict_to_changed``): every check still runs, on every
  artifact except unchanged shell scripts that no whole-tree model needs (``discover(focus=...)``:
  firewall, backup/restore, cron, certbot scripts, libraries and what changed scripts source stay),
  then findings are kept when their evidence is in a file changed since the git ref, when they
  have no file evidence (target-wide verdicts, e.g. "no backup alert anywhere", which a deletion
  can cause), or when they come from cross-artifact categories. Pass/fail/error findings equal
  those of the full scan filtered the same way (tests/test_perf_equivalence.py).
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import json
import re
import stat
import subprocess
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .config import Config, Waiver
from .findings import Finding, Status, Suppression

BASELINE_VERSION = 1
MAX_BASELINE_BYTES = 256 << 20  # far above any real baseline (50k entries: ~6 MB)
# Categories whose findings relate several artifacts: kept by --changed-only whatever changed.
CROSS_ARTIFACT_CATEGORIES = frozenset({"topology"})
_CHECK_ID = re.compile(r"^[A-Z]{2,4}\d{3}$")


# -- fingerprints ---------------------------------------------------------------------------------
def target_key(name: str, kind: str | None) -> str:
    """The target as fingerprints see it: a local tree is 'local' wherever it is checked out."""
    return "local" if kind == "local" else name


def finalize_fingerprints(findings: list[Finding], kinds: dict[str, str] | None = None) -> None:
    """Set ``fingerprint`` on every finding; identical ones get an occurrence index (in line order)."""
    kinds = kinds or {}
    groups: dict[str, list[Finding]] = defaultdict(list)
    for f in findings:
        base = f.compute_fingerprint(target=target_key(f.target, kinds.get(f.target)))
        groups[base].append(f)
    for base, group in groups.items():
        if len(group) == 1:
            group[0].fingerprint = base
            continue
        group.sort(key=lambda f: (f.evidence[0].line or 0) if f.evidence else 0)
        for i, f in enumerate(group):
            f.fingerprint = (
                base
                if i == 0
                else f.compute_fingerprint(target=target_key(f.target, kinds.get(f.target)), occurrence=i)
            )


# -- waivers --------------------------------------------------------------------------------------
def waiver_name(w: Waiver, where: str) -> str:
    """How notices name a waiver: check, file:line, reason and owner."""
    scope = "" if w.target == "*" and w.path == "*" else f" on {w.target}:{w.path}"
    return f"waiver {w.check}{scope} ({where}, owner {w.owner}, reason {w.reason!r})"


def _waiver_matches(f: Finding, w: Waiver) -> bool:
    return (
        f.status == Status.FAIL
        and f.check_id == w.check
        and fnmatch.fnmatchcase(f.target, w.target)
        and (w.path == "*" or any(fnmatch.fnmatchcase(e.path or "", w.path) for e in f.evidence))
    )


def apply_waivers(
    findings: list[Finding],
    waivers: list[Waiver],
    today: dt.date,
    source: str | None = None,
    lines: list[int] | None = None,
) -> list[str]:
    """Mark matching failures as waived; return notices (expired waivers, waivers matching nothing)."""
    notices: list[str] = []
    lines = lines or []
    for i, w in enumerate(waivers):
        where = f"{source}:{lines[i]}" if source and i < len(lines) and lines[i] else (source or "config")
        name = waiver_name(w, where)
        matched = [f for f in findings if f.suppressed is None and _waiver_matches(f, w)]
        if w.expires < today:
            if matched:
                locs = ", ".join(_first_location(f) for f in matched[:3])
                more = f" and {len(matched) - 3} more" if len(matched) > 3 else ""
                notices.append(
                    f"{name} expired on {w.expires.isoformat()} and no longer applies: "
                    f"{len(matched)} finding(s) fail again ({locs}{more})"
                )
                for f in matched:
                    f.data["expired_waiver"] = f"{where} (expired {w.expires.isoformat()})"
            else:
                notices.append(f"{name} expired on {w.expires.isoformat()} (it matched nothing; remove it)")
            continue
        if not matched:
            notices.append(f"{name} matched no failing finding; remove it?")
        for f in matched:
            f.suppressed = Suppression(
                kind="waiver", reason=w.reason, owner=w.owner, expires=w.expires.isoformat(), source=where
            )
    return notices


def _first_location(f: Finding) -> str:
    return f.evidence[0].location() if f.evidence else f.target


# -- baselines ------------------------------------------------------------------------------------
@dataclass
class BaselineEntry:
    fingerprint: str
    check_id: str
    line: int  # line of the entry in the baseline file (for messages)


@dataclass
class Baseline:
    path: str
    created_at: str | None = None
    entries: dict[str, BaselineEntry] = field(default_factory=dict)


def baseline_document(findings: list[Finding], *, created_at: str, tool_version: str, profile: str) -> str:
    """The baseline file for a run: every unsuppressed failure (waived ones stay governed by waivers)."""
    entries = []
    seen: set[str] = set()
    for f in sorted(findings, key=lambda f: (f.check_id, f.target, f.fingerprint)):
        if f.status != Status.FAIL or f.suppressed is not None or f.fingerprint in seen:
            continue
        seen.add(f.fingerprint)
        ev = f.evidence[0] if f.evidence else None
        entries.append(
            {
                "fingerprint": f.fingerprint,
                "check_id": f.check_id,
                "target": f.target,
                "path": ev.path if ev else None,
                "line": ev.line if ev else None,  # informative only; never used for matching
                "severity": f.effective_severity.value,
                "message": f.message,
            }
        )
    doc = {
        "version": BASELINE_VERSION,
        "tool": "chom-validate",
        "tool_version": tool_version,
        "created_at": created_at,
        "profile": profile,
        "findings": entries,
    }
    return json.dumps(doc, indent=2) + "\n"


def load_baseline(path: Path) -> Baseline:
    """Read and validate a baseline file; ``ValueError('FILE:LINE: ...')`` when malformed."""
    try:
        st = path.stat()  # before opening: a FIFO or device given as --baseline would block or stream
    except FileNotFoundError:
        raise ValueError(
            f"--baseline {path}: file not found (create one with `chom-validate baseline create -o {path}`)"
        ) from None
    except OSError as exc:
        raise ValueError(f"--baseline {path}: cannot read: {exc.strerror or exc}") from exc
    if not stat.S_ISREG(st.st_mode):
        kind = "a directory" if stat.S_ISDIR(st.st_mode) else "not a regular file (FIFO, socket or device)"
        raise ValueError(f"--baseline {path}: {kind}, not read")
    if st.st_size > MAX_BASELINE_BYTES:
        raise ValueError(
            f"--baseline {path}: {st.st_size} bytes, above the {MAX_BASELINE_BYTES >> 20} MB a baseline may hold"
        )
    try:
        with open(path, "rb") as fh:
            raw = fh.read(MAX_BASELINE_BYTES + 1)
        text = raw.decode("utf-8")
    except OSError as exc:
        raise ValueError(f"--baseline {path}: cannot read: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        enc = "UTF-16 encoded" if raw[:2] in (b"\xff\xfe", b"\xfe\xff") else f"not UTF-8 text (byte {exc.start})"
        raise ValueError(f"--baseline {path}: {enc}, not read (baselines are UTF-8 JSON)") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}:{exc.lineno}: baseline is not valid JSON: {exc.msg}") from exc
    except RecursionError:
        raise ValueError(f"{path}: baseline is nested too deeply to be a baseline file") from None
    except ValueError as exc:  # e.g. an integer beyond Python's digit limit
        why = " ".join(str(exc).split())[:200]
        if "digits" in why:
            why = "it holds a number too long to convert (over 4300 digits)"
        raise ValueError(f"{path}: baseline is not valid JSON: {why}") from None
    entry_lines = _entry_lines(text)

    def bad(loc: tuple[Any, ...], msg: str) -> ValueError:
        lines = _json_lines(text)  # only for the message: composing the whole document is slow
        line = next((lines[loc[:i]] for i in range(len(loc), -1, -1) if loc[:i] in lines), 1)
        return ValueError(f"{path}:{line}: baseline {'.'.join(map(str, loc)) or '(top level)'}: {msg}")

    if not isinstance(data, dict):
        raise bad((), f"expected an object with 'version' and 'findings', got {type(data).__name__}")
    if data.get("version") != BASELINE_VERSION:
        raise bad(("version",), f"unsupported baseline version {data.get('version')!r} (expected 1)")
    items = data.get("findings")
    if not isinstance(items, list):
        raise bad(("findings",), "'findings' must be a list")
    out = Baseline(path=str(path), created_at=data.get("created_at"))
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise bad(("findings", i), f"each entry must be an object, got {type(item).__name__}")
        fp = item.get("fingerprint")
        if not isinstance(fp, str) or not re.fullmatch(r"[0-9a-f]{16,64}", fp):
            raise bad(("findings", i, "fingerprint"), f"missing or malformed fingerprint {fp!r}")
        cid = item.get("check_id")
        if not isinstance(cid, str) or not _CHECK_ID.match(cid):
            raise bad(("findings", i, "check_id"), f"missing or malformed check id {cid!r}")
        line = entry_lines[i] if i < len(entry_lines) else 1
        out.entries.setdefault(fp, BaselineEntry(fingerprint=fp, check_id=cid, line=line))
    return out


_JSON_TOKEN = re.compile(r'"(?:[^"\\\n]|\\.)*"|[{}\[\]\n]')


def _entry_lines(text: str) -> list[int]:
    """Line of each element of the top-level ``findings`` array of a valid JSON document, in one
    linear scan of its strings and brackets (a 50k-entry baseline in well under a second, where
    composing it as YAML takes tens of seconds)."""
    out: list[int] = []
    depth, line, key, in_findings = 0, 1, "", False
    for m in _JSON_TOKEN.finditer(text):
        t = m.group()
        if t == "\n":
            line += 1
        elif t[0] == '"':
            if depth == 1:
                key = t  # the last string at the top level before a `[` is that array's key
        elif t in "{[":
            if depth == 1 and t == "[":
                in_findings = key == '"findings"'
            elif depth == 2 and in_findings:
                out.append(line)
            depth += 1
        else:
            depth -= 1
            if depth == 1:
                in_findings = False
    return out


def _json_lines(text: str) -> dict[tuple[Any, ...], int]:
    """Line of every key/index in a JSON document (JSON is YAML, whose nodes know their line)."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except (yaml.YAMLError, RecursionError):
        return {}
    out: dict[tuple[Any, ...], int] = {}

    def walk(n: yaml.Node, prefix: tuple[Any, ...]) -> None:
        out.setdefault(prefix, n.start_mark.line + 1)
        if isinstance(n, yaml.MappingNode):
            for k, v in n.value:
                out[(*prefix, k.value)] = k.start_mark.line + 1
                walk(v, (*prefix, k.value))
        elif isinstance(n, yaml.SequenceNode):
            for i, item in enumerate(n.value):
                walk(item, (*prefix, i))

    if node is not None:
        try:
            walk(node, ())
        except RecursionError:  # json.loads accepted it, so the lines are only for messages
            return {}
    return out


def apply_baseline(findings: list[Finding], baseline: Baseline) -> list[str]:
    """Mark failures whose fingerprint is in the baseline; report how many are new and fixed."""
    hit: set[str] = set()
    new = 0
    for f in findings:
        if f.status != Status.FAIL or f.suppressed is not None:
            continue
        entry = baseline.entries.get(f.fingerprint)
        if entry is None:
            new += 1
            continue
        hit.add(entry.fingerprint)
        f.suppressed = Suppression(
            kind="baseline",
            reason=f"known before the baseline of {baseline.created_at or 'unknown date'}",
            source=f"{baseline.path}:{entry.line}",
        )
    gone = len(baseline.entries) - len(hit)
    notices = [
        f"baseline {baseline.path}: {len(hit)} known finding(s) baselined, {new} new failure(s) count"
        + (f"; {gone} baselined finding(s) no longer reported (fixed? refresh the baseline)" if gone else "")
    ]
    return notices


# -- changed-only ---------------------------------------------------------------------------------
def _git(repo: Path, *args: str) -> str:
    try:
        proc = subprocess.run(
            ["git", "-C", str(repo), *args],
            capture_output=True,
            text=True,
            timeout=60,
            stdin=subprocess.DEVNULL,
            check=False,
        )
    except FileNotFoundError:
        raise ValueError("--changed-only needs git, which is not installed") from None
    except subprocess.TimeoutExpired:
        raise ValueError(f"--changed-only: `git {' '.join(args)}` timed out in {repo}") from None
    if proc.returncode != 0:
        msg = (proc.stderr.strip().splitlines() or ["failed"])[-1]
        raise ValueError(f"--changed-only: git {args[0]} in {repo}: {msg}")
    return proc.stdout


def changed_files(repo: Path, ref: str) -> frozenset[str]:
    """Files changed since ``ref`` (committed, staged, unstaged, untracked), relative to ``repo``."""
    if ref.startswith("-"):
        raise ValueError(f"--changed-only {ref!r}: a git ref cannot start with '-'")
    try:
        _git(repo, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    except ValueError:
        raise ValueError(f"--changed-only {ref!r}: not a known git commit or ref in {repo}") from None
    out = _git(repo, "diff", "--name-only", "--relative", "--no-renames", ref, "--")
    out += _git(repo, "ls-files", "--others", "--exclude-standard")
    return frozenset(ln.strip() for ln in out.splitlines() if ln.strip())


def restrict_to_changed(findings: list[Finding], changed: frozenset[str]) -> list[Finding]:
    """Findings a pull-request run should show (see the module docstring for the rule)."""
    kept = []
    for f in findings:
        paths = [e.path.removeprefix("./") for e in f.evidence if e.path]
        if f.category in CROSS_ARTIFACT_CATEGORIES or not paths or any(p in changed for p in paths):
            kept.append(f)
    return kept


# -- hooks called by the CLI and the engine -------------------------------------------------------
def prepare_options(options: Any, cfg: Config, args: Any) -> None:
    """Validate governance inputs before scanning (``ValueError`` -> exit 2 with file:line)."""
    for i, w in enumerate(cfg.waivers):
        line = cfg.waiver_lines[i] if i < len(cfg.waiver_lines) else 0
        where = f"{cfg.source or 'config'}:{line or 1}"
        if not _CHECK_ID.match(w.check):
            raise ValueError(f"{where}: waivers.{i}.check: {w.check!r} is not a check id like SYS004")
        if not w.reason.strip() or not w.owner.strip():
            raise ValueError(f"{where}: waivers.{i}: reason and owner must not be blank")
        known = options.extra.get("known_checks")
        if known is not None and w.check not in known:
            raise ValueError(
                f"{where}: waivers.{i}.check: no check {w.check} (see `chom-validate list`); "
                "a waiver for an unknown check waives nothing"
            )
    baseline = options.extra.get("baseline")
    if baseline:
        options.extra["baseline_data"] = load_baseline(Path(baseline))
    ref = options.extra.get("changed_only")
    if ref:
        path = getattr(args, "path", None)
        if path is None:
            raise ValueError("--changed-only works on repository scans: use it with --path")
        options.extra["changed_files"] = changed_files(Path(path), ref)


def govern(
    findings: list[Finding],
    cfg: Config,
    options: Any,
    today: dt.date,
    kinds: dict[str, str] | None = None,
) -> tuple[list[Finding], list[str]]:
    """Engine hook: fingerprints, changed-only filter, waivers (unless --no-waivers), baseline."""
    notices: list[str] = []
    finalize_fingerprints(findings, kinds)
    changed = options.extra.get("changed_files")
    if changed is not None:
        before = len(findings)
        findings = restrict_to_changed(findings, changed)
        notices.append(
            f"--changed-only {options.extra.get('changed_only')}: {len(changed)} changed file(s); "
            f"{before - len(findings)} finding(s) about unchanged files not shown"
        )
    if options.use_waivers:
        notices += apply_waivers(findings, cfg.waivers, today, cfg.source, cfg.waiver_lines)
    elif cfg.waivers:
        notices.append(f"--no-waivers: {len(cfg.waivers)} waiver(s) ignored; showing the unwaived truth")
    baseline = options.extra.get("baseline_data")
    if baseline is None and options.extra.get("baseline"):
        baseline = load_baseline(Path(options.extra["baseline"]))
    if baseline is not None:
        notices += apply_baseline(findings, baseline)
    return findings, notices
