"""Bar charts of the bureau's figures, drawn on the server as SVG (no library, no script).

Each chart is an `<svg role="img">` with a `<title>` and a `<desc>` in the page's language; the
page puts the same numbers in a table beside it. The SVG scales down to its box (a phone), its
labels stay text (escaped: period labels and series names come from data).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

from web.views.dispatch.charts import GRID, INK

COLOURS = ("#1d5fa8", "#b4540a", "#2f7d32", "#6a3d9a")
"""Series colours, each at least 3:1 against white (WCAG 1.4.11)."""
WIDTH = 620
"""A chart's width when its bars fit (more periods widen it): one shape for every chart, so
the page scales them alike."""


@dataclass(frozen=True)
class Series:
    name: str
    values: Sequence[float]


def bar_chart(
    chart_id: str,
    labels: Sequence[str],
    series: Sequence[Series],
    *,
    title: str,
    desc: str,
    fmt: Callable[[float], str] = lambda v: f"{v:,.0f}",
    top: float | None = None,
) -> Markup:
    """Stacked bars, one per label (a period), the series stacked bottom up in their order;
    the stack's total written above each bar. `top` fixes the scale's top (1.0 for shares)."""
    n = max(1, len(labels))
    left, right, head, foot = 56, 12, 40, 44
    slot = max(28, (WIDTH - left - right) // n)
    width = left + right + slot * n
    bar = min(slot - 8, 56)
    height = 260
    plot = height - head - foot
    totals = [sum(s.values[i] for s in series) for i in range(len(labels))]
    most = top if top is not None else max([1.0, *totals]) * 1.1
    parts = [
        f'<svg class="chart stat-chart" role="img" '
        f'aria-labelledby="{chart_id}-title {chart_id}-desc" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" xmlns="http://www.w3.org/2000/svg" '
        f'font-size="12" font-family="sans-serif">',
        f'<title id="{chart_id}-title">{escape(title)}</title>',
        f'<desc id="{chart_id}-desc">{escape(desc)}</desc>',
    ]
    x = left
    for k, s in enumerate(series):  # the legend
        colour = COLOURS[k % len(COLOURS)]
        parts.append(f'<rect x="{x}" y="8" width="12" height="12" fill="{colour}"/>')
        parts.append(f'<text x="{x + 16}" y="19" fill="{INK}">{escape(s.name)}</text>')
        x += 28 + 13 * len(s.name)
    base = head + plot
    for frac in (0.0, 0.5, 1.0):
        y = base - plot * frac
        parts.append(
            f'<line x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}" stroke="{GRID}"/>'
        )
        parts.append(
            f'<text x="{left - 4}" y="{y + 4:.1f}" text-anchor="end" fill="{INK}">'
            f"{escape(fmt(most * frac))}</text>"
        )
    for i, label in enumerate(labels):
        cx = left + slot * i
        y = float(base)
        for k, s in enumerate(series):
            h = plot * float(s.values[i]) / most if most else 0
            y -= h
            parts.append(
                f'<rect x="{cx + (slot - bar) / 2:.1f}" y="{y:.1f}" width="{bar}" height="{h:.1f}" '
                f'fill="{COLOURS[k % len(COLOURS)]}"/>'
            )
        parts.append(
            f'<text x="{cx + slot / 2:.1f}" y="{y - 4:.1f}" text-anchor="middle" '
            f'fill="{INK}">{escape(fmt(totals[i]))}</text>'
        )
        short = _short(label) if slot < 60 else label
        parts.append(
            f'<text x="{cx + slot / 2:.1f}" y="{base + 16}" text-anchor="middle" '
            f'fill="{INK}">{escape(short)}</text>'
        )
    parts.append(f'<line x1="{left}" y1="{base}" x2="{width - right}" y2="{base}" stroke="{INK}"/>')
    parts.append("</svg>")
    return Markup("".join(parts))


def _short(label: str) -> str:
    """A period's label for a narrow bar: `W49` for `2026-W49`, `26-12` for `2026-12`."""
    if "-W" in label:
        return label.split("-", 1)[1]
    return label[2:] if len(label) == 7 and label[4] == "-" else label
