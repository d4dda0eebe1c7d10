"""Timing of a fixed visiting order: the one place where a Route is built.

Both evaluate() and the solvers go through :func:`build_route`, so a route
returned by solve() is, by construction, exactly what evaluate() says of it.
"""

from __future__ import annotations

from .model import NOT_IN_ORDER, Problem, Route, Skip, Visit

# Times come from sums of floats; a start this far past the close is still on time.
EPS = 1e-6
# The search is stricter than the judge, so float noise in its O(1) checks
# (which add the same numbers in another order) can never make evaluate() object.
SEARCH_EPS = 1e-7


def build_route(
    problem: Problem,
    matrix: list[list[float]],
    order: list[int],
    skipped: list[Skip],
) -> Route:
    """Schedule ``order`` exactly as given, waiting when early, never dropping.

    Start semantics follow :class:`Problem`: with ``start`` None the first
    stop is reached for free at ``max(day_start, open)``; with a start stop or
    depot the rep is at that point at ``day_start``, and a start stop that
    heads the order is, like a free first stop, reached without travel.
    """
    stops = problem.stops
    origin = problem.start  # None, a stop index, or n for the depot
    visits: list[Visit] = []
    total = 0.0
    late = 0
    time = problem.day_start
    prev: int | None = origin
    for pos, i in enumerate(order):
        stop = stops[i]
        if pos == 0 and (origin is None or origin == i):
            leg = 0.0
            arrival = max(problem.day_start, stop.open)
        else:
            assert prev is not None
            leg = matrix[prev][i]
            arrival = time + leg
        begin = max(arrival, stop.open)
        is_late = begin > stop.close + EPS
        late += is_late
        time = begin + stop.service
        total += leg
        visits.append(Visit(i, arrival, begin - arrival, begin, time, leg, is_late))
        prev = i
    back = 0.0
    if problem.return_to_start and order:
        # With a free start the route closes on its own first stop.
        home = order[0] if origin is None else origin
        back = matrix[order[-1]][home]
        time += back
        total += back
    # An empty plan ends nothing, so it cannot end late (even on a day that closes before it opens).
    over = 1 if order and time > problem.day_end + EPS else 0
    return Route(
        order=tuple(order),
        visits=tuple(visits),
        skipped=tuple(sorted(skipped, key=lambda s: s.stop)),
        travel_minutes=total,
        return_travel=back,
        end_time=time,
        violations=late + over,
    )


def not_in_order(n: int, order: list[int]) -> list[Skip]:
    present = set(order)
    return [Skip(i, NOT_IN_ORDER) for i in range(n) if i not in present]
