"""ShellCheck integration: its findings become results with SC codes and line numbers."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from chom_validate.engine import ScanContext
from chom_validate.findings import Result
from chom_validate.registry import check

_LEVEL_SEVERITY = {"error": "high", "warning": "medium"}
_Outcome = list[dict[str, Any]] | Exception


MAX_SCRIPT_CHARS = 1024 * 1024
_JINJA = re.compile(r"\{\{|\{%|%\}|\}\}")


def _dialect(shell: str | None) -> str:
    return {"sh": "sh", "dash": "dash", "ksh": "ksh"}.get(shell or "bash", "bash")


def _argv(exe: str, dialect: str) -> list[str]:
    return [exe, "-f", "json1", "-s", dialect, "-S", "warning", "-"]


def _run_one(exe: str, text: str, dialect: str) -> _Outcome:
    try:
        proc = subprocess.run(_argv(exe, dialect), input=text, capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return exc
    try:
        data = json.loads(proc.stdout)
    except ValueError:
        data = None
    if not isinstance(data, dict) or not isinstance(data.get("comments"), list):
        # exit 2-4 (bad options, unreadable input): no report, so no verdict; never "clean"
        detail = (proc.stderr or "").strip().splitlines()
        return RuntimeError(
            f"exit {proc.returncode}, no JSON report" + (f": {detail[0][:200]}" if detail else "")
        )
    return [c for c in data["comments"] if isinstance(c, dict)]


# -- content-addressed result cache ----------------------------------------------------------------
#
# ShellCheck's verdict on a text depends only on the text, the dialect, the argv, the shellcheck
# build and the rc files / SHELLCHECK_OPTS it reads (stdin: .shellcheckrc/shellcheckrc from the
# working directory up, then ~/.shellcheckrc and $XDG_CONFIG_HOME/shellcheckrc). All of these go into
# the key, so an entry can only be reused for an identical run. Entries live in the user's cache
# directory on the machine that runs chom-validate, never in a scanned tree nor on a target host.

CACHE_FORMAT = 1
NO_CACHE_ENV = "CHOM_VALIDATE_NO_CACHE"
_VERSIONS: dict[tuple[str, int, int], str] = {}


def cache_dir() -> Path:
    """$XDG_CACHE_HOME/chom-validate/shellcheck (a relative XDG_CACHE_HOME is ignored, per the spec)."""
    base = os.environ.get("XDG_CACHE_HOME", "")
    root = Path(base) if base and os.path.isabs(base) else Path.home() / ".cache"
    return root / "chom-validate" / "shellcheck"


def _version(exe: str) -> str | None:
    try:
        real = os.path.realpath(exe)
        st = os.stat(real)
        memo = (real, st.st_mtime_ns, st.st_size)
        if memo not in _VERSIONS:
            proc = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=30)
            if proc.returncode != 0 or "version" not in proc.stdout:
                return None
            _VERSIONS[memo] = proc.stdout
    except (OSError, subprocess.TimeoutExpired):
        return None
    return _VERSIONS[memo]


def _rc_files() -> list[Path]:
    """Every rc file shellcheck may read for a run on stdin from this working directory."""
    cwd = Path.cwd()
    found = [d / n for d in (cwd, *cwd.parents) for n in (".shellcheckrc", "shellcheckrc")]
    xdg = os.environ.get("XDG_CONFIG_HOME", "")
    xdg_root = Path(xdg) if xdg and os.path.isabs(xdg) else Path.home() / ".config"
    return [*found, Path.home() / ".shellcheckrc", xdg_root / "shellcheckrc"]


def _environment_key(exe: str) -> str | None:
    """What besides text and dialect decides the output; None when it cannot be known (no cache)."""
    version = _version(exe)
    if version is None:
        return None
    opts = os.environ.get("SHELLCHECK_OPTS", "")
    rcs = []
    try:
        for path in _rc_files():
            if path.exists():
                rcs.append((str(path), path.read_bytes().decode("utf-8", "replace")))
    except (OSError, RuntimeError):  # unreadable rc (or no home directory): the key is unknown
        return None
    # With sourced files followed, the verdict also depends on other files: not content-addressable.
    if re.search(r"(^|\s)(-\w*x|--external-sources)", opts) or any(
        re.search(r"^\s*(external-sources\s*=\s*true|source-path\s*=)", t, re.M) for _, t in rcs
    ):
        return None
    return json.dumps([CACHE_FORMAT, os.path.realpath(exe), version, opts, rcs])


def _inside(path: Path, root: Path) -> bool:
    try:
        path.resolve().relative_to(root.resolve())
    except (ValueError, OSError, RuntimeError):
        return False
    return True


class _Cache:
    """Content-addressed shellcheck results; any problem means a miss (read) or no cache (write)."""

    def __init__(self, directory: Path | None, env_key: str | None) -> None:
        self.dir = directory if env_key is not None else None
        self.env_key = env_key or ""

    @classmethod
    def open(cls, exe: str, disabled: bool, scanned_root: Path | None) -> _Cache:
        if disabled or os.environ.get(NO_CACHE_ENV, "").strip() not in ("", "0"):
            return cls(None, None)
        directory = cache_dir()
        if scanned_root is not None and _inside(directory, scanned_root):
            return cls(None, None)  # never write into the tree being scanned
        return cls(directory, _environment_key(exe))

    def key(self, exe: str, text: str, dialect: str) -> str:
        payload = json.dumps([self.env_key, _argv(exe, dialect), dialect, text])
        return hashlib.sha256(payload.encode("utf-8", "surrogatepass")).hexdigest()

    def _path(self, key: str) -> Path:
        assert self.dir is not None
        return self.dir / key[:2] / f"{key}.json"

    def get(self, key: str) -> list[dict[str, Any]] | None:
        if self.dir is None:
            return None
        try:
            data = json.loads(self._path(key).read_text(encoding="utf-8"))
        except (OSError, ValueError):  # missing, unreadable or corrupt: recompute
            return None
        if (
            not isinstance(data, dict)
            or data.get("format") != CACHE_FORMAT
            or data.get("key") != key
            or not isinstance(data.get("comments"), list)
            or not all(isinstance(c, dict) for c in data["comments"])
        ):
            return None
        return list(data["comments"])

    def put(self, key: str, comments: list[dict[str, Any]]) -> None:
        if self.dir is None:
            return
        path = self._path(key)
        tmp: str | None = None
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".json", dir=path.parent)
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump({"format": CACHE_FORMAT, "key": key, "comments": comments}, fh)
            os.replace(tmp, path)
            tmp = None
        except OSError:  # read-only or full cache directory: carry on without caching
            self.dir = None
        finally:
            if tmp is not None:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)


def _run_all(exe: str, jobs: list[tuple[str, str]], cache: _Cache | None = None) -> list[_Outcome]:
    """ShellCheck output per (text, dialect), in order.

    ShellCheck costs ~0.2 s of CPU per 50-line script, so identical texts run once, results of
    earlier runs come from the cache, and the remaining runs are spread over the CPU cores
    (threads waiting on subprocesses).
    """
    cache = cache or _Cache(None, None)
    unique = list(dict.fromkeys(jobs))
    by_job: dict[tuple[str, str], _Outcome] = {}
    keys = {job: cache.key(exe, *job) for job in unique} if cache.dir is not None else {}
    for job, key in keys.items():
        hit = cache.get(key)
        if hit is not None:
            by_job[job] = hit
    todo = [job for job in unique if job not in by_job]
    workers = min(len(todo), os.cpu_count() or 1, 8)
    if workers <= 1:
        done = [_run_one(exe, t, d) for t, d in todo]
    else:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            done = list(pool.map(lambda job: _run_one(exe, *job), todo))
    for job, outcome in zip(todo, done, strict=True):
        by_job[job] = outcome
        if job in keys and not isinstance(outcome, Exception):
            cache.put(keys[job], outcome)
    return [by_job[j] for j in jobs]


@check(
    "DEP020", "shellcheck", category="deploy", severity="medium", pillar="code_quality", profile="hardened"
)
def shellcheck(ctx: ScanContext) -> Iterator[Result]:
    """Shell scripts are clean under ShellCheck (errors and warnings).

    What it does
        Runs `shellcheck -f json1` (when installed) on the text of every shell script, with the
        dialect from its shebang, and reports each error/warning with its SC code and line.
        Info and style notes are ignored. Without shellcheck the result is not_applicable.
        Results are cached by content (script text, dialect, argv, `shellcheck --version`,
        the rc files and SHELLCHECK_OPTS that apply) under $XDG_CACHE_HOME/chom-validate/shellcheck;
        `CHOM_VALIDATE_NO_CACHE=1` or `all --no-cache` turns the cache off.
    Why it matters
        ShellCheck finds the quoting and expansion bugs (SC2086 word splitting, SC2115 `rm -rf
        "$dir/"*`, SC2164 `cd` without `|| exit`) that make deploy scripts fail on the one host
        whose path has a space in it.
    Example
        cd $APP_DIR                # SC2086, SC2164
    Fix
        Follow the linked wiki page for each SC code; quote expansions, `cd ... || exit 1`.
    References
        https://www.shellcheck.net/wiki/
    """
    exe = shutil.which("shellcheck")
    scripts = [(a, s) for a, s in ctx.parsed("shell") if not a.embedded]
    if not scripts:
        yield Result.not_applicable("no shell scripts found")
        return
    if exe is None:
        yield Result.not_applicable("shellcheck is not installed (apt-get install shellcheck)")
        return
    for art, _ in scripts:
        if len(art.text) > MAX_SCRIPT_CHARS:  # generated/bundled: shellcheck would take GBs and minutes
            yield Result.not_applicable(
                f"{art.path}: {len(art.text)} characters, too large for shellcheck (limit {MAX_SCRIPT_CHARS}); not run",
                art.evidence(1, note="not analysed by shellcheck"),
                subject=art.path,
            )
    scripts = [(a, s) for a, s in scripts if len(a.text) <= MAX_SCRIPT_CHARS]
    jobs = [(art.text, _dialect(art.meta.get("shell"))) for art, _ in scripts]
    root = getattr(ctx.target, "root", None)
    cache = _Cache.open(
        exe, bool(ctx.options.extra.get("no_cache")), root if isinstance(root, Path) else None
    )
    outcomes = _run_all(exe, jobs, cache)
    for (art, script), outcome in zip(scripts, outcomes, strict=True):
        if isinstance(outcome, Exception):
            yield Result.error(f"{art.path}: shellcheck failed: {outcome}", art.evidence(1), subject=art.path)
            continue
        comments = outcome
        unknown = 0
        if art.templated:  # a Jinja template: what shellcheck says about `{{ }}`/`{% %}` lines is noise
            kept = []
            for c in comments:
                first = int(c.get("line") or 1)
                last = max(first, int(c.get("endLine") or first))
                if any(_JINJA.search(art.line_text(n)) for n in range(first, min(last, first + 50) + 1)):
                    unknown += 1
                else:
                    kept.append(c)
            comments = kept
        seen: set[tuple[Any, ...]] = set()
        unique = []
        for c in comments:  # one result per line, code and message (not per column)
            key = (c.get("line"), c.get("code"), c.get("message"))
            if key not in seen:
                seen.add(key)
                unique.append(c)
        comments = unique
        if not comments and unknown:
            yield Result.not_applicable(
                f"{art.path}: template; shellcheck only reported {unknown} issue(s) on templated lines",
                art.evidence(1, note="values unknown until rendered"),
                subject=art.path,
            )
            continue
        if not comments:
            yield Result.passed(
                f"{art.path}: shellcheck clean ({script.parser} parse)", art.evidence(1), subject=art.path
            )
            continue
        for c in comments:
            code = f"SC{c.get('code')}"
            yield Result.fail(
                f"{art.path}:{c.get('line')}: {code} {c.get('message', '')}",
                art.evidence(int(c.get("line") or 1), note=f"https://www.shellcheck.net/wiki/{code}"),
                subject=f"{art.path}:{c.get('line')}:{code}",
                severity=_LEVEL_SEVERITY.get(c.get("level", ""), "low"),
                sc_code=code,
                level=c.get("level"),
            )
