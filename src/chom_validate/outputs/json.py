"""JSON output with a versioned schema generated from the pydantic models."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

from ..redact import redact_tree
from ..results import RunReport

SCHEMA_FILE = "run-report.schema.json"


def to_json(report: RunReport) -> str:
    # Final pass: values found anywhere in the run are masked even where no pattern sees them; check
    # metadata (our own docstrings) stays verbatim.
    return (
        dumps_indented(
            {k: (v if k == "checks" else redact_tree(v)) for k, v in report.model_dump(mode="json").items()}
        )
        + "\n"
    )


_ENC = json.encoder.encode_basestring_ascii
_FLOAT_REPR = float.__repr__
_INT_REPR = int.__repr__


def _float(o: float) -> str:
    if o != o:
        return "NaN"
    if o == float("inf"):
        return "Infinity"
    if o == -float("inf"):
        return "-Infinity"
    return _FLOAT_REPR(o)


def dumps_indented(obj: Any) -> str:
    """``json.dumps(obj, indent=2)``, byte for byte, ~2-3x faster: the stdlib's C encoder does not
    indent, and its pure-Python indenting encoder is generator-based. Plain JSON types only (what
    ``model_dump(mode="json")`` produces); anything else falls back to ``json.dumps``.
    tests/test_json_dumps.py compares both on a real report."""
    out: list[str] = []
    try:
        _write(obj, out, "\n")
    except _Fallback:
        return json.dumps(obj, indent=2)
    return "".join(out)


class _Fallback(Exception):
    pass


def _write(o: Any, out: list[str], nl: str) -> None:
    t = type(o)
    if t is str:
        out.append(_ENC(o))
    elif t is dict:
        if not o:
            out.append("{}")
            return
        inner = nl + "  "
        first = True
        for k, v in o.items():
            if type(k) is not str:
                raise _Fallback
            out.append(("{" if first else ",") + inner + _ENC(k) + ": ")
            first = False
            _write(v, out, inner)
        out.append(nl + "}")
    elif t is list:
        if not o:
            out.append("[]")
            return
        inner = nl + "  "
        first = True
        for v in o:
            out.append(("[" if first else ",") + inner)
            first = False
            _write(v, out, inner)
        out.append(nl + "]")
    elif o is None:
        out.append("null")
    elif o is True:
        out.append("true")
    elif o is False:
        out.append("false")
    elif t is int:
        out.append(_INT_REPR(o))
    elif t is float:
        out.append(_float(o))
    else:
        raise _Fallback


def generate_schema() -> dict[str, Any]:
    schema = RunReport.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://chom-validate.invalid/schema/run-report.schema.json"
    return schema


def shipped_schema() -> dict[str, Any]:
    data = resources.files("chom_validate").joinpath("schema", SCHEMA_FILE).read_text(encoding="utf-8")
    return json.loads(data)  # type: ignore[no-any-return]


def load_report(text: str) -> RunReport:
    return RunReport.model_validate_json(text)


def write_schema(path: str) -> None:
    """Regenerate the shipped schema (`python -m chom_validate.outputs.json PATH`)."""
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(generate_schema(), fh, indent=2, sort_keys=True)
        fh.write("\n")


if __name__ == "__main__":  # pragma: no cover
    import sys

    write_schema(sys.argv[1] if len(sys.argv) > 1 else "src/chom_validate/schema/" + SCHEMA_FILE)
