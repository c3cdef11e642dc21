"""README's two set-up commands stay at the top, and CI runs exactly the README's test command."""

from __future__ import annotations

import re

from .conftest import ROOT


def _blocks() -> list[str]:
    return re.findall(r"```sh\n(.*?)\n```", (ROOT / "README.md").read_text(), re.S)


def test_two_setup_commands_at_the_top() -> None:
    text = (ROOT / "README.md").read_text()
    head = text.split("---", 1)[0]
    blocks = re.findall(r"```sh\n(.*?)\n```", head, re.S)
    assert len(blocks) == 2, blocks
    run_example, run_tests = (b.strip() for b in blocks)
    assert "chom-validate all --path examples/" in run_example
    assert "pytest" in run_tests


def test_ci_runs_the_readme_test_command() -> None:
    test_cmd = _blocks()[1].strip()
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert test_cmd in [ln.strip() for ln in ci]
