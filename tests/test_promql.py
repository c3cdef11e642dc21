"""The PromQL tokenizer/parser: verdicts, extracted selectors, functions, windows, durations."""

from __future__ import annotations

from pathlib import Path

import pytest

from chom_validate.artifacts import promql

CORPUS = Path(__file__).parent / "fixtures" / "monitoring" / "oracle" / "promql.tsv"


def corpus() -> list[tuple[bool, str]]:
    out = []
    for ln in CORPUS.read_text().splitlines():
        if ln.startswith("#") or not ln.strip():
            continue
        verdict, expr = ln.split("\t", 1)
        out.append((verdict.strip() == "ok", expr))
    return out


@pytest.mark.parametrize(("valid", "expr"), corpus(), ids=[e for _, e in corpus()])
def test_verdicts_match_promtool(valid: bool, expr: str) -> None:
    if valid:
        promql.parse(expr)
    else:
        with pytest.raises(promql.PromQLError):
            promql.parse(expr)


def test_selectors_and_matchers() -> None:
    ast = promql.parse('sum by (job) (rate(http_requests_total{code=~"5..", job!="x"}[5m])) / on(job) up')
    sels = promql.selectors(ast)
    assert [s.metric for s in sels] == ["http_requests_total", "up"]
    assert [(m.name, m.op, m.value) for m in sels[0].matchers] == [("code", "=~", "5.."), ("job", "!=", "x")]
    assert promql.metric_names(ast) == ["http_requests_total", "up"]
    assert promql.metric_names(promql.parse('{__name__="node_load1", instance="a"}')) == ["node_load1"]


def test_range_calls_and_windows() -> None:
    ast = promql.parse("increase(a[1h30m]) + rate(b[5m] offset 1h) + max_over_time(rate(c[1m])[30m:1m])")
    got = [(f, arg.range) for f, arg in promql.range_calls(ast)]
    assert ("increase", 5400.0) in got and ("rate", 300.0) in got and ("rate", 60.0) in got
    sub = next(arg for f, arg in promql.range_calls(ast) if f == "max_over_time")
    assert isinstance(sub, promql.Subquery) and sub.range == 1800.0 and sub.step == 60.0


def test_precedence_and_types() -> None:
    ast = promql.parse("a + b * c ^ d ^ e")
    assert isinstance(ast, promql.Binary) and ast.op == "+"
    assert isinstance(ast.rhs, promql.Binary) and ast.rhs.op == "*"
    pow_ = ast.rhs.rhs
    assert isinstance(pow_, promql.Binary) and pow_.op == "^" and isinstance(pow_.rhs, promql.Binary)
    assert promql.parse("1 + 2").type == promql.SCALAR
    assert promql.parse("scalar(up) * 2").type == promql.SCALAR
    assert promql.parse("up * 2").type == promql.VECTOR
    b = promql.parse("a * on(instance) group_left(nodename) b")
    assert isinstance(b, promql.Binary) and b.matching == "on" and b.group == "group_left"
    assert b.include == ["nodename"]


def test_aggregation_forms() -> None:
    for text in ("sum by (job) (up)", "sum(up) by (job)", "topk(3, up)", 'count_values("v", up)'):
        node = promql.parse(text)
        assert isinstance(node, promql.Aggregation)
    assert promql.parse("sum without (instance) (up)").without is True  # type: ignore[attr-defined]


def test_strings_and_comments() -> None:
    ast = promql.parse('label_replace(up, "dst", "$1", "src", "(.*)\\\\.example") # trailing comment')
    assert isinstance(ast, promql.Call) and ast.func == "label_replace"
    assert [a.value for a in ast.args[1:] if isinstance(a, promql.String)][-1] == "(.*)\\.example"
    assert promql.parse("`raw \\n string`").value == "raw \\n string"  # type: ignore[attr-defined]


def test_errors_say_what_is_wrong() -> None:
    with pytest.raises(promql.PromQLError, match="parenthesis"):
        promql.parse("sum(rate(foo[5m]) by (job)")
    with pytest.raises(promql.PromQLError, match="matrix"):
        promql.parse("rate(foo)")


def test_upstream_syntax_that_a_hand_written_parser_got_wrong() -> None:
    """Keywords are case-insensitive and recording-rule names may start with `:`."""
    ast = promql.parse("sum BY (job) (a) / ON(job) GROUP_LEFT b AND c OR :node_cpu:ratio")
    assert ":node_cpu:ratio" in promql.metric_names(ast)
    assert promql.parse("holt_winters(foo[10m], 0.5, 0.5)").type == promql.VECTOR


def test_many_operators_are_an_error_not_a_crash() -> None:
    with pytest.raises(promql.PromQLError, match="too deep"):
        promql.parse("+".join(["up"] * 20000))


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("15s", 15),
        ("1h30m", 5400),
        ("2d", 172800),
        ("500ms", 0.5),
        ("0", 0),
        ("1w", 604800),
        ("1y", 31536000),
    ],
)
def test_durations(text: str, seconds: float) -> None:
    assert promql.parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "5", "1.5h", "30m1h", "5 m", "-1m"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(ValueError):
        promql.parse_duration(text)


def test_hostile_nesting_is_an_error_not_a_crash() -> None:
    with pytest.raises(promql.PromQLError, match="too deep"):
        promql.parse("(" * 5000 + "up" + ")" * 5000)
    with pytest.raises(promql.PromQLError):
        promql.parse('up{a="' + "x" * 100000)
