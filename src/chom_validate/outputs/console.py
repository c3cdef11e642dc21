"""The rich console every terminal output is written through (redacted, plain when not a TTY).

Its own module so that `list`/`explain` need rich and `redact` only, not the report models.
"""

from __future__ import annotations

import os
import sys
from typing import TextIO

from rich.console import Console

from ..redact import RedactingWriter


def make_console(file: TextIO | None = None, no_color: bool = False) -> Console:
    file = file or sys.stdout
    tty = hasattr(file, "isatty") and file.isatty()
    if not isinstance(file, RedactingWriter):
        file = RedactingWriter(file)  # type: ignore[assignment]  # errors, progress, explain: all redacted
    plain = no_color or bool(os.environ.get("NO_COLOR")) or not tty
    return Console(
        file=file,
        no_color=plain,
        highlight=False,
        markup=False,  # messages and excerpts come from scanned files: never interpret them as markup
        soft_wrap=not tty,
        force_terminal=None if tty else False,
        width=None if tty else 120,
        emoji=False,
        safe_box=True,
    )
