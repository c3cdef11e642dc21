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
        json.dumps(
            {k: (v if k == "checks" else redact_tree(v)) for k, v in report.model_dump(mode="json").items()},
            indent=2,
            sort_keys=False,
        )
        + "\n"
    )


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
