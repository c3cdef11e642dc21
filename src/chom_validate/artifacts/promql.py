"""A small PromQL tokenizer and parser (there is no maintained Python one).

``parse(text)`` returns an AST (``VectorSelector``, ``MatrixSelector``, ``Subquery``, ``Call``,
``Aggregation``, ``Binary``, ``Unary``, ``Paren``, ``Number``, ``String``) and raises ``PromQLError``
with the column for what Prometheus's own parser rejects: bad syntax, unknown functions, wrong
argument types (``rate(foo)``), ranges on non-selectors, comparisons of scalars without ``bool``,
set operators on scalars, empty selectors. ``selectors(ast)`` and ``range_calls(ast)`` give checks
the metric names, label matchers and ``rate()``-style windows an expression uses.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

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
    """Seconds in a Prometheus duration (``1h30m``, ``90s``, ``0``); ValueError when invalid."""
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

    @property
    def type(self) -> str:
        return FUNCTIONS[self.func][1]

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


# -- functions and operators -------------------------------------------------------------------------

V, M, S, T = VECTOR, MATRIX, SCALAR, STRING
_MATH = [
    "abs",
    "ceil",
    "exp",
    "floor",
    "ln",
    "log2",
    "log10",
    "sqrt",
    "sgn",
    "sort",
    "sort_desc",
    "timestamp",
    "deg",
    "rad",
]
_TRIG = ["acos", "acosh", "asin", "asinh", "atan", "atanh", "cos", "cosh", "sin", "sinh", "tan", "tanh"]
_OVER_TIME = ["avg", "min", "max", "sum", "count", "stddev", "stdvar", "last", "present", "absent"]
_DATE = ["day_of_month", "day_of_week", "day_of_year", "days_in_month", "hour", "minute", "month", "year"]
# name -> (argument types, return type, number of optional trailing args, variadic last arg)
FUNCTIONS: dict[str, tuple[tuple[str, ...], str, int, bool]] = {
    **{f: ((V,), V, 0, False) for f in _MATH + _TRIG},
    **{f"{f}_over_time": ((M,), V, 0, False) for f in _OVER_TIME},
    **{f: ((V,), V, 1, False) for f in _DATE},
    **{
        f: ((M,), V, 0, False)
        for f in ["changes", "delta", "deriv", "idelta", "increase", "irate", "rate", "resets"]
    },
    "absent": ((V,), V, 0, False),
    "clamp": ((V, S, S), V, 0, False),
    "clamp_max": ((V, S), V, 0, False),
    "clamp_min": ((V, S), V, 0, False),
    "histogram_quantile": ((S, V), V, 0, False),
    "histogram_count": ((V,), V, 0, False),
    "histogram_sum": ((V,), V, 0, False),
    "histogram_fraction": ((S, S, V), V, 0, False),
    "holt_winters": ((M, S, S), V, 0, False),
    "label_replace": ((V, T, T, T, T), V, 0, False),
    "label_join": ((V, T, T, T), V, 0, True),
    "predict_linear": ((M, S), V, 0, False),
    "quantile_over_time": ((S, M), V, 0, False),
    "round": ((V, S), V, 1, False),
    "scalar": ((V,), S, 0, False),
    "vector": ((S,), V, 0, False),
    "time": ((), S, 0, False),
    "pi": ((), S, 0, False),
}
AGGREGATIONS = {"sum", "min", "max", "avg", "group", "stddev", "stdvar", "count", "count_values"} | {
    "bottomk",
    "topk",
    "quantile",
}
_PARAM_AGG = {"count_values": T, "bottomk": S, "topk": S, "quantile": S}
COMPARISONS = {"==", "!=", "<=", "<", ">=", ">"}
SET_OPS = {"and", "or", "unless"}
# precedence, higher binds tighter; "^" is right-associative
PRECEDENCE = {"or": 1, "and": 2, "unless": 2, **dict.fromkeys(COMPARISONS, 3)}
PRECEDENCE.update({"+": 4, "-": 4, "*": 5, "/": 5, "%": 5, "atan2": 5, "^": 6})
_KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "offset"}

# -- tokenizer ------------------------------------------------------------------------------------------


@dataclass
class Token:
    kind: str  # ident number string duration op lbrace rbrace lparen rparen lbracket rbracket comma colon at eof
    text: str
    pos: int


_TOKEN_RE = re.compile(
    r"""
    (?P<ws>\s+|\#[^\n]*)
  | (?P<duration>(?:\d+(?:ms|[smhdwy]))+(?![\w.]))
  | (?P<number>0[xX][0-9a-fA-F]+|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
  | (?P<ident>[a-zA-Z_][a-zA-Z0-9_:]*)
  | (?P<string>"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*'|`[^`]*`)
  | (?P<op>==|!=|=~|!~|<=|>=|[-+*/%^<>=])
  | (?P<punct>[{}()\[\],:@])
    """,
    re.X,
)
_PUNCT = {
    "{": "lbrace",
    "}": "rbrace",
    "(": "lparen",
    ")": "rparen",
    "[": "lbracket",
    "]": "rbracket",
    ",": "comma",
    ":": "colon",
    "@": "at",
}
_ESCAPES = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v", "\\": "\\"}


def tokenize(text: str) -> list[Token]:
    out: list[Token] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN_RE.match(text, pos)
        if not m:
            ch = text[pos]
            if ch in "\"'`":
                raise PromQLError("unterminated quoted string", pos)
            raise PromQLError(f"unexpected character: {ch!r}", pos)
        kind = m.lastgroup or ""
        if kind == "punct":
            out.append(Token(_PUNCT[m.group()], m.group(), pos))
        elif kind != "ws":
            out.append(Token(kind, m.group(), pos))
        pos = m.end()
    out.append(Token("eof", "", len(text)))
    return out


def _unquote(tok: Token) -> str:
    raw = tok.text
    q, body = raw[0], raw[1:-1]
    if q == "`":
        return body
    out: list[str] = []
    i = 0
    while i < len(body):
        c = body[i]
        if c != "\\":
            out.append(c)
            i += 1
            continue
        nxt = body[i + 1] if i + 1 < len(body) else ""
        if nxt in _ESCAPES:
            out.append(_ESCAPES[nxt])
            i += 2
        elif nxt == q:
            out.append(q)
            i += 2
        elif nxt in "xuU" or nxt.isdigit():
            n = {"x": 2, "u": 4, "U": 8}.get(nxt, 3)
            digits = body[i + 2 : i + 2 + n] if not nxt.isdigit() else body[i + 1 : i + 4]
            try:
                out.append(chr(int(digits, 8 if nxt.isdigit() else 16)))
            except ValueError as exc:
                raise PromQLError(f"invalid escape sequence in string {raw}", tok.pos) from exc
            i += (2 + n) if not nxt.isdigit() else 4
        else:
            raise PromQLError(f"unknown escape sequence \\{nxt} in string {raw}", tok.pos)
    return "".join(out)


# -- parser ----------------------------------------------------------------------------------------------


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.toks = tokenize(text)
        self.i = 0

    @property
    def tok(self) -> Token:
        return self.toks[self.i]

    def peek(self, n: int = 1) -> Token:
        return self.toks[min(self.i + n, len(self.toks) - 1)]

    def next(self) -> Token:
        t = self.toks[self.i]
        self.i = min(self.i + 1, len(self.toks) - 1)
        return t

    def expect(self, kind: str, what: str) -> Token:
        if self.tok.kind != kind:
            got = self.tok.text or "end of input"
            raise PromQLError(f"unexpected {got!r}, expected {what}", self.tok.pos)
        return self.next()

    def binop(self) -> str | None:
        t = self.tok
        if t.kind == "op" and t.text in PRECEDENCE:
            return t.text
        if t.kind == "ident" and t.text in ("and", "or", "unless", "atan2"):
            return t.text
        return None

    # expr := unary (binop modifiers unary)*   (precedence climbing)
    def expr(self, min_prec: int = 0) -> Node:
        lhs = self.unary()
        while True:
            op = self.binop()
            if op is None or PRECEDENCE[op] < min_prec:
                return lhs
            pos = self.next().pos
            node = Binary(pos, op=op, lhs=lhs)
            self.modifiers(node)
            nxt = PRECEDENCE[op] if op == "^" else PRECEDENCE[op] + 1
            node.rhs = self.expr(nxt)
            self.check_binary(node)
            lhs = node

    def modifiers(self, node: Binary) -> None:
        if self.tok.kind == "ident" and self.tok.text == "bool":
            self.next()
            node.bool = True
        if self.tok.kind == "ident" and self.tok.text in ("on", "ignoring"):
            node.matching = self.next().text
            node.labels = self.label_list()
            if self.tok.kind == "ident" and self.tok.text in ("group_left", "group_right"):
                node.group = self.next().text
                if self.tok.kind == "lparen":
                    node.include = self.label_list()

    def label_list(self) -> list[str]:
        self.expect("lparen", "'(' before label list")
        out: list[str] = []
        while self.tok.kind != "rparen":
            t = self.tok
            if t.kind != "ident" or ":" in t.text:
                raise PromQLError(
                    f"unexpected {t.text or 'end of input'!r} in grouping opts, expected label", t.pos
                )
            out.append(self.next().text)
            if self.tok.kind == "comma":
                self.next()
            elif self.tok.kind != "rparen":
                raise PromQLError(
                    f"unexpected {self.tok.text!r} in grouping opts, expected ')' or ','", self.tok.pos
                )
        self.next()
        return out

    def unary(self) -> Node:
        t = self.tok
        if t.kind == "op" and t.text in "+-":
            self.next()
            inner = self.expr(PRECEDENCE["^"])  # unary binds looser than ^ only
            if inner.type not in (SCALAR, VECTOR):
                raise PromQLError(
                    "unary expression only allowed on expressions of type scalar or instant vector", t.pos
                )
            if isinstance(inner, Number):
                return Number(t.pos, value=-inner.value if t.text == "-" else inner.value)
            return Unary(t.pos, op=t.text, expr=inner)
        return self.postfix(self.primary())

    def postfix(self, node: Node) -> Node:
        while True:
            t = self.tok
            if t.kind == "lbracket":
                node = self.range_or_subquery(node)
            elif t.kind == "ident" and t.text == "offset":
                self.next()
                neg = self.tok.kind == "op" and self.tok.text == "-"
                if neg or (self.tok.kind == "op" and self.tok.text == "+"):
                    self.next()
                d = self.duration("offset")
                self.attach_offset(node, -d if neg else d, t.pos)
            elif t.kind == "at":
                self.next()
                a = self.tok
                if a.kind == "ident" and a.text in ("start", "end"):
                    self.next()
                    self.expect("lparen", "'('")
                    self.expect("rparen", "')'")
                elif a.kind == "number" or (a.kind == "op" and a.text in "+-"):
                    if a.kind == "op":
                        self.next()
                    self.expect("number", "timestamp")
                else:
                    raise PromQLError("unexpected token after @, expected timestamp or start()/end()", a.pos)
                self.attach_offset(node, None, t.pos, at=True)
            else:
                return node

    def attach_offset(self, node: Node, value: float | None, pos: int, at: bool = False) -> None:
        target = node.vector if isinstance(node, MatrixSelector) else node
        if not isinstance(target, VectorSelector | Subquery):
            what = "@ modifier" if at else "offset modifier"
            raise PromQLError(
                f"{what} must be preceded by an instant vector selector or range vector selector or a subquery",
                pos,
            )
        if isinstance(target, VectorSelector) and value is not None:
            target.offset = value

    def duration(self, what: str) -> float:
        t = self.tok
        if t.kind == "duration" or (t.kind == "number" and t.text == "0"):
            self.next()
            return parse_duration(t.text)
        raise PromQLError(f"unexpected {t.text or 'end of input'!r} in {what}, expected duration", t.pos)

    def range_or_subquery(self, node: Node) -> Node:
        lb = self.next()
        rng_tok = self.tok
        rng = self.duration("range")
        if self.tok.kind == "colon":
            self.next()
            step = None
            if self.tok.kind != "rbracket":
                step = self.duration("subquery step")
            self.expect("rbracket", "']'")
            if node.type != VECTOR:
                raise PromQLError(f"subquery is only allowed on instant vector, got {node.type}", lb.pos)
            return Subquery(lb.pos, expr=node, range=rng, step=step, range_text=rng_tok.text)
        self.expect("rbracket", "']'")
        if not isinstance(node, VectorSelector):
            raise PromQLError("ranges only allowed for vector selectors", lb.pos)
        if node.offset is not None:
            raise PromQLError("offset modifier must come after the range", lb.pos)
        return MatrixSelector(lb.pos, vector=node, range=rng, range_text=rng_tok.text)

    def primary(self) -> Node:
        t = self.tok
        if t.kind == "number":
            self.next()
            return Number(
                t.pos, value=float(int(t.text, 16)) if t.text.lower().startswith("0x") else float(t.text)
            )
        if t.kind == "duration":
            raise PromQLError(f"unexpected duration {t.text!r}", t.pos)
        if t.kind == "string":
            self.next()
            return String(t.pos, value=_unquote(t))
        if t.kind == "lparen":
            self.next()
            inner = self.expr()
            self.expect("rparen", "')'")
            return Paren(t.pos, expr=inner)
        if t.kind == "lbrace":
            return self.selector(None, t.pos)
        if t.kind == "ident":
            low = t.text.lower()
            if low in ("inf", "nan"):
                self.next()
                return Number(t.pos, value=float(low))
            if (t.text in AGGREGATIONS and self.peek().kind == "lparen") or (
                t.text in AGGREGATIONS
                and self.peek().kind == "ident"
                and self.peek().text in ("by", "without")
            ):
                return self.aggregation()
            if self.peek().kind == "lparen":
                return self.call()
            if t.text in _KEYWORDS or t.text in ("and", "or", "unless", "atan2"):
                raise PromQLError(f"unexpected keyword {t.text!r}", t.pos)
            self.next()
            return self.selector(t.text, t.pos)
        raise PromQLError(f"unexpected {t.text or 'end of input'!r}", t.pos)

    def selector(self, metric: str | None, pos: int) -> VectorSelector:
        sel = VectorSelector(pos, metric=metric)
        if self.tok.kind == "lbrace":
            self.next()
            while self.tok.kind != "rbrace":
                name = self.expect("ident", "label name")
                if ":" in name.text:
                    raise PromQLError(f"invalid label name {name.text!r}", name.pos)
                op = self.tok
                if op.kind != "op" or op.text not in ("=", "!=", "=~", "!~"):
                    raise PromQLError(
                        f"unexpected {op.text!r} in label matching, expected label matching operator", op.pos
                    )
                self.next()
                val = self.expect("string", "label value string")
                matcher = Matcher(name.text, op.text, _unquote(val))
                if op.text in ("=~", "!~"):
                    try:
                        re.compile(matcher.value)
                    except re.error as exc:
                        raise PromQLError(f"error parsing regexp: {exc}", val.pos) from exc
                sel.matchers.append(matcher)
                if self.tok.kind == "comma":
                    self.next()
                elif self.tok.kind != "rbrace":
                    raise PromQLError(
                        f"unexpected {self.tok.text!r} in label matching, expected ',' or '}}'", self.tok.pos
                    )
            self.next()
        if metric is not None and any(m.name == "__name__" for m in sel.matchers):
            raise PromQLError("metric name must not be set twice", pos)
        if metric is None:
            if not sel.matchers:
                raise PromQLError("vector selector must contain label matchers or metric name", pos)
            if all(_matches_empty(m) for m in sel.matchers):
                raise PromQLError("vector selector must contain at least one non-empty matcher", pos)
        return sel

    def call(self) -> Call:
        name = self.next()
        if name.text not in FUNCTIONS:
            raise PromQLError(f"unknown function with name {name.text!r}", name.pos)
        self.expect("lparen", "'('")
        args: list[Node] = []
        while self.tok.kind != "rparen":
            args.append(self.expr())
            if self.tok.kind == "comma":
                self.next()
            elif self.tok.kind != "rparen":
                raise PromQLError(
                    f"unexpected {self.tok.text or 'end of input'!r} in function call, expected ',' or ')'",
                    self.tok.pos,
                )
        self.next()
        types, _ret, optional, variadic = FUNCTIONS[name.text]
        lo, hi = len(types) - optional, len(types)
        if variadic:
            hi = 10**6
        if not lo <= len(args) <= hi:
            raise PromQLError(
                f"expected {lo if lo == hi or variadic else f'{lo} to {hi}'} argument(s) in call to "
                f"{name.text!r}, got {len(args)}",
                name.pos,
            )
        for k, arg in enumerate(args):
            want = types[min(k, len(types) - 1)]
            if arg.type != want:
                raise PromQLError(
                    f"expected type {want} in call to function {name.text!r}, got {arg.type}", arg.pos
                )
        return Call(name.pos, func=name.text, args=args)

    def aggregation(self) -> Aggregation:
        op = self.next()
        agg = Aggregation(op.pos, op=op.text)
        if self.tok.kind == "ident" and self.tok.text in ("by", "without"):
            agg.without = self.next().text == "without"
            agg.grouping = self.label_list()
        self.expect("lparen", "'('")
        first = self.expr()
        if op.text in _PARAM_AGG:
            self.expect("comma", f"',' (aggregation {op.text!r} takes a parameter)")
            agg.param = first
            agg.expr = self.expr()
            if agg.param.type != _PARAM_AGG[op.text]:
                raise PromQLError(
                    f"expected type {_PARAM_AGG[op.text]} in aggregation parameter, got {agg.param.type}",
                    first.pos,
                )
        else:
            agg.expr = first
        if self.tok.kind == "comma":
            raise PromQLError(f"unexpected ',' in aggregation {op.text!r}", self.tok.pos)
        self.expect("rparen", "')'")
        if self.tok.kind == "ident" and self.tok.text in ("by", "without"):
            if agg.grouping:
                raise PromQLError("aggregation must only contain one grouping clause", self.tok.pos)
            agg.without = self.next().text == "without"
            agg.grouping = self.label_list()
        if agg.expr.type != VECTOR:
            raise PromQLError(
                f"expected type instant vector in aggregation expression, got {agg.expr.type}", agg.expr.pos
            )
        return agg

    def check_binary(self, n: Binary) -> None:
        lt, rt = n.lhs.type, n.rhs.type
        if lt not in (SCALAR, VECTOR) or rt not in (SCALAR, VECTOR):
            raise PromQLError("binary expression must contain only scalar and instant vector types", n.pos)
        if n.bool and n.op not in COMPARISONS:
            raise PromQLError("bool modifier can only be used on comparison operators", n.pos)
        if n.op in COMPARISONS and lt == SCALAR and rt == SCALAR and not n.bool:
            raise PromQLError("comparisons between scalars must use BOOL modifier", n.pos)
        if n.op in SET_OPS:
            if lt == SCALAR or rt == SCALAR:
                raise PromQLError(f"set operator {n.op!r} not allowed in binary scalar expression", n.pos)
            if n.group:
                raise PromQLError(f"no grouping allowed for {n.op!r} operation", n.pos)
        if (n.matching or n.group) and (lt != VECTOR or rt != VECTOR):
            raise PromQLError("vector matching only allowed between instant vectors", n.pos)
        if n.matching == "on" and n.group:
            shared = set(n.labels) & set(n.include)
            if shared:
                raise PromQLError(
                    f"label {sorted(shared)[0]!r} must not occur in ON and GROUP clause at once", n.pos
                )


def _matches_empty(m: Matcher) -> bool:
    try:
        return m.matches("")
    except re.error:
        return False


def parse(text: str) -> Node:
    """Parse a PromQL expression; raises PromQLError (with ``.pos``) when Prometheus would reject it."""
    if not text.strip():
        raise PromQLError("no expression found in input", 0)
    p = _Parser(text)
    try:
        node = p.expr()
    except RecursionError as exc:  # hostile input: nesting deeper than any real query
        raise PromQLError("expression nesting too deep", 0) from exc
    if p.tok.kind != "eof":
        raise PromQLError(f"unexpected {p.tok.text!r} after expression", p.tok.pos)
    return node


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
