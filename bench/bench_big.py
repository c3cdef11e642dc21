"""5 MB inputs: each generated file alone in a tree, analysed by a full `all --path DIR --no-cache`.

Run: .venv/bin/python bench/bench_big.py [--only NAME ...] [--size BYTES] [--profile DIR]
Prints a Markdown table: bytes, wall seconds, CPU seconds (user+sys of the child), peak RSS, number of
results and failing results, and the 1-minute load average before and after each run (the machine is
shared: CPU time is the figure that load does not inflate). The generators are tests/hostile/big.py.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.hostile import big  # noqa: E402

INPUTS: dict[str, tuple[str, Callable[[int], str]]] = {
    "script": ("deploy.sh", big.shell_script),
    "script-one-line": ("deploy-min.sh", big.one_line_script),
    "rules": ("prometheus/app.rules.yml", big.alert_rules),
    "rules-failing": ("prometheus/failing.rules.yml", big.failing_rules),
    "dashboard": ("dashboards/fleet.json", big.dashboard),
    "runbook": ("docs/runbook.md", big.runbook),
    "nginx": ("nginx/sites-enabled/fleet.conf", big.nginx_conf),
    "systemd": ("systemd/agent.service", big.systemd_unit),
    "crontab": ("cron.d/backups", big.crontab),
    "dotenv": (".env", big.dotenv),
}


def run(name: str, size: int, work: Path, profile: Path | None, timeout: float) -> dict[str, object]:
    rel, gen = INPUTS[name]
    tree = work / name
    (tree / rel).parent.mkdir(parents=True, exist_ok=True)
    (tree / rel).write_text(gen(size))
    out = work / f"{name}.json"
    exe = [sys.executable]
    if profile is not None:
        exe += ["-m", "cProfile", "-o", str(profile / f"{name}.prof")]
    argv = [*exe, "-m", "chom_validate", "all", "--path", str(tree), "--no-cache", "--format", "json", "-o", str(out)]
    load0 = os.getloadavg()[0]
    t0 = time.perf_counter()
    with tempfile.TemporaryFile() as errf:
        proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=errf)
        timer = threading.Timer(timeout, proc.kill)
        timer.start()
        _, status, ru = os.wait4(proc.pid, 0)
        timer.cancel()
        wall = time.perf_counter() - t0
        errf.seek(0)
        err = errf.read().decode(errors="replace")
    results: list[dict[str, object]] = []
    slow: list[tuple[float, str]] = []
    try:
        doc = json.loads(out.read_text())
        results = doc["findings"]
        slow = sorted(((r["duration_ms"] / 1000, r["check_id"]) for t in doc["targets"] for r in t["check_runs"]), reverse=True)
    except (OSError, ValueError, KeyError):
        pass
    return {
        "name": name,
        "bytes": (tree / rel).stat().st_size,
        "lines": (tree / rel).read_text().count("\n"),
        "wall": wall,
        "cpu": ru.ru_utime + ru.ru_stime,
        "rss": ru.ru_maxrss / 1024,  # KiB on Linux; max over the process and its forked child
        "rc": os.waitstatus_to_exitcode(status),
        "results": len(results),
        "failing": sum(1 for r in results if r.get("status") == "fail"),
        "errors": [str(r.get("message", ""))[:120] for r in results if r.get("status") == "error"],
        "stderr": err.strip().splitlines()[-3:],
        "load": (load0, os.getloadavg()[0]),
        "slow": ", ".join(f"{c} {t:.1f}" for t, c in slow[:4]),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", nargs="*", default=sorted(INPUTS))
    ap.add_argument("--size", type=int, default=big.SIZE)
    ap.add_argument("--timeout", type=float, default=300.0, help="kill a run after this many seconds")
    ap.add_argument("--profile", type=Path, default=None, help="write NAME.prof (cProfile) here")
    ap.add_argument("--one", help=argparse.SUPPRESS)
    ap.add_argument("--work", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.profile:
        args.profile.mkdir(parents=True, exist_ok=True)
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    if args.one:  # the measuring process: one input, its figures as JSON on stdout
        print(json.dumps(run(args.one, args.size, Path(args.work), args.profile, args.timeout)))
        return
    print("| input | bytes | lines | wall s | CPU s | peak RSS MiB | results | failing | load 1 min | slowest checks s | errors |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---|---|---|")
    with tempfile.TemporaryDirectory(prefix="bench-big-") as d:
        for name in args.only:
            # each input measured from a fresh, small process: a child's peak RSS includes what its
            # parent held when it forked (here the previous input's parsed JSON report)
            argv = [sys.executable, __file__, "--one", name, "--work", d, "--size", str(args.size)]
            argv += ["--timeout", str(args.timeout)] + (["--profile", str(args.profile)] if args.profile else [])
            r = json.loads(subprocess.run(argv, check=True, capture_output=True, text=True).stdout)
            errs = "; ".join(r["errors"]) or (f"rc {r['rc']} {r['stderr']}" if r["rc"] not in (0, 1) else "")  # type: ignore[arg-type]
            print(
                f"| {name} | {r['bytes']} | {r['lines']} | {r['wall']:.1f} | {r['cpu']:.1f} | {r['rss']:.0f} "
                f"| {r['results']} | {r['failing']} | {r['load'][0]:.1f}-{r['load'][1]:.1f} | {r['slow']} | {errs} |",  # type: ignore[index]
                flush=True,
            )


if __name__ == "__main__":
    main()
