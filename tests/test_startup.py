"""Start-up: `--version` and `list` load neither the engine nor typer, and the cached check index and
rendered listing never change an answer (same bytes as a run that loads every check, rebuilt when a
check file changes, appears or goes away)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from importlib.metadata import version
from pathlib import Path

import pytest

from chom_validate import __version__
from chom_validate.cli import COMMAND_HOMES, load_app
from chom_validate.cli.listing import parse_list_args

ROOT = Path(__file__).resolve().parent.parent
# Same interpreter and same sys.path for every run, so runs share one index file.
DRIVER = textwrap.dedent(
    """
    import json, os, sys
    sys.argv = ["chom-validate", *json.loads(os.environ["ARGS"])]
    from chom_validate.cli import main
    try:
        main()
    finally:
        if os.environ.get("MODULES_TO"):
            with open(os.environ["MODULES_TO"], "w") as fh:
                json.dump(sorted(sys.modules), fh)
    """
)


def run(args: list[str], cache: Path | None, modules_to: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("CHOM_VALIDATE_NO_CACHE", "MODULES_TO")}
    env["ARGS"] = json.dumps(args)
    env["COLUMNS"] = "120"
    if cache is None:
        env["CHOM_VALIDATE_NO_CACHE"] = "1"
    else:
        env["XDG_CACHE_HOME"] = str(cache)
    if modules_to is not None:
        env["MODULES_TO"] = str(modules_to)
    return subprocess.run(
        [sys.executable, "-c", DRIVER], capture_output=True, text=True, env=env, cwd=ROOT, timeout=120
    )


def test_version_literal_matches_the_distribution() -> None:
    assert __version__ == version("chom-validate")


def test_default_config_name_matches_config() -> None:
    from chom_validate.cli.info import DEFAULT_CONFIG_NAME
    from chom_validate.config import DEFAULT_CONFIG_NAME as in_config

    assert in_config == DEFAULT_CONFIG_NAME


def test_command_homes_name_the_modules_that_register_each_command() -> None:
    app = load_app()
    registered = {
        (c.name or c.callback.__name__): c.callback.__module__.rsplit(".", 1)[-1]
        for c in app.registered_commands
    }
    for g in app.registered_groups:
        registered[g.name] = g.typer_instance.registered_commands[0].callback.__module__.rsplit(".", 1)[-1]
    assert registered == COMMAND_HOMES


def test_parse_list_args_accepts_only_what_click_would_bind_the_same_way() -> None:
    assert parse_list_args([]) == {"category": [], "profile": "certified", "checks_dir": [], "no_color": False}
    got = parse_list_args(["--category", "deploy", "--category=systemd", "--profile=baseline", "--no-color"])
    assert got == {"category": ["deploy", "systemd"], "profile": "baseline", "checks_dir": [], "no_color": True}
    assert parse_list_args(["--checks-dir", "x"]) == {
        "category": [],
        "profile": "certified",
        "checks_dir": [Path("x")],
        "no_color": False,
    }
    for args in (["--help"], ["-h"], ["--category"], ["--profile", "--no-color"], ["--"], ["x"], ["--prof", "a"]):
        assert parse_list_args(args) is None, args


@pytest.mark.parametrize(
    "args",
    [
        ["list"],
        ["list", "--category", "systemd", "--profile", "baseline"],
        ["explain", "DEP001"],
        ["list", "--category", "nope"],
        ["explain", "NOPE42"],
        ["list", "--checks-dir", "/nonexistent-dir"],
    ],
)
def test_cached_answers_equal_a_full_load(tmp_path: Path, args: list[str]) -> None:
    reference = run(args, cache=None)
    first = run(args, cache=tmp_path)  # builds the index (and the rendered listing)
    second = run(args, cache=tmp_path)  # answers from them
    for r in (first, second):
        assert (r.returncode, r.stdout, r.stderr) == (reference.returncode, reference.stdout, reference.stderr)


def test_typer_path_and_fast_path_print_the_same(tmp_path: Path) -> None:
    fast = run(["list", "--category", "deploy"], cache=tmp_path)
    via_typer = run(["list", "--category", "deploy", "--"], cache=tmp_path)  # `--`: typer parses it
    assert fast.returncode == via_typer.returncode == 0
    assert fast.stdout == via_typer.stdout and "DEP001" in fast.stdout


def test_cached_list_loads_no_check_typer_or_pydantic(tmp_path: Path) -> None:
    mods = tmp_path / "modules.json"  # same environment both times: the listing's key includes it
    run(["list"], cache=tmp_path, modules_to=mods)
    r = run(["list"], cache=tmp_path, modules_to=mods)
    assert r.returncode == 0 and "checks" in r.stdout
    loaded = set(json.loads(mods.read_text()))
    for heavy in ("typer", "pydantic", "rich", "chom_validate.findings", "chom_validate.engine", "yaml"):
        assert heavy not in loaded, heavy
    assert not any(m.startswith("chom_validate.checks.") for m in loaded)


def test_version_loads_nothing_heavy(tmp_path: Path) -> None:
    mods = tmp_path / "modules.json"
    r = run(["--version"], cache=tmp_path, modules_to=mods)
    assert r.stdout == f"chom-validate {__version__}\n"
    loaded = set(json.loads(mods.read_text()))
    assert not {"typer", "pydantic", "rich", "importlib.metadata"} & loaded


PLUGIN = '''
from chom_validate.registry import check


@check("ZZP001", "{name}", category="deploy", severity="low", pillar="operations")
def zzp001(ctx):
    """{title}

    What it does
        Nothing.
    """
    return iter(())
'''


def test_index_follows_plugin_changes(tmp_path: Path) -> None:
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    cache = tmp_path / "cache"
    (plugins / "one.py").write_text(PLUGIN.format(name="first-name", title="First title."))
    args = ["list", "--checks-dir", str(plugins), "--category", "deploy"]
    assert "first-name" in run(args, cache).stdout
    assert "first-name" in run(args, cache).stdout  # from the index

    (plugins / "one.py").write_text(PLUGIN.format(name="second-name-longer", title="Second title."))
    r = run(args, cache)
    assert "second-name-longer" in r.stdout and "first-name" not in r.stdout
    assert r.stdout == run(args, None).stdout

    (plugins / "two.py").write_text(PLUGIN.replace("ZZP001", "ZZP002").format(name="other", title="T."))
    r = run(args, cache)
    assert "ZZP002" in r.stdout and "ZZP001" in r.stdout

    (plugins / "one.py").unlink()
    r = run(args, cache)
    assert "ZZP002" in r.stdout and "ZZP001" not in r.stdout

    (plugins / "two.py").write_text("raise RuntimeError('broken plugin')\n")
    r = run(args, cache)
    assert "plugin problem" in r.stdout and "broken plugin" in r.stdout and "ZZP002" not in r.stdout
    assert r.stdout == run(args, None).stdout


def test_index_covers_every_builtin_check_file() -> None:
    from chom_validate.cli import check_index

    files = set(check_index._base_files([]))
    for f in (ROOT / "checks").glob("*.py"):
        assert str(f) in files, f
    assert str(ROOT / "src" / "chom_validate" / "registry.py") in files
