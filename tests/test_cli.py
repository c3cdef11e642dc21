"""The CLI as a user meets it: exit codes, one-line errors, list/explain/init, JSON against the schema."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema

from chom_validate.outputs.json import shipped_schema

from .conftest import EXAMPLE


def _no_traceback(text: str) -> None:
    assert "Traceback" not in text
    assert 'File "' not in text


def test_version(cli) -> None:
    r = cli("--version")
    assert r.returncode == 0
    assert r.stdout.startswith("chom-validate ")


def test_help_reads_as_documentation(cli) -> None:
    for cmd in ([], ["all"], ["list"], ["explain"], ["init"]):
        r = cli(*cmd, "--help")
        assert r.returncode == 0, r.stderr
        assert "Usage" in r.stdout
    r = cli("all", "--help")
    for opt in (
        "--path",
        "--host",
        "--snapshot",
        "--config",
        "--profile",
        "--category",
        "--format",
        "--output",
        "--quiet",
        "--no-color",
    ):
        assert opt in r.stdout


def test_nonexistent_path_exits_2_with_one_line(cli, tmp_path: Path) -> None:
    r = cli("all", "--path", "/nonexistent/chom")
    assert r.returncode == 2
    _no_traceback(r.stderr)
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "/nonexistent/chom" in lines[0] and "no such file" in lines[0]


def test_malformed_config_exits_2_naming_file_and_line(cli, tmp_path: Path) -> None:
    bad = tmp_path / "chom-validate.yaml"
    bad.write_text("version: 1\nhosts:\n  mentat:\n    port: [nope\n")
    r = cli("all", "--path", str(tmp_path), "--config", str(bad))
    assert r.returncode == 2
    _no_traceback(r.stderr)
    assert str(bad) in r.stderr and "invalid YAML" in r.stderr

    bad.write_text("version: 1\nprofile: hardened\nhosts:\n  mentat:\n    port: 99999\n")
    r = cli("all", "--path", str(tmp_path), "--config", str(bad))
    assert r.returncode == 2
    assert f"{bad}:5: hosts.mentat.port" in r.stderr

    bad.write_text("version: 1\nunknown_key: 3\n")
    r = cli("all", "--path", str(tmp_path), "--config", str(bad))
    assert r.returncode == 2 and f"{bad}:2: unknown_key" in r.stderr


def test_exactly_one_target(cli, tmp_path: Path) -> None:
    r = cli("all")
    assert r.returncode == 2 and "exactly one of" in r.stderr
    r = cli("all", "--path", str(tmp_path), "--snapshot", str(tmp_path / "x.tar.gz"))
    assert r.returncode == 2 and "exactly one of" in r.stderr


def test_bad_options_exit_2(cli, tmp_path: Path) -> None:
    for args in (["--profile", "ultra"], ["--category", "nope"], ["--format", "xml"], ["--check", "ZZZ999"]):
        r = cli("all", "--path", str(tmp_path), *args)
        assert r.returncode == 2, (args, r.stderr)
        _no_traceback(r.stderr)


def test_list_and_explain(cli) -> None:
    r = cli("list")
    assert r.returncode == 0
    for cid in ("DEP001", "SYS001", "SYS002", "SYS003", "MON001"):
        assert cid in r.stdout
    r = cli("list", "--category", "systemd")
    assert "SYS001" in r.stdout and "DEP001" not in r.stdout
    r = cli("explain", "SYS001")
    assert r.returncode == 0
    for section in ("What it does", "Why it matters", "Example", "Fix", "References"):
        assert section in r.stdout
    r = cli("explain", "NOPE42")
    assert r.returncode == 2 and "no check with id" in r.stderr


def test_init_writes_valid_commented_config(cli, tmp_path: Path) -> None:
    r = cli("init", cwd=tmp_path)
    assert r.returncode == 0
    cfg = tmp_path / "chom-validate.yaml"
    assert cfg.read_text().startswith("# chom-validate configuration")
    r = cli("init", cwd=tmp_path)
    assert r.returncode == 2 and "already exists" in r.stderr
    # the written config is valid and picked up by default from the working directory
    (tmp_path / "tree").mkdir()
    r = cli("all", "--path", "tree", "--format", "json", cwd=tmp_path)
    assert r.returncode in (0, 1), r.stderr
    assert json.loads(r.stdout)["config_source"] == "chom-validate.yaml"


def test_example_run_prints_scored_summary_and_exits_1(cli) -> None:
    r = cli("all", "--path", str(EXAMPLE), "--config", str(EXAMPLE / "chom-validate.yaml"))
    assert r.returncode == 1, r.stderr
    assert "Overall score" in r.stdout and "Gate: FAILED" in r.stdout
    assert "Deployment scripts" in r.stdout


def test_json_output_validates_against_shipped_schema(cli, tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    r = cli(
        "all",
        "--path",
        str(EXAMPLE),
        "--config",
        str(EXAMPLE / "chom-validate.yaml"),
        "--format",
        "json",
        "-o",
        str(out),
    )
    assert r.returncode == 1
    data = json.loads(out.read_text())
    jsonschema.validate(data, shipped_schema())
    assert data["schema_version"] == "1.0"
    assert data["findings"], "no findings"
    f = next(x for x in data["findings"] if x["status"] == "fail")
    assert f["evidence"] and f["evidence"][0]["path"]


def test_quiet_and_no_color(cli) -> None:
    r = cli("all", "--path", str(EXAMPLE), "-c", str(EXAMPLE / "chom-validate.yaml"), "--quiet", "--no-color")
    assert r.returncode == 1
    assert "\x1b[" not in r.stdout
    assert len(r.stdout.strip().splitlines()) <= 6


def test_shipped_schema_matches_the_models() -> None:
    from chom_validate.outputs.json import generate_schema

    assert shipped_schema() == json.loads(json.dumps(generate_schema(), sort_keys=True)), (
        "regenerate with: python -m chom_validate.outputs.json"
    )
