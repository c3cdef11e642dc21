"""Where a missing setting belongs: the line a "missing X" result points at.

A result about something absent has no line of its own. Line 1 (a shebang, a comment, the first key
of a YAML file) tells the reader nothing, so a check names the place the fix goes instead: the
script's setup lines (its strict-mode ``set``, else its first command), the section header of a
unit (``[Service]``), the top-level key of a config (``route:``, ``groups:``, ``scrape_configs:``).
When the file has no such place (an empty script, a unit without the section), the answer is None
and the evidence names the file without a line; the message says what the file lacks.

No I/O: everything here reads an artifact's text or its parsed model.
"""

from __future__ import annotations

import re
from typing import Any

from ..artifacts import Artifact

# `set -e`, `set -euo pipefail`, `set -o errexit`: the line a script's setup hangs off.
_STRICT = re.compile(
    r"^[ \t]*set[ \t]+(?:-[A-Za-z]*e|-o[ \t]+(?:errexit|pipefail)|-[A-Za-z]*o[ \t]+pipefail)"
)
# Lines that are not yet the script's code: blank, comments (the shebang is one).
_NOT_CODE = re.compile(r"^[ \t]*(?:#.*)?$")


def first_code_line(art: Artifact) -> int | None:
    """The script's first line of code (after the shebang, comments and blank lines), or None."""
    for i, ln in enumerate(art.lines, 1):
        if not _NOT_CODE.match(ln):
            return i
    return None


def strict_mode_line(art: Artifact) -> int | None:
    """The script's first top-level ``set -e``/``set -o pipefail`` line, or None."""
    for i, ln in enumerate(art.lines, 1):
        if _STRICT.match(ln):
            return i
    return None


def script_setup(art: Artifact) -> tuple[int | None, str]:
    """(line, where) for a script-wide setting that is missing (a trap, a lock, a log file).

    Such settings belong with the script's setup: right after its strict-mode ``set`` line, else
    before its first command. (None, "") for a script without code.
    """
    line = strict_mode_line(art)
    if line is not None:
        return line, "belongs after the strict-mode line"
    line = first_code_line(art)
    if line is not None:
        return line, "belongs before the script's first command"
    return None, ""


def top_key_line(art: Artifact, key: str) -> int | None:
    """The line of a top-level YAML key (``route:``, ``groups:``, ``scrape_configs:``), or None."""
    rx = re.compile(rf"^{re.escape(key)}[ \t]*:")
    for n, ln in enumerate(art.lines, 1):
        if rx.match(ln):
            return n
    return None


def unit_section_line(art: Artifact, unit: Any, section: str) -> int | None:
    """The ``[Section]`` header line of a unit in this artifact (where a missing directive of that
    section belongs), or None when the unit has no such section here."""
    line = getattr(unit, "sections", {}).get(section)
    if not isinstance(line, int) or not 1 <= line <= len(art.lines):
        return None
    return line if art.lines[line - 1].strip().startswith(f"[{section}]") else None
