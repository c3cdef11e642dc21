"""The HTML reports in real headless Chromium: no console errors, score and category table visible."""

from __future__ import annotations

import re
import shutil
import struct
import subprocess
import zlib
from collections import Counter
from pathlib import Path

import pytest

from chom_validate.outputs.charts import BAND_COLOURS
from chom_validate.outputs.report_view import KINDS

from .report_samples import sample_report
from .test_reports import render

CHROMIUM = next(
    (p for p in ("/usr/bin/chromium", shutil.which("chromium") or "") if p and Path(p).exists()), None
)
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="chromium not installed (apt-get install chromium); CI installs it"
)
WIDTH, HEIGHT = 1280, 2000


def chromium(tmp: Path, url: str, *extra: str) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM
    argv = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp / 'profile'}",
        "--enable-logging=stderr",
        "--v=0",
        *extra,
        url,
    ]
    return subprocess.run(argv, capture_output=True, text=True, timeout=180, stdin=subprocess.DEVNULL)


def console_messages(stderr: str) -> list[str]:
    return [ln for ln in stderr.splitlines() if ":CONSOLE" in ln]


def decode_png(data: bytes) -> tuple[int, int, list[tuple[int, int, int]]]:
    """Minimal PNG decoder (8-bit RGB/RGBA, non-interlaced): enough to look at a screenshot's pixels."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, width = 8, b"", 0
    height = ctype = 0
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        tag, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        if tag == b"IHDR":
            width, height, depth, ctype, _, _, interlace = struct.unpack(">IIBBBBB", body)
            assert depth == 8 and ctype in (2, 6) and interlace == 0, (depth, ctype, interlace)
        elif tag == b"IDAT":
            idat += body
        pos += 12 + length
    bpp = 4 if ctype == 6 else 3
    raw, stride = zlib.decompress(idat), width * bpp
    prev, pixels, i = bytearray(stride), [], 0
    for _ in range(height):
        ftype, line = raw[i], bytearray(raw[i + 1 : i + 1 + stride])
        i += 1 + stride
        for x in range(stride):
            a = line[x - bpp] if x >= bpp else 0
            b = prev[x]
            c = prev[x - bpp] if x >= bpp else 0
            if ftype == 1:
                line[x] = (line[x] + a) & 0xFF
            elif ftype == 2:
                line[x] = (line[x] + b) & 0xFF
            elif ftype == 3:
                line[x] = (line[x] + (a + b) // 2) & 0xFF
            elif ftype == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[x] = (line[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 0xFF
        pixels.extend(tuple(line[x : x + 3]) for x in range(0, stride, bpp))
        prev = line
    return width, height, pixels  # type: ignore[return-value]


def rgb(hex_colour: str) -> tuple[int, int, int]:
    h = hex_colour.lstrip("#")
    return int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16)


def test_console_error_detector_works(tmp_path: Path) -> None:
    """Control: the method really sees console errors, so an empty list below means something."""
    page = tmp_path / "bad.html"
    page.write_text("<html><body><script>console.error('control-error'); nope();</script></body></html>")
    r = chromium(tmp_path, page.as_uri(), "--dump-dom")
    msgs = console_messages(r.stderr)
    assert any("control-error" in m for m in msgs) and any("ReferenceError" in m for m in msgs), r.stderr[
        -2000:
    ]


@pytest.mark.parametrize("kind", list(KINDS))
def test_report_loads_without_console_errors(kind: str, tmp_path: Path) -> None:
    html = render(sample_report(), kind, "html")
    assert isinstance(html, str)
    page = tmp_path / f"{kind}.html"
    page.write_text(html, encoding="utf-8")
    r = chromium(tmp_path, page.as_uri(), "--dump-dom")
    assert r.returncode == 0, r.stderr[-2000:]
    assert console_messages(r.stderr) == []
    dom = r.stdout
    assert "NOT CERTIFIED" in dom and 'id="category-table"' in dom and 'id="overall-score"' in dom


def test_screenshot_shows_score_and_category_table(tmp_path: Path) -> None:
    report = sample_report()
    html = render(report, "confidence-certificate", "html")
    assert isinstance(html, str)
    page = tmp_path / "certificate.html"
    page.write_text(html, encoding="utf-8")
    shot = tmp_path / "shot.png"
    r = chromium(tmp_path, page.as_uri(), f"--screenshot={shot}", f"--window-size={WIDTH},{HEIGHT}")
    assert r.returncode == 0 and shot.is_file(), r.stderr[-2000:]
    assert console_messages(r.stderr) == []
    width, height, pixels = decode_png(shot.read_bytes())
    assert (width, height) == (WIDTH, HEIGHT)
    counts = Counter(pixels)
    white = counts.get((255, 255, 255), 0)
    assert white < 0.97 * len(pixels), "screenshot is blank"
    assert len(counts) > 50, "screenshot has almost no distinct colours"
    # The gauge arc and the score cell use the band colour of the overall score (FAIR, amber);
    # the NOT CERTIFIED banner is red; the category table's 100.0 Reliability bar is green.
    assert report.scores.band == "FAIR"
    for colour, minimum in (
        (BAND_COLOURS["FAIR"], 2000),
        (BAND_COLOURS["CRITICAL"], 2000),
        (BAND_COLOURS["EXCELLENT"], 1000),
    ):
        assert counts.get(rgb(colour), 0) >= minimum, f"expected >= {minimum} pixels of {colour}"
    # the category table is drawn in the first screen: its header background row is present
    top = pixels[: WIDTH * 1400]
    assert Counter(top).get(rgb("#f6f8fa"), 0) > 5000


def test_certificate_screenshot_verdict_coverage_and_risk_table(tmp_path: Path) -> None:
    """What an auditor sees first: the red NOT CERTIFIED banner, the coverage table, one risk row
    per check with unbroken ids, and no "Valid until" on a certificate that does not certify."""
    report = sample_report()
    html = render(report, "confidence-certificate", "html")
    assert isinstance(html, str)
    page = tmp_path / "certificate.html"
    page.write_text(html, encoding="utf-8")
    r = chromium(tmp_path, page.as_uri(), "--dump-dom")
    dom = r.stdout
    assert 'id="verdict-status"' in dom and 'id="coverage-table"' in dom and "Valid until" not in dom
    risk_ids = re.findall(r'<tr><td>P\d</td><td><a href="#check-([A-Z]+\d+)"><code class="id">', dom)
    assert risk_ids and len(risk_ids) == len(set(risk_ids))
    shot = tmp_path / "shot.png"
    r = chromium(tmp_path, page.as_uri(), f"--screenshot={shot}", f"--window-size={WIDTH},{HEIGHT}")
    assert r.returncode == 0 and shot.is_file(), r.stderr[-2000:]
    width, _, pixels = decode_png(shot.read_bytes())
    top = Counter(pixels[: width * 700])  # the banner sits in the first screen
    assert top.get(rgb("#cf222e"), 0) > 3000, "no red NOT CERTIFIED banner at the top"
    assert Counter(pixels).get(rgb("#1a7f37"), 0) > 200, "no green ASSESSED/PASS labels"


PDFTOPPM = shutil.which("pdftoppm")


@pytest.mark.skipif(not (PDFTOPPM and shutil.which("pdftotext")), reason="poppler-utils not installed")
def test_pdf_certificate_page_fits_and_ids_stay_whole(tmp_path: Path) -> None:
    from chom_validate.outputs import pdf as pdf_mod

    if not pdf_mod.available():
        pytest.skip("WeasyPrint not installed")
    report = sample_report()
    data = render(report, "confidence-certificate", "pdf")
    assert isinstance(data, bytes)
    pdf = tmp_path / "c.pdf"
    pdf.write_bytes(data)
    text = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    for f in report.failures():
        assert f.check_id in text, f"{f.check_id} broken or missing in the PDF text"
    assert not re.search(r"\b(DEP|SEC|NET|MON|BAK|SYS|DR|IR)\d{1,2} \d", text), "a check id was split"
    assert "Valid until" not in text
    subprocess.run(
        [PDFTOPPM, "-r", "40", "-png", "-f", "1", "-l", "1", str(pdf), str(tmp_path / "p")], check=True
    )
    png = next(tmp_path.glob("p*.png"))
    width, height, pixels = decode_png(png.read_bytes())
    counts = Counter(pixels)
    assert counts.get((255, 255, 255), 0) < 0.97 * len(pixels), "first PDF page is blank"
    # nothing drawn in the right margin (tables fit the page): the last 3% of columns stay white
    margin = [pixels[y * width + x] for y in range(height) for x in range(int(width * 0.97), width)]
    assert sum(1 for p in margin if p != (255, 255, 255)) < 0.01 * len(margin)
