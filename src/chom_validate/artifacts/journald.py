"""journald configuration: ``journald.conf`` and ``journald.conf.d/*.conf`` (files or heredocs).

Only the ``[Journal]`` section matters. Like systemd, the last assignment of a key wins and an
empty assignment (``SystemMaxUse=``) resets the key to its default; drop-ins are applied after the
main file, in lexical order of their file names (``merge_journald``).
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from .base import Artifact, parser
from .discover import Candidate, detector
from .templating import untemplated

_SECTION = re.compile(r"^\s*\[(?P<name>[^\]]+)\]\s*$")
_KEY = re.compile(r"^\s*(?P<key>[A-Za-z][A-Za-z0-9]*)\s*=\s*(?P<value>.*?)\s*$")
_JOURNAL = re.compile(r"^[ \t]*\[Journal\][ \t\r]*$", re.M)  # no \s: linear under re.M


def _rendered_path(path: str) -> str:
    return untemplated(path)


def is_journald_path(path: str) -> bool:
    p = _rendered_path(path)
    base = posixpath.basename(p)
    return base == "journald.conf" or (
        base.endswith(".conf") and posixpath.basename(posixpath.dirname(p)) == "journald.conf.d"
    )


@detector("journald", order=8)
def _detect_journald(c: Candidate) -> str | None:
    if is_journald_path(c.path) and _JOURNAL.search(c.text):
        return "journald_conf"
    return None


@dataclass
class JournalSetting:
    key: str
    value: str
    line: int  # artifact-local line
    artifact: Artifact | None = None  # the file that set it (after merging)


@dataclass
class JournaldConf:
    settings: dict[str, JournalSetting] = field(default_factory=dict)  # effective, last wins
    journal_line: int | None = None  # line of the [Journal] header

    def get(self, key: str) -> JournalSetting | None:
        s = self.settings.get(key)
        return s if s is not None and s.value != "" else None


def parse_journald_text(text: str) -> JournaldConf:
    conf = JournaldConf()
    section = None
    for i, ln in enumerate(text.splitlines(), 1):
        s = ln.strip()
        if not s or s.startswith(("#", ";")):
            continue
        m = _SECTION.match(s)
        if m:
            section = m.group("name").strip()
            if section == "Journal" and conf.journal_line is None:
                conf.journal_line = i
            continue
        if section != "Journal":
            continue
        km = _KEY.match(s)
        if km:
            conf.settings[km.group("key")] = JournalSetting(km.group("key"), km.group("value"), i)
    return conf


@parser("journald_conf")
def parse_journald(artifact: Artifact) -> JournaldConf:
    conf = parse_journald_text(artifact.text)
    for s in conf.settings.values():
        s.artifact = artifact
    return conf


def _order(art: Artifact) -> tuple[int, str, str]:
    p = _rendered_path(art.install_path or art.path)
    main = posixpath.basename(p) == "journald.conf"
    return (0 if main else 1, posixpath.basename(p), art.path)


def merge_journald(items: Iterable[tuple[Artifact, JournaldConf]]) -> JournaldConf:
    """Effective configuration: journald.conf first, then drop-ins by file name; last wins."""
    out = JournaldConf()
    for _art, conf in sorted(items, key=lambda ac: _order(ac[0])):
        if out.journal_line is None:
            out.journal_line = conf.journal_line
        out.settings.update(conf.settings)
    return out


_SPAN_UNITS = {
    "us": 1e-6,
    "usec": 1e-6,
    "ms": 1e-3,
    "msec": 1e-3,
    "s": 1,
    "sec": 1,
    "second": 1,
    "seconds": 1,
    "m": 60,
    "min": 60,
    "minute": 60,
    "minutes": 60,
    "h": 3600,
    "hr": 3600,
    "hour": 3600,
    "hours": 3600,
    "d": 86400,
    "day": 86400,
    "days": 86400,
    "w": 604800,
    "week": 604800,
    "weeks": 604800,
    "M": 2629800,
    "month": 2629800,
    "months": 2629800,
    "y": 31557600,
    "year": 31557600,
    "years": 31557600,
}
_SPAN_PART = re.compile(r"(\d+(?:\.\d+)?)\s*([A-Za-z]*)")


def parse_timespan(value: str) -> float | None:
    """Seconds in a systemd time span (``2weeks``, ``1month 3d``, ``3600``); None when invalid."""
    v = value.strip()
    if not v or not re.fullmatch(r"(?:\d+(?:\.\d+)?\s*[A-Za-z]*\s*)+", v):
        return None
    total = 0.0
    for num, unit in _SPAN_PART.findall(v):
        if unit == "":
            mult: float = 1
        elif unit in _SPAN_UNITS:
            mult = _SPAN_UNITS[unit]
        elif unit.lower() in _SPAN_UNITS and unit.lower() != "m":
            mult = _SPAN_UNITS[unit.lower()]
        else:
            return None
        total += float(num) * mult
    return total
