"""Markdown documents (DR plans, runbooks, incident-response plans), parsed with markdown-it-py.

The model keeps what the DR/IR checks compare against scripts and configs: the heading tree with
section ranges, tables as rows with line numbers (cells as plain text), fenced/indented code blocks,
links and inline code, each with its (artifact-local) 1-based line. Helpers normalise the messy parts
of real documents: headings that say "Recovery Objectives" or "RTO / RPO", durations written as
"1 hour", "1h", "< 4h", "15 min", and dates.
"""

from __future__ import annotations

import datetime as dt
import posixpath
import re
from dataclasses import dataclass, field

from markdown_it import MarkdownIt
from markdown_it.token import Token

from .base import Artifact, parser


@dataclass
class Heading:
    level: int
    text: str
    line: int
    end_line: int = 0  # last line of the section (up to the next heading of the same or higher level)


@dataclass
class TableRow:
    cells: list[str]
    line: int


@dataclass
class Table:
    header: list[str]
    rows: list[TableRow]
    line: int
    heading: Heading | None = None

    def column(self, *keywords: str) -> int | None:
        """Index of the first header cell containing any keyword (case-insensitive, word start)."""
        for i, h in enumerate(self.header):
            low = h.lower()
            if any(re.search(rf"(^|[^a-z]){re.escape(k.lower())}", low) for k in keywords):
                return i
        return None


@dataclass
class CodeBlock:
    info: str
    text: str
    line: int  # first content line


@dataclass
class Link:
    href: str
    text: str
    line: int


@dataclass
class InlineCode:
    text: str
    line: int


@dataclass
class Document:
    lines: list[str]
    headings: list[Heading] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    code_blocks: list[CodeBlock] = field(default_factory=list)
    links: list[Link] = field(default_factory=list)
    inline_code: list[InlineCode] = field(default_factory=list)

    @property
    def title(self) -> str:
        return self.headings[0].text if self.headings else ""

    def find_headings(self, *patterns: str) -> list[Heading]:
        """Headings whose text matches any regex pattern (case-insensitive)."""
        return [h for h in self.headings if any(re.search(p, h.text, re.I) for p in patterns)]

    def section_of(self, line: int) -> Heading | None:
        """Innermost heading whose section contains ``line``."""
        best = None
        for h in self.headings:
            if h.line <= line <= h.end_line and (best is None or h.level >= best.level):
                best = h
        return best

    def section_lines(self, heading: Heading) -> list[tuple[int, str]]:
        return [(n, self.lines[n - 1]) for n in range(heading.line + 1, heading.end_line + 1)]

    def text_lines(self) -> list[tuple[int, str]]:
        return list(enumerate(self.lines, 1))


_MD = MarkdownIt("commonmark").enable("table")


def _inline_text(tok: Token) -> str:
    parts = []
    for c in tok.children or []:
        if c.type in ("text", "code_inline"):
            parts.append(c.content)
        elif c.type in ("softbreak", "hardbreak"):
            parts.append(" ")
    return "".join(parts).strip()


def parse_markdown(text: str) -> Document:
    doc = Document(lines=text.splitlines())
    tokens = _MD.parse(text)
    table: Table | None = None
    row: TableRow | None = None
    in_head = False
    pending_heading: int | None = None
    for tok in tokens:
        if tok.type == "heading_open" and tok.map:
            pending_heading = int(tok.tag[1])
        elif tok.type == "table_open" and tok.map:
            table = Table(header=[], rows=[], line=tok.map[0] + 1)
        elif tok.type == "thead_open":
            in_head = True
        elif tok.type == "thead_close":
            in_head = False
        elif tok.type == "tr_open" and tok.map and table is not None:
            row = TableRow(cells=[], line=tok.map[0] + 1)
        elif tok.type == "tr_close" and table is not None and row is not None:
            if in_head:
                table.header = row.cells
            else:
                table.rows.append(row)
            row = None
        elif tok.type == "table_close" and table is not None:
            doc.tables.append(table)
            table = None
        elif tok.type in ("fence", "code_block") and tok.map:
            start = tok.map[0] + (2 if tok.type == "fence" else 1)
            doc.code_blocks.append(CodeBlock(info=tok.info.strip(), text=tok.content, line=start))
        elif tok.type == "inline" and tok.map:
            if pending_heading is not None:
                doc.headings.append(Heading(pending_heading, _inline_text(tok), tok.map[0] + 1))
                pending_heading = None
            if row is not None:
                row.cells.append(_inline_text(tok))
            line = tok.map[0] + 1
            href: str | None = None
            label: list[str] = []
            for c in tok.children or []:
                if c.type in ("softbreak", "hardbreak"):
                    line += 1
                elif c.type == "code_inline":
                    doc.inline_code.append(InlineCode(c.content, line))
                    if href is not None:
                        label.append(c.content)
                elif c.type == "link_open":
                    href = str(c.attrs.get("href", ""))
                    label = []
                elif c.type == "link_close" and href is not None:
                    doc.links.append(Link(href, "".join(label), line))
                    href = None
                elif c.type == "text" and href is not None:
                    label.append(c.content)
    # section ranges
    n = len(doc.lines)
    for idx, h in enumerate(doc.headings):
        end = n
        for later in doc.headings[idx + 1 :]:
            if later.level <= h.level:
                end = later.line - 1
                break
        h.end_line = max(end, h.line)
    for t in doc.tables:
        t.heading = doc.section_of(t.line)
    return doc


@parser("markdown")
def parse_markdown_artifact(artifact: Artifact) -> Document:
    return parse_markdown(artifact.text)


# -- document roles ---------------------------------------------------------------------------------


def is_runbook(path: str) -> bool:
    name = posixpath.basename(path).lower()
    if name in ("readme.md", "index.md", "_template.md", "template.md"):
        return False  # the index or template of a runbook directory is not a runbook
    return bool(re.search(r"(^|/)runbooks?/[^/]+\.md$", path, re.I)) or "runbook" in name


def is_dr_plan(path: str, doc: Document) -> bool:
    name = posixpath.basename(path).lower()
    if re.search(r"disaster|(^|[-_])dr([-_.]|$)|recovery[-_]plan|business[-_]continuity", name):
        return True
    return bool(doc.find_headings(r"\bRTO\b", r"\bRPO\b", r"recovery objectives")) and not is_runbook(path)


_RUNBOOK_PARTS = re.compile(
    r"symptom|diagnos|investigat|mitigat|resolution|remediat|escalat|triage|verification", re.I
)


def is_runbook_doc(path: str, doc: Document) -> bool:
    """A runbook by place or name (`is_runbook`), or by content: titled runbook/playbook, or at
    least two of the parts runbooks are made of (symptoms, diagnosis, mitigation, escalation...)."""
    if is_runbook(path):
        return True
    if posixpath.basename(path).lower() in ("changelog.md", "contributing.md", "code_of_conduct.md"):
        return False
    if re.search(r"(run|play)book", doc.title, re.I):
        return True
    parts = {m.group(0).lower()[:5] for h in doc.headings for m in [_RUNBOOK_PARTS.search(h.text)] if m}
    return len(parts) >= 2


_PROCEDURE_HEAD = re.compile(
    r"(restor\w*|recover\w*|rollback|roll back|failover|fail over|disaster)", re.I
)


def is_recovery_doc(path: str, doc: Document) -> bool:
    """A document telling how to restore, recover, fail over or roll back (a heading says so)."""
    if posixpath.basename(path).lower() in ("changelog.md", "history.md", "news.md"):
        return False
    return any(_PROCEDURE_HEAD.search(h.text) for h in doc.headings)


def is_incident_plan(path: str, doc: Document) -> bool:
    name = posixpath.basename(path).lower()
    if re.search(r"incident|on[-_]?call|escalation", name) and not is_runbook(path):
        return True
    return bool(doc.headings) and bool(re.search(r"incident response", doc.headings[0].text, re.I))


# -- value normalisation ----------------------------------------------------------------------------

_DUR_RE = re.compile(
    r"(?P<n>\d+(?:\.\d+)?)\s*(?P<u>seconds?|secs?|s|minutes?|mins?|m|hours?|hrs?|h|days?|d|weeks?|wks?|w)\b",
    re.I,
)
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_WORD_DURATIONS = {
    "hourly": 3600,
    "daily": 86400,
    "nightly": 86400,
    "weekly": 604800,
    "monthly": 2592000,
    "real-time": 0,
    "realtime": 0,
    "zero": 0,
}


def parse_duration(text: str) -> int | None:
    """Seconds in "1 hour", "1h", "24 hours", "15 min", "< 4h", "daily"; None when unknown (TBD, N/A)."""
    m = _DUR_RE.search(text)
    if m:
        unit = m.group("u").lower()
        key = "m" if unit.startswith("min") or unit == "m" else unit[0]
        if unit.startswith("mo"):
            return None
        return int(float(m.group("n")) * _UNIT_SECONDS[key])
    low = text.lower()
    for word, secs in _WORD_DURATIONS.items():
        if re.search(rf"\b{re.escape(word)}\b", low):
            return secs
    return None


def format_duration(seconds: int) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


_DATE_RE = re.compile(r"\b(?P<y>20\d\d)-(?P<m>\d\d)-(?P<d>\d\d)\b")


def find_dates(text: str) -> list[dt.date]:
    out = []
    for m in _DATE_RE.finditer(text):
        try:
            out.append(dt.date(int(m["y"]), int(m["m"]), int(m["d"])))
        except ValueError:
            continue
    return out


PLACEHOLDER_RE = re.compile(
    r"\bTBD\b|\bTODO\b|\bXXX+\b|\bFIXME\b|example\.(com|org|net)\b|\b555[- ]\d|<[^>]*(name|phone|email)[^>]*>|"
    r"\bCHANGEME\b|\bfoo@|\bjohn\.?doe\b|\bjane\.?doe\b",
    re.I,
)


def placeholder(text: str) -> str | None:
    m = PLACEHOLDER_RE.search(text)
    return m.group(0) if m else None
