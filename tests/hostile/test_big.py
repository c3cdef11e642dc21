"""Parsing cost is linear: a 5 MB shell script, alert-rules file and Grafana dashboard are each
discovered and parsed in seconds (in-process, the layer in artifacts/), and a file whose parse runs
past the per-file budget becomes an `error` naming it instead of stalling the run.

The machine these tests run on is shared (2 cores, load 10-18 while this was written), so the bounds
are CPU time of this process (``time.process_time``), which load does not inflate the way it does
wall time. Measured at load 17 (bench/RESULTS.md, "5 MB inputs", has the full-run figures):
discover + parse 5 MB rules 6.7 s CPU, script 11.4 s, dashboard 0.5 s. The issue's 5 s target for
the whole run is met by the dashboard only; the bounds below are about twice the measured CPU time,
so a return of the quadratic paths (a 5 MB script took > 200 s of CPU, rules 40 s) fails them.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from chom_validate.artifacts.discover import discover
from chom_validate.targets.local import LocalTree

from ..conftest import findings, scan_tree
from . import big

pytestmark = pytest.mark.timeout(600)

_KINDS = {  # kind: (file, generator, CPU seconds bound for discover + parse)
    "shell": ("deploy.sh", big.shell_script, 25.0),
    "prometheus_rules": ("app.rules.yml", big.alert_rules, 14.0),
    "grafana_dashboard": ("dashboards/fleet.json", big.dashboard, 3.0),
}


@pytest.mark.parametrize("kind", sorted(_KINDS))
def test_5mb_artifact_discovered_and_parsed_in_linear_time(tmp_path: Path, kind: str) -> None:
    name, gen, limit = _KINDS[kind]
    p = tmp_path / name
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(gen())
    assert 4_900_000 < p.stat().st_size <= big.SIZE
    t0 = time.process_time()
    index = discover(LocalTree(tmp_path))
    arts = [a for a in index.artifacts if a.kind == kind and not a.embedded]
    assert len(arts) == 1, [(a.path, a.kind) for a in index.artifacts][:5]
    assert arts[0].parsed is not None and arts[0].parse_error is None
    took = time.process_time() - t0
    assert took < limit, f"{kind}: 5 MB discovered and parsed in {took:.1f} s of CPU (bound {limit:g} s)"


def test_5mb_rules_parsed_once_with_every_rule(tmp_path: Path) -> None:
    """The rule file's YAML is loaded once (discovery hands it to the parser) and every rule is in the model."""
    text = big.alert_rules()
    (tmp_path / "app.rules.yml").write_text(text)
    from chom_validate.artifacts import yamlfile

    calls: list[int] = []
    real = yamlfile._load

    def counting(t: str, loader: object) -> object:
        calls.append(len(t))
        return real(t, loader)

    yamlfile._load = counting  # type: ignore[assignment]
    try:
        index = discover(LocalTree(tmp_path))
        art = next(a for a in index.artifacts if a.kind == "prometheus_rules")
        rf = art.parsed
    finally:
        yamlfile._load = real  # type: ignore[assignment]
    assert calls == [len(text)], calls
    assert len(rf.rules) == text.count("  - alert: ") + text.count("  - record: ")
    assert rf.rules[-1].ast is not None and not rf.problems


def test_parse_past_the_budget_is_an_error_naming_the_file_not_a_hang(tmp_path: Path) -> None:
    """A real input whose parse exceeds the (CPU-time) budget: TGT002 reports an error naming it, the
    rest of the tree is analysed, and the run ends at once instead of finishing the parse."""
    # failing_rules: no `{{ $labels }}` annotation, which TGT002 would take for a template marker
    (tmp_path / "app.rules.yml").write_text(big.failing_rules())
    (tmp_path / "deploy.sh").write_text("#!/bin/bash\nset -euo pipefail\necho ok\n")
    t0 = time.perf_counter()
    rep = scan_tree(tmp_path, only=["TGT002", "DEP001", "MON003"], parse_budget=0.05)
    took = time.perf_counter() - t0
    errs = findings(rep, "TGT002", "error")
    assert [f.evidence[0].path for f in errs] == ["app.rules.yml"], [f.message for f in errs]
    assert "per-file budget" in errs[0].message and "CPU time" in errs[0].message
    assert [f for f in findings(rep, "DEP001") if (f.subject or "").startswith("deploy.sh")]
    assert not [f for f in rep.findings if f.check_id == "MON003" and f.status.value in ("pass", "fail")]
    assert took < 120, f"the scan took {took:.0f} s: the budget did not stop the parse"


_TOKENS = [  # one of each TOKEN_FORMATS entry (assembled so no literal token sits in the repository)
    "AKIA" + "Q3EGRZ7TMV2XJ4PL",
    "ghp_" + "aB3dE6gH9jK2mN5pQ8sT1vW4yZ7bC0eF3hJ6",
    "github_pat_" + "11ABCDEFG0" * 7,
    "glpat-" + "x9Y8z7W6v5U4t3S2r1Q0",
    "xoxb-" + "123456789012-" + "aBcDeFgHiJkLmN",
    "xapp-1-" + "A0B1C2D3-" + "1234567-" + "0a1b2c3d4e5f" * 3,
    "https://hooks.slack.com/services/" + "T0A1B2C3D/B9Z8Y7X6W/" + "q1w2e3r4t5y6u7i8o9p0",
    "https://discord.com/api/webhooks/" + "1234567890/" + "aZ9bY8cX7dW6eV5fU4gT3hS2iR1jQ0kP",
    "sk_live_" + "4eC39HqLyjWDarjtT1zdp7dc",
    "AIza" + "SyD-9tSrke72PouQMnMX-a7eZSW0jkFMBWY",
    "SG." + "ngeVfQFYQlKU0ufo8x5d1A." + "TwL2iGABf9DHoTf-09kqeF8tAmbihYzrnopKc-1s5cr",
    "1234567890:" + "AA" + "Hdqwe7Jk9Lm2Nb4Vc6Xz8Qw1Er3Ty5Ui7",
    "eyJ" + "hbGciOiJIUzI1NiJ9." + "eyJ" + "zdWIiOiIxMjM0NTY3ODkwIn0." + "dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
    "npm_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8",
]


def test_token_prefilter_is_exact() -> None:
    """SEC002's literal prefilter (`TOKEN_LITERALS`) matches whatever any token format matches, so
    `token_format` finds the same tokens as running the 14 formats on every line."""
    from chom_validate.facts import secrets as S

    assert len(_TOKENS) == len(S.TOKEN_FORMATS)
    for (name, pat), tok in zip(S.TOKEN_FORMATS, _TOKENS, strict=True):
        line = f'export X="{tok}"'
        assert pat.search(line), name
        assert any(lit in line for lit in S.TOKEN_LITERALS), f"{name}: the prefilter misses it"
        assert S.token_format(line) is not None, name

    def reference(text: str) -> tuple[str, str] | None:
        for name, pat in S.TOKEN_FORMATS:
            m = pat.search(text)
            if m and not S._TOKEN_PLACEHOLDER.search(m.group(0)):
                return name, m.group(0)
        return None

    corpus = Path(__file__).resolve().parents[2] / "examples"
    lines = [ln for f in corpus.rglob("*") if f.is_file() for ln in f.read_text(errors="replace").splitlines()]
    lines += [f"token={t}" for t in _TOKENS] + big.shell_script(200_000).splitlines()
    assert len(lines) > 5000
    assert [S.token_format(ln) for ln in lines] == [reference(ln) for ln in lines]


def test_known_values_trie_matches_like_the_flat_alternation() -> None:
    """The run-wide secret values are matched through a trie pattern (linear in the text, not in the
    number of values); it masks exactly what the longest-first alternation masked."""
    import random
    import re

    from chom_validate.redact import _trie_alternation

    rnd = random.Random(7)
    for _ in range(400):
        words = {"".join(rnd.choice("ab.c*") for _ in range(rnd.randint(1, 7))) for _ in range(rnd.randint(1, 15))}
        flat = re.compile("|".join(re.escape(w) for w in sorted(words, key=len, reverse=True)))
        trie = re.compile(_trie_alternation(words))
        for _ in range(20):
            text = "".join(rnd.choice("ab.c*x") for _ in range(40))
            assert trie.sub("#", text) == flat.sub("#", text), (sorted(words), text)


def test_many_committed_secrets_cost_linear_time(tmp_path: Path) -> None:
    """A .env with thousands of committed passwords: SEC002 reports each and every output string is
    masked against all of them, in time linear in the number of values (the flat alternation made
    each string cost one try per value per character)."""
    from chom_validate import redact

    def run(size: int) -> tuple[float, int]:
        d = tmp_path / str(size)
        d.mkdir()
        (d / ".env").write_text(big.dotenv(size))
        redact.forget_all()
        t0 = time.process_time()
        rep = scan_tree(d, only=["SEC002"])
        return time.process_time() - t0, len(findings(rep, "SEC002", "fail"))

    run(20_000)  # warm imports
    small, n_small = run(100_000)
    large, n_large = run(400_000)
    assert n_small > 1000 and n_large > 4 * n_small * 0.95
    assert large < 8 * max(small, 0.05), f"4x the secrets cost {large / max(small, 1e-3):.1f}x ({small:.2f} s -> {large:.2f} s)"


def test_excerpt_of_a_huge_line_equals_the_bounded_strip() -> None:
    """Evidence on a minified one-line file builds its excerpt without copying the line (one copy per
    finding was quadratic), and says the same as ``bounded_excerpt(line.strip())``."""
    import random

    from chom_validate.artifacts.base import MAX_EXCERPT, bounded_excerpt, stripped_excerpt

    rnd = random.Random(3)
    for _ in range(2000):
        n = rnd.choice([10, MAX_EXCERPT, 4 * MAX_EXCERPT + 1, 20 * MAX_EXCERPT])
        text = "".join(rnd.choice("ab \t") if rnd.random() < 0.5 else rnd.choice("abcdef") for _ in range(rnd.randint(0, n)))
        text = " " * rnd.randint(0, 5 * MAX_EXCERPT) * (rnd.random() < 0.3) + text + " " * rnd.randint(0, 9)
        assert stripped_excerpt(text) == bounded_excerpt(text.strip()), repr(text[:60])
