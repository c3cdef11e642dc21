"""The collection plan of a check covers what its facts read (chom_validate/command_plan.py).

``--only BAK021`` on a host used to collect nothing (the check declares no command) while the backup
model it calls reads ``crontab -l``: the collision between two crontab jobs was invisible. Here a
snapshot records every command any check can read; each check then runs alone with only its own plan
collected, and every allow-listed command it asks for must have been planned. The SSH variant runs
the same ``--only`` against the real loopback sshd with a ``crontab`` on the host.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from chom_validate.api import RunOptions
from chom_validate.artifacts import discover
from chom_validate.command_plan import check_commands
from chom_validate.config import Config
from chom_validate.engine import ScanContext, parse_all, plan, render, run_check
from chom_validate.registry import load_registry
from chom_validate.targets.base import CommandResult, is_allowed
from chom_validate.targets.local import LocalTree
from chom_validate.targets.snapshot import SnapshotTarget, write_snapshot

from .ssh.conftest import FIXTURES, build_host_tree

# Two restic jobs of one repository at the same minute: BAK021 fails on them, from `crontab -l` alone.
CRONTAB = "# m h dom mon dow command\n0 3 * * * restic -r /srv/repo backup /var/www\n0 3 * * * restic -r /srv/repo check\n"


class _Host(LocalTree):
    """A host tree whose allow-listed commands answer like the loopback sshd's fakes (plus crontab)."""

    capabilities = frozenset({"files", "commands"})
    kind = "ssh"

    def run(self, argv: list[str]) -> CommandResult:
        outputs = {"crontab": CRONTAB}
        for f in (FIXTURES / "fake").glob("*.out"):
            outputs[f.stem] = f.read_text()
        out = outputs.get(argv[0])
        if out is None:
            return CommandResult(argv=list(argv), returncode=127, stdout="", stderr="not found", missing=True)
        return CommandResult(argv=list(argv), returncode=0, stdout=out, stderr="")


@pytest.fixture(scope="module")
def snapshot(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = build_host_tree(tmp_path_factory.mktemp("host") / "landsraad", "landsraad")
    reg = load_registry(entry_points_enabled=False)
    paths, commands = plan(list(reg.checks.values()))
    snap = tmp_path_factory.mktemp("snap") / "landsraad.tar.gz"
    write_snapshot(_Host(root, name="landsraad"), snap, paths=paths, commands=commands)
    return snap


def test_backup_checks_plan_the_crontab_their_model_reads() -> None:
    reg = load_registry(entry_points_enabled=False)
    bak021 = reg.checks["BAK021"]
    assert ("crontab", "-l") not in bak021.commands  # not declared: the plan must find it
    assert ("crontab", "-l") in check_commands(bak021)
    _, commands = plan([bak021])
    assert ["crontab", "-l"] in commands
    # a check that reads no fact with a command plans none
    assert plan([reg.checks["DEP047"]])[1] == []


def _alone(spec: Any, target: SnapshotTarget, index: Any) -> tuple[set[tuple[str, ...]], list[Any]]:
    """Run one check with only its own plan collected; the allow-listed argv it asked for unplanned."""
    ctx = ScanContext(target=target, config=Config(), index=index, options=RunOptions())
    ctx.collect_commands([list(c) for c in check_commands(spec)])
    unplanned: set[tuple[str, ...]] = set()
    real: Callable[..., CommandResult] = ctx.command

    def command(argv: list[str] | tuple[str, ...]) -> CommandResult:
        if tuple(argv) not in ctx._commands and is_allowed(list(argv)):
            unplanned.add(tuple(argv))
        return real(argv)

    ctx.command = command  # type: ignore[method-assign]
    results, _ = run_check(spec, ctx)
    return unplanned, results


def test_every_check_alone_reads_only_planned_commands(snapshot: Path) -> None:
    reg = load_registry(entry_points_enabled=False)
    target = SnapshotTarget(snapshot)
    index = discover(target, default_host="landsraad")
    base = ScanContext(target=target, config=Config(), index=index, options=RunOptions())
    parse_all(index, 30.0)
    render(base)
    missed = {}
    for cid, spec in sorted(reg.checks.items()):
        if spec.needs:  # background probes (shellcheck): not about commands
            continue
        unplanned, _ = _alone(spec, target, index)
        if unplanned:
            missed[cid] = sorted(unplanned)
    assert missed == {}


def test_only_bak021_on_a_snapshot_sees_the_crontab(cli, snapshot: Path) -> None:  # type: ignore[no-untyped-def]
    r = cli("all", "--snapshot", str(snapshot), "--check", "BAK021", "--format", "json")
    assert r.returncode in (0, 1), r.stderr
    fs = [f for f in json.loads(r.stdout)["findings"] if f["check_id"] == "BAK021"]
    fails = [f for f in fs if f["status"] == "fail"]
    assert fails, fs
    assert {e["path"] for f in fails for e in f["evidence"]} == {"$ crontab -l"}
    assert {e["line"] for f in fails for e in f["evidence"]} == {2, 3}
