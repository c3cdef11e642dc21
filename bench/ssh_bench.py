"""SSH benchmark on a loopback OpenSSH server (real sshd, same machine, same run).

Measures:
  1. round trips per host with N vs 2N enabled checks (must be equal);
  2. the same set of file reads through chom-validate (one tar stream), pytest-testinfra's paramiko
     backend (`host.file(p).content`) and a naive one-`cat`-per-file loop over one paramiko
     connection, as ratios;
  3. fleet wall time for 1, 10 and 50 hosts (aliases of 127.0.0.1 with their own path prefixes).

Usage: .venv/bin/python bench/ssh_bench.py [--append bench/RESULTS.md] [--repeat 5]
Needs /usr/sbin/sshd and `pip install -e '.[bench]'` (pytest-testinfra) for the testinfra column.
"""

from __future__ import annotations

import argparse
import datetime as dt
import shlex
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import paramiko  # noqa: E402
from tests.ssh._sshd import Sshd, start_sshd  # noqa: E402
from tests.ssh.conftest import FIXTURES, build_host_tree, write_config  # noqa: E402

from chom_validate.config import load_config  # noqa: E402
from chom_validate.engine import RunOptions, scan  # noqa: E402
from chom_validate.registry import load_registry  # noqa: E402
from chom_validate.targets.ssh import SshHost, SshParams  # noqa: E402


def _params(s: Sshd, prefix: Path) -> SshParams:
    return SshParams(
        name="landsraad",
        hostname="127.0.0.1",
        port=s.port,
        user="root",
        identity_files=[str(s.client_key)],
        known_hosts=s.known_hosts,
        path_prefix=str(prefix),
    )


def _best(fn, repeat: int) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def bench_round_trips(s: Sshd, cfg: Path) -> tuple[int, int, int, int]:
    from chom_validate.cli.common import ScanArgs
    from chom_validate.targets.inventory import host_target_specs

    reg = load_registry()
    ids = sorted(reg.checks)
    half = ids[: len(ids) // 2]
    out = []
    for only in (half, ids):
        specs = host_target_specs(ScanArgs(hosts=["landsraad"], known_hosts=s.known_hosts), load_config(cfg))
        r = scan(specs, reg, load_config(cfg), RunOptions(profile="certified", only=only))
        assert r.targets[0].error is None, r.targets[0].error
        out.append((len(only), int(r.targets[0].stats["round_trips"])))
    return out[0][0], out[0][1], out[1][0], out[1][1]


def bench_reads(s: Sshd, prefix: Path, repeat: int) -> dict[str, float | int]:
    probe = SshHost(_params(s, prefix))
    probe.prepare([], [])
    files = [e.path for e in probe.files()]
    probe.close()
    remote = [f"{prefix}/{p}" for p in files]

    def chom() -> None:
        h = SshHost(_params(s, prefix))
        h.prepare([], [])
        for p in files:
            h.read_bytes(p)
        h.close()

    def naive() -> None:
        c = paramiko.SSHClient()
        c.load_host_keys(str(s.known_hosts))
        c.connect(
            "127.0.0.1",
            s.port,
            "root",
            key_filename=str(s.client_key),
            look_for_keys=False,
            allow_agent=False,
        )
        for p in remote:
            _, out, _ = c.exec_command(shlex.join(["cat", p]))
            out.read()
        c.close()

    res: dict[str, float | int] = {
        "files": len(files),
        "chom": _best(chom, repeat),
        "naive": _best(naive, repeat),
    }
    try:
        import testinfra
        import testinfra.backend
        import testinfra.host

        cfgfile = s.dir / "ssh_config_bench"
        cfgfile.write_text(
            f"Host 127.0.0.1\n  Port {s.port}\n  User root\n  IdentityFile {s.client_key}\n"
            f"  UserKnownHostsFile {s.known_hosts}\n  StrictHostKeyChecking yes\n"
        )

        def tinfra() -> None:
            # A fresh backend each run (get_host caches hosts): connect + auth counted like the others.
            backend = testinfra.backend.get_backend("paramiko://root@127.0.0.1", ssh_config=str(cfgfile))
            host = testinfra.host.Host(backend)
            for p in remote:
                host.file(p).content  # noqa: B018 - the read is the point
            host.backend.client.close()

        res["testinfra"] = _best(tinfra, repeat)
    except ImportError:
        res["testinfra"] = float("nan")
    return res


def bench_fleet(s: Sshd, work: Path, sizes: tuple[int, ...], jobs: int) -> list[tuple[int, float, float]]:
    from chom_validate.cli.common import ScanArgs
    from chom_validate.targets.inventory import host_target_specs

    reg = load_registry()
    only = [c for c in reg.checks if c.startswith(("LIV", "TGT", "SYS"))]
    out = []
    for n in sizes:
        hosts = {}
        for i in range(n):
            p = work / f"fleet{n}" / f"h{i:02d}"
            if not p.exists():
                build_host_tree(p, "landsraad" if i % 2 else "mentat")
            hosts[f"host{i:02d}"] = p
        cfg = write_config(work / f"fleet{n}.yaml", s, hosts)
        specs = host_target_specs(ScanArgs(hosts=list(hosts), known_hosts=s.known_hosts), load_config(cfg))
        t0 = time.perf_counter()
        r = scan(specs, reg, load_config(cfg), RunOptions(profile="certified", only=only, jobs=jobs))
        total = time.perf_counter() - t0
        assert not any(t.error for t in r.targets), [t.error for t in r.targets if t.error]
        collect = statistics.mean(float(t.stats["open_seconds"]) for t in r.targets)
        out.append((n, total, collect))
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--append", type=Path, default=None)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--jobs", type=int, default=8)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        s = start_sshd(work / "sshd", FIXTURES / "fake")
        try:
            prefix = build_host_tree(work / "landsraad", "landsraad")
            cfg = write_config(work / "chom-validate.yaml", s, {"landsraad": prefix})
            n1, rt1, n2, rt2 = bench_round_trips(s, cfg)
            reads = bench_reads(s, prefix, a.repeat)
            fleet = bench_fleet(s, work, (1, 10, 50), a.jobs)
        finally:
            s.stop()
    lines = [
        "",
        "## SSH",
        "",
        f"`bench/ssh_bench.py`, {dt.date.today().isoformat()}, loopback OpenSSH (real sshd), median of "
        f"{a.repeat} runs, one fresh connection per run (connect + auth included in every column).",
        "",
        "Round trips per host (engine plan -> `SshHost.prepare`):",
        "",
        "| enabled checks | round trips |",
        "|---|---|",
        f"| {n1} | {rt1} |",
        f"| {n2} | {rt2} |",
        "",
        f"Same {reads['files']} file reads (landsraad host tree):",
        "",
        "| method | seconds | ratio vs chom-validate |",
        "|---|---|---|",
        f"| chom-validate (one `tar -czf -` stream) | {reads['chom']:.3f} | 1.0 |",
        f"| pytest-testinfra paramiko backend (`host.file(p).content`) | {reads['testinfra']:.3f} | "
        f"{reads['testinfra'] / reads['chom']:.1f}x |",
        f"| naive loop, one `cat` per file on one paramiko connection | {reads['naive']:.3f} | "
        f"{reads['naive'] / reads['chom']:.1f}x |",
        "",
        f"Fleet (checks LIV/TGT/SYS, --jobs {a.jobs}, host aliases of 127.0.0.1 with own prefixes):",
        "",
        "| hosts | wall seconds | mean open+collect per host (s) |",
        "|---|---|---|",
        *[f"| {n} | {t:.2f} | {c:.3f} |" for n, t, c in fleet],
        "",
    ]
    text = "\n".join(lines)
    print(text)
    if a.append:
        with a.append.open("a", encoding="utf-8") as fh:
            fh.write(text)


if __name__ == "__main__":
    main()
