"""Small SVG charts drawn on the server: points in, SVG markup out (plain Python).

The pages run under a strict Content Security Policy (no inline styles or scripts), so every
colour is an SVG presentation attribute (`fill`, `stroke`), which the policy allows. Each point
is a `<circle>` with a `<title>` (the browser's tooltip) and `data-x` / `data-y` attributes
holding the plotted values, so tests and scripts can read what was drawn.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from html import escape

WIDTH, HEIGHT = 640, 240
LEFT, RIGHT, TOP, BOTTOM = 56, 12, 12, 36  # room for the axis labels

#: Point colours by kind: an accepted answer, one that was refused, and anything else.
COLOURS = {"ok": "#176a3a", "rejected": "#8a4b00", "other": "#b3261e"}
AXIS = "#aab3c0"
GRID = "#e5e8ee"
TEXT = "#566072"
LINE = "#1f5cb8"


@dataclass(frozen=True)
class Point:
    x: float
    y: float
    label: str  # the tooltip
    kind: str = "ok"  # a key of COLOURS


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round tick values covering [low, high] (1, 2 or 5 times a power of ten apart)."""
    if high <= low:
        high = low + 1
    raw = (high - low) / max(1, count)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    first = math.floor(low / step) * step
    ticks = []
    value = first
    while value <= high + step * 1e-9:
        ticks.append(round(value, 10))
        value += step
    if ticks[-1] < high:
        ticks.append(round(value, 10))
    return ticks


def _scale(low: float, high: float, start: float, end: float) -> Callable[[float], float]:
    span = (high - low) or 1.0
    return lambda v: start + (v - low) / span * (end - start)


def _number(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _exact(value: float) -> str:
    """The plotted value as written in data-x / data-y (to the thousandth)."""
    return f"{value:.3f}".rstrip("0").rstrip(".")


def plot(
    points: Sequence[Point],
    *,
    title: str,
    x_label: str,
    y_label: str,
    x_format: Callable[[float], str] = _number,
    y_format: Callable[[float], str] = _number,
    line: bool = False,
    x_ticks: list[float] | None = None,
    chart_id: str = "",
    empty: str = "no attempts to show",
) -> str:
    """An SVG chart of the points: circles, optionally joined by a line in x order."""
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    id_attr = f' id="{escape(chart_id)}"' if chart_id else ""
    head = (
        f'<svg class="chart"{id_attr} viewBox="0 0 {WIDTH} {HEIGHT}" width="100%" '
        f'role="img" aria-label="{escape(title)}" data-points="{len(points)}" '
        f'font-size="11" font-family="system-ui, sans-serif">'
        f"<title>{escape(title)}</title>"
    )
    if not points:
        return (
            f'{head}<text x="{WIDTH / 2}" y="{HEIGHT / 2}" text-anchor="middle" '
            f'fill="{TEXT}">{escape(empty)}</text></svg>'
        )
    xs, ys = [p.x for p in points], [p.y for p in points]
    x_ticks = x_ticks or nice_ticks(min(xs), max(xs))
    y_ticks = nice_ticks(0, max(ys))
    sx = _scale(min(x_ticks[0], min(xs)), max(x_ticks[-1], max(xs)), LEFT, LEFT + plot_w)
    sy = _scale(0, y_ticks[-1], TOP + plot_h, TOP)
    parts = [head]
    for tick in y_ticks:
        y = sy(tick)
        parts.append(
            f'<line x1="{LEFT}" x2="{LEFT + plot_w}" y1="{y:.1f}" y2="{y:.1f}" stroke="{GRID}"/>'
            f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" fill="{TEXT}">'
            f"{escape(y_format(tick))}</text>"
        )
    for i, tick in enumerate(x_ticks):
        x = sx(tick)
        # The end labels align inwards so that a long one (a date) is not cut off.
        anchor = "start" if i == 0 else "end" if i == len(x_ticks) - 1 else "middle"
        parts.append(
            f'<text x="{x:.1f}" y="{TOP + plot_h + 16}" text-anchor="{anchor}" fill="{TEXT}">'
            f"{escape(x_format(tick))}</text>"
        )
    parts.append(
        f'<line x1="{LEFT}" x2="{LEFT}" y1="{TOP}" y2="{TOP + plot_h}" stroke="{AXIS}"/>'
        f'<line x1="{LEFT}" x2="{LEFT + plot_w}" y1="{TOP + plot_h}" y2="{TOP + plot_h}" '
        f'stroke="{AXIS}"/>'
        f'<text x="{LEFT + plot_w}" y="{HEIGHT - 4}" text-anchor="end" fill="{TEXT}">'
        f"{escape(x_label)}</text>"
        f'<text x="4" y="{TOP + 4}" fill="{TEXT}" transform="rotate(-90 4 {TOP + 4})" '
        f'text-anchor="end" dy="8">{escape(y_label)}</text>'
    )
    if line and len(points) > 1:
        ordered = sorted(points, key=lambda p: p.x)
        path = " ".join(
            f"{'M' if i == 0 else 'L'}{sx(p.x):.1f} {sy(p.y):.1f}" for i, p in enumerate(ordered)
        )
        parts.append(
            f'<path class="chart-line" d="{path}" fill="none" stroke="{LINE}" '
            f'stroke-width="1.2" stroke-opacity="0.45"/>'
        )
    for p in points:
        colour = COLOURS.get(p.kind, COLOURS["other"])
        parts.append(
            f'<circle cx="{sx(p.x):.1f}" cy="{sy(p.y):.1f}" r="3.2" fill="{colour}" '
            f'fill-opacity="0.75" data-x="{_exact(p.x)}" data-y="{_exact(p.y)}">'
            f"<title>{escape(p.label)}</title></circle>"
        )
    parts.append("</svg>")
    return "".join(parts)


def integer_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Whole-number ticks covering [low, high] (a count of stops has no 15.2); a single value
    sits between its neighbours."""
    low, high = math.floor(low), math.ceil(high)
    if high - low < 2:
        low, high = max(0, low - 1), high + 1
    if high - low <= 2 * count:
        return [float(v) for v in range(low, high + 1)]
    return nice_ticks(low, high, count)  # steps of 5 or more here: whole numbers already


def time_ticks(start: datetime, end: datetime, count: int = 5) -> list[float]:
    """Evenly spaced timestamps from start to end (a time axis has no round numbers that suit
    both an hour and a month)."""
    low, high = start.timestamp(), end.timestamp()
    if high <= low:
        return [low]
    return [low + (high - low) * i / (count - 1) for i in range(count)]


def seconds(ms: float, units: tuple[str, str] = ("ms", "s")) -> str:
    """An axis label for milliseconds: `850 ms`, `12 s`, `2.5 s` (`units`: the words for
    milliseconds and seconds, in the page's language)."""
    if ms < 1000:
        return f"{ms:.0f} {units[0]}"
    return f"{_number(ms / 1000)} {units[1]}"
