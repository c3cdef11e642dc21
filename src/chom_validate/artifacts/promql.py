"""PromQL, parsed by `promql-parser` (the Rust port of Prometheus's own parser), as a small typed AST.

``parse(text)`` returns an AST (``VectorSelector``, ``MatrixSelector``, ``Subquery``, ``Call``,
``Aggregation``, ``Binary``, ``Unary``, ``Paren``, ``Number``, ``String``) and raises ``PromQLError``
for what Prometheus rejects: bad syntax, unknown functions, wrong argument types (``rate(foo)``),
comparisons of scalars without ``bool``, empty selectors. The verdicts are the upstream parser's
(the package tracks Prometheus 2.45; ``holt_winters``, valid in every 2.x, is registered on top) and
are compared with ``promtool check rules`` in tests/test_oracles_prom.py. ``selectors(ast)`` and
``range_calls(ast)`` give checks the metric names, label matchers and ``rate()``-style windows an
expression uses.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import promql_parser as _pp

SCALAR, VECTOR, MATRIX, STRING = "scalar", "instant vector", "range vector", "string"


class PromQLError(ValueError):
    def __init__(self, message: str, pos: int = 0) -> None:
        super().__init__(message)
        self.pos = pos


# -- durations ---------------------------------------------------------------------------------------

_DUR_UNITS = {
    "y": 365 * 86400.0,
    "w": 7 * 86400.0,
    "d": 86400.0,
    "h": 3600.0,
    "m": 60.0,
    "s": 1.0,
    "ms": 0.001,
}
_DUR_RE = re.compile(r"^(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?$")


def parse_duration(text: str) -> float:
    """Seconds in a Prometheus duration (``1h30m``, ``90s``, ``0``); ValueError when invalid.

    Config durations (``for:``, ``scrape_interval:``) follow model.ParseDuration, which is stricter
    than PromQL's own duration literals, so this stays a small regex of its own.
    """
    t = str(text).strip()
    if t == "0":
        return 0.0
    m = _DUR_RE.match(t)
    if not t or not m or not any(m.groups()):
        raise ValueError(f"not a valid duration string: {text!r}")
    total = 0.0
    for value, unit in zip(m.groups(), ("y", "w", "d", "h", "m", "s", "ms"), strict=True):
        if value:
            total += int(value) * _DUR_UNITS[unit]
    return total


def format_duration(seconds: float) -> str:
    if seconds and seconds % 3600 == 0:
        return f"{int(seconds // 3600)}h"
    if seconds and seconds % 60 == 0:
        return f"{int(seconds // 60)}m"
    return f"{seconds:g}s"


# -- AST -----------------------------------------------------------------------------------------------


@dataclass
class Node:
    pos: int

    @property
    def type(self) -> str:  # pragma: no cover - overridden
        raise NotImplementedError

    def children(self) -> list[Node]:
        return []


@dataclass
class Matcher:
    name: str
    op: str  # = != =~ !~
    value: str

    def matches(self, value: str) -> bool:
        if self.op == "=":
            return value == self.value
        if self.op == "!=":
            return value != self.value
        hit = re.fullmatch(self.value, value) is not None
        return hit if self.op == "=~" else not hit


@dataclass
class VectorSelector(Node):
    metric: str | None = None
    matchers: list[Matcher] = field(default_factory=list)
    offset: float | None = None

    @property
    def type(self) -> str:
        return VECTOR

    @property
    def metric_names(self) -> list[str]:
        """Metric name, or the names an `{__name__="..."}` equality matcher selects."""
        if self.metric:
            return [self.metric]
        return [m.value for m in self.matchers if m.name == "__name__" and m.op == "="]


@dataclass
class MatrixSelector(Node):
    vector: VectorSelector = field(default_factory=lambda: VectorSelector(0))
    range: float = 0.0
    range_text: str = ""

    @property
    def type(self) -> str:
        return MATRIX

    def children(self) -> list[Node]:
        return [self.vector]


@dataclass
class Subquery(Node):
    expr: Node = field(default_factory=lambda: Number(0))
    range: float = 0.0
    step: float | None = None
    range_text: str = ""

    @property
    def type(self) -> str:
        return MATRIX

    def children(self) -> list[Node]:
        return [self.expr]


@dataclass
class Number(Node):
    value: float = 0.0

    @property
    def type(self) -> str:
        return SCALAR


@dataclass
class String(Node):
    value: str = ""

    @property
    def type(self) -> str:
        return STRING


class _Wrapper(Node):
    """A node around one expression (its fields are the subclass's): it has that expression's type."""

    expr: Node

    @property
    def type(self) -> str:
        return self.expr.type

    def children(self) -> list[Node]:
        return [self.expr]


@dataclass
class Paren(_Wrapper):
    expr: Node = field(default_factory=lambda: Number(0))


@dataclass
class Unary(_Wrapper):
    op: str = "-"
    expr: Node = field(default_factory=lambda: Number(0))


@dataclass
class Call(Node):
    func: str = ""
    args: list[Node] = field(default_factory=list)
    returns: str = VECTOR

    @property
    def type(self) -> str:
        return self.returns

    def children(self) -> list[Node]:
        return list(self.args)


@dataclass
class Aggregation(Node):
    op: str = "sum"
    expr: Node = field(default_factory=lambda: Number(0))
    param: Node | None = None
    grouping: list[str] = field(default_factory=list)
    without: bool = False

    @property
    def type(self) -> str:
        return VECTOR

    def children(self) -> list[Node]:
        return [self.expr] if self.param is None else [self.param, self.expr]


@dataclass
class Binary(Node):
    op: str = "+"
    lhs: Node = field(default_factory=lambda: Number(0))
    rhs: Node = field(default_factory=lambda: Number(0))
    bool: bool = False
    matching: str | None = None  # on | ignoring
    labels: list[str] = field(default_factory=list)
    group: str | None = None  # group_left | group_right
    include: list[str] = field(default_factory=list)

    @property
    def type(self) -> str:
        return SCALAR if self.lhs.type == SCALAR and self.rhs.type == SCALAR else VECTOR

    def children(self) -> list[Node]:
        return [self.lhs, self.rhs]


# -- parsing --------------------------------------------------------------------------------------------

_TYPES = {"Vector": VECTOR, "Scalar": SCALAR, "Matrix": MATRIX, "String": STRING}
_OPS = {"Equal": "=", "NotEqual": "!=", "Re": "=~", "NotRe": "!~"}

# holt_winters is valid in every Prometheus 2.x (promtool 2.42 accepts it); the package follows 3.x,
# where it was renamed double_exponential_smoothing.
_EXTRA = [
    _pp.Function(
        "holt_winters",
        [_pp.ValueType.Matrix, _pp.ValueType.Scalar, _pp.ValueType.Scalar],
        _pp.ValueType.Vector,
    )
]
with contextlib.suppress(ValueError):  # already registered (module reloaded) or built in upstream
    _pp.register_extra_functions(_EXTRA)

# The Rust parser recurses without a depth limit and crashes the process (SIGSEGV) on a few
# thousand nested operators; no real query comes near this many.
_MAX_OPERATORS = 1000
_OPERATOR_CHARS = re.compile(
    r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`|([-+*/%^(<>=!]|\b(?:and|or|unless)\b)', re.I
)


def _seconds(d: timedelta | None) -> float | None:
    return None if d is None else d.total_seconds()


def _enum(value: Any) -> str:
    return str(value).rsplit(".", 1)[-1]


def _convert(e: Any) -> Node:
    if isinstance(e, _pp.VectorSelector):
        ms = list(e.matchers.matchers)
        if e.matchers.or_matchers:
            # `{a="x" or b="y"}` is Prometheus 3.x syntax; 2.x (promtool 2.42) rejects it
            raise PromQLError('unexpected identifier "or" in label matching')
        return VectorSelector(
            0,
            metric=e.name,
            matchers=[
                Matcher(m.name, _OPS[_enum(m.op)], m.value) for m in ms if m.name != "__name__" or not e.name
            ],
            offset=_seconds(e.offset),
        )
    if isinstance(e, _pp.MatrixSelector):
        vec = _convert(e.vector_selector)
        assert isinstance(vec, VectorSelector)
        rng = e.range.total_seconds()
        return MatrixSelector(0, vector=vec, range=rng, range_text=format_duration(rng))
    if isinstance(e, _pp.SubqueryExpr):
        rng = _seconds(e.range) or 0.0
        return Subquery(
            0, expr=_convert(e.expr), range=rng, step=_seconds(e.step), range_text=format_duration(rng)
        )
    if isinstance(e, _pp.NumberLiteral):
        return Number(0, value=float(e.val))
    if isinstance(e, _pp.StringLiteral):
        return String(0, value=str(e.val))
    if isinstance(e, _pp.ParenExpr):
        return Paren(0, expr=_convert(e.expr))
    if isinstance(e, _pp.UnaryExpr):
        return Unary(0, op="-", expr=_convert(e.expr))
    if isinstance(e, _pp.Call):
        return Call(
            0, func=e.func.name, args=[_convert(a) for a in e.args], returns=_TYPES[_enum(e.func.return_type)]
        )
    if isinstance(e, _pp.AggregateExpr):
        amod = e.modifier
        return Aggregation(
            0,
            op=str(e.op).lower(),
            expr=_convert(e.expr),
            param=_convert(e.param) if e.param is not None else None,
            grouping=list(amod.labels) if amod is not None else [],
            without=amod is not None and _enum(amod.type) == "Without",
        )
    if isinstance(e, _pp.BinaryExpr):
        b = Binary(0, op=str(e.op).lower(), lhs=_convert(e.lhs), rhs=_convert(e.rhs))
        mod = e.modifier
        if mod is not None:
            b.bool = bool(mod.return_bool)
            if mod.matching is not None:
                b.matching = "on" if _enum(mod.matching.type) == "Include" else "ignoring"
                b.labels = list(mod.matching.labels)
            card = _enum(mod.card)
            if card in ("ManyToOne", "OneToMany"):
                b.group = "group_left" if card == "ManyToOne" else "group_right"
                b.include = list(mod.group_labels or [])
        return b
    raise PromQLError(f"unsupported expression node {type(e).__name__}")


def parse(text: str) -> Node:
    """Parse a PromQL expression; raises PromQLError when Prometheus would reject it."""
    if not text.strip():
        raise PromQLError("no expression found in input", 0)
    if sum(1 for m in _OPERATOR_CHARS.finditer(text) if m.group(1)) > _MAX_OPERATORS:
        raise PromQLError("expression nesting too deep", 0)
    try:
        raw = _pp.parse(text)
    except ValueError as exc:
        raise PromQLError(str(exc), 0) from exc
    try:
        return _convert(raw)
    except RecursionError as exc:
        raise PromQLError("expression nesting too deep", 0) from exc


# -- queries over the AST ------------------------------------------------------------------------------


def walk(node: Node) -> Iterator[Node]:
    yield node
    for c in node.children():
        yield from walk(c)


def selectors(node: Node) -> list[VectorSelector]:
    return [n for n in walk(node) if isinstance(n, VectorSelector)]


def metric_names(node: Node) -> list[str]:
    out: list[str] = []
    for s in selectors(node):
        for name in s.metric_names:
            if name not in out:
                out.append(name)
    return out


def calls(node: Node) -> list[Call]:
    return [n for n in walk(node) if isinstance(n, Call)]


def range_calls(node: Node) -> list[tuple[str, MatrixSelector | Subquery]]:
    """(function name, range argument) for every call taking a range vector (rate, increase...)."""
    out: list[tuple[str, MatrixSelector | Subquery]] = []
    for c in calls(node):
        for a in c.args:
            inner = a.expr if isinstance(a, Paren) else a
            if isinstance(inner, MatrixSelector | Subquery):
                out.append((c.func, inner))
    return out
