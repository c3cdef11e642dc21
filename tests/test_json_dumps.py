"""The JSON writer's indenting encoder is `json.dumps(obj, indent=2)` byte for byte."""

from __future__ import annotations

import json

from chom_validate.outputs.json import dumps_indented, to_json
from chom_validate.redact import redact_tree

from .conftest import EXAMPLE, scan_tree


def test_same_bytes_as_the_stdlib_on_edge_cases() -> None:
    cases = [
        {},
        [],
        {"a": [], "b": {}, "c": [[]], "d": [{}]},
        [1, -0.0, 2.5, 1e300, 10**30, float("nan"), float("inf"), -float("inf"), None, True, False],
        {"é\n\"\\x\u2028": "tab\there", "emoji": "\U0001f600", "ctl": "\x00\x1f"},
        {"nested": {"list": [{"x": [1, [2, [3]]]}]}},
        "plain",
        3,
        None,
    ]
    for o in cases:
        assert dumps_indented(o) == json.dumps(o, indent=2), o


def test_non_json_types_fall_back_to_the_stdlib() -> None:
    assert dumps_indented({1: "int key"}) == json.dumps({1: "int key"}, indent=2)
    assert dumps_indented({"t": ("a", "b")}) == json.dumps({"t": ("a", "b")}, indent=2)


def test_same_bytes_as_the_stdlib_on_a_real_report() -> None:
    report = scan_tree(EXAMPLE, EXAMPLE / "chom-validate.yaml")
    data = {k: (v if k == "checks" else redact_tree(v)) for k, v in report.model_dump(mode="json").items()}
    assert to_json(report) == json.dumps(data, indent=2, sort_keys=False) + "\n"
