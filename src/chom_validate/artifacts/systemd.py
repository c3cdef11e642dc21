"""systemd unit files and drop-ins, parsed the way systemd reads them.

Sections, repeated keys (kept in order), an empty assignment resetting a list, backslash line
continuation (comment lines inside a continuation are skipped, as systemd does), ``#``/``;``
comments, specifiers (``%n``, ``%i``, ``%S``...) and drop-ins (``x.service.d/*.conf``) merged onto
their unit in lexical order. Each directive keeps its (artifact-local) line number and, once merged,
the drop-in artifact it came from, so evidence points at the file that set it.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from .base import Artifact, ArtifactParseError, parser
from .templating import untemplated

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
_TRUE = ("1", "yes", "y", "true", "t", "on")
_FALSE = ("0", "no", "n", "false", "f", "off")

# Specifiers whose value does not depend on the machine (systemd.unit(5) "Specifiers").
_FIXED_SPECIFIERS = {
    "%": "%",
    "t": "/run",
    "S": "/var/lib",
    "C": "/var/cache",
    "L": "/var/log",
    "E": "/etc",
    "T": "/tmp",
    "V": "/var/tmp",
}


@dataclass
class Directive:
    section: str
    key: str
    value: str
    line: int
    source: Any = None  # the drop-in Artifact that set it (None: the unit file itself)


@dataclass
class Unit:
    name: str
    directives: list[Directive] = field(default_factory=list)
    sections: dict[str, int] = field(default_factory=dict)  # section -> header line
    warnings: list[tuple[int, str]] = field(default_factory=list)
    dropins: list[Any] = field(default_factory=list)  # drop-in Artifacts merged into this unit

    @property
    def type(self) -> str:
        return posixpath.splitext(self.name)[1].lstrip(".") or "service"

    @property
    def prefix(self) -> str:
        """``%p``: the name before ``@`` (templates) or before the suffix."""
        stem = posixpath.splitext(self.name)[0]
        return stem.split("@", 1)[0]

    @property
    def instance(self) -> str:
        """``%i``: the instance of a template unit (empty for plain units)."""
        stem = posixpath.splitext(self.name)[0]
        return stem.split("@", 1)[1] if "@" in stem else ""

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

    def get_bool(self, section: str, key: str, default: bool = False) -> bool:
        v = (self.get(section, key) or "").lower()
        if v in _TRUE:
            return True
        if v in _FALSE:
            return False
        return default

    def expand(self, value: str) -> str:
        """Resolve machine-independent specifiers (%n %N %p %i %I %j %S %t %%...); others stay."""

        def sub(m: re.Match[str]) -> str:
            c = m.group(1)
            if c in _FIXED_SPECIFIERS:
                return _FIXED_SPECIFIERS[c]
            if c == "n":
                return self.name
            if c == "N":
                return posixpath.splitext(self.name)[0]
            if c in ("p", "P"):
                return self.prefix
            if c in ("i", "I"):
                return self.instance
            if c in ("j", "J"):
                return self.prefix.rsplit("-", 1)[-1]
            return m.group(0)

        return re.sub(r"%(.)", sub, value)

    def with_dropins(self, dropins: Iterable[tuple[Any, Unit]]) -> Unit:
        """A new Unit with drop-ins applied in lexical order of their file names (systemd's order)."""
        merged = Unit(
            name=self.name,
            directives=list(self.directives),
            sections=dict(self.sections),
            warnings=list(self.warnings),
        )
        for art, drop in sorted(dropins, key=lambda p: posixpath.basename(getattr(p[0], "path", ""))):
            merged.dropins.append(art)
            for d in drop.directives:
                merged.directives.append(Directive(d.section, d.key, d.value, d.line, source=art))
            for s, ln in drop.sections.items():
                merged.sections.setdefault(s, ln)
        return merged


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


def dropin_unit_name(path: str) -> str | None:
    """``/etc/systemd/system/x.service.d/override.conf`` -> ``x.service``."""
    parent = posixpath.basename(posixpath.dirname(path))
    return parent[: -len(".d")] if parent.endswith(".d") else None


@parser("systemd_unit")
def parse_unit(artifact: Artifact) -> Unit:
    # a Jinja/Go template (`x.service.j2`) is the unit it renders to (`x.service`)
    return parse_unit_text(artifact.text, untemplated(artifact.name))


@parser("systemd_dropin")
def parse_dropin(artifact: Artifact) -> Unit:
    where = artifact.install_path or artifact.path
    return parse_unit_text(artifact.text, dropin_unit_name(where) or artifact.name)


def merged_units(
    units: Iterable[tuple[Artifact, Unit]], dropins: Iterable[tuple[Artifact, Unit]]
) -> list[tuple[Artifact, Unit]]:
    """Each unit with the drop-ins for the same unit name (and host) applied."""
    drops = list(dropins)
    out = []
    for art, unit in units:
        mine = [(a, d) for a, d in drops if d.name == unit.name and a.host == art.host]
        out.append((art, unit.with_dropins(mine) if mine else unit))
    return out
