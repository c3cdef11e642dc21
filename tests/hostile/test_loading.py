"""Loading-layer guards, in-process: alias bombs, parser crashes reworded, one-line errors."""

from __future__ import annotations

import time

import pytest

from chom_validate.artifacts.base import Artifact, ArtifactParseError, bounded_excerpt, parser
from chom_validate.artifacts.yamlfile import load_yaml, load_yaml_safe
from chom_validate.targets.base import TargetProblem


def _bomb(levels: int = 9, width: int = 9) -> str:
    out = ['l0: &l0 "lol"']
    out += [f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * width) + "]" for i in range(1, levels)]
    return "\n".join(out) + "\n"


@pytest.mark.parametrize("load", [load_yaml, load_yaml_safe])
def test_alias_bomb_refused_quickly(load) -> None:  # type: ignore[no-untyped-def]
    t0 = time.perf_counter()
    with pytest.raises(ArtifactParseError, match="alias bomb"):
        load(_bomb())
    assert time.perf_counter() - t0 < 2


def test_ordinary_anchors_still_load() -> None:
    doc = "x-base: &base {image: nginx, restart: always}\nservices:\n  a: {<<: *base}\n  b: {<<: *base, image: x}\n"
    data = load_yaml(doc)
    assert data["services"]["a"]["restart"] == "always" and data["services"]["b"]["image"] == "x"


def test_recursive_alias_does_not_loop() -> None:
    assert isinstance(load_yaml_safe("a: &a [*a]\n"), dict)


def test_parser_crash_is_reworded_on_one_line() -> None:
    @parser("hostile_test_kind")
    def _crash(a: Artifact) -> object:
        return [][1]

    a = Artifact(path="x.conf", kind="hostile_test_kind", text="x", digest="0")
    err = a.parse_error
    assert err is not None
    msg = str(err)
    assert "internal parser failure (IndexError at test_loading.py:" in msg and "\n" not in msg
    assert not msg.startswith("IndexError:")


def test_messages_and_problems_are_one_line() -> None:
    assert "\n" not in str(ArtifactParseError("while parsing\n  in line 3\nexpected ']'"))
    p = TargetProblem("bad\nname\x1b[31m.sh", "tar: x: Cannot open\nPermission denied")
    assert "\n" not in p.path and "\x1b" not in p.path and "\n" not in p.reason


def test_excerpt_bounded_without_cutting_a_word() -> None:
    assert bounded_excerpt("a " * 10) == "a " * 10
    long = "token=" + "A" * 10_000
    assert bounded_excerpt(long) == "(10006-character line, not shown)"
    words = "word " * 1000
    out = bounded_excerpt(words)
    assert len(out) < 450 and out.split(" … ")[0].endswith("word")


def test_dashboard_lines_located_exactly_and_linearly() -> None:
    import json

    from chom_validate.artifacts.grafana import parse_dashboard

    doc = {
        "title": "Caf\u00e9 board",
        "templating": {"list": [{"name": "job", "datasource": "prom"}]},
        "panels": [
            {"type": "graph", "title": "Caf\u00e9", "targets": [{"expr": 'up{job="a"}'}]},
            {"type": "row"},
            {"type": "graph", "title": "Caf\u00e9", "targets": [{"expr": 'up{job="a"}'}]},
        ],
    }
    text = json.dumps(doc, indent=2, ensure_ascii=False)
    lines = text.splitlines()
    d = parse_dashboard(Artifact(path="d.json", kind="grafana_dashboard", text=text, digest="0"))
    first, second = (i + 1 for i, ln in enumerate(lines) if '"title": "Caf\u00e9"' in ln)
    assert [p.line for p in d.panels] == [first, first + 8, second]  # the row: its "type" line
    assert [q.line for p in d.panels for q in p.queries] == [
        i + 1 for i, ln in enumerate(lines) if '"expr"' in ln
    ]
    assert d.datasource_refs[0] == ("prom", next(i + 1 for i, ln in enumerate(lines) if '"name": "job"' in ln))
    # 40k panels on one line (json.dumps default): each line number used to rescan from offset 0
    big = json.dumps({"panels": [{"title": f"p{i}", "targets": [{"expr": f"m{i}"}]} for i in range(40_000)]})
    t0 = time.perf_counter()
    d = parse_dashboard(Artifact(path="b.json", kind="grafana_dashboard", text=big, digest="0"))
    assert len(d.panels) == 40_000 and time.perf_counter() - t0 < 5


def test_yaml_text_probes_linear_on_deep_indents_and_blank_runs() -> None:
    from chom_validate.artifacts.discover import detect_kind, make_candidate

    deep = "groups:\n" + "".join("  " * i + "a:\n" for i in range(3000)) + "\t- alert: X\n  bad: [\n"
    blanks = "groups:\n" + "\n" * 200_000 + "  " * 50_000 + "x\n"
    t0 = time.perf_counter()
    assert detect_kind(make_candidate("rules.yml", deep)) == "prometheus_rules"
    make_candidate("nginx.conf", blanks) and detect_kind(make_candidate("nginx.conf", blanks))
    detect_kind(make_candidate("rules.yml", blanks + "[\n"))
    assert time.perf_counter() - t0 < 5
