"""The search's view of a Problem: one origin node, folded windows, prizes.

Every start mode is reduced to the same shape: the rep leaves a virtual node
``D`` (index ``n`` in the arrays) at time ``t0``, visits a sequence of stops and
comes back to ``D`` by ``day_end``. Only the row and column of ``D`` change:

* free start: travel 0 from and to ``D``, ``t0 = day_start`` (so the first stop
  is reached at ``max(day_start, open)``, as the Problem says);
* depot: ``D`` is the depot, the column is the return leg (0 if no return);
* start stop ``h`` (or the pinned first stop of a free closed tour): ``h`` is a
  fixed *head* served before the search's sequence, ``t0`` is its departure and
  ``D`` stands at ``h``'s place.
"""

from __future__ import annotations

from dataclasses import dataclass

from .model import Problem
from .schedule import SEARCH_EPS as EPS
from .speedups import scan

INF = float("inf")


@dataclass
class Compiled:
    n: int  # stops in the problem; D == n
    head: int | None  # stop served before the searched sequence, if any
    t0: float  # departure time from D (or from the head)
    day_end: float
    cost: list[list[float]]  # (n+1)x(n+1), row/col n = D
    open: list[float]  # length n+1
    close: list[float]  # folded: min(close, day_end - service); D: day_end
    service: list[float]  # D: 0
    weight: list[int]  # lexicographic prize of serving each stop (0 for D)
    candidates: list[int]  # stops the search may place (reachable, not the head)
    fast: object = None  # cost, open, close and service for the compiled scans (speedups)

    @property
    def depot(self) -> int:
        return self.n


def prize_weights(problem: Problem) -> list[int]:
    """Weights such that one stop of a rank outweighs all stops of lower ranks.

    Ranks are made dense first (0, 2, 7 behave like 0, 1, 2), so the weight of
    rank ``r`` is ``(n + 1) ** (R - 1 - r)``; sums then compare like the tuple
    (served of rank 0, served of rank 1, ...).
    """
    n = len(problem.stops)
    levels = sorted({s.rank for s in problem.stops})
    dense = {r: k for k, r in enumerate(levels)}
    top = len(levels) - 1
    return [(n + 1) ** (top - dense[s.rank]) for s in problem.stops]


def reachable_alone(problem: Problem, matrix: list[list[float]]) -> list[bool]:
    """Whether each stop can be served as the only stop of the day.

    With a start stop, "alone" means together with that start stop (it is
    always visited first); a start stop that cannot itself be served leaves the
    rep at its place at ``day_start``.
    """
    stops = problem.stops
    n = len(stops)
    ds, de, back = problem.day_start, problem.day_end, problem.return_to_start
    result = []
    head_ok = False
    head_dep = ds
    if problem.start is not None and problem.start < n:
        h = problem.start
        b = max(ds, stops[h].open)
        head_ok = (
            b <= stops[h].close + EPS
            and b + stops[h].service + (matrix[h][h] if back else 0.0) <= de + EPS
        )
        if head_ok:
            head_dep = b + stops[h].service
    for j, stop in enumerate(stops):
        if problem.start is None or problem.start == j:
            arrival, ret = ds, (matrix[j][j] if back else 0.0)
        else:
            origin = problem.start
            leave = head_dep if (origin < n and head_ok) else ds
            arrival = leave + matrix[origin][j]
            ret = matrix[j][origin] if back else 0.0
        begin = max(arrival, stop.open)
        ok = begin <= stop.close + EPS and begin + stop.service + ret <= de + EPS
        result.append(ok)
    return result


def compile_problem(
    problem: Problem,
    matrix: list[list[float]],
    reachable: list[bool],
    pinned_head: int | None = None,
) -> Compiled:
    """Build the search arrays; ``pinned_head`` fixes the first stop of a free closed tour."""
    stops = problem.stops
    n = len(stops)
    ds, de = problem.day_start, problem.day_end
    head: int | None = None
    if problem.start is None:
        if problem.return_to_start and pinned_head is not None:
            head = pinned_head
    elif problem.start < n and reachable[problem.start]:
        head = problem.start
    origin = head if head is not None else problem.start  # None, a stop, or the depot
    if head is not None:
        t0 = max(ds, stops[head].open) + stops[head].service
    else:
        t0 = ds
    closed = problem.return_to_start and origin is not None

    cost = []
    for i in range(n):
        row = matrix[i][:n]
        row.append(matrix[i][origin] if closed else 0.0)
        cost.append(row)
    cost.append(
        [matrix[origin][j] for j in range(n)] + [0.0] if origin is not None else [0.0] * (n + 1)
    )

    open_ = [s.open for s in stops] + [-INF]
    # No stop can depart after day_end, so its latest start is folded in once here.
    close = [min(s.close, de - s.service) + EPS for s in stops] + [de + EPS]
    service = [s.service for s in stops] + [0.0]
    weight = prize_weights(problem) + [0]
    candidates = [j for j in range(n) if reachable[j] and j != head and j != problem.start]
    fast = scan.arrays(cost, open_, close, service, weight) if scan is not None else None
    return Compiled(n, head, t0, de, cost, open_, close, service, weight, candidates, fast)
