"""PDF from the same self-contained HTML, through WeasyPrint (the optional ``pdf`` extra)."""

from __future__ import annotations

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


def html_to_pdf(html: str) -> bytes:
    """Render self-contained HTML (no external URLs are fetched) to PDF bytes."""
    weasyprint = _weasyprint()

    def no_fetch(url: str, *args: object, **kwargs: object) -> dict[str, object]:
        raise ValueError(f"reports are self-contained; refusing to fetch {url}")

    return weasyprint.HTML(string=html, url_fetcher=no_fetch).write_pdf()  # type: ignore[no-any-return]
