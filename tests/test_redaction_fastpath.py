"""`redact`'s fast paths (the literal prefilter and the memo) give exactly what every rule gives."""

from __future__ import annotations

from pathlib import Path

import pytest

from chom_validate import redact as r

ROOT = Path(__file__).resolve().parent.parent
SOURCES = [ROOT / "tests" / "fixtures", ROOT / "examples", ROOT.parent / "shared" / "corpus"]


def _texts() -> list[str]:
    """Every distinct line of the fixtures, the example and the corpus, plus each small file whole."""
    out: dict[str, None] = {}
    for base in SOURCES:
        if not base.is_dir():
            continue
        for f in sorted(base.rglob("*")):
            if not f.is_file() or f.stat().st_size > 512 * 1024:
                continue
            try:
                text = f.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError):
                continue
            if len(text) <= 4000:
                out[text] = None
            out.update(dict.fromkeys(text.splitlines()))
    return list(out)


TEXTS = _texts()


@pytest.fixture(autouse=True)
def _clean():
    r.forget_all()
    yield
    r.forget_all()


def test_prefilter_equals_every_rule_on_corpus_and_fixture_text() -> None:
    assert len(TEXTS) > 10000
    for remembered in ([], ["hunter2-value", "s3cr3tV@lue&<x>", "Zq9fLongTokenValue"]):
        r.forget_all()
        for v in remembered:
            r.remember(v)
        sample = TEXTS if not remembered else TEXTS[::7]
        for t in sample + [f"x {v} y" for v in remembered]:
            assert r._redact(t, prefilter=True) == r._redact(t, prefilter=False), t[:200]


def test_prefilter_skips_most_ordinary_lines() -> None:
    skipped = sum(1 for t in TEXTS if not r._MAY_MATCH.search(t))
    assert skipped > len(TEXTS) // 2, (skipped, len(TEXTS))


def test_memo_forgets_when_a_value_is_remembered_or_a_pattern_added() -> None:
    text = "connecting with Zq9fLongTokenValue now"
    assert r.redact(text) == text  # memoised
    r.remember("Zq9fLongTokenValue")
    assert r.redact(text) == f"connecting with {r.MASK} now"
    other = "ticket ABC-12345 opened"
    assert r.redact(other) == other
    saved = list(r._extra_patterns)
    try:
        r.register_pattern(r"ABC-\d+")
        assert r.redact(other) == f"ticket {r.MASK} opened"
    finally:
        r._extra_patterns[:] = saved
        r.forget_all()
    assert r.redact(other) == other
