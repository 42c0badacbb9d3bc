"""Pictures drawn on the server as SVG: no chart library, no CDN, readable without script.

Each picture is an `<svg role="img">` with a `<title>` and a `<desc>` that say what it shows in
words; the pages put the same figures in a table beside it for screen readers and copying.
Labels come from data, so every text is escaped.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from markupsafe import Markup, escape

PLANNED = "#1d5fa8"
TARGET = "#b4540a"
INK = "#333338"
GRID = "#dcdce0"


def _pct(x: float) -> str:
    return f"{100 * x:.1f} %"


def share_chart(
    streets: Sequence[dict[str, Any]], *, title: str, desc: str, planned: str, target: str
) -> Markup:
    """Each street's planned service share (a bar) against its target share (a tick and a
    hollow bar), one row per street, largest target first. `streets` are the report's
    `streets` entries (`name`, `planned_share`, `target_share`)."""
    rows = sorted(streets, key=lambda s: -float(s.get("target_share", 0)))
    label_w, bar_w, row_h, top = 150, 330, 32, 36
    width = label_w + bar_w + 130
    height = top + row_h * len(rows) + 10
    most = max([0.05, *(max(s["planned_share"], s["target_share"]) for s in rows)])
    scale = bar_w / (most * 1.1)
    parts = [
        f'<svg class="chart share-chart" role="img" aria-labelledby="share-title share-desc" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'xmlns="http://www.w3.org/2000/svg" font-size="15" font-family="sans-serif">',
        f'<title id="share-title">{escape(title)}</title>',
        f'<desc id="share-desc">{escape(desc)}</desc>',
        f'<rect x="{label_w}" y="6" width="14" height="12" fill="{PLANNED}"/>',
        f'<text x="{label_w + 20}" y="18" fill="{INK}">{escape(planned)}</text>',
        f'<rect x="{label_w + 150}" y="6" width="14" height="12" fill="none" '
        f'stroke="{TARGET}" stroke-width="2"/>',
        f'<text x="{label_w + 170}" y="18" fill="{INK}">{escape(target)}</text>',
    ]
    for k in range(0, int(most * 110) // 10 + 1):
        x = label_w + k * 0.1 * scale
        if x > label_w + bar_w:
            break
        parts.append(
            f'<line x1="{x:.1f}" y1="{top - 4}" x2="{x:.1f}" y2="{height - 8}" stroke="{GRID}"/>'
        )
    for i, s in enumerate(rows):
        y = top + i * row_h
        p, t = float(s["planned_share"]), float(s["target_share"])
        name = str(s.get("name", s.get("code", "")))
        short = name if len(name) <= 12 else name[:11] + "…"
        parts.append(
            f'<text x="{label_w - 8}" y="{y + 18}" text-anchor="end" fill="{INK}">'
            f"{escape(short)}</text>"
        )
        parts.append(
            f'<rect x="{label_w}" y="{y + 4}" width="{t * scale:.1f}" height="20" fill="none" '
            f'stroke="{TARGET}" stroke-width="2"/>'
        )
        parts.append(
            f'<rect x="{label_w}" y="{y + 8}" width="{p * scale:.1f}" height="12" '
            f'fill="{PLANNED}"/>'
        )
        parts.append(
            f'<text x="{label_w + max(p, t) * scale + 6:.1f}" y="{y + 18}" fill="{INK}">'
            f"{_pct(p)} / {_pct(t)}</text>"
        )
    parts.append("</svg>")
    return Markup("".join(parts))


SETTLED_DROP = 10
"""A drop in cost by this factor or more between two improvements marks plans that left out a
visit the week must serve: the planner prices such a visit above ten times all the driving and
every other penalty together (`routes.weekly`), so the first plan after the last such drop is
the first that serves every visit it must."""


def settled_from(points: Sequence[Sequence[float]]) -> int:
    """The index of the first plan that serves every visit it must (0 when the first does)."""
    first = 0
    for i in range(1, len(points)):
        if float(points[i - 1][1]) >= SETTLED_DROP * max(1.0, float(points[i][1])):
            first = i
    return first


def progress_chart(
    points: Sequence[Sequence[float]],
    time_limit_s: float,
    *,
    title: str,
    desc: str,
    x_label: str,
    y_label: str,
    until: float | None = None,
) -> Markup:
    """The solver's best cost over time, as a step line: seconds searched across (up to the
    time limit), the cost up the side on a linear scale from the first plan that serves every
    visit it must (`settled_from`; the ones before cost thousands of times more and would flatten
    the rest); the best cost held until `until` seconds (the time searched so far). The axes are
    labelled with their units (`x_label`, `y_label`)."""
    width, height, left, right, top, bottom = 640, 240, 78, 16, 24, 50
    parts = [
        f'<svg class="chart progress-chart" role="img" '
        f'aria-labelledby="progress-title progress-desc" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" xmlns="http://www.w3.org/2000/svg" '
        f'font-size="12" font-family="sans-serif" data-time-limit="{time_limit_s:g}">',
        f'<title id="progress-title">{escape(title)}</title>',
        f'<desc id="progress-desc">{escape(desc)}</desc>',
        f'<line x1="{left}" y1="{height - bottom}" x2="{width - right}" y2="{height - bottom}" '
        f'stroke="{INK}"/>',
        f'<line x1="{left}" y1="{top}" x2="{left}" y2="{height - bottom}" stroke="{INK}"/>',
        f'<text x="{width - right}" y="{height - bottom + 16}" text-anchor="end" fill="{INK}">'
        f"{time_limit_s:g} s</text>",
        f'<text x="{left}" y="{height - bottom + 16}" fill="{INK}">0 s</text>',
        f'<text x="{(left + width - right) / 2:.0f}" y="{height - 8}" text-anchor="middle" '
        f'fill="{INK}">{escape(x_label)}</text>',
        f'<text x="{left - 6}" y="{top - 10}" fill="{INK}">{escape(y_label)}</text>',
    ]
    line = ""
    if points:
        shown = list(points[settled_from(points) :])
        hi, lo = max(float(p[1]) for p in shown), min(float(p[1]) for p in shown)
        pad = (hi - lo) * 0.05 or max(1.0, hi * 0.01)
        y_hi, y_lo = hi + pad, max(0.0, lo - pad)
        limit = max(time_limit_s, float(points[-1][0]), 1e-9)

        def x(t: float) -> float:
            return left + (width - left - right) * min(t, limit) / limit

        def y(v: float) -> float:
            return top + (height - top - bottom) * (y_hi - v) / (y_hi - y_lo)

        coords = []
        for i, (t, v) in enumerate(shown):
            if i:
                coords.append(f"{x(float(t)):.1f},{y(float(shown[i - 1][1])):.1f}")
            coords.append(f"{x(float(t)):.1f},{y(float(v)):.1f}")
        if until is not None and until > float(points[-1][0]):
            coords.append(f"{x(until):.1f},{y(float(points[-1][1])):.1f}")
        line = " ".join(coords)
        parts.append(
            f'<text x="{left - 6}" y="{y(hi) + 4:.1f}" text-anchor="end" fill="{INK}">'
            f"{_short(hi)}</text>"
        )
        parts.append(
            f'<text x="{left - 6}" y="{y(lo) + 4:.1f}" text-anchor="end" fill="{INK}">'
            f"{_short(lo)}</text>"
        )
    parts.append(
        f'<polyline class="progress-line" points="{line}" fill="none" stroke="{PLANNED}" '
        'stroke-width="2"/>'
    )
    parts.append("</svg>")
    return Markup("".join(parts))


def _short(value: float) -> str:
    """A cost in few characters, three significant figures or more: 1 812 345 -> 1,812k."""
    if abs(value) >= 1e6:
        return f"{value / 1e3:,.0f}k"
    return f"{value:,.0f}"
