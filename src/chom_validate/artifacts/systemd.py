"""systemd unit files, parsed the way systemd reads them.

Sections, repeated keys (kept in order), an empty assignment resetting a list, backslash line
continuation, ``#``/``;`` comments. Each directive keeps its (artifact-local) line number.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field

from .base import Artifact, ArtifactParseError, parser

UNIT_SUFFIXES = (
    ".service",
    ".socket",
    ".timer",
    ".target",
    ".mount",
    ".path",
    ".slice",
    ".scope",
    ".automount",
    ".swap",
    ".device",
)
_SECTION_RE = re.compile(r"^\[(?P<name>[A-Za-z0-9 _-]+)\]\s*$")
_KEY_RE = re.compile(r"^(?P<key>[A-Za-z0-9_-]+)\s*=\s?(?P<value>.*)$")


@dataclass
class Directive:
    section: str
    key: str
    value: str
    line: int


@dataclass
class Unit:
    name: str
    directives: list[Directive] = field(default_factory=list)
    sections: dict[str, int] = field(default_factory=dict)  # section -> header line
    warnings: list[tuple[int, str]] = field(default_factory=list)

    @property
    def type(self) -> str:
        return posixpath.splitext(self.name)[1].lstrip(".") or "service"

    def entries(self, section: str, key: str) -> list[Directive]:
        """Effective assignments of a list-valued key: an empty assignment resets what came before."""
        out: list[Directive] = []
        for d in self.directives:
            if d.section == section and d.key == key:
                if d.value.strip() == "":
                    out = []
                else:
                    out.append(d)
        return out

    def last(self, section: str, key: str) -> Directive | None:
        """Effective assignment of a single-valued key (the last one wins; empty resets to default)."""
        found = None
        for d in self.directives:
            if d.section == section and d.key == key:
                found = d if d.value.strip() != "" else None
        return found

    def get(self, section: str, key: str, default: str | None = None) -> str | None:
        d = self.last(section, key)
        return d.value.strip() if d else default

    def values(self, section: str, key: str) -> list[str]:
        """Whitespace-separated items across all effective assignments (After=, Wants=...)."""
        return [v for d in self.entries(section, key) for v in d.value.split()]

    def has_section(self, section: str) -> bool:
        return section in self.sections


def parse_unit_text(text: str, name: str) -> Unit:
    unit = Unit(name=name)
    section: str | None = None
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        raw = lines[i]
        lineno = i + 1
        i += 1
        s = raw.strip()
        if not s or s[0] in "#;":
            continue
        m = _SECTION_RE.match(s)
        if m:
            section = m.group("name")
            unit.sections.setdefault(section, lineno)
            continue
        value_parts = [s]
        # continuation: a trailing backslash joins the next line (comment lines inside are skipped)
        while value_parts[-1].endswith("\\") and i < len(lines):
            value_parts[-1] = value_parts[-1][:-1]
            nxt = lines[i].strip()
            i += 1
            if nxt.startswith(("#", ";")):
                value_parts.append("\\")  # keep joining across a comment, as systemd does
                continue
            value_parts.append(nxt)
        joined = " ".join(p.strip() for p in value_parts if p != "\\")
        km = _KEY_RE.match(joined)
        if not km:
            unit.warnings.append((lineno, f"line is neither a section, a comment nor Key=Value: {s[:60]!r}"))
            continue
        if section is None:
            raise ArtifactParseError("assignment outside of any [Section]", lineno)
        unit.directives.append(Directive(section, km.group("key"), km.group("value").strip(), lineno))
    if not unit.sections:
        raise ArtifactParseError("no [Section] header found")
    return unit


def looks_like_unit(text: str) -> bool:
    head = text[:4096]
    return bool(re.search(r"^\[(Unit|Service|Install|Timer|Socket|Mount|Path)\]\s*$", head, re.M)) and bool(
        re.search(r"^[A-Z][A-Za-z]+=", head, re.M)
    )


@parser("systemd_unit")
def parse_unit(artifact: Artifact) -> Unit:
    return parse_unit_text(artifact.text, artifact.name)
