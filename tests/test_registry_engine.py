"""Registry loading, plugin isolation, and the engine's handling of broken checks."""

from __future__ import annotations

from pathlib import Path

from chom_validate.findings import Status
from chom_validate.registry import REQUIRED_DOC_SECTIONS, load_registry, parse_doc

from .conftest import scan_tree

PLUGIN_OK = '''
from chom_validate.findings import Result
from chom_validate.registry import check

@check("XPL001", "plugin-raises", category="deploy", severity="low", pillar="operations")
def boom(ctx):
    """Raises.

    What it does
        x
    """
    raise RuntimeError("plugin exploded")
    yield  # pragma: no cover

@check("XPL002", "plugin-silent", category="deploy", severity="low", pillar="operations")
def silent(ctx):
    """Yields nothing."""
    return iter(())

@check("XPL003", "plugin-fine", category="deploy", severity="low", pillar="operations")
def fine(ctx):
    """Passes after looking at the index."""
    yield Result.passed(f"{len(ctx.index.files)} files seen")

@check("SYS001", "dup", category="systemd", severity="low", pillar="operations")
def dup(ctx):
    """Duplicate id."""
    yield Result.passed("x")
'''


def test_builtin_checks_document_themselves() -> None:
    reg = load_registry()
    assert not reg.errors, reg.errors
    assert len(reg.checks) >= 6
    for spec in reg.checks.values():
        missing = [s for s in REQUIRED_DOC_SECTIONS if not spec.doc.get(s)]
        assert not missing, f"{spec.id} docstring lacks {missing}"


def test_parse_doc_sections() -> None:
    doc = parse_doc("""Title here.

    What it does
        Does a thing.
    Why it matters
        Because.
    Example
        x = 1
    Fix
        Do y.
    References
        https://example.invalid
    """)
    assert doc["title"] == "Title here."
    assert doc["Example"] == "x = 1"
    assert doc["References"].startswith("https://")


def test_plugins_are_isolated(tmp_path: Path) -> None:
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    (plugins / "mine.py").write_text(PLUGIN_OK)
    (plugins / "broken.py").write_text("import nonexistent_module_xyz\n")
    reg = load_registry([plugins])
    reasons = " | ".join(f"{e.source}: {e.reason}" for e in reg.errors)
    assert "broken.py" in reasons and "nonexistent_module_xyz" in reasons
    assert "duplicate check id SYS001" in reasons
    assert {"XPL001", "XPL002", "XPL003"} <= set(reg.checks)
    assert reg.checks["SYS001"].source.startswith("chom_validate.checks.systemd")


def test_raising_and_silent_checks_become_errors_and_run_goes_on(tmp_path: Path, cli) -> None:
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    (plugins / "mine.py").write_text(PLUGIN_OK)
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "a.sh").write_text("#!/bin/bash\nset -euo pipefail\necho hi\n")
    r = cli("all", "--path", str(tree), "--checks-dir", str(plugins), "--format", "json")
    assert r.returncode in (0, 1), r.stderr
    import json

    data = json.loads(r.stdout)
    by = {}
    for f in data["findings"]:
        by.setdefault(f["check_id"], []).append(f)
    assert by["XPL001"][0]["status"] == "error" and "plugin exploded" in by["XPL001"][0]["message"]
    assert by["XPL002"][0]["status"] == "error" and "yielded no result" in by["XPL002"][0]["message"]
    assert by["XPL003"][0]["status"] == "pass"
    assert by["DEP001"][0]["status"] == "pass"  # the built-in checks still ran
    assert any("duplicate check id SYS001" in p["reason"] for p in data["plugin_errors"])


def test_check_times_are_recorded(tmp_path: Path) -> None:
    (tmp_path / "x.sh").write_text("#!/bin/sh\nset -eu\ntrue\n")
    rep = scan_tree(tmp_path)
    runs = rep.targets[0].check_runs
    assert runs and all(r.duration_ms >= 0 for r in runs)
    assert {r.check_id for r in runs} >= {"DEP001", "SYS001"}
    dep = next(r for r in runs if r.check_id == "DEP001")
    assert dep.status == Status.PASS
