"""PDF from the same self-contained HTML, through WeasyPrint (the optional ``pdf`` extra)."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

INSTALL_HINT = (
    "PDF output needs WeasyPrint: pip install 'chom-validate[pdf]' "
    "(on Debian it also needs the Pango libraries: apt-get install libpango-1.0-0 libpangoft2-1.0-0); "
    "or render --format html and print that to PDF"
)


class PdfUnavailable(RuntimeError):
    """WeasyPrint (or its system libraries) is missing; the CLI exits 2 with INSTALL_HINT."""


def available() -> bool:
    try:
        _weasyprint()
    except PdfUnavailable:
        return False
    return True


def _weasyprint():  # type: ignore[no-untyped-def]
    try:
        import weasyprint  # type: ignore[import-not-found,import-untyped,unused-ignore]
    except ImportError as exc:
        raise PdfUnavailable(f"{INSTALL_HINT} ({exc})") from exc
    except OSError as exc:  # the Python package is there but libpango/libgobject are not
        raise PdfUnavailable(f"{INSTALL_HINT} (system library missing: {exc})") from exc
    return weasyprint


def html_to_pdf(html: str, attachments: dict[str, bytes] | None = None) -> bytes:
    """Render self-contained HTML (no external URLs are fetched) to PDF bytes, with embedded files."""
    weasyprint = _weasyprint()

    def no_fetch(url: str, *args: object, **kwargs: object) -> dict[str, object]:
        raise ValueError(f"reports are self-contained; refusing to fetch {url}")

    files = [
        weasyprint.Attachment(string=data, name=name, description="chom-validate certificate block")
        for name, data in (attachments or {}).items()
    ]
    return weasyprint.HTML(string=html, url_fetcher=no_fetch).write_pdf(attachments=files)  # type: ignore[no-any-return]


def embedded_files(pdf: Path) -> dict[str, bytes]:
    """Files embedded in a PDF (``pdfdetach`` from poppler-utils), by name."""
    exe = shutil.which("pdfdetach")
    if exe is None:
        raise PdfUnavailable("reading a PDF certificate needs pdfdetach: apt-get install poppler-utils")
    with tempfile.TemporaryDirectory(prefix="chom-pdf-") as tmp:
        proc = subprocess.run(
            [exe, "-saveall", "-o", tmp, str(pdf)],
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            timeout=60,
            check=False,
        )
        if proc.returncode != 0:
            raise ValueError(f"{pdf}: not a readable PDF: {proc.stderr.strip() or proc.returncode}")
        return {p.name: p.read_bytes() for p in Path(tmp).iterdir() if p.is_file()}


def pdf_text(pdf: Path) -> str:
    """The visible text of a PDF (``pdftotext`` from poppler-utils)."""
    exe = shutil.which("pdftotext")
    if exe is None:
        raise PdfUnavailable("reading a PDF certificate needs pdftotext: apt-get install poppler-utils")
    proc = subprocess.run(
        [exe, "-raw", str(pdf), "-"],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=60,
        check=False,
    )
    if proc.returncode != 0:
        raise ValueError(f"{pdf}: not a readable PDF: {proc.stderr.strip() or proc.returncode}")
    return proc.stdout
