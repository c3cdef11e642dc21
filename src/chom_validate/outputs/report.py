"""Render certification reports (Markdown, self-contained HTML, JSON; PDF via ``pdf.py``) with Jinja.

Templates live in the package ``chom_validate.templates`` (the repository's ``templates/``): one per
kind and format, composed from shared macros (``_macros.md.j2``, ``_macros.html.j2``) so kinds never copy each
other. HTML is autoescaped; Markdown text goes through the ``md``/``cell``/``code`` filters.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re
from functools import cache
from importlib import resources
from typing import Any

import jinja2
import markupsafe

from ..attestations import AttestationView
from ..certificate import Certificate, Evaluation
from ..history import HistoryPoint
from ..redact import redact, redact_values
from ..results import RunReport
from ..verification import PLACEHOLDER, encode_block, seal_document
from . import charts
from .report_view import KINDS, STATUS_LABEL, ReportView, build_view

FORMATS = ("md", "html", "pdf", "json")
_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>#|])")


def md_text(value: Any) -> str:
    """Markdown-escape free text (messages, names) so it renders literally and cannot inject HTML."""
    if value is None:
        return ""
    return _MD_SPECIAL.sub(r"\\\1", " ".join(str(value).split()))


def md_doc(value: Any) -> str:
    """Check docs are authored Markdown (backticks wanted); only neutralise HTML and table pipes."""
    if value is None:
        return ""
    return re.sub(r"([<>|])", r"\\\1", " ".join(str(value).split()))


def md_cell(value: Any) -> str:
    return md_text(value) or "–"


def md_code(value: Any) -> str:
    """An inline code span that survives backticks in the value."""
    s = " ".join(str(value or "").split())
    if not s:
        return ""
    longest = max((len(m) for m in re.findall(r"`+", s)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if s.startswith("`") or s.endswith("`") else ""
    return f"{fence}{pad}{s}{pad}{fence}"


def doc_html(value: Any) -> markupsafe.Markup:
    """Check docs in HTML: escaped, with `code` spans rendered as <code>."""
    text = markupsafe.escape(" ".join(str(value or "").split()))
    return markupsafe.Markup(re.sub(r"`([^`]+)`", r"<code>\1</code>", str(text)))


def pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f}"


def checkbox(status: str) -> str:
    return "[x]" if status == "pass" else "[ ]"


@cache
def environment() -> jinja2.Environment:
    root = resources.files("chom_validate.templates")
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(root)),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html", "html.j2"), default=False),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(
        dochtml=doc_html,
        md=md_text,
        cell=md_cell,
        doc=md_doc,
        doccell=lambda x: md_doc(x) or "–",
        code=md_code,
        pct=pct,
        checkbox=checkbox,
    )
    env.filters["label"] = lambda s: STATUS_LABEL.get(s, str(s).upper())
    env.globals["colour"] = charts.colour
    env.globals["BLOCK_PLACEHOLDER"] = PLACEHOLDER
    return env


def render_view(view: ReportView, fmt: str) -> str:
    """Render a view; the final text passes through the redactor (values found in the run, patterns)."""
    text = _render_view(view, fmt)
    # Markdown is plain text: the full redactor. HTML/JSON: known values only (escaping-safe).
    return redact(text) if fmt == "md" else redact_values(text)


def _render_view(view: ReportView, fmt: str) -> str:
    if fmt == "json":
        return json.dumps(_jsonable(view), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    if fmt not in ("md", "html"):
        raise ValueError(f"unknown format {fmt!r}; one of md, html, json (pdf renders the html)")
    template = environment().get_template(f"{view.kind}.{fmt}.j2")
    text = template.render(v=view)
    return re.sub(r"\n{3,}", "\n\n", text) if fmt == "md" else text


def _jsonable(view: ReportView) -> dict[str, Any]:
    data = {
        f.name: getattr(view, f.name) for f in dataclasses.fields(view) if f.name not in ("charts", "domains")
    }
    data["domains"] = [{"category": row.key, "checks": [c.id for c in cs]} for row, cs in view.domains]

    def conv(o: Any) -> Any:
        if dataclasses.is_dataclass(o) and not isinstance(o, type):
            return {k: conv(v) for k, v in dataclasses.asdict(o).items()}
        if hasattr(o, "model_dump"):
            return o.model_dump(mode="json")
        if isinstance(o, dict):
            return {k: conv(v) for k, v in o.items()}
        if isinstance(o, list | tuple):
            return [conv(v) for v in o]
        return o

    return conv(data)  # type: ignore[no-any-return]


def render_report(
    report: RunReport,
    kind: str,
    fmt: str,
    now: dt.datetime,
    certificate: Certificate,
    attestations: list[AttestationView] | None = None,
    history: list[HistoryPoint] | None = None,
    bands: list[tuple[str, float]] | None = None,
    evaluation: Evaluation | None = None,
    verify_command: str = "",
) -> str | bytes:
    """Render one kind in one format; PDF returns bytes (WeasyPrint from the same HTML).

    ``report`` is what ``certificate`` covers (the Evaluation's report). Markdown and HTML carry the
    machine-readable block (certificate, compressed canonical results, digest of the document's own
    text); the PDF carries the HTML's block as an embedded file and shows id, status and digest.
    """
    view = build_view(
        report, kind, now, certificate, attestations, history, bands, evaluation, verify_command
    )
    if fmt == "pdf":
        from .pdf import html_to_pdf

        html = seal_document(render_view(view, "html"), certificate, report)
        block = encode_block(certificate, report)
        return html_to_pdf(html, attachments={"chom-validate-certificate.txt": block.encode("ascii")})
    text = render_view(view, fmt)
    return seal_document(text, certificate, report) if fmt in ("md", "html") else text


__all__ = ["FORMATS", "KINDS", "environment", "render_report", "render_view"]
