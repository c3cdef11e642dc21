"""Canary secrets planted in fixtures must never appear in any output format."""

from __future__ import annotations

import importlib
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from .conftest import scan_tree

FIX = Path(__file__).parent / "fixtures" / "secrets" / "bad"
CANARIES = [
    "CanaryMysqlPw42",
    "CanaryCurlPw77",
    "CanaryEnvPw-9f3k2LmQ",
    "AKIACANARY0123456789",
    "CanaryUnitPw55x",
]
FORMATS = ["text", "json", "sarif", "junit", "gitlab"]


def _assert_clean(text: str, where: str) -> None:
    leaked = [c for c in CANARIES if c in text]
    assert not leaked, f"canary secret(s) {leaked} leaked in {where}"


def test_canaries_are_in_the_fixtures() -> None:
    blob = "".join(p.read_text() for p in FIX.iterdir())
    assert all(c in blob for c in CANARIES)


@pytest.mark.parametrize("fmt", FORMATS)
def test_cli_formats_never_show_canaries(cli: Callable[..., object], fmt: str, tmp_path: Path) -> None:
    work = tmp_path / "t"
    shutil.copytree(FIX, work)
    proc = cli("all", "--path", str(work), "--format", fmt, "--profile", "certified")
    out = proc.stdout + proc.stderr  # type: ignore[attr-defined]
    if "not available in this version" in out:
        pytest.skip(f"--format {fmt} not implemented yet")
    _assert_clean(out, f"--format {fmt}")
    assert "REDACTED" in out or fmt == "text" or proc.returncode in (0, 1, 2)  # type: ignore[attr-defined]


@pytest.mark.parametrize("module", ["sarif", "junit", "gitlab"])
def test_output_modules_never_show_canaries(module: str) -> None:
    mod = importlib.import_module(f"chom_validate.outputs.{module}")
    out = mod.render(scan_tree(FIX))
    assert out.strip()
    _assert_clean(out, f"outputs.{module}")


def test_every_report_kind_and_format_never_shows_canaries(
    cli: Callable[..., object], tmp_path: Path
) -> None:
    from chom_validate.outputs.report import KINDS

    work = tmp_path / "t"
    shutil.copytree(FIX, work)
    results = tmp_path / "r.json"
    proc = cli("all", "--path", str(work), "--format", "json", "-o", str(results), "--profile", "certified")
    assert proc.returncode in (0, 1), proc.stderr  # type: ignore[attr-defined]
    _assert_clean(results.read_text(), "results.json")
    for kind in KINDS:
        for fmt in ("md", "html", "json"):
            out = tmp_path / f"{kind}.{fmt}"
            r = cli(
                "report",
                "--kind",
                kind,
                "--format",
                fmt,
                "--from",
                str(results),
                "-o",
                str(out),
                "--now",
                "2026-11-29",
            )
            assert r.returncode == 0, r.stderr  # type: ignore[attr-defined]
            text = out.read_text()
            if kind == "validation-report":  # lists every result with its (redacted) evidence
                assert "REDACTED" in text, f"{kind}.{fmt} shows no redacted evidence"
            _assert_clean(text, f"report {kind}.{fmt}")


def test_in_process_json_never_shows_canaries() -> None:
    from chom_validate.outputs.json import to_json

    report = scan_tree(FIX)
    assert any(f.check_id.startswith("SEC") and f.status == "fail" for f in report.findings)
    _assert_clean(to_json(report), "to_json")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('"password": "CanaryJsonPw1"', '"password": "***REDACTED***"'),
        ("smtp_auth_password: CanaryYamlPw2", "smtp_auth_password: ***REDACTED***"),
        ("DB_PASSWORD=CanaryEnvPw3", "DB_PASSWORD=***REDACTED***"),
        ("secret.yml:12: invalid YAML", "secret.yml:12: invalid YAML"),  # a location, not a secret
        ("deploy/passwd: symlink leaves the tree", "deploy/passwd: symlink leaves the tree"),
        ("password: ${DB_PASSWORD}", "password: ${DB_PASSWORD}"),  # a reference, not a value
    ],
)
def test_redact_keeps_locations_and_references_readable(text: str, expected: str) -> None:
    from chom_validate.redact import redact

    assert redact(text) == expected
