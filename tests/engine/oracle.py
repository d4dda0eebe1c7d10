"""Exhaustive reference for tiny problems, written straight from the Problem's docstring.

Independent of the engine's internals on purpose: it enumerates every visiting
sequence depth-first and keeps the lexicographically best one (served count
per rank, most important first, then least travel).
"""

from __future__ import annotations

from routes.engine import Problem

TOL = 1e-7


def best_plan(problem: Problem) -> tuple[tuple[int, ...], float, tuple[int, ...]]:
    """Return (served count per rank, travel, an order achieving them)."""
    stops = problem.stops
    n = len(stops)
    m = problem.travel
    ds, de = problem.day_start, problem.day_end
    levels = sorted({s.rank for s in stops})
    start = problem.start
    best: dict = {"served": None, "travel": 0.0, "order": ()}

    def consider(order: list[int], travel: float, time: float) -> None:
        if problem.return_to_start and order:
            back = m[order[-1]][order[0] if start is None else start]
            travel, time = travel + back, time + back
        if time > de + TOL:
            return
        served = tuple(sum(1 for i in order if stops[i].rank == r) for r in levels)
        if (
            best["served"] is None
            or served > best["served"]
            or (served == best["served"] and travel < best["travel"] - 1e-9)
        ):
            best.update(served=served, travel=travel, order=tuple(order))

    def extend(order: list[int], travel: float, time: float, at: int | None) -> None:
        consider(order, travel, time)
        for j in range(n):
            if j in order or j == start:
                continue
            if at is None or at == j:  # a free first stop, or the start stop itself
                leg, arrival = 0.0, max(ds, stops[j].open)
            else:
                leg = m[at][j]
                arrival = time + leg
            begin = max(arrival, stops[j].open)
            if begin > stops[j].close + TOL or begin + stops[j].service > de + TOL:
                continue
            order.append(j)
            extend(order, travel + leg, begin + stops[j].service, j)
            order.pop()

    if start is not None and start < n:
        # A start stop that can be served is served first; otherwise the rep starts at its place.
        s = stops[start]
        begin = max(ds, s.open)
        back = m[start][start] if problem.return_to_start else 0.0
        if begin <= s.close + TOL and begin + s.service + back <= de + TOL:
            extend([start], 0.0, begin + s.service, start)
        else:
            extend([], 0.0, ds, start)
    else:
        extend([], 0.0, ds, start)
    return best["served"], best["travel"], best["order"]
