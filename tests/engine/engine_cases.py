"""Problem factories shared by the engine tests."""

from __future__ import annotations

import math
import random

from routes.engine import Problem, Stop
from routes.samples import TSPTW_DIR, read_tsptw

MODES = ("free", "free-return", "depot", "depot-return", "stop", "stop-return")


def euclidean(points: list[tuple[float, float]]) -> list[list[float]]:
    return [[math.dist(a, b) for b in points] for a in points]


def line_problem(
    positions: list[float],
    windows: list[tuple[float, float]],
    *,
    service: float = 10.0,
    ranks: list[int] | None = None,
    day: tuple[float, float] = (0.0, 1000.0),
    depot: float | None = None,
    start: int | None = None,
    back: bool = False,
) -> Problem:
    """Stops on a line: travel minutes are distances, easy to reason about by hand."""
    pts = list(positions) + ([depot] if depot is not None else [])
    travel = [[abs(a - b) for b in pts] for a in pts]
    ranks = ranks or [0] * len(positions)
    stops = tuple(
        Stop(f"s{i}", w[0], w[1], service, r)
        for i, (w, r) in enumerate(zip(windows, ranks, strict=True))
    )
    if depot is not None:
        start = len(positions)
    return Problem(stops, travel, day[0], day[1], start=start, return_to_start=back)


def random_problem(n: int, seed: int, mode: str = "free", *, tight: bool = False) -> Problem:
    """A random day on a 60x60-minute square with mixed windows and ranks 0-3."""
    rng = random.Random(seed)
    pts = [(rng.uniform(0, 60), rng.uniform(0, 60)) for _ in range(n)]
    with_depot = mode.startswith("depot")
    if with_depot:
        pts.append((30.0, 30.0))
    travel = euclidean(pts)
    stops = []
    for i in range(n):
        if tight:
            open_ = rng.uniform(0, 400)
            close = open_ + rng.uniform(10, 60)
        elif rng.random() < 0.5:
            open_, close = 0.0, 480.0
        else:
            open_ = rng.uniform(0, 360)
            close = open_ + rng.uniform(30, 180)
        stops.append(Stop(f"r{i}", open_, close, rng.choice((5.0, 10.0, 20.0)), rng.randrange(4)))
    start = None
    if with_depot:
        start = n
    elif mode.startswith("stop"):
        start = rng.randrange(n)
    return Problem(
        tuple(stops), travel, 0.0, 480.0, start=start, return_to_start=mode.endswith("return")
    )


def tsptw_problem(name: str) -> Problem:
    """A Dumas TSPTW instance from bench/tsptw (depot = start, closed tour)."""
    return read_tsptw(TSPTW_DIR / f"{name}.txt")
