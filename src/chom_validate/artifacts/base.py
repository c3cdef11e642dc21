"""Artifact: one file (or one heredoc inside a script) with its kind, text and line mapping.

Checks never re-read raw files: they take artifacts, ask for ``artifact.parsed`` (the typed model
from the parser registered for its kind) and build evidence with ``artifact.evidence(line)`` which
maps lines of embedded artifacts back into the script that holds them.
"""

from __future__ import annotations

import posixpath
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..findings import Evidence

Parser = Callable[["Artifact"], Any]
MAX_EXCERPT = 400  # characters of a line shown as evidence; minified or generated lines run to megabytes


def bounded_excerpt(text: str) -> str:
    """``text`` cut to about MAX_EXCERPT characters at a word boundary, never inside a word.

    Why: an excerpt is there to show the reader the line; a 10 MB line helps no one and makes every
    later stage (redaction, fingerprints, every output) pay for it. Cutting inside a word could leave
    the start of a token the redactor no longer recognises, so a line without a word boundary early
    enough is described instead of shown.
    """
    if len(text) <= MAX_EXCERPT:
        return text
    cut = text.rfind(" ", 0, MAX_EXCERPT)
    if cut < MAX_EXCERPT // 2:
        return f"({len(text)}-character line, not shown)"
    return f"{text[:cut]} … ({len(text)} characters)"


def stripped_excerpt(line: str) -> str:
    """``bounded_excerpt(line.strip())`` without copying a huge line: on a minified one-line file
    every finding's evidence would copy the whole file (quadratic in the findings)."""
    if len(line) <= 4 * MAX_EXCERPT:
        return bounded_excerpt(line.strip())
    i, j = 0, len(line)
    while i < j and line[i].isspace():
        i += 1
    while j > i and line[j - 1].isspace():
        j -= 1
    n = j - i
    if n <= MAX_EXCERPT:
        return line[i:j]
    head = line[i : i + MAX_EXCERPT]
    cut = head.rfind(" ", 0, MAX_EXCERPT)
    if cut < MAX_EXCERPT // 2:
        return f"({n}-character line, not shown)"
    return f"{head[:cut]} … ({n} characters)"


_PARSERS: dict[str, Parser] = {}


class ParseAborted(Exception):
    """Parsing stopped from outside the parser (a time budget); the message says why, verbatim."""


class ArtifactParseError(Exception):
    """A parser could not make sense of an artifact; carries the (artifact-local) line when known."""

    def __init__(self, message: str, line: int | None = None) -> None:
        # One line, always: parser messages (PyYAML's, PromQL carets) span lines, and every output
        # promises one-line errors.
        super().__init__(one_line(message))
        self.line = line


def one_line(message: str, limit: int = 500) -> str:
    """``message`` with its whitespace runs (newlines included) collapsed, cut at ``limit`` characters."""
    flat = " ".join(str(message).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def internal_failure(exc: BaseException) -> str:
    """How a parser crash reads to users: not the raw exception, but what happened and where."""
    frames = traceback.extract_tb(exc.__traceback__)
    where = f" at {posixpath.basename(frames[-1].filename)}:{frames[-1].lineno}" if frames else ""
    return (
        f"internal parser failure ({type(exc).__name__}{where}); not analysed, please report it "
        "with this file"
    )


def parser(kind: str) -> Callable[[Parser], Parser]:
    """Register the parser producing the typed model for artifacts of ``kind``."""

    def deco(fn: Parser) -> Parser:
        _PARSERS[kind] = fn
        return fn

    return deco


@dataclass(eq=False)
class Artifact:
    path: str  # file holding the text, as shown to users (relative to the target root)
    kind: str
    text: str
    digest: str  # sha256 of the holding file's bytes
    line_offset: int = 0  # line N of `text` is line N + line_offset of `path`
    install_path: str | None = None  # where a script installs it, or its path on the host
    parent: Artifact | None = None
    mode: int | None = None
    host: str | None = None  # logical host (config `paths` globs in a repository, or the scanned host)
    remote_host: str | None = None  # set only when the bytes were read from a remote host / snapshot
    templated: bool = False  # contains Jinja/shell placeholders whose values are unknown
    meta: dict[str, Any] = field(default_factory=dict)
    _parsed: Any = field(default=None, repr=False)
    _parse_error: ArtifactParseError | None = field(default=None, repr=False)
    _lines: list[str] | None = field(default=None, repr=False)

    @property
    def lines(self) -> list[str]:
        if self._lines is None:
            self._lines = self.text.splitlines()
        return self._lines

    @property
    def name(self) -> str:
        return posixpath.basename(self.install_path or self.path)

    @property
    def embedded(self) -> bool:
        return self.parent is not None

    @property
    def label(self) -> str:
        """How to name this artifact in messages: the file, or 'install/path (heredoc in script:N)'."""
        if self.parent is not None:
            return f"{self.install_path or self.kind} (heredoc in {self.path}:{self.line_offset})"
        return self.path

    def line_text(self, line: int) -> str:
        return self.lines[line - 1] if 1 <= line <= len(self.lines) else ""

    def evidence(
        self,
        line: int | None = None,
        *,
        excerpt: str | None = None,
        note: str | None = None,
        end_line: int | None = None,
    ) -> Evidence:
        """Evidence pointing at artifact-local ``line`` (mapped into the holding file).

        Without a line, a generated artifact (a heredoc in a script) points at the line that
        writes it (`cat > /etc/x.service <<EOF`): that is where the fact lives and a fix goes.
        """
        if excerpt is None and line is not None:
            excerpt = stripped_excerpt(self.line_text(line))
        elif excerpt is not None:
            excerpt = bounded_excerpt(excerpt)
        if line is None and self.parent is not None and self.line_offset >= 1:
            h = self.meta.get("heredoc")
            at: int | None = getattr(h, "line", None) or self.line_offset
            if excerpt is None and at is not None:
                excerpt = bounded_excerpt(self.parent.line_text(at).strip()) or None
        else:
            at = (line + self.line_offset) if line is not None else None
        return Evidence(
            path=self.path,
            line=at,
            end_line=(end_line + self.line_offset) if end_line is not None else None,
            host=self.remote_host,
            excerpt=excerpt or None,
            digest=self.digest,
            note=note,
        )

    @property
    def parsed(self) -> Any:
        """The typed model for this artifact; raises ArtifactParseError when it cannot be parsed."""
        if self._parse_error is not None:
            raise self._parse_error
        if self._parsed is None:
            fn = _PARSERS.get(self.kind)
            if fn is None:
                raise ArtifactParseError(f"no parser registered for kind {self.kind!r}")
            try:
                self._parsed = fn(self)
            except ArtifactParseError as exc:
                self._parse_error = exc
                raise
            except ParseAborted as exc:  # stopped from outside (the engine's time budget): say why
                self._parse_error = ArtifactParseError(str(exc))
                raise self._parse_error from exc
            except RecursionError as exc:  # hostile nesting the parser recursed into
                self._parse_error = ArtifactParseError("nesting too deep to analyse; not analysed")
                raise self._parse_error from exc
            except MemoryError as exc:
                self._parse_error = ArtifactParseError("too large to analyse in memory; not analysed")
                raise self._parse_error from exc
            except Exception as exc:  # parser bug or hostile input: never crash the run
                self._parse_error = ArtifactParseError(internal_failure(exc))
                raise self._parse_error from exc
        return self._parsed

    def try_parsed(self) -> Any | None:
        try:
            return self.parsed
        except ArtifactParseError:
            return None

    @property
    def parse_error(self) -> ArtifactParseError | None:
        self.try_parsed()
        return self._parse_error


@dataclass(frozen=True, slots=True)
class Place:
    """A line of an artifact to show as evidence later, if at all: a finding listing 50,000 places
    (a generated rule file) builds excerpts and redacts them only for the places it shows."""

    art: Artifact
    line: int | None
    note: str | None = None

    def evidence(self) -> Evidence:
        return self.art.evidence(self.line, note=self.note)

    def location(self) -> list[Any]:
        """``[path, line]`` in the holding file, as `evidence()` would point (no excerpt)."""
        line = self.line + self.art.line_offset if self.line is not None else None
        return [self.art.path, line]
