"""Facts live in facts/, checks ask for them: the typed inputs built from the deployment model, and
the rule that a check module keeps no model of its own."""

from __future__ import annotations

import ast
import datetime as dt
from pathlib import Path

import pytest

from chom_validate.config import Config
from chom_validate.engine import RunOptions, TargetSpec, scan
from chom_validate.facts.inputs import Backups, FirewallRules, Listeners
from chom_validate.registry import load_registry
from chom_validate.targets.local import LocalTree

ROOT = Path(__file__).resolve().parents[1]
CHECKS = ROOT / "checks"
FACTS = ROOT / "src" / "chom_validate" / "facts"
NOW = dt.datetime(2026, 1, 15, 12, 0, tzinfo=dt.UTC)


def _classes(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {n.name for n in tree.body if isinstance(n, ast.ClassDef)}


def test_no_check_module_defines_a_model_facts_define() -> None:
    """One model per fact: a class name defined in facts/ is never defined again in a check module."""
    facts = {name: p.name for p in FACTS.glob("*.py") for name in _classes(p)}
    twins = [
        f"{p.name}:{c} (facts/{facts[c]})" for p in CHECKS.glob("*.py") for c in _classes(p) if c in facts
    ]
    assert not twins, twins


@pytest.mark.parametrize("path", sorted(CHECKS.glob("_*.py")), ids=lambda p: p.name)
def test_check_helpers_hold_no_models(path: Path) -> None:
    """checks/_*.py keep presentation helpers only; models built from artifacts belong in facts/."""
    assert not _classes(path), f"{path.name} defines {sorted(_classes(path))}: move the model into facts/"


PLUGIN = '''
from chom_validate.facts.inputs import Backups, FirewallRules, Listeners
from chom_validate.findings import Result
from chom_validate.registry import check


@check("ZZF001", "fw-input", category="network", severity="low", pillar="security")
def fw(fws: FirewallRules):
    """Typed firewall input."""
    for host, hf in sorted(fws.items()):
        yield Result.passed(f"{host}: {len(hf.firewall.rules)} rules, default {hf.firewall.default_incoming}")


@check("ZZF002", "backups-input", category="backup", severity="low", pillar="reliability")
def bk(model: Backups):
    """Typed backup input."""
    yield Result.passed(", ".join(b.name for b in model.scripts))


@check("ZZF003", "listeners-input", category="topology", severity="low", pillar="operations")
def ls(lst: Listeners):
    """Typed listener input."""
    for host, hl in sorted(lst.items()):
        yield Result.passed(f"{host}: " + ", ".join(f"{p}={v[0].what}@{v[0].at}" for p, v in sorted(hl.ports.items())))
'''

FIREWALL = """#!/usr/bin/env bash
set -euo pipefail
ufw default deny incoming
ufw allow 443/tcp
ufw --force enable
"""
BACKUP = """#!/usr/bin/env bash
set -euo pipefail
mysqldump --all-databases | gzip > /var/backups/db.sql.gz
"""
UNIT = """[Unit]
Description=node exporter

[Service]
ExecStart=/usr/local/bin/node_exporter --web.listen-address=:9100
"""


def _run(tmp_path: Path, files: dict[str, str]):  # type: ignore[no-untyped-def]
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    (plugins / "zzf_checks.py").write_text(PLUGIN, encoding="utf-8")
    reg = load_registry([plugins], entry_points_enabled=False)
    assert not reg.errors, reg.errors
    tree = tmp_path / "tree"
    tree.mkdir()
    for rel, text in files.items():
        (tree / rel).parent.mkdir(parents=True, exist_ok=True)
        (tree / rel).write_text(text, encoding="utf-8")
    opts = RunOptions(profile="certified", only=["ZZF001", "ZZF002", "ZZF003"], now=NOW)
    report = scan([TargetSpec("t", "local", lambda: LocalTree(tree))], reg, Config(), opts)
    out: dict[str, list[tuple[str, str]]] = {}
    for f in report.findings:
        out.setdefault(f.check_id, []).append((f.status.value, f.message))
    return reg, out


def test_empty_fact_inputs_answer_with_their_own_reason(tmp_path: Path) -> None:
    _, got = _run(tmp_path, {"README.md": "# nothing deployed here\n"})
    assert got["ZZF001"] == [("not_applicable", FirewallRules.empty_reason)]
    assert got["ZZF002"] == [("not_applicable", Backups.empty_reason)]
    assert got["ZZF003"] == [("not_applicable", Listeners.empty_reason)]


def test_fact_inputs_are_the_facts_models(tmp_path: Path) -> None:
    reg, got = _run(
        tmp_path,
        {
            "scripts/firewall.sh": FIREWALL,
            "backup/backup-db.sh": BACKUP,
            "systemd/node_exporter.service": UNIT,
        },
    )
    (fw,) = got["ZZF001"]
    assert fw[0] == "pass" and fw[1].endswith(": 1 rules, default deny"), fw
    assert got["ZZF002"] == [("pass", "backup-db.sh")]
    (ls,) = got["ZZF003"]
    assert ls[0] == "pass" and "9100=node_exporter.service@systemd/node_exporter.service:5" in ls[1], ls
    # the inputs carry the commands their facts read on a live host
    assert reg.checks["ZZF001"].commands == (("ufw", "status", "verbose"),)
    assert reg.checks["ZZF002"].commands == (("crontab", "-l"),)


def test_one_continuation_joiner_for_commands_and_text() -> None:
    from chom_validate.artifacts.shell import parse_shell_text
    from chom_validate.facts.backups import logical_lines
    from chom_validate.facts.wiring import continued_lines

    lines = [
        "mysqldump \\",
        "  --all-databases \\",
        "  | gzip > /b/db.gz",
        "# a comment ending in a backslash does not continue \\",
        "cat > /etc/x.conf <<EOF",
        "key=${VALUE:?} \\",
        "more",
        "EOF",
        "",
    ]
    got = list(continued_lines(lines))
    assert got[0] == (1, 3, "mysqldump --all-databases | gzip > /b/db.gz")
    assert got[1][:2] == (4, 4)  # the comment is its own line; line 5 is not swallowed
    assert (6, 7, "key=${VALUE:?} more") in got  # heredoc text is kept unless skipped
    assert [s for s, _, _ in continued_lines(lines, skip={6, 7})] == [1, 4, 5, 8, 9]
    script = parse_shell_text("\n".join(["#!/bin/bash", *lines]))
    texts = [(ll.start, ll.text) for ll in logical_lines(script)]
    assert (2, "mysqldump --all-databases | gzip > /b/db.gz") in texts
    assert all(not t.startswith(("#", "key=")) for _, t in texts), (
        texts
    )  # comments and heredoc bodies dropped
