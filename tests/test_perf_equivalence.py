"""Speed-ups must not change results: fast paths are compared with the reference paths.

- ``Command.argv`` is memoised: same argv as the original wrapper-stripping loop, fresh lists.
- ShellCheck runs on several cores and once per distinct text: same results as one at a time.
- ``--changed-only`` leaves unchanged, context-free shell scripts out of discovery: the findings
  equal those of the full scan filtered to the changed files (``changed_only_full``), on the
  example deployment and on a tree generated like ``bench/bench_scan.py``'s.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

import pytest

from chom_validate.artifacts import discover
from chom_validate.artifacts.shell import WRAPPERS, Command
from chom_validate.results import RunReport
from chom_validate.shellcheck import find_shellcheck
from chom_validate.targets.local import LocalTree

from .conftest import EXAMPLE, ROOT, scan_tree

sys.path.insert(0, str(ROOT / "bench"))
import bench_scan


def _reference_argv(words: list[str]) -> list[str]:
    """The original (unmemoised) implementation of Command.argv."""
    w = list(words)
    while w and (w[0] in ("sudo", "command", "exec", "nohup", "time", *WRAPPERS) or re.match(r"^\w+=", w[0])):
        w = w[1:]
        while w and w[0].startswith("-") and len(w) > 1:
            w = w[1:]
    return w


def test_memoised_argv_matches_reference_on_example_scripts() -> None:
    index = discover(LocalTree(EXAMPLE))
    n = 0
    for art in index.of("shell"):
        for cmd in art.parsed.commands:
            n += 1
            assert cmd.argv == _reference_argv(cmd.words)
            assert cmd.name == (_reference_argv(cmd.words) or [""])[0]
    assert n > 300
    cmd = Command(1, 1, "sudo -u app X=1 run systemctl restart x", ["sudo", "-u", "X=1", "run", "systemctl"])
    got = cmd.argv
    got.append("mutated")  # callers get their own list
    assert cmd.argv == _reference_argv(cmd.words) == ["systemctl"]
    cmd.words = ["env", "ls"]  # a changed command is recomputed
    assert cmd.argv == ["env", "ls"]
    assert Command(1, 1, "-x", ["sudo", "-x"]).argv == _reference_argv(["sudo", "-x"])


@pytest.mark.skipif(find_shellcheck() is None, reason="shellcheck not installed")
def test_parallel_shellcheck_equals_serial(monkeypatch: pytest.MonkeyPatch) -> None:
    parallel = scan_tree(EXAMPLE, EXAMPLE / "chom-validate.yaml", only=["DEP020"])
    monkeypatch.setattr("os.cpu_count", lambda: 1)  # DEP020 then runs shellcheck one at a time
    serial = scan_tree(EXAMPLE, EXAMPLE / "chom-validate.yaml", only=["DEP020"])
    assert _dump(parallel) == _dump(serial)
    assert len(parallel.findings) > 5


def _example_jobs() -> list[tuple[str, str]]:
    from chom_validate import shellcheck as sc

    index = discover(LocalTree(EXAMPLE))
    return [(a.text, sc.dialect(a.meta.get("shell"))) for a in index.of("shell") if not a.embedded]


@pytest.mark.skipif(find_shellcheck() is None, reason="shellcheck not installed")
def test_started_early_equals_one_run_per_script_and_uses_no_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    import threading

    from chom_validate import shellcheck as sc

    exe = find_shellcheck()
    assert exe is not None
    jobs = _example_jobs()
    assert len(jobs) > 5
    reference = [sc.run_one(exe, *job) for job in jobs]  # one process per script on stdin
    monkeypatch.setattr(sc, "BATCH_FILES", 2)  # many small batches: more than run at once
    threads = threading.active_count()
    early = sc.Started(exe, jobs, sc.Cache(None, None))
    assert threading.active_count() == threads  # processes only: the engine forks after this
    if sc._rc_args(exe) is not None:  # 0.10+: batched, so started now, at most workers() at a time
        assert len(early.bins) > sc.workers()
        assert len(early.batches) == sc.workers()
        assert all(b.proc is not None for b in early.batches.values())
    got = sc.run_all(exe, jobs, sc.Cache(None, None), early)
    assert got == reference
    assert len(early.batches) == len(early.bins)  # every batch ran, none twice


@pytest.mark.skipif(find_shellcheck() is None, reason="shellcheck not installed")
def test_scan_starts_shellcheck_before_parsing_with_the_same_findings(monkeypatch: pytest.MonkeyPatch) -> None:
    from chom_validate import engine, probes

    seen: list[object] = []
    real_parse_all = engine.parse_all

    def parse_all(index: Any, budget: float = engine.PARSE_BUDGET_SECONDS) -> None:
        ctx = next(c for c in _contexts if c.index is index)
        seen.append(probes.started(ctx, "shellcheck"))
        real_parse_all(index, budget)

    _contexts: list[Any] = []
    real_start_early = probes.start_early

    def start_early(ctx: Any, names: list[str]) -> None:
        _contexts.append(ctx)
        real_start_early(ctx, names)

    monkeypatch.setattr(engine, "parse_all", parse_all)
    monkeypatch.setattr(probes, "start_early", start_early)
    early = scan_tree(EXAMPLE, EXAMPLE / "chom-validate.yaml", no_cache=True)
    assert seen and all(s is not None for s in seen)  # ShellCheck was running when parsing began
    monkeypatch.setattr(probes, "_PRESTART", {})  # no early start: the probe does all the work
    late = scan_tree(EXAMPLE, EXAMPLE / "chom-validate.yaml", no_cache=True)
    assert _dump(early) == _dump(late)
    assert any(f.check_id == "DEP020" and f.status == "fail" for f in early.findings)


def _dump(report: RunReport) -> list[dict[str, Any]]:
    return [f.model_dump(mode="json") for f in report.findings]


def _verdicts(findings: list[dict[str, Any]]) -> list[dict[str, Any]]:
    # Target-wide "no script does X" not-applicable verdicts speak of the scripts analysed; they are
    # the only findings allowed to differ (they count for no score).
    return [f for f in findings if f["status"] != "not_applicable" or any(e["path"] for e in f["evidence"])]


def _scores(report: RunReport) -> dict[str, Any]:
    """Scores without not-applicable counts (and without groups that only had n/a: no score)."""
    data = report.scores.model_dump(mode="json")
    for key, group in list(data.items()):
        if isinstance(group, dict):
            data[key] = {
                name: {k: v for k, v in entry.items() if k != "not_applicable"}
                for name, entry in group.items()
                if not isinstance(entry, dict) or entry.get("score") is not None
            }
    return data


def _compare_changed_only(root: Path, config: Path | None, changed: set[str]) -> tuple[RunReport, RunReport]:
    extra = {"changed_only": "HEAD", "changed_files": frozenset(changed)}
    fast = scan_tree(root, config, profile="hardened", **extra)
    full = scan_tree(root, config, profile="hardened", changed_only_full=True, **extra)
    a, b = _verdicts(_dump(fast)), _verdicts(_dump(full))
    # TGT002's summary counts the artifacts this run analysed: fewer when scripts were left out
    skipped = fast.targets[0].stats.get("unchanged_scripts_skipped", 0)
    for fa, fb in zip(a, b, strict=False):
        counts = [re.fullmatch(r"(\d+) artifact\(s\) parsed", f["message"]) for f in (fa, fb)]
        if fa["check_id"] == fb["check_id"] == "TGT002" and counts[0] and counts[1]:
            na, nb = (int(m.group(1)) for m in counts if m)
            assert na + skipped == nb
            fa["message"], fa["data"], fa["fingerprint"] = fb["message"], fb["data"], fb["fingerprint"]
    assert a == b
    # something to compare: a changed rule file alone gives one result per check and cause
    assert len(a) >= 5
    assert _scores(fast) == _scores(full) and fast.gate == full.gate
    for key in ("pass", "fail", "error", "waived", "baselined"):
        assert fast.summary[key] == full.summary[key]
    return fast, full


@pytest.mark.parametrize(
    "changed",
    [
        {"landsraad/deploy/deploy-chom.sh"},
        {"mentat/deploy/lib/common.sh", "mentat/prometheus/rules/monitoring.yml"},
        {"landsraad/firewall/setup-firewall.sh", "README.md"},
    ],
)
def test_changed_only_fast_path_equals_full_scan_filtered_example(changed: set[str]) -> None:
    fast, _ = _compare_changed_only(EXAMPLE, EXAMPLE / "chom-validate.yaml", changed)
    assert any("--changed-only" in n for n in fast.notices)


@pytest.mark.parametrize(
    ("changed", "skipped"),
    [
        # two scripts and a unit: lib.sh stays (deploy-0.sh sources it)
        ({"svc0/scripts/deploy-0.sh", "svc1/scripts/deploy-5.sh", "svc1/systemd/exporter-1.service"}, 14),
        # the library: deploy-0.sh stays (its lock check points into lib.sh)
        ({"svc0/scripts/lib.sh"}, 15),
        # only a rule file: every script is left out
        ({"prometheus/rules/rules-1.yml"}, 17),
    ],
)
def test_changed_only_fast_path_equals_full_scan_filtered_generated(
    tmp_path: Path, changed: set[str], skipped: int
) -> None:
    root = tmp_path / "tree"
    for i in range(16):
        d = root / f"svc{i % 4}" / "scripts"
        d.mkdir(parents=True, exist_ok=True)
        body = "".join(bench_scan.BODY_LINE.format(n=n) for n in range(5))
        (d / f"deploy-{i}.sh").write_text(bench_scan.SCRIPT.format(i=i, body=body, port=10000 + i))
    lib = root / "svc0" / "scripts" / "lib.sh"
    lib.write_text("#!/usr/bin/env bash\ntake_lock() { exec 9>/var/lock/deploy.lock; flock -n 9; }\n")
    first = root / "svc0" / "scripts" / "deploy-0.sh"
    first.write_text(first.read_text().replace("set -euo", '. "$(dirname "$0")/lib.sh"\ntake_lock\nset -euo'))
    for i in range(6):
        d = root / f"svc{i % 3}" / "systemd"
        d.mkdir(parents=True, exist_ok=True)
        (d / f"exporter-{i}.service").write_text(bench_scan.UNIT.format(i=i, port=20000 + i))
    d = root / "prometheus" / "rules"
    d.mkdir(parents=True)
    for i in range(2):
        rules = "".join(bench_scan.RULE.format(i=i, j=j) for j in range(3))
        (d / f"rules-{i}.yml").write_text(bench_scan.RULES.format(i=i, rules=rules))
    fast, full = _compare_changed_only(root, None, changed)
    stats = fast.targets[0].stats
    assert stats["unchanged_scripts_skipped"] == skipped
    assert stats["artifacts"] == full.targets[0].stats["artifacts"] - skipped


def test_unvalidated_findings_equal_validated_ones_on_the_example() -> None:
    """The engine copies a built-in check's (already validated) result into its finding without a
    second validation: validating every finding again changes nothing (redaction, truncation,
    enums, evidence), so the shortcut gives the report the full validation gave."""
    from chom_validate.findings import Finding

    rep = scan_tree(EXAMPLE, EXAMPLE / "chom-validate.yaml", profile="certified")
    assert len(rep.findings) > 500
    for f in rep.findings:
        again = Finding(**f.model_dump())
        assert again.model_dump(mode="json") == f.model_dump(mode="json"), f.check_id
        assert type(f.status).__name__ == "Status" and all(type(e).__name__ == "Evidence" for e in f.evidence)


PLUGIN_UNVALIDATED = '''
from chom_validate.findings import Result, Status
from chom_validate.registry import check

@check("XPV001", "unvalidated", category="deploy", severity="low", pillar="security")
def unvalidated(ctx):
    """A third-party check that builds its result without validation."""
    yield Result.model_construct(
        status="fail",
        message="token ghp_" + "A" * 36 + " in deploy.sh",
        subject=None,
        evidence=[{"path": "a.sh", "line": 1, "excerpt": "password=" + "s3cr3t-" * 3}],
        severity="high",
        data={},
    )


@check("XPV002", "malformed", category="deploy", severity="low", pillar="security")
def malformed(ctx):
    """A third-party check whose unvalidated result is not a valid result."""
    yield Result.model_construct(status="bogus", message="x", evidence=[], data={})
'''


def test_third_party_results_are_still_validated_and_redacted(tmp_path: Path) -> None:
    from chom_validate.config import Config
    from chom_validate.engine import RunOptions, TargetSpec, scan
    from chom_validate.findings import Evidence, Severity, Status
    from chom_validate.registry import load_registry

    plugins = tmp_path / "plugins"
    plugins.mkdir()
    (plugins / "mine.py").write_text(PLUGIN_UNVALIDATED)
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "a.sh").write_text("#!/bin/bash\nset -euo pipefail\necho hi\n")
    rep = scan(
        [TargetSpec(str(tree), "local", lambda: LocalTree(tree))],
        load_registry([plugins], entry_points_enabled=False),
        Config(),
        RunOptions(profile="certified", only=["XPV001", "XPV002"]),
    )
    (f,) = [f for f in rep.findings if f.check_id == "XPV001"]
    assert f.status is Status.FAIL and f.severity is Severity.HIGH
    assert isinstance(f.evidence[0], Evidence)
    assert "ghp_" + "A" * 36 not in f.message and "s3cr3t" not in (f.evidence[0].excerpt or "")
    (bad,) = [f for f in rep.findings if f.check_id == "XPV002"]
    assert bad.status is Status.ERROR and "ValidationError" in bad.message


# One sample per token format (real-looking, not real): the prefilter must let each through.
TOKEN_SAMPLES = {
    "AWS access key id": "AKIA" + "Q3ZT7RBN2KXW5MPD",
    "GitHub token": "ghp_" + "k3J9x" * 8,
    "GitHub fine-grained token": "github_pat_" + "11ABCDEFG0" * 7,
    "GitLab token": "glpat-" + "x7Kq2mPz9RtV4nLw8sYb",
    "Slack token": "xoxb-" + "123456789012-" + "AbCdEfGhIjKlMn",
    "Slack app token": "xapp-1-A0B1C2D3E4-123456789012-" + "ab12" * 8,
    "Slack webhook": "https://hooks.slack.com/services/T0ABCDEFG/B0ABCDEFG/" + "aB3dE6gH9jK2mN5p",
    "Discord webhook": "https://discord.com/api/webhooks/123456789/" + "aB3-dE6_gH9jK2mN5pQ8sT1vW4yZ7bC0e",
    "Stripe key": "sk_live_" + "4eC39HqLyjWDarjtT1zdp7dc",
    "Google API key": "AIza" + "SyD3k9Jx7Lm2Nq8Rt5Vw1Yz4Bc6Fh0Gj-Kp",
    "SendGrid key": "SG." + "aB3dE6gH9jK2mN5pQ8" + "." + "sT1vW4yZ7bC0eF3hJ6kM9nP2qS5tV8xA",
    "Telegram bot token": "123456789:AA" + "F3k9Jx7Lm2Nq8Rt5Vw1Yz4Bc6Fh0Gj-Kp",
    "JSON Web Token": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
    "npm token": "npm_" + "aB3dE6gH9jK2mN5pQ8sT1vW4yZ7bC0eF3hJ6",
}


def test_token_prefilter_gives_the_answers_of_every_search() -> None:
    """token_format tests a few literals before its 14 searches: each format's sample is still
    found, and on every line of the corpus, the fixtures and the example the answer is the same."""
    from chom_validate.facts import secrets as fs

    assert set(TOKEN_SAMPLES) == {name for name, _ in fs.TOKEN_FORMATS}, "a format without a sample"
    for name, sample in TOKEN_SAMPLES.items():
        line = f'export TOKEN="{sample}"'
        found = fs._token_format(line)
        assert found is not None and found[0] == name and found[1] in sample, (name, found)
        assert fs.token_format(line) == found, name
    roots = [EXAMPLE, ROOT / "tests" / "fixtures", ROOT.parent / "shared" / "corpus"]
    seen = 0
    for root in roots:
        for p in root.rglob("*") if root.is_dir() else ():
            if not p.is_file() or p.stat().st_size > 1_000_000:
                continue
            for ln in p.read_text(errors="replace").splitlines():
                seen += 1
                ln = ln[:4000]
                assert fs.token_format(ln) == fs._token_format(ln), (p, ln)
    assert seen > 50_000


def _reference_line_secrets(ln: str) -> list[Any]:
    """checks/secrets.py line_secrets without its literal prefilters (and with the unmemoised
    classification), the reference the fast path is compared with."""
    from chom_validate.checks import secrets as cs

    from chom_validate.facts import secrets as fs

    classify = fs.classify_value.__wrapped__  # type: ignore[attr-defined]
    out: list[Any] = []
    fmt = fs._token_format(ln)
    if fmt:
        out.append((fmt[0], fmt[1], fs.ValueClass("token", fmt[0])))
    for pat, what in ((cs._URL_CRED, "credential in URL"), (cs._DSN_CRED, "credential in DSN")):
        for m in pat.finditer(ln):
            out.append((what, m.group("val"), classify(m.group("val"))))
    for am in cs._ASSIGN.finditer(ln):
        key = am.group("key")
        if not fs.is_secret_key.__wrapped__(key):  # type: ignore[attr-defined]
            continue
        val = am.group("val")
        if val.startswith(("http://", "https://")) and not fmt:
            continue
        out.append((f"{key} hard-coded", val, classify(val, key)))
    return out


def test_line_secrets_fast_path_equals_reference_on_every_corpus_line() -> None:
    from chom_validate.checks.secrets import line_secrets

    roots = [EXAMPLE, ROOT / "tests" / "fixtures", ROOT.parent / "shared" / "corpus"]
    seen = hits = 0
    for root in roots:
        for p in root.rglob("*") if root.is_dir() else ():
            if not p.is_file() or p.stat().st_size > 1_000_000:
                continue
            for ln in p.read_text(errors="replace").splitlines():
                ln = ln[:4000]
                got = line_secrets(ln)
                assert got == _reference_line_secrets(ln), (p, ln)
                seen += 1
                hits += bool(got)
    assert seen > 50_000 and hits > 100
