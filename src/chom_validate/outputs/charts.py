"""Inline SVG charts for HTML reports (no scripts, no network assets): gauge, bars, trend."""

from __future__ import annotations

import math
from html import escape

BAND_COLOURS = {
    "EXCELLENT": "#1a7f37",
    "GOOD": "#2da44e",
    "FAIR": "#bf8700",
    "POOR": "#d1582a",
    "CRITICAL": "#cf222e",
}
NONE_COLOUR = "#8c959f"
TRACK = "#e6e8eb"


def colour(score: float | None) -> str:
    if score is None:
        return NONE_COLOUR
    for name, lo in (("EXCELLENT", 90), ("GOOD", 70), ("FAIR", 50), ("POOR", 30)):
        if score >= lo:
            return BAND_COLOURS[name]
    return BAND_COLOURS["CRITICAL"]


def _fmt(score: float | None) -> str:
    return "–" if score is None else f"{score:.1f}"


def gauge(score: float | None, band: str | None, verdict: str) -> str:
    """A half-ring gauge showing the overall score, its band and the certification verdict."""
    r, cx, cy = 80, 100, 100
    frac = 0.0 if score is None else max(0.0, min(score, 100.0)) / 100.0
    angle = math.pi * (1 - frac)
    x, y = cx + r * math.cos(angle), cy - r * math.sin(angle)
    large = 0
    arc = (
        f'<path d="M {cx - r} {cy} A {r} {r} 0 {large} 1 {x:.2f} {y:.2f}" fill="none" '
        f'stroke="{colour(score)}" stroke-width="18" stroke-linecap="butt"/>'
        if frac > 0
        else ""
    )
    verdict_colour = BAND_COLOURS["EXCELLENT"] if verdict == "CERTIFIED" else BAND_COLOURS["CRITICAL"]
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" class="gauge" viewBox="0 0 200 150" width="240" height="180" '
        f'role="img" aria-label="Overall score {_fmt(score)} ({escape(band or "not assessed")})">'
        f'<path d="M {cx - r} {cy} A {r} {r} 0 0 1 {cx + r} {cy}" fill="none" stroke="{TRACK}" stroke-width="18"/>'
        f"{arc}"
        f'<text x="{cx}" y="{cy - 8}" text-anchor="middle" font-size="34" font-weight="700" '
        f'fill="#1f2328">{_fmt(score)}</text>'
        f'<text x="{cx}" y="{cy + 14}" text-anchor="middle" font-size="13" fill="{colour(score)}">'
        f"{escape(band or 'NOT ASSESSED')}</text>"
        f'<text x="{cx}" y="{cy + 42}" text-anchor="middle" font-size="15" font-weight="700" '
        f'fill="{verdict_colour}">{escape(verdict)}</text>'
        "</svg>"
    )


def bars(rows: list[tuple[str, float | None]]) -> str:
    """Horizontal bars, one per (label, score); unscored rows are drawn grey and labelled."""
    if not rows:
        return ""
    row_h, label_w, bar_w = 24, 190, 300
    height = row_h * len(rows) + 8
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="bars" viewBox="0 0 {label_w + bar_w + 60} {height}" '
        f'width="{label_w + bar_w + 60}" height="{height}" role="img" aria-label="Scores">'
    ]
    for i, (label, score) in enumerate(rows):
        y = 4 + i * row_h
        w = 0 if score is None else bar_w * max(0.0, min(score, 100.0)) / 100.0
        parts.append(
            f'<text x="{label_w - 8}" y="{y + 15}" text-anchor="end" font-size="12" fill="#1f2328">'
            f"{escape(label)}</text>"
            f'<rect x="{label_w}" y="{y + 3}" width="{bar_w}" height="16" fill="{TRACK}"/>'
            f'<rect x="{label_w}" y="{y + 3}" width="{w:.1f}" height="16" fill="{colour(score)}"/>'
            f'<text x="{label_w + bar_w + 6}" y="{y + 15}" font-size="12" fill="#1f2328">'
            f"{_fmt(score) if score is not None else 'n/a'}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


def trend(points: list[tuple[str, float | None]]) -> str:
    """Score over past runs (needs at least two scored runs)."""
    pts = [(d, s) for d, s in points if s is not None]
    if len(pts) < 2:
        return ""
    w, h, pad = 520, 160, 30
    step = (w - 2 * pad) / (len(pts) - 1)
    coords = [(pad + i * step, h - pad - (h - 2 * pad) * s / 100.0) for i, (_, s) in enumerate(pts)]
    line = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
    dots = "".join(
        f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4" fill="{colour(s)}"><title>{escape(d)}: {s:.1f}</title></circle>'
        for (x, y), (d, s) in zip(coords, pts, strict=True)
    )
    labels = (
        f'<text x="{pad}" y="{h - 8}" font-size="11" fill="#57606a">{escape(pts[0][0])}</text>'
        f'<text x="{w - pad}" y="{h - 8}" font-size="11" text-anchor="end" fill="#57606a">'
        f"{escape(pts[-1][0])}</text>"
    )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="trend" viewBox="0 0 {w} {h}" width="{w}" height="{h}" '
        'role="img" aria-label="Score trend">'
        f'<line x1="{pad}" y1="{h - pad}" x2="{w - pad}" y2="{h - pad}" stroke="{TRACK}"/>'
        f'<polyline points="{line}" fill="none" stroke="#0969da" stroke-width="2"/>{dots}{labels}</svg>'
    )
