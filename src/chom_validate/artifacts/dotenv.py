"""`.env` files (`KEY=value` lines, as read by Laravel, docker compose and systemd EnvironmentFile=)."""

from __future__ import annotations

import posixpath
import re

from .base import Artifact, parser
from .discover import Candidate, detector

_LINE = re.compile(r"^\s*(?:export\s+)?(?P<key>[A-Za-z_][A-Za-z0-9_.]*)\s*=\s*(?P<value>.*?)\s*$")


@detector("dotenv", order=15)
def _detect_dotenv(c: Candidate) -> str | None:
    base = posixpath.basename(c.path)
    if base == ".env" or base.startswith(".env.") or base.endswith(".env"):
        return "dotenv"
    return None


@parser("dotenv")
def parse_dotenv(artifact: Artifact) -> list[tuple[str, str, int]]:
    """(key, unquoted value, line) for every assignment line."""
    out = []
    for i, ln in enumerate(artifact.lines, 1):
        if ln.lstrip().startswith("#"):
            continue
        m = _LINE.match(ln)
        if m:
            v = m.group("value")
            v = v[1:-1] if len(v) >= 2 and v[0] == v[-1] and v[0] in "'\"" else v.split(" #", 1)[0].strip()
            out.append((m.group("key"), v, i))
    return out
