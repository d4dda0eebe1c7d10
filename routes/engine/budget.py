"""How long solve()/improve() may think, by problem size.

Product targets on a 2-core machine: under 100 ms for 20 stops and under 1 s
for 150. The budget covers the search only; construction and output add a
little, so the points sit below those targets.
"""

from __future__ import annotations

# (candidate stops, seconds); linear in between, flat beyond the ends.
_POINTS = ((0, 0.0), (5, 0.01), (10, 0.04), (20, 0.08), (40, 0.25), (80, 0.5), (150, 0.85))


def default_time_limit(candidates: int) -> float:
    pts = _POINTS
    if candidates >= pts[-1][0]:
        return pts[-1][1]
    for (x0, y0), (x1, y1) in zip(pts, pts[1:], strict=False):
        if candidates <= x1:
            return y0 + (y1 - y0) * (candidates - x0) / (x1 - x0)
    return pts[-1][1]
