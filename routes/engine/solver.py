"""solve(), improve() and evaluate(): the engine's entry points."""

from __future__ import annotations

import math
import random
import time
from collections.abc import Sequence

from .budget import WALL_FACTOR, default_time_limit, now
from .compiled import Compiled, compile_problem, reachable_alone
from .ils import INF, MANY_CANDIDATES, Search, Solution
from .insertion import fill, insert_at
from .local_search import GRANULAR_FROM
from .model import NO_TIME, UNREACHABLE, Problem, Route, Skip
from .schedule import build_route, not_in_order
from .tour import Tour
from .validate import check_order, check_problem

PARALLEL_LIMIT = 150
# A search that stagnates before its budget ends may start again (_search_again): from this
# many stops as often as the budget allows, so those days use their whole budget; on a day
# of fewer than OVER_FULL_ON_FROM candidates that not everything fits, OVER_FULL_RUNS short
# runs in all (ils.patience; city-20-free: one long run kept a stop fewer than VROOM in 4 of
# 50 seeds, three runs in none, eight short ones reach its best route or a shorter one in 95
# of 100 seeds against 76 with three); a smaller day where everything fits settles reliably
# in one (every 40-stop TSPTW run optimal) and answers in a fraction of its budget.
RESTART_FROM = MANY_CANDIDATES
OVER_FULL_RUNS = 8
# From this many candidates a day that not everything fits also searches until its budget
# ends: random over-full days of 40-79 stops (bench/overfull.py, 45 days x 6 runs) ended a
# stop short of their best priorities in 2 runs of 270 with eight short runs, which answered
# in 120-270 ms of their 250-500 ms, and in none with the whole budget (a 79-stop day: 2 of
# 12 runs against 0). Below 40 the short runs lose nothing (27 days of 25-35 stops x 6 runs).
OVER_FULL_ON_FROM = 40
# Such a long day that not everything fits, if its visits differ in length, first makes room
# (Search.seek_room) for this share of its budget, then shortens travel (city-150-free
# over 128 seeds: 26 A stops in 96 runs against 11; 65 %: 88; docs/benchmarks.md).
ROOM_SHARE = 0.8


def evaluate(problem: Problem, order: Sequence[int]) -> Route:
    """Schedule ``order`` exactly as given: no drops, no reordering.

    Early arrivals wait; late starts and a late end are counted in
    ``violations``. Stops absent from ``order`` are skipped as "not_in_order".
    """
    matrix = check_problem(problem)
    n = len(problem.stops)
    seq = check_order(n, order)
    if len(set(seq)) != len(seq):
        raise ValueError(
            "order visits a stop twice; improve() accepts duplicates, evaluate() does not"
        )
    return build_route(problem, matrix, seq, not_in_order(n, seq))


def solve(
    problem: Problem,
    *,
    time_limit: float | None = None,
    seed: int = 0,
    max_iterations: int | None = None,
) -> Route:
    """Plan the best feasible route: most important stops first, then fewest drops, then least travel.

    ``time_limit`` (seconds) defaults to :func:`default_time_limit` of the number
    of servable stops. The search is randomised by ``seed``; with
    ``max_iterations`` and a generous ``time_limit`` it is also reproducible
    across machines (a pure time limit stops wherever the clock says).
    """
    return _optimise(problem, None, time_limit, seed, max_iterations)


def improve(
    problem: Problem,
    order: Sequence[int],
    *,
    time_limit: float | None = None,
    seed: int = 0,
    max_iterations: int | None = None,
) -> Route:
    """Repair a proposed order (partial, infeasible, with duplicates) and improve it.

    The proposal's relative order is kept where it is feasible, stops are
    dropped by the priority rule, missing stops are inserted where they cost
    least, and then the same search as solve() runs.
    """
    n = len(problem.stops)
    seq = check_order(n, order)
    seen: set[int] = set()
    unique = [i for i in seq if not (i in seen or seen.add(i))]  # first occurrence wins
    return _optimise(problem, unique, time_limit, seed, max_iterations)


def _optimise(
    problem: Problem,
    proposal: list[int] | None,
    time_limit: float | None,
    seed: int,
    max_iterations: int | None,
) -> Route:
    began, began_wall = now(), time.perf_counter()
    matrix = check_problem(problem)
    reachable = reachable_alone(problem, matrix)
    rng = random.Random(seed)
    n_cand = sum(reachable)
    limit = default_time_limit(n_cand) if time_limit is None else max(0.0, time_limit)
    deadline = began + limit
    wall_deadline = began_wall + WALL_FACTOR * limit

    heads: list[int | None] = [None]
    if problem.start is None and problem.return_to_start:
        heads = _head_choices(problem, reachable, proposal)
    best: tuple[Compiled, Tour] | None = None
    for head in heads:
        c = compile_problem(problem, matrix, reachable, pinned_head=head)
        tour = _construct(c, proposal)
        if best is None or _total(c, tour) > _total(*best):
            best = (c, tour)
    assert best is not None
    c, tour = best
    if c.candidates:
        search = Search(c, rng)
        # The first full descent ignores the clock (a busy machine must not hand back a
        # day with stops given up half-way); a second start has to fit in the budget.
        search.polish(tour, INF)
        if proposal is None:
            tour = _second_start(search, tour, deadline)
        if _makes_room(c, tour):
            found = _room_then_travel(
                search,
                tour.route,
                began + ROOM_SHARE * limit,
                deadline,
                max_iterations,
                wall_deadline,
            )
        else:
            found = search.run(tour.route, deadline, max_iterations, wall_deadline)
            again = (search, tour.route, found, deadline, max_iterations, wall_deadline)
            found = _search_again(*again, runs=_runs(c, found))
    else:
        found = Solution(tour.route, 0, tour.travel)
    order = ([c.head] if c.head is not None else []) + found.route
    return _finish(problem, matrix, reachable, order)


def _search_again(
    search: Search,
    start: list[int],
    found: Solution,
    deadline: float,
    max_iterations: int | None,
    wall_deadline: float,
    runs: int | None = None,
) -> Solution:
    """A search that stagnated before its budget ran out searches again from the same
    start, the random stream where it is, and keeps the best of the runs: one that settled
    in a poor basin gets another chance (dense-80-s1: 1 run in 20 stuck 0.5 % above the best
    known, none with this). ``runs`` counts the first one; None: until the budget ends.

    Until the budget ends, a run that found a better route hands it to the next one (a
    priority profile found late needs the time to settle its travel); after a run that
    found nothing the next starts from ``start`` again."""
    done = 1
    origin = found.route if runs is None else start
    while now() < deadline and time.perf_counter() < wall_deadline:
        if runs is not None and done >= runs:
            break
        done += 1
        if max_iterations is not None and search.iterations >= max_iterations:
            break
        before = search.iterations
        again = search.run(origin, deadline, max_iterations, wall_deadline)
        origin = start
        if again.better_than(found):
            found = again
            if runs is None:
                origin = found.route
        if search.iterations == before:
            break  # nothing left to try (no ruin possible)
    return found


def _runs(c: Compiled, found: Solution) -> int | None:
    """How many runs in all a search makes that stagnated with ``found`` (None: as many as
    its budget allows)."""
    n = len(c.candidates)
    if n >= RESTART_FROM:
        return None
    if len(found.route) == n:
        return 1  # a smaller day where everything fits settles in one run
    return None if n >= OVER_FULL_ON_FROM else OVER_FULL_RUNS


def _makes_room(c: Compiled, tour: Tour) -> bool:
    """Whether the search starts by making room: a day of many candidates that not all fit
    (after the first descent), whose visits are not all of one length."""
    cands = c.candidates
    return (
        len(cands) >= RESTART_FROM
        and len(tour.route) < len(cands)
        and len({c.service[u] for u in cands}) > 1
    )


def _room_then_travel(
    search: Search,
    start: list[int],
    mid: float,
    deadline: float,
    max_iterations: int | None,
    wall_deadline: float,
) -> Solution:
    """Search for room until ``mid`` (or that share of ``max_iterations``), runs started
    again as :func:`_search_again` does; then shorten travel from the best route found, or
    from the shortest one met at the same prize, until the ``deadline``."""
    cap = max_iterations
    if max_iterations is not None:  # reproducible: the iterations split the search, not the clock
        mid, cap = deadline, math.ceil(ROOM_SHARE * max_iterations)
    search.seek_room(True)
    found = search.run(start, mid, cap, wall_deadline)
    found = _search_again(search, start, found, mid, cap, wall_deadline)
    search.seek_room(False)
    found = found.by_travel()
    shortest = search.shortest
    if shortest is not None and shortest.better_than(found):
        found = shortest
    return _search_again(search, found.route, found, deadline, max_iterations, wall_deadline)


def _second_start(search: Search, tour: Tour, deadline: float) -> Tour:
    """On a long day that (nearly) fits, also try a start built by distance alone (every
    rank in one pool) and keep the better of the two descended (priorities first)."""
    c = search.c
    n = len(c.candidates)
    if n < GRANULAR_FROM or len(tour.route) < n - max(2, n // 50):
        return tour
    other = Tour(c, [])
    fill(
        other,
        c.candidates,
        parallel=n <= PARALLEL_LIMIT,
        key=c.close.__getitem__,
        by_rank=False,
    )
    search.polish(other, deadline)
    if now() <= deadline and _total(c, other) > _total(c, tour):
        return other
    return tour


def _total(c: Compiled, tour: Tour) -> tuple[int, float]:
    head = c.weight[c.head] if c.head is not None else 0
    return (tour.prize() + head, -tour.travel)


def _head_choices(
    problem: Problem, reachable: list[bool], proposal: list[int] | None
) -> list[int | None]:
    """First stops to try for a free closed tour: the proposal's, else important early ones."""
    stops = problem.stops
    options = [i for i in range(len(stops)) if reachable[i]]
    if not options:
        return [None]
    if proposal:
        first = next((i for i in proposal if reachable[i]), None)
        if first is not None:
            return [first]
    options.sort(
        key=lambda i: (stops[i].rank, max(stops[i].open, problem.day_start), stops[i].close)
    )
    return options[:3]


def _construct(c: Compiled, proposal: list[int] | None) -> Tour:
    """A feasible starting tour: the proposal's order where it fits, then greedy insertion."""
    tour = Tour(c, [])
    allowed = set(c.candidates)
    if proposal:
        wanted = [i for i in proposal if i in allowed]
        rank_of = {u: k for k, u in enumerate(wanted)}
        weight = c.weight
        # Most important first, each placed right after the proposal's nearest placed predecessor.
        for u in sorted(wanted, key=lambda v: (-weight[v], rank_of[v])):
            route = tour.route
            p = 0
            for pos, v in enumerate(route, start=1):
                if rank_of[v] < rank_of[u]:
                    p = pos
            if _fits(tour, u, p):
                insert_at(tour, u, p)
    served = set(tour.route)
    pool = [u for u in c.candidates if u not in served]
    # Parallel insertion is the better start but cubic; past a few hundred stops it
    # would eat the whole budget, so big pools go in order of closing time instead.
    fill(tour, pool, parallel=len(pool) <= PARALLEL_LIMIT, by_shift=True, key=c.close.__getitem__)
    return tour


def _fits(tour: Tour, u: int, p: int) -> bool:
    c = tour.c
    seq = tour.seq
    arr = tour.dep[p] + c.cost[seq[p]][u]
    st = arr if arr > c.open[u] else c.open[u]
    return st <= c.close[u] and st + c.service[u] + c.cost[u][seq[p + 1]] <= tour.latest[p + 1]


def _finish(
    problem: Problem, matrix: list[list[float]], reachable: list[bool], order: list[int]
) -> Route:
    n = len(problem.stops)
    route = build_route(problem, matrix, order, [])
    while route.violations:  # pragma: no cover - would be a bug; the caller still gets a valid plan
        weakest = max(range(len(order)), key=lambda p: (problem.stops[order[p]].rank, p))
        order = order[:weakest] + order[weakest + 1 :]
        route = build_route(problem, matrix, order, [])
    served = set(order)
    skipped = [
        Skip(i, NO_TIME if reachable[i] else UNREACHABLE) for i in range(n) if i not in served
    ]
    return build_route(problem, matrix, order, skipped)
