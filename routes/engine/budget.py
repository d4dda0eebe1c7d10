"""How long solve()/improve() may think, by problem size, and the clock it is measured on.

Product targets on a 2-core machine: under 100 ms for 20 stops, under 1 s for
150 and under 2 s for 250. The budget covers the whole call (construction,
search and output) and is a ceiling, not a target: the search stops earlier
when it has stagnated (see :mod:`ils`).

The budget is counted in CPU time of the solving thread, not on the wall
clock, so a busy machine (another process on the other core, a test suite)
does not cut the search short and hand back a worse day. A wall-clock cap of
:data:`WALL_FACTOR` times the budget still bounds the answer time when the
machine is oversubscribed.
"""

from __future__ import annotations

import time

# (candidate stops, seconds); linear in between, flat beyond the ends.
_POINTS = (
    (0, 0.0),
    (5, 0.01),
    (10, 0.04),
    (20, 0.08),
    (40, 0.25),
    (80, 0.5),
    (150, 0.9),
    (250, 1.8),
)

WALL_FACTOR = 3.0

# CPU seconds of the calling thread: what the search may spend.
now = time.thread_time


def default_time_limit(candidates: int) -> float:
    pts = _POINTS
    if candidates >= pts[-1][0]:
        return pts[-1][1]
    for (x0, y0), (x1, y1) in zip(pts, pts[1:], strict=False):
        if candidates <= x1:
            return y0 + (y1 - y0) * (candidates - x0) / (x1 - x0)
    return pts[-1][1]
