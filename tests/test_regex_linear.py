"""Line-anchored patterns stay linear on pathological input.

Under ``re.M`` a pattern starting ``^\\s*`` tries at every line start and ``\\s*`` runs over all the
blank lines that follow before failing: on n blank lines that is n²/2 steps (200 000 blank lines
took minutes). Each pattern below is the module's real compiled one; it must answer in well under a
second on 200 000 blank lines and still match the line it exists for.
"""

from __future__ import annotations

import sys
import time

import pytest

from chom_validate.registry import load_registry

BLANK = "\n" * 200_000 + "x"
# Spaces and tabs on every line too: `^[ \t]*` may consume them, but never across the newline.
INDENTED = " \t\n" * 100_000 + "x"

CASES = [
    ("chom_validate.facts.deployment", "_INVENTORY_TEXT", "[webservers]\n"),
    ("chom_validate.facts.firewall", "_NFT_INCLUDE", '  include "/etc/nftables.d/*.nft"\n'),
    ("chom_validate.facts.hosts.scripts", "_SECRET_CONTENT", "password = hunter2\n"),
    ("chom_validate.artifacts.cron", "_CRON_LINE", "0 3 * * * root /usr/local/bin/backup\n"),
    ("chom_validate.checks.secrets", "_CONTENT_KEY", "DB_PASSWORD=x\n"),
    ("chom_validate.checks.dr", "_RESTORE_FUNC", "restore_db() {\n"),
    ("chom_validate.checks.live", "_SECRET_ASSIGN", "export API_KEY=abc\n"),
    ("chom_validate.checks.live", "_CNF_PASSWORD", "password=abc\n"),
    ("chom_validate.checks.option_files", "_SERVER_GROUP", "[mysqld]\n"),
]


@pytest.fixture(scope="module")
def modules() -> dict[str, object]:
    load_registry(entry_points_enabled=False)  # imports the built-in check modules
    return sys.modules  # type: ignore[return-value]


@pytest.mark.parametrize(
    ("module", "name", "positive"), CASES, ids=[f"{m.rsplit('.', 1)[1]}.{n}" for m, n, _ in CASES]
)
def test_linear_on_blank_lines(modules: dict[str, object], module: str, name: str, positive: str) -> None:
    if module not in modules:
        __import__(module)
    pattern = getattr(sys.modules[module], name)
    # still finds what it is for, after the blank lines as well as alone
    assert pattern.search(positive), f"{module}.{name} no longer matches {positive!r}"
    assert pattern.search(BLANK[:-1] + positive)
    for text in (BLANK, INDENTED):
        t0 = time.perf_counter()
        pattern.search(text)
        list(pattern.finditer(text))
        took = time.perf_counter() - t0
        assert took < 1.0, f"{module}.{name} took {took:.2f}s on {len(text)} chars of blank lines"
