"""Problem factories shared by the engine tests, and a search to start on one."""

from __future__ import annotations

import math
import random

from routes.engine import Problem, Stop
from routes.engine.compiled import compile_problem, reachable_alone
from routes.engine.ils import Search
from routes.engine.solver import _construct
from routes.engine.tour import Tour
from routes.engine.validate import check_problem
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


def planted_day(n: int, seed: int, *, spare: float = 0.25) -> Problem:
    """A day on which every stop fits, by construction.

    Stops on a 40x40-minute square around a depot (with return), 2-minute
    visits; a nearest-neighbour tour is timed with ``spare`` of the day left
    over, spread as waits, and half the stops get a 2-4 h window around their
    planted visit (the rest are open all day). So the planted tour is feasible.
    """
    rng = random.Random(seed)
    pts = [(rng.uniform(0, 40), rng.uniform(0, 40)) for _ in range(n)] + [(20.0, 20.0)]
    travel = euclidean(pts)
    left, tour, at = set(range(n)), [], n
    while left:
        at = min(left, key=travel[at].__getitem__)
        left.remove(at)
        tour.append(at)
    legs = sum(travel[a][b] for a, b in zip([n, *tour], [*tour, n], strict=True))
    busy = legs + 2.0 * n
    day = (480.0, 480.0 + busy / (1 - spare))
    gap = (day[1] - day[0] - busy) / (n + 1)
    planted, t, prev = {}, day[0], n
    for i in tour:
        t += travel[prev][i] + gap
        planted[i] = t
        t += 2.0
        prev = i
    stops = []
    for i in range(n):
        open_, close = day
        if rng.random() < 0.5:
            width = rng.choice((120.0, 180.0, 240.0))
            open_ = max(day[0], planted[i] - rng.uniform(0, width))
            close = min(day[1], max(open_ + width, planted[i]))
        stops.append(Stop(f"p{i}", open_, close, 2.0, rng.randrange(4)))
    return Problem(tuple(stops), travel, day[0], day[1], start=n, return_to_start=True)


def new_search(problem: Problem) -> tuple[Search, Tour]:
    """A search over ``problem`` and the tour it would start from (constructed, not descended)."""
    matrix = check_problem(problem)
    c = compile_problem(problem, matrix, reachable_alone(problem, matrix))
    return Search(c, random.Random(0)), _construct(c, None)
