"""Start-up time of `--version`, `list` and `explain`, this tree against a baseline source tree, alternating.

    git archive OLD_COMMIT src | tar -x -C /tmp/old
    .venv/bin/python bench/bench_startup.py --baseline-src /tmp/old/src --write bench/RESULTS.md

Both sides run as ``python -m chom_validate`` from this venv (the baseline through PYTHONPATH, so
its ``src/chom_validate`` shadows this one; the check modules are this tree's for both). Each round
runs every command once per side, A then B, so load changes hit both alike; the table gives medians.
`list` and `explain` are measured with the check index and rendered listing current (the normal
case) and with the cache off (``CHOM_VALIDATE_NO_CACHE=1``: what the first run after a change of a
check file costs).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_scan import ROOT, write_section

COMMANDS = [
    ("--version", ["--version"], False),
    ("list", ["list"], False),
    ("explain DEP001", ["explain", "DEP001"], False),
    ("list, cache off", ["list"], True),
]


def timed(argv: list[str], env: dict[str, str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, check=True, cwd=ROOT)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--baseline-src", type=Path, required=True, help="src/ of the tree to compare with")
    ap.add_argument("--label", default="baseline", help="what the baseline is (e.g. its commit)")
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--write", type=Path)
    args = ap.parse_args()
    times: dict[tuple[str, str], list[float]] = {}
    load0 = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as cache:
        sides = {
            "before": {**os.environ, "PYTHONPATH": str(args.baseline_src.resolve()), "XDG_CACHE_HOME": cache},
            "after": {**os.environ, "PYTHONPATH": str(ROOT / "src"), "XDG_CACHE_HOME": cache},
        }
        for env in sides.values():
            env.pop("CHOM_VALIDATE_NO_CACHE", None)
            subprocess.run([sys.executable, "-m", "chom_validate", "list"], capture_output=True, env=env, cwd=ROOT)
        for _ in range(args.rounds):
            for name, cmd, no_cache in COMMANDS:
                for side, env in sides.items():
                    e = {**env, "CHOM_VALIDATE_NO_CACHE": "1"} if no_cache else env
                    times.setdefault((name, side), []).append(timed([sys.executable, "-m", "chom_validate", *cmd], e))
    py = statistics.median(timed([sys.executable, "-c", "pass"], dict(os.environ)) for _ in range(args.rounds))
    header = "## Start-up (`bench/bench_startup.py`)"
    lines = [
        header,
        "",
        f"`python -m chom_validate CMD`, median of {args.rounds} alternating rounds, 2 cores shared with other "
        f"work (1-min load average {load0:.1f} at the start, {os.getloadavg()[0]:.1f} at the end); before = "
        f"{args.label}, after = this tree. A bare `python -c pass` took {py:.3f} s in the same run. Target: "
        "`--version` and `list` under 0.3 s.",
        "",
        "| command | before s | after s | before / after |",
        "|---|---:|---:|---:|",
    ]
    for name, _, _ in COMMANDS:
        b = statistics.median(times[(name, "before")])
        a = statistics.median(times[(name, "after")])
        lines.append(f"| {name} | {b:.3f} | {a:.3f} | {b / a:.1f}x |")
    text = "\n".join(lines) + "\n"
    print(text)
    if args.write:
        write_section(args.write, header, text)


if __name__ == "__main__":
    main()
