"""Baselines, waivers (with expiry and --no-waivers), --changed-only, the workflow and pre-commit hook."""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from chom_validate.config import Config, Waiver
from chom_validate.findings import Status
from chom_validate.governance import load_baseline

from .ci_support import DEMO_CHECKS, DEMO_TREE, copy_tree, demo_scan, insert_blank_lines
from .conftest import ROOT

DEMO = ["--checks-dir", str(DEMO_CHECKS), "--now", "2026-11-29"]
for _id in ("CIX001", "CIX003", "CIX004", "CIX005"):
    DEMO += ["--check", _id]


def fails(report, check_id: str | None = None):  # type: ignore[no-untyped-def]
    return [
        f
        for f in report.findings
        if f.status == Status.FAIL and not f.suppressed and (check_id is None or f.check_id == check_id)
    ]


def write_config(repo: Path, waivers: str) -> Path:
    cfg = repo / "chom-validate.yaml"
    cfg.write_text(f"version: 1\nproject: CHOM\n\nwaivers:\n{waivers}")
    return cfg


# -- baselines ------------------------------------------------------------------------------------
def test_baseline_create_then_only_new_findings_fail(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    repo = copy_tree(tmp_path)
    base = repo / ".chom-baseline.json"
    proc = cli("baseline", "create", "-o", str(base), "--path", ".", *DEMO, cwd=repo)
    assert proc.returncode == 0, proc.stderr
    assert "5 finding(s) baselined" in proc.stdout
    doc = json.loads(base.read_text())
    assert doc["version"] == 1 and len(doc["findings"]) == 5
    assert len({e["fingerprint"] for e in doc["findings"]}) == 5, "distinct findings collapsed"

    proc = cli(
        "all", "--path", ".", *DEMO, "--baseline", str(base), "--fail-on", "low", "--format", "json", cwd=repo
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr
    report = json.loads(proc.stdout)
    suppressed = [f for f in report["findings"] if f["status"] == "fail"]
    assert len(suppressed) == 5, "baselined findings are reported, not hidden"
    assert {f["suppressed"]["kind"] for f in suppressed} == {"baseline"}
    assert all(f["suppressed"]["source"].startswith(str(base)) for f in suppressed)
    assert report["summary"]["baselined"] == 5

    # moved lines still match; a new line with the same text is new
    insert_blank_lines(repo / "deploy" / "deploy.sh", 2, count=3)
    with (repo / "deploy" / "other.sh").open("a") as fh:
        fh.write("wget --no-check-certificate https://example.invalid  # INSECURE\n")
    proc = cli(
        "all",
        "--path",
        ".",
        *DEMO,
        "--baseline",
        str(base),
        "--fail-on",
        "high",
        "--format",
        "json",
        cwd=repo,
    )
    assert proc.returncode == 1
    report = json.loads(proc.stdout)
    new = [f for f in report["findings"] if f["status"] == "fail" and not f["suppressed"]]
    assert [(f["evidence"][0]["path"], f["evidence"][0]["line"]) for f in new] == [("deploy/other.sh", 4)]
    assert sum(1 for f in report["findings"] if f["suppressed"]) == 5
    assert any("1 new failure(s)" in n for n in report["notices"])


def test_fixed_baselined_findings_are_noticed(tmp_path: Path) -> None:
    repo = copy_tree(tmp_path)
    from chom_validate.governance import baseline_document

    report = demo_scan(repo)
    (repo / "b.json").write_text(
        baseline_document(report.findings, created_at="2026-11-29", tool_version="x", profile="certified")
    )
    (repo / "deploy" / "other.sh").write_text("#!/bin/sh\nset -eu\n")
    again = demo_scan(repo, baseline=repo / "b.json")
    assert not fails(again)
    assert any("1 baselined finding(s) no longer reported" in n for n in again.notices)


@pytest.mark.parametrize(
    ("content", "line", "what"),
    [
        ('{\n  "version": 1,\n  "findings": [\n    {"fingerprint": "abc",,}\n  ]\n}\n', 4, "not valid JSON"),
        (
            '{\n  "version": 1,\n  "findings": [\n    {"fingerprint": "0123456789abcdef", "check_id": "CIX001"},\n'
            '    {"check_id": "CIX001"}\n  ]\n}\n',
            5,
            "fingerprint",
        ),
        ('{\n  "version": 7,\n  "findings": []\n}\n', 2, "unsupported baseline version"),
        ("[]\n", 1, "expected an object"),
        (
            '{\n  "version": 1,\n  "findings": [\n    {"fingerprint": "0123456789abcdef",\n     "check_id": "bad"}\n  ]\n}\n',
            5,
            "check id",
        ),
    ],
)
def test_malformed_baseline_fails_fast_with_the_line(
    cli, tmp_path: Path, content: str, line: int, what: str
) -> None:  # type: ignore[no-untyped-def]
    base = tmp_path / "baseline.json"
    base.write_text(content)
    with pytest.raises(ValueError, match=rf"{re.escape(str(base))}:{line}: .*{what}"):
        load_baseline(base)
    proc = cli("all", "--path", str(DEMO_TREE), *DEMO, "--baseline", str(base))
    assert proc.returncode == 2
    assert f"{base}:{line}:" in proc.stderr and "Traceback" not in proc.stderr


def test_missing_baseline_is_exit_2(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    proc = cli("all", "--path", str(DEMO_TREE), *DEMO, "--baseline", str(tmp_path / "nope.json"))
    assert proc.returncode == 2
    assert "file not found" in proc.stderr and "baseline create" in proc.stderr


# -- waivers --------------------------------------------------------------------------------------
WAIVER_OK = """  - check: CIX001
    path: "deploy/deploy.sh"
    reason: legacy deploy script, rewrite tracked in OPS-12
    owner: ops-team
    expires: 2027-03-31
"""
WAIVER_EXPIRED = """  - check: CIX004
    reason: DR plan rewrite tracked in DR-3
    owner: dr-team
    expires: 2026-10-01
"""


def test_waiver_suppresses_only_what_it_matches(tmp_path: Path) -> None:
    repo = copy_tree(tmp_path)
    report = demo_scan(repo, write_config(repo, WAIVER_OK))
    waived = [f for f in report.findings if f.suppressed]
    assert len(waived) == 2 and all(f.suppressed.kind == "waiver" for f in waived)  # type: ignore[union-attr]
    assert waived[0].suppressed.owner == "ops-team"  # type: ignore[union-attr]
    assert waived[0].suppressed.source.endswith("chom-validate.yaml:5")  # type: ignore[union-attr]
    assert [f.evidence[0].path for f in fails(report, "CIX001")] == ["deploy/other.sh"]


def test_expired_waiver_fails_again_and_is_named(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    repo = copy_tree(tmp_path)
    cfg = write_config(repo, WAIVER_OK + WAIVER_EXPIRED)
    report = demo_scan(repo, cfg)
    assert len(fails(report, "CIX004")) == 1, "an expired waiver stops applying"
    notice = next(n for n in report.notices if "expired" in n)
    assert "waiver CIX004" in notice and "chom-validate.yaml:10" in notice
    assert "dr-team" in notice and "DR-3" in notice and "2026-10-01" in notice
    assert "docs/plan.md:3" in notice
    assert fails(report, "CIX004")[0].data["expired_waiver"].endswith("(expired 2026-10-01)")

    proc = cli("all", "--path", ".", *DEMO, cwd=repo)
    assert proc.returncode == 1
    out = " ".join(proc.stdout.split())
    assert "waiver CIX004" in out and "expired on 2026-10-01" in out and "CIX004 RPO 1h" in out


def test_no_waivers_shows_the_unwaived_truth(tmp_path: Path) -> None:
    repo = copy_tree(tmp_path)
    cfg = write_config(repo, WAIVER_OK)
    report = demo_scan(repo, cfg, use_waivers=False)
    assert not any(f.suppressed for f in report.findings)
    assert len(fails(report, "CIX001")) == 3
    assert any("--no-waivers" in n for n in report.notices)


@pytest.mark.parametrize(
    ("waiver", "line", "what"),
    [
        ("  - check: CIX001\n    reason: no owner given\n    expires: 2027-01-01\n", 5, "owner"),
        ("  - check: CIX001\n    owner: ops\n    reason: no expiry\n", 5, "expires"),
        ("  - check: CIX001\n    owner: ops\n    reason: bad date\n    expires: soon\n", 8, "expires"),
        ("  - check: not-an-id\n    owner: ops\n    reason: typo\n    expires: 2027-01-01\n", 5, "check id"),
    ],
)
def test_malformed_waiver_fails_fast_with_the_line(
    cli, tmp_path: Path, waiver: str, line: int, what: str
) -> None:  # type: ignore[no-untyped-def]
    repo = copy_tree(tmp_path)
    cfg = write_config(repo, waiver)
    proc = cli("all", "--path", ".", "--config", str(cfg), *DEMO, cwd=repo)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert f"chom-validate.yaml:{line}:" in proc.stderr and what in proc.stderr


def test_waiver_model_requires_reason_owner_expiry() -> None:
    with pytest.raises(ValueError):
        Config(waivers=[{"check": "CIX001", "owner": "x", "expires": "2027-01-01"}])  # type: ignore[list-item]
    w = Waiver(check="CIX001", reason="ok fine", owner="x", expires="2027-01-01")  # type: ignore[arg-type]
    assert w.target == "*" and w.path == "*"


# -- changed-only ---------------------------------------------------------------------------------
def _git(repo: Path, *args: str) -> None:
    subprocess.run(
        [
            "git",
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@example.invalid",
            "-c",
            "commit.gpgsign=false",
            *args,
        ],
        cwd=repo,
        check=True,
        capture_output=True,
    )


@pytest.fixture
def git_repo(tmp_path: Path) -> Path:
    if shutil.which("git") is None:
        pytest.skip("git not installed")
    root = tmp_path / "checkout"
    shutil.copytree(DEMO_TREE, root / "deployment")
    (root / "README.md").write_text("# ops repo\n")
    _git(root, "init", "-q", "-b", "main")
    _git(root, "add", "-A")
    _git(root, "commit", "-q", "-m", "initial")
    return root


def test_changed_only_keeps_changed_files_cross_artifact_and_target_wide(cli, git_repo: Path) -> None:  # type: ignore[no-untyped-def]
    dep = git_repo / "deployment"
    with (dep / "deploy" / "other.sh").open("a") as fh:
        fh.write("echo done\n")
    report = demo_scan(dep, changed_only="HEAD", changed_files=None)  # engine sees no set: full run
    assert len(fails(report, "CIX001")) == 3
    proc = cli(
        "all", "--path", "deployment", *DEMO, "--changed-only", "HEAD", "--format", "json", cwd=git_repo
    )
    assert proc.returncode == 1, proc.stderr
    data = json.loads(proc.stdout)
    got = sorted(
        (f["check_id"], (f["evidence"][0]["path"] if f["evidence"] else None))
        for f in data["findings"]
        if f["status"] == "fail"
    )
    # deploy.sh did not change: its two findings are not shown; the topology (cross-artifact) finding
    # and the target-wide one (no file) stay
    assert got == [("CIX001", "deploy/other.sh"), ("CIX004", "docs/plan.md"), ("CIX005", None)]
    assert any("--changed-only HEAD: 1 changed file(s)" in n for n in data["notices"])


def test_changed_only_sees_untracked_files(cli, git_repo: Path) -> None:  # type: ignore[no-untyped-def]
    (git_repo / "deployment" / "deploy" / "new.sh").write_text("#!/bin/sh\nrm -rf /tmp/x # INSECURE\n")
    proc = cli(
        "all", "--path", "deployment", *DEMO, "--changed-only", "HEAD", "--format", "json", cwd=git_repo
    )
    data = json.loads(proc.stdout)
    paths = {
        f["evidence"][0]["path"]
        for f in data["findings"]
        if f["status"] == "fail" and f["check_id"] == "CIX001"
    }
    assert paths == {"deploy/new.sh"}


def test_changed_only_bad_ref_or_no_repo_is_exit_2(cli, git_repo: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    proc = cli("all", "--path", "deployment", *DEMO, "--changed-only", "no-such-ref", cwd=git_repo)
    assert proc.returncode == 2 and "not a known git commit" in proc.stderr
    proc = cli("all", "--path", "deployment", *DEMO, "--changed-only", "--upload-pack=x", cwd=git_repo)
    assert proc.returncode == 2
    plain = copy_tree(tmp_path, "plain")
    proc = cli(
        "all",
        "--path",
        str(plain),
        *DEMO,
        "--changed-only",
        "HEAD",
        env={"GIT_CEILING_DIRECTORIES": str(tmp_path)},
    )
    assert proc.returncode == 2 and "--changed-only" in proc.stderr


# -- GitHub workflow and pre-commit hook ----------------------------------------------------------
def _all_options(cli) -> set[str]:  # type: ignore[no-untyped-def]
    proc = cli("all", "--help", env={"COLUMNS": "200"})
    assert proc.returncode == 0
    return set(re.findall(r"(--[a-z][a-z0-9-]+)", proc.stdout))


def test_github_workflow_parses_and_uses_real_options(cli) -> None:  # type: ignore[no-untyped-def]
    wf = yaml.safe_load((ROOT / ".github" / "workflows" / "chom-validate.yml").read_text())
    assert wf["name"]
    triggers = wf.get("on", wf.get(True))  # YAML 1.1 reads a bare `on` as True
    assert "pull_request" in triggers
    assert wf["permissions"]["security-events"] == "write"
    steps = [s for job in wf["jobs"].values() for s in job["steps"]]
    uses = [s.get("uses", "") for s in steps]
    assert any(u.startswith("actions/checkout@") for u in uses)
    upload = next(s for s in steps if s.get("uses", "").startswith("github/codeql-action/upload-sarif@"))
    runs = "\n".join(s.get("run", "") for s in steps)
    validate = next(s["run"] for s in steps if "chom-validate all" in s.get("run", ""))
    used = set(re.findall(r"(?<![\w-])(--[a-z][a-z0-9-]+)", validate))
    assert "--output-sarif" in used
    assert used <= _all_options(cli), f"workflow uses unknown options: {used - _all_options(cli)}"
    sarif_path = upload["with"]["sarif_file"]
    assert sarif_path in runs, "the SARIF file uploaded is the one written"
    assert upload.get("if") == "always()", "upload even when the gate fails"


def test_pre_commit_hook_definition(cli) -> None:  # type: ignore[no-untyped-def]
    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    assert isinstance(hooks, list) and hooks
    options = _all_options(cli)
    for h in hooks:
        assert {"id", "name", "entry", "language"} <= set(h)
        assert h["language"] == "python" and h["pass_filenames"] is False
        argv = shlex.split(h["entry"]) + list(h.get("args", []))
        assert argv[:2] == ["chom-validate", "all"]
        assert {a.split("=")[0] for a in argv if a.startswith("--")} <= options


@pytest.mark.timeout(900)
def test_pre_commit_try_repo(tmp_path: Path) -> None:
    """Run the hook for real with `pre-commit try-repo` (installs this repo into a hook venv)."""
    exe = shutil.which("pre-commit") or str(Path(__import__("sys").executable).parent / "pre-commit")
    if not Path(exe).exists():
        pytest.skip("pre-commit not installed (pip install -e '.[test]')")
    if not (ROOT / ".git").exists() or shutil.which("git") is None:
        pytest.skip("try-repo needs this repository as a git checkout and git")
    # try-repo reads committed files only: commit a snapshot of the working tree (tracked + new files)
    snap = tmp_path / "chom-validate-src"
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for rel in filter(None, listed.split("\0")):
        src = ROOT / rel
        if src.is_file():
            (snap / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, snap / rel)
    _git(snap, "init", "-q", "-b", "main")
    _git(snap, "add", "-A")
    _git(snap, "commit", "-q", "-m", "snapshot")
    work = tmp_path / "deploy-repo"
    shutil.copytree(DEMO_TREE, work)
    (work / "chom-validate.yaml").write_text("version: 1\nprofile: baseline\n")
    _git(work, "init", "-q", "-b", "main")
    _git(work, "add", "-A")
    proc = subprocess.run(
        [exe, "try-repo", str(snap), "chom-validate", "--all-files", "--verbose"],
        cwd=work,
        capture_output=True,
        text=True,
        timeout=850,
        env={**__import__("os").environ, "PRE_COMMIT_HOME": str(tmp_path / "pc-home"), "NO_COLOR": "1"},
    )
    out = proc.stdout + proc.stderr
    if "Could not find a version" in out or "Failed to establish a new connection" in out:
        pytest.skip("no package index reachable to build the hook environment")
    # the hook ran chom-validate over the tree: the built-in checks print a score and a gate
    assert "Gate:" in out, out[-3000:]
    assert "chom-validate" in out


def test_baseline_entry_lines_match_the_yaml_reference_and_scale(tmp_path: Path) -> None:
    """Each entry's line comes from a linear scan (strings with brackets, quotes and backslashes
    do not confuse it); it equals the line the YAML composer gives, and a 50k-entry baseline loads
    in a few seconds of CPU (composing it took ~27 s)."""
    import json as _json
    import time

    from chom_validate import governance as g

    entries = [
        {"fingerprint": f"{i:016x}", "check_id": "DEP001", "subject": 'a "q" \\ [x] {y}', "message": "]}"}
        for i in range(50_000)
    ]
    for indent in (None, 1, 2, 4):
        small = _json.dumps({"version": 1, "findings": entries[:200], "created_at": "now"}, indent=indent)
        ref = g._json_lines(small)
        assert g._entry_lines(small) == [ref[("findings", i)] for i in range(200)], indent
    big = tmp_path / "baseline.json"
    big.write_text(_json.dumps({"version": 1, "created_at": "now", "findings": entries}, indent=2))
    t0 = time.process_time()
    b = load_baseline(big)
    assert len(b.entries) == 50_000
    assert b.entries[f"{49_999:016x}"].line == 5 + 49_999 * 6  # `{` of the last entry
    assert time.process_time() - t0 < 8
