"""Build every hostile case, run them all through the real CLI (tests/hostile/_driver.py), judge them.

One session-wide run: trees are built, checksummed, scanned (one forked CLI process per group tree
or per RunCase, two at a time), checksummed again. Judging is per case, so a failure names the case.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .cases import GROUPS, KNOWN_SECONDS, RUN, TREE, RunCase, TreeCase

HERE = Path(__file__).resolve().parent
MAX_RSS_KB = 500 * 1024
GROUP_SECONDS = 90.0  # per scan of a group tree (dozens of cases); a hang is killed at the timeout
RUN_SECONDS = 30.0  # per RunCase invocation
TOTAL_SECONDS = 170.0
NOBODY = 65534
# An internal exception leaking into a user-facing message as "KeyError: 'x'" (a bug in some
# parser or check, shown raw). Reworded parser failures ("the shell parser failed ... (IndexError)")
# are counted separately, not rejected.
RAW_EXC = re.compile(
    r"(?<![(\w])(IndexError|KeyError|TypeError|AttributeError|RecursionError|ValueError|"
    r"AssertionError|ZeroDivisionError|UnicodeDecodeError|OverflowError|MemoryError)\b:"
)


@dataclass
class Outcome:
    id: str
    topic: str
    ok: bool = True
    problems: list[str] = field(default_factory=list)
    verdict: str = ""  # result | error | ignored | exit-2
    seconds: float = 0.0
    maxrss_kb: int = 0
    internal: list[str] = field(default_factory=list)  # parser/check failures shown (reworded) to users

    def bad(self, why: str) -> None:
        self.ok = False
        self.problems.append(why)


@dataclass
class Session:
    base: Path
    results: dict[str, dict[str, Any]]
    before: dict[str, dict[str, str]]
    after: dict[str, dict[str, str]]
    reports: dict[str, dict[str, Any] | None]
    wall: float
    outcomes: dict[str, Outcome] = field(default_factory=dict)


def checksum(root: Path, skip: tuple[str, ...] = ()) -> dict[str, str]:
    """Path -> type, mode, size, mtime and content digest; never opens FIFOs, sockets or devices."""
    out: dict[str, str] = {}
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        for name in [*dirnames, *filenames]:
            p = os.path.join(dirpath, name)
            rel = os.path.relpath(p, root)
            if rel.split(os.sep)[0] in skip:
                continue
            st = os.lstat(p)
            sig = f"{stat.S_IFMT(st.st_mode)}:{stat.S_IMODE(st.st_mode):o}:{st.st_size}:{st.st_mtime_ns}"
            if stat.S_ISLNK(st.st_mode):
                sig += ":" + os.readlink(p)
            elif stat.S_ISREG(st.st_mode) and st.st_mode & 0o444 and st.st_blocks:
                sig += ":" + _digest(p, st.st_size)
            out[rel] = sig
    return out


def _digest(path: str, size: int) -> str:
    """sha256 of the content; of the first and last MiB for files above 8 MiB (mtime covers the rest)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        if size <= 8 << 20:
            h.update(fh.read())
        else:
            h.update(fh.read(1 << 20))
            fh.seek(size - (1 << 20))
            h.update(fh.read())
    return h.hexdigest()


def _mkdir(p: Path, mode: int = 0o755) -> Path:
    p.mkdir(parents=True, exist_ok=True)
    p.chmod(mode)
    return p


def build_and_run() -> Session:
    base = Path(tempfile.mkdtemp(prefix="chom-hostile-"))
    base.chmod(0o755)  # the "nobody" runs must reach their trees and outputs
    trees, runs, outs = _mkdir(base / "trees"), _mkdir(base / "runs"), _mkdir(base / "out", 0o777)
    cache = _mkdir(base / "cache", 0o777)
    jobs: list[dict[str, Any]] = []
    before: dict[str, dict[str, str]] = {}
    env = {"XDG_CACHE_HOME": str(cache), "HOME": str(cache), "NO_COLOR": "1", "COLUMNS": "200"}
    for g in GROUPS.values():
        root = _mkdir(trees / g.name)
        for c in TREE:
            if c.group == g.name:
                c.build(root / c.id)
        if g.config:
            (root / "chom-validate.yaml").write_text(g.config)
        for dirpath, dirnames, _ in os.walk(root):  # traversable by the nobody group
            for d in dirnames:
                p = Path(dirpath) / d
                if not p.is_symlink() and p.stat().st_mode & 0o700 == 0o700:
                    p.chmod(p.stat().st_mode | 0o055)
        argv = ["all", "--path", str(root), "--no-cache", "--now", "2026-11-29"]
        argv += g.extra_argv or ["--format", "json", "-o", str(outs / f"{g.name}.json")]
        jobs.append(
            {
                "id": f"group-{g.name}",
                "argv": argv,
                "cwd": str(root),
                "timeout": g.timeout,
                "uid": g.uid,
                "env": env,
            }
        )
    for c in RUN:
        d = _mkdir(runs / c.id)
        argv = c.build(d)
        jobs.append(
            {
                "id": c.id,
                "argv": [*argv, "--no-cache", "--now", "2026-11-29"],
                "cwd": str(d),
                "timeout": _limit(c),
                "uid": c.uid,
                "env": env,
            }
        )
    for j in jobs:
        root = Path(j["cwd"])
        before[j["id"]] = checksum(root, skip=("out.json", "out"))
    jobs_file = base / "jobs.json"
    jobs_file.write_text(json.dumps(jobs))
    results_file = outs / "results.json"
    t0 = time.perf_counter()
    subprocess.run(
        [sys.executable, str(HERE / "_driver.py"), str(jobs_file), str(results_file)],
        check=True,
        timeout=TOTAL_SECONDS + 60,
        cwd=str(base),
    )
    wall = time.perf_counter() - t0
    results = json.loads(results_file.read_text())
    after = {j["id"]: checksum(Path(j["cwd"]), skip=("out.json", "out")) for j in jobs}
    reports: dict[str, dict[str, Any] | None] = {}
    for g in GROUPS.values():
        p = outs / f"{g.name}.json"
        reports[g.name] = json.loads(p.read_text()) if p.is_file() else None
    s = Session(base, results, before, after, reports, wall)
    for c in TREE:
        s.outcomes[c.id] = judge_tree(s, c)
    for rc in RUN:
        s.outcomes[rc.id] = judge_run(s, rc)
    return s


def _limit(c: RunCase) -> float:
    return KNOWN_SECONDS if c.known else RUN_SECONDS


def _common(
    o: Outcome, res: dict[str, Any] | None, before: dict[str, str], after: dict[str, str], limit: float
) -> None:
    if res is None:
        o.bad("no result recorded (the driver did not run it)")
        return
    o.seconds, o.maxrss_kb = res["seconds"], res["maxrss_kb"]
    both = res["stdout"] + res["stderr"]
    if res["timed_out"]:
        o.bad(f"hang: killed after {limit:g}s")
    if res["rc"] not in (0, 1, 2):
        o.bad(f"exit code {res['rc']}: {res['stderr'][-400:]}")
    if "Traceback" in both:
        o.bad("traceback: " + both[both.index("Traceback") :][:600])
    if "internal error" in both:
        o.bad("internal error: " + next(ln for ln in both.splitlines() if "internal error" in ln))
    if res["maxrss_kb"] > MAX_RSS_KB:
        o.bad(f"peak RSS {res['maxrss_kb'] // 1024} MB above {MAX_RSS_KB // 1024} MB")
    if res["seconds"] > limit:
        o.bad(f"took {res['seconds']:.1f}s (limit {limit:g}s)")


def _writes(before: dict[str, str], after: dict[str, str], prefix: str = "") -> list[str]:
    keys = {k for k in set(before) | set(after) if k.startswith(prefix)}
    return sorted(k for k in keys if before.get(k) != after.get(k))


def _findings_of(report: dict[str, Any], case_id: str) -> list[dict[str, Any]]:
    pre = case_id + "/"
    out = []
    for f in report.get("findings", []):
        paths = [e.get("path") or "" for e in f.get("evidence", [])]
        if (
            any(p.startswith(pre) for p in paths)
            or pre in f.get("message", "")
            or (f.get("subject") or "").startswith(pre)
        ):
            out.append(f)
    return out


def judge_tree(s: Session, c: TreeCase) -> Outcome:
    o = Outcome(c.id, c.topic)
    gid = f"group-{c.group}"
    res = s.results.get(gid)
    _common(o, res, s.before[gid], s.after[gid], GROUPS[c.group].timeout)
    w = _writes(s.before[gid], s.after[gid], c.id + os.sep) + _writes(
        s.before[gid], s.after[gid], c.id + "\n"
    )
    if w:
        o.bad(f"the scan changed the tree: {w[:3]}")
    if res is None:
        return o
    report = s.reports.get(c.group)
    if report is None:  # text-format group: judge what the terminal shows
        text = res["stdout"] + res["stderr"]
        if "\x1b" in text:
            o.bad("raw escape character reached the terminal output")
        if re.search(r"^name\.sh", text, re.M) or re.search(r"^\[Service\]\.service", text, re.M):
            o.bad("a file name with a newline was printed raw and split a line")
        o.verdict = "result" if res["rc"] in (0, 1) else "exit-2"
        return o
    for t in report.get("targets", []):
        if t.get("error"):
            o.bad(f"the whole target failed: {t['error']}")
    mine = _findings_of(report, c.id)
    for f in mine:
        msg = f.get("message", "")
        if "\n" in msg or "\r" in msg:
            o.bad(f"multi-line message from {f['check_id']}: {msg[:200]!r}")
        if RAW_EXC.search(msg):
            o.bad(f"raw internal exception in {f['check_id']}: {msg[:200]}")
        if f["status"] == "error" and (
            "parser failed" in msg or "check raised" in msg or "check failed" in msg
        ):
            o.internal.append(f"{f['check_id']}: {msg[:240]}")
    errors = [f for f in mine if f["status"] == "error"]
    fails = [f for f in mine if f["status"] == "fail"]
    o.verdict = "error" if errors else ("result" if mine else "ignored")
    if fails and not errors:
        o.verdict = "result"
    if c.must_report and not (errors or fails):
        o.bad("not reported: expected an error naming the file")
    return o


def judge_run(s: Session, c: RunCase) -> Outcome:
    o = Outcome(c.id, c.topic)
    res = s.results.get(c.id)
    _common(o, res, s.before[c.id], s.after[c.id], _limit(c))
    w = _writes(s.before[c.id], s.after[c.id])
    if w:
        o.bad(f"the run changed its inputs: {w[:3]}")
    if res is None:
        return o
    if res["rc"] not in c.expect_rc:
        o.bad(f"exit code {res['rc']}, expected one of {sorted(c.expect_rc)}")
    err_lines = [ln for ln in res["stderr"].splitlines() if ln.strip()]
    out = Path(s.base / "runs" / c.id / "out.json")
    if res["rc"] == 2 and not out.is_file():
        o.verdict = "exit-2"
        errors = [ln for ln in err_lines if ln.startswith("chom-validate: error:")]
        if (
            not errors
            and err_lines
            and err_lines[-1].startswith("Error: ")
            and err_lines[0].startswith("Usage:")
        ):
            errors, err_lines = [err_lines[-1]], [err_lines[-1]]  # click's usage error: the Error line counts
        if len(errors) != 1:
            o.bad(f"expected exactly one 'chom-validate: error:' line, got: {err_lines[:4]}")
        elif c.names and c.names not in errors[0]:
            o.bad(f"error does not name {c.names}: {errors[0][:300]}")
        if len(err_lines) != 1:
            o.bad(f"stderr is not one line: {err_lines[:4]}")
        if errors and RAW_EXC.search(errors[0]):
            o.bad(f"raw internal exception: {errors[0][:300]}")
    else:
        o.verdict = "result" if res["rc"] != 2 else "target-error"
        if out.is_file():
            data = json.loads(out.read_text())
            for t in data.get("targets", []):
                if t.get("error") and "\n" in t["error"]:
                    o.bad(f"multi-line target error: {t['error'][:200]!r}")
                if t.get("error") and c.names and c.names not in t["error"]:
                    o.bad(f"target error does not name {c.names}: {t['error'][:200]}")
            for f in data.get("findings", []):
                if "\n" in f.get("message", ""):
                    o.bad(f"multi-line message: {f['message'][:200]!r}")
                if RAW_EXC.search(f.get("message", "")):
                    o.bad(f"raw internal exception: {f['message'][:200]}")
    return o


def cleanup(s: Session) -> None:
    for dirpath, dirnames, _ in os.walk(s.base):  # unreadable dirs made by the cases
        for d in dirnames:
            p = Path(dirpath) / d
            if not p.is_symlink():
                p.chmod(0o755)
    shutil.rmtree(s.base, ignore_errors=True)
