"""Run many real chom-validate invocations, each in its own forked process, from one interpreter.

Why a driver: the hostile suite has hundreds of cases and CI has 2 cores. Starting Python, typer,
pydantic, paramiko and tree-sitter costs ~1 s per process; importing once here and forking a child
per invocation keeps every case a separate process (its own exit code, stdout/stderr, peak RSS
from ``wait4`` and a hard timeout) without paying start-up each time. The child runs exactly what
the console script runs, ``chom_validate.cli.main()`` with ``sys.argv``.

Usage: ``python _driver.py JOBS.json RESULTS.json``; JOBS is a list of
``{"id", "argv", "cwd", "timeout", "uid"?, "env"?}``; RESULTS gets, per id, ``rc``, ``seconds``,
``maxrss_kb``, ``stdout``, ``stderr``, ``timed_out``.
"""

from __future__ import annotations

import json
import os
import resource
import signal
import sys
import time
import traceback
from pathlib import Path

AS_LIMIT = 3 * 1024 * 1024 * 1024  # runaway guard only; the assertion is on measured peak RSS
PARALLEL = int(os.environ.get("CHOM_HOSTILE_PARALLEL", "2"))


def _warm_up() -> None:
    import chom_validate.cli

    chom_validate.cli.load_app()  # the typer app and every command module, before forking
    from chom_validate.registry import load_registry

    load_registry([])  # imports every check module once, before forking


def _child(job: dict, out: Path, err: Path) -> None:
    try:
        fd_out = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666)
        fd_err = os.open(err, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666)
        os.dup2(fd_out, 1)
        os.dup2(fd_err, 2)
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.setsid()
        resource.setrlimit(resource.RLIMIT_AS, (AS_LIMIT, AS_LIMIT))
        uid = job.get("uid")
        if uid is not None:
            os.setgroups([])
            os.setgid(uid)
            os.setuid(uid)
        os.environ.update(job.get("env", {}))
        os.chdir(job["cwd"])
        sys.argv = ["chom-validate", *job["argv"]]
        from chom_validate.cli import main

        code = 0
        try:
            main()
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    except BaseException:  # what the console script would print: a traceback (the suite fails on it)
        traceback.print_exc()
        sys.stderr.flush()
        os._exit(98)


def main(jobs_file: str, results_file: str) -> None:
    _warm_up()
    jobs = json.loads(Path(jobs_file).read_text())
    work = Path(results_file).parent
    results: dict[str, dict] = {}
    pending = list(jobs)
    running: dict[int, tuple[dict, float, Path, Path]] = {}
    while pending or running:
        while pending and len(running) < PARALLEL:
            job = pending.pop(0)
            out, err = work / f"{job['id']}.stdout", work / f"{job['id']}.stderr"
            sys.stdout.flush()
            sys.stderr.flush()
            pid = os.fork()
            if pid == 0:
                _child(job, out, err)
            running[pid] = (job, time.perf_counter(), out, err)
        pid, status, ru = os.wait4(-1, os.WNOHANG)
        if pid == 0:
            now = time.perf_counter()
            for cpid, (job, t0, _, _) in list(running.items()):
                if now - t0 > job["timeout"] and not job.get("_killed"):
                    job["_killed"] = True
                    with _ignore():
                        os.killpg(cpid, signal.SIGKILL)
                    with _ignore():
                        os.kill(cpid, signal.SIGKILL)
            time.sleep(0.01)
            continue
        if pid not in running:
            continue
        job, t0, out, err = running.pop(pid)
        rc = os.waitstatus_to_exitcode(status)
        results[job["id"]] = {
            "rc": rc,
            "seconds": round(time.perf_counter() - t0, 3),
            "maxrss_kb": ru.ru_maxrss,
            "timed_out": bool(job.get("_killed")),
            "stdout": out.read_text(errors="replace"),
            "stderr": err.read_text(errors="replace"),
        }
        r = results[job["id"]]
        sys.stderr.write(f"{job['id']}: rc {r['rc']} {r['seconds']:.1f}s {r['maxrss_kb'] // 1024} MB\n")
    Path(results_file).write_text(json.dumps(results))


class _ignore:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> bool:
        return True


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
