"""chom-validate against Checkov, ShellCheck alone and a read-and-parse floor, alternating in one run.

For each tree (the example deployment, the ../shared/corpus trees concatenated, generated trees
at 1x/2x/4x/8x) the runs alternate round by round (floor, cold, warm, ShellCheck one process,
ShellCheck 2-way, Checkov), so machine load hits all of them alike; the table gives the median
wall time, the peak RSS (largest process of the run, children included) and the ratios.

- cold: ``all --no-cache`` (ShellCheck runs on every script); warm: a second run with the
  ShellCheck result cache filled (XDG_CACHE_HOME in a temporary directory);
- floor: one Python process that discovers the artifacts and parses every one with the product's
  parsers (reading and parsing, nothing else);
- floor + ShellCheck: the same, then ShellCheck (the product's analyser of shell scripts, run the
  way the product runs it: batched, ``-f json1``, over every core, no cache) on the same scripts.
  ShellCheck *is* chom-validate's shell analyser, so the cold run is compared with this floor and
  the warm run (ShellCheck answered from its cache) with the plain one;
- ShellCheck alone: the product's binary on the same scripts, all in one process, and split in two
  halves of equal size run at the same time;
- Checkov: ``checkov -d TREE --quiet --compact --skip-download`` from its own venv (``--checkov``).

    .venv/bin/python bench/bench_compare.py --checkov /tmp/checkov/bin/checkov --write bench/RESULTS.md
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_scan import EXAMPLE, ROOT, generate, write_section

from chom_validate.shellcheck import find_shellcheck

CORPUS = ROOT.parent / "shared" / "corpus"
FLOOR = """
import os, sys
from pathlib import Path
from chom_validate.artifacts import discover
from chom_validate.targets.local import LocalTree
index = discover(LocalTree(Path(sys.argv[1])))
for a in index.artifacts:
    a.try_parsed()
if os.environ.get("FLOOR_SHELLCHECK"):
    from chom_validate import shellcheck as sc
    exe = sc.find_shellcheck()
    todo = [a for a in index.of("shell") if not a.embedded and len(a.text) <= sc.MAX_SCRIPT_CHARS]
    sc.run_all(exe, [(a.text, sc.dialect(a.meta.get("shell"))) for a in todo], sc.Cache(None, None))
if len(sys.argv) > 2:
    Path(sys.argv[2]).write_text("\\n".join(
        sys.argv[1] + "/" + a.path for a in index.of("shell") if not a.embedded and len(a.text) <= 256 * 1024
    ))
"""


Run = tuple[float, float, float]  # wall seconds, peak RSS MiB, CPU seconds (user + system)


def measure(argv: list[str], env: dict[str, str], timeout: float = 1800) -> Run:
    """Wall seconds, peak RSS (MiB, largest process including children) and CPU seconds (user +
    system of the process and every child it waited for: the forked check process, ShellCheck)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    _, status, rusage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    code = os.waitstatus_to_exitcode(status)
    if code not in (0, 1):
        raise SystemExit(f"{' '.join(argv)} exited {code}")
    return wall, rusage.ru_maxrss / 1024.0, rusage.ru_utime + rusage.ru_stime


def measure_parallel(cmds: list[list[str]], env: dict[str, str]) -> Run:
    t0 = time.perf_counter()
    procs = [subprocess.Popen(c, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env) for c in cmds]
    rss = cpu = 0.0
    for p in procs:
        _, _, ru = os.wait4(p.pid, 0)
        rss = max(rss, ru.ru_maxrss / 1024.0)
        cpu += ru.ru_utime + ru.ru_stime
    return time.perf_counter() - t0, rss, cpu


def bench_env(tmp: Path, name: str) -> dict[str, str]:
    """The environment of every measured run: its own ShellCheck cache, and byte-compiled modules
    kept (in a temporary prefix) as an installed package has them; with PYTHONDONTWRITEBYTECODE
    set, every run would compile every module it imports again (~0.5 s of CPU for a scan)."""
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp / f"xdg-{name}"), "PYTHONPYCACHEPREFIX": str(tmp / "pyc")}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def product_shellcheck_argv() -> list[str]:
    """ShellCheck as the product runs it (its options; the dialect comes from each file's shebang)."""
    from chom_validate import shellcheck as runner

    exe = find_shellcheck() or "shellcheck"
    out = [a for a in runner.argv(exe, "bash") if a not in ("-s", "bash")]
    return out


def corpus_tree(dest: Path) -> Path | None:
    trees = sorted(CORPUS.glob("*/tree")) + sorted(CORPUS.glob("clean/*/tree"))
    if not trees:
        return None
    for t in trees:
        shutil.copytree(t, dest / str(t.relative_to(CORPUS).parent).replace("/", "_"), symlinks=True)
    return dest


def halves(files: list[str]) -> list[list[str]]:
    out: list[list[str]] = [[], []]
    size = [0, 0]
    for f in sorted(files, key=lambda f: -os.path.getsize(f)):
        k = size.index(min(size))
        out[k].append(f)
        size[k] += os.path.getsize(f)
    return [h for h in out if h]


def bench_tree(
    name: str,
    root: Path,
    config: list[str],
    cv: str,
    checkov: str | None,
    repeat: int,
    tmp: Path,
    shellcheck_alone: bool = True,
) -> dict[str, tuple[float, float]]:
    env = bench_env(tmp, root.name)
    load_start = os.getloadavg()[0]
    nfiles = sum(len(f) for _, _, f in os.walk(root))
    listing = tmp / f"scripts-{root.name}.txt"
    measure([sys.executable, "-c", FLOOR, str(root), str(listing)], env)
    scripts = [s for s in listing.read_text().splitlines() if s]
    sc_argv = product_shellcheck_argv()
    base = [cv, "all", "--path", str(root), "--format", "json", "-o", os.devnull, *config]
    measure(base, env)  # fills the cache for the warm runs
    runs: dict[str, list[Run]] = {}
    floor_sc_env = {**env, "FLOOR_SHELLCHECK": "1"}
    plan: list[tuple[str, object]] = [
        ("floor (read + parse)", [sys.executable, "-c", FLOOR, str(root)]),
        ("floor + shellcheck", ("env", floor_sc_env, [sys.executable, "-c", FLOOR, str(root)])),
        ("chom-validate cold", [*base, "--no-cache"]),
        ("chom-validate warm", base),
    ]
    if scripts and shellcheck_alone:
        plan += [
            ("shellcheck, 1 process", [[*sc_argv, "--", *scripts]]),
            ("shellcheck, 2 processes", [[*sc_argv, "--", *h] for h in halves(scripts)]),
        ]
    for i in range(repeat):
        for label, argv in plan:
            if isinstance(argv, tuple):
                r = measure(argv[2], argv[1])
            elif isinstance(argv, list) and argv and isinstance(argv[0], list):
                r = measure_parallel(argv, env)
            else:
                r = measure(argv, env)  # type: ignore[arg-type]
            runs.setdefault(label, []).append(r)
        if checkov and i == 0:  # minutes per run: once, in the middle of the first round
            runs["checkov"] = [
                measure([checkov, "-d", str(root), "--quiet", "--compact", "--skip-download"], env)
            ]
    out = {
        k: (statistics.median(t for t, _, _ in v), max(m for _, m, _ in v), statistics.median(c for _, _, c in v))
        for k, v in runs.items()
    }
    out["_files"] = (float(nfiles), float(len(scripts)), 0.0)
    out["_load"] = (load_start, os.getloadavg()[0], 0.0)
    print(name, {k: tuple(round(x, 2) for x in v) for k, v in out.items()}, flush=True)
    return out


def cpu_table(rows: list[tuple[str, dict[str, Run]]]) -> list[str]:
    """CPU seconds (user + system, children included) of the same runs: what load changes least."""
    lines = [
        "| tree | load start-end | floor CPU s | floor+SC CPU s | cold CPU s | warm CPU s | ShellCheck 1p CPU s "
        "| Checkov CPU s | cold / floor+SC CPU | warm / floor CPU | Checkov / cold CPU |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, r in rows:
        f, fsc = r["floor (read + parse)"][2], r["floor + shellcheck"][2]
        cold, warm = r["chom-validate cold"][2], r["chom-validate warm"][2]
        ck, sc1 = r.get("checkov"), r.get("shellcheck, 1 process")
        lines.append(
            f"| {name} | {r['_load'][0]:.1f}-{r['_load'][1]:.1f} | {f:.2f} | {fsc:.2f} | {cold:.2f} | {warm:.2f} | "
            f"{f'{sc1[2]:.2f}' if sc1 else '-'} | {f'{ck[2]:.1f}' if ck else '-'} | {cold / fsc:.2f}x | "
            f"{warm / f:.2f}x | {f'{ck[2] / cold:.1f}x' if ck else '-'} |"
        )
    return lines


def table(rows: list[tuple[str, dict[str, Run]]]) -> list[str]:
    lines = [
        "| tree | files | scripts | floor s | floor+SC s | cold s | warm s | ShellCheck 1p s | ShellCheck 2p s "
        "| Checkov s | cold / floor+SC | cold / floor | warm / floor | Checkov / cold | peak RSS cold MiB |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, r in rows:
        f = r["floor (read + parse)"][0]
        fsc = r["floor + shellcheck"][0]
        cold, warm = r["chom-validate cold"][0], r["chom-validate warm"][0]
        ck = r.get("checkov")
        sc1, sc2 = r.get("shellcheck, 1 process"), r.get("shellcheck, 2 processes")
        lines.append(
            f"| {name} | {int(r['_files'][0])} | {int(r['_files'][1])} | {f:.2f} | {fsc:.2f} | {cold:.2f} | "
            f"{warm:.2f} | {f'{sc1[0]:.2f}' if sc1 else '-'} | {f'{sc2[0]:.2f}' if sc2 else '-'} | "
            f"{f'{ck[0]:.1f}' if ck else '-'} | {cold / fsc:.2f}x | {cold / f:.2f}x | {warm / f:.2f}x | "
            f"{f'{ck[0] / cold:.1f}x' if ck else '-'} | {r['chom-validate cold'][1]:.0f} |"
        )
    return lines


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--checkov", help="checkov executable (its own venv; not a project dependency)")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument(
        "--fraction", type=float, default=1.0, help="shrink the generated trees (x1 = 5,050 files)"
    )
    ap.add_argument("--scales", default="1,2,4,8")
    ap.add_argument(
        "--scale-fraction",
        type=float,
        help="fraction for the growth rows (default: --fraction); the x1 row of the main table keeps --fraction",
    )
    ap.add_argument("--script-lines", type=int, default=3000, help="the single long script row (0: none)")
    ap.add_argument("--load-max", type=float, default=0.0, help="wait (up to 10 min) for a 1-min load below this")
    ap.add_argument("--big", type=Path, help="directory with one 5 MB script, rules file and dashboard each")
    ap.add_argument("--write", type=Path)
    ap.add_argument("--skip-corpus", action="store_true", help="leave out the corpus row (smoke runs)")
    args = ap.parse_args()
    cv = shutil.which("chom-validate", path=str(Path(sys.executable).parent)) or "chom-validate"
    rows: list[tuple[str, dict[str, Run]]] = []
    scaling: list[tuple[int, int, float, float, float, float, float]] = []
    big: list[str] = []
    script_rows: list[str] = []
    loads: list[float] = []
    if args.load_max:
        deadline = time.time() + 600
        while os.getloadavg()[0] > args.load_max and time.time() < deadline:
            time.sleep(15)
    loads.append(os.getloadavg()[0])
    with tempfile.TemporaryDirectory() as t:
        tmp = Path(t)
        rows.append(
            (
                "example deployment",
                bench_tree(
                    "example",
                    EXAMPLE,
                    ["--config", str(EXAMPLE / "chom-validate.yaml")],
                    cv,
                    args.checkov,
                    args.repeat,
                    tmp,
                ),
            )
        )
        corpus = None if args.skip_corpus else corpus_tree(tmp / "corpus")
        if corpus is not None:
            rows.append(
                (
                    "../shared/corpus, all trees",
                    bench_tree("corpus", corpus, [], cv, args.checkov, args.repeat, tmp),
                )
            )
        if "1" in args.scales.split(",") and args.scale_fraction not in (None, args.fraction):
            root = tmp / "gen-main"
            counts = generate(root, 1, args.fraction)
            r = bench_tree("gen x1 (main)", root, [], cv, args.checkov, 1, tmp)
            rows.append((f"generated x1 ({counts['files']} files)", r))
            shutil.rmtree(root)
            main_done = True
        else:
            main_done = False
        loads.append(os.getloadavg()[0])
        sfrac = args.scale_fraction if args.scale_fraction is not None else args.fraction
        for s in (int(x) for x in args.scales.split(",")):
            root = tmp / f"gen-{s}"
            counts = generate(root, s, sfrac)
            main_row = s == 1 and not main_done
            ck = args.checkov if main_row else None
            r = bench_tree(
                f"gen x{s}", root, [], cv, ck, 1 if s > 1 else args.repeat, tmp, shellcheck_alone=main_row
            )
            if main_row:
                rows.append((f"generated x1 ({counts['files']} files)", r))
            scaling.append(
                (
                    s,
                    counts["files"],
                    r["chom-validate cold"][0],
                    r["chom-validate warm"][0],
                    r["chom-validate cold"][1],
                    r["floor (read + parse)"][0],
                    r["chom-validate warm"][2] / r["floor (read + parse)"][2],
                )
            )
            shutil.rmtree(root)
        loads.append(os.getloadavg()[0])
        if args.script_lines:
            from shell_parse_bench import generate as gen_script

            d = tmp / "one-script"
            d.mkdir()
            text = gen_script(args.script_lines)
            (d / "deploy.sh").write_text(text)
            (d / "no-shellcheck.yaml").write_text("disable: [DEP020]\n")  # DEP020: the only ShellCheck user
            env = {**os.environ, "CHOM_VALIDATE_NO_CACHE": "1"}
            sc_one = [find_shellcheck() or "shellcheck", "-f", "json1", "-S", "info", str(d / "deploy.sh")]
            base = [cv, "all", "--path", str(d), "--format", "json", "-o", os.devnull]
            got: dict[str, list[float]] = {}
            for _ in range(args.repeat):
                for label, argv, e in (
                    ("all", base, env),
                    ("no sc", [*base, "--config", str(d / "no-shellcheck.yaml")], env),
                    ("sc", sc_one, env),
                    ("floor", [sys.executable, "-c", FLOOR, str(d)], env),
                ):
                    got.setdefault(label, []).append(measure(argv, e)[0])
            med = {k: statistics.median(v) for k, v in got.items()}
            script_rows = [
                f"One generated script of {text.count(chr(10))} lines ({len(text)} bytes), `all --path DIR --no-cache`, "
                f"median of {args.repeat} alternating rounds, process start included: "
                f"**{med['no sc']:.2f} s without ShellCheck** (config `disable: [DEP020]`), "
                f"{med['all']:.2f} s with it; ShellCheck alone on the script {med['sc']:.2f} s; "
                f"read-and-parse floor {med['floor']:.2f} s.",
            ]
        if args.big:
            env = {**os.environ, "CHOM_VALIDATE_NO_CACHE": "1"}
            for d in sorted(p for p in args.big.iterdir() if p.is_dir()):
                f = next(iter(sorted(d.iterdir())))
                try:
                    w, m = measure(
                        [cv, "all", "--path", str(d), "--format", "json", "-o", os.devnull], env, 600
                    )
                    big.append(
                        f"| {f.name} | {f.stat().st_size} | {w:.1f} | {m:.0f} | "
                        f"{'yes' if w < 5 and m < 500 else 'no'} |"
                    )
                except SystemExit as exc:
                    big.append(f"| {f.name} | {f.stat().st_size} | - | - | no ({exc}) |")
    s1 = scaling[0]
    lines = [
        "## chom-validate vs Checkov, ShellCheck and the read-and-parse floor (`bench/bench_compare.py`)",
        "",
        f"Run {dt.datetime.now(dt.UTC).strftime('%Y-%m-%d %H:%M')} UTC, {os.cpu_count()} cores shared "
        f"with other work (1-min load average at the start / after the main table / after growth / at the end: "
        f"{' / '.join(f'{x:.1f}' for x in [*loads, os.getloadavg()[0]])}), medians of {args.repeat} alternating "
        f"rounds for the example and the corpus, one round for the generated trees (Checkov: one run), "
        f"ShellCheck {find_shellcheck()}.",
        "",
        *table(rows),
        "",
        "CPU time of the same runs (user + system, the forked check process and ShellCheck included):",
        "",
        *cpu_table(rows),
        "",
        f"Growth (generated tree, fraction {sfrac:g} of the 5,050-file x1, one run per size):",
        "",
        "| scale | files | floor s | cold s | warm s | cold time / x1 | warm time / x1 | warm / floor CPU "
        "| peak RSS cold MiB |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        *[
            f"| x{s} | {n} | {f:.2f} | {c:.2f} | {w:.2f} | {c / s1[2]:.2f} | {w / s1[3]:.2f} | {wc:.2f}x | {m:.0f} |"
            for s, n, c, w, m, f, wc in scaling
        ],
    ]
    if script_rows:
        lines += ["", *script_rows]
    if big:
        lines += [
            "",
            "5 MB inputs (`all --path DIR`, one file per directory, cache off):",
            "",
            "| file | bytes | s | peak RSS MiB | < 5 s and < 500 MB |",
            "|---|---:|---:|---:|---|",
            *big,
        ]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.write:
        write_section(args.write, lines[0], text)


if __name__ == "__main__":
    main()
