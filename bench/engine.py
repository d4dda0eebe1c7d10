"""Benchmark of the route engine against an OR-Tools reference.

    .venv/bin/python bench/engine.py [--ref-seconds 30] [--quick] [--only NAME]

For every case it runs ``routes.engine.solve`` (its default, size-adaptive
time budget) and a reference: OR-Tools routing with GUIDED_LOCAL_SEARCH for
``--ref-seconds``, priorities as disjunction penalties so large that one stop
of a rank outweighs every stop of the ranks below plus any travel. Both
answers are scored by ``routes.engine.evaluate`` so they are measured alike.

Cases: the 12 public TSPTW instances (Dumas et al.), the project's sample
data (haversine km x 1.3 detour at 30 km/h, 20-minute visits, day
09:00-18:00) and seeded synthetic city days of 20-150 stops.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import os
import platform
import random
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from routes.engine import Problem, Route, Stop, default_time_limit, evaluate, solve  # noqa: E402
from routes.engine import solver as engine_solver  # noqa: E402
from routes.planning import build_plan, haversine_km  # noqa: E402
from routes.samples import TSPTW_DIR, point_set_bodies, read_tsptw, request_bodies  # noqa: E402
from routes.schema import parse_request  # noqa: E402

# Published optimal travel times of the Dumas instances (proven optimal; see the README there).
TSPTW_OPTIMUM = {
    "n20w20.001": 378, "n20w20.002": 286, "n20w20.003": 394, "n20w40.001": 254,
    "n20w60.001": 335, "n20w100.001": 237, "n40w20.001": 500, "n40w20.002": 552,
    "n40w40.001": 465, "n40w60.001": 494, "n40w80.001": 395, "n40w100.001": 429,
}  # fmt: skip

DETOUR = 1.3
SPEED_KMH = 30.0
VISIT_MIN = 20.0
DAY = (9 * 60.0, 18 * 60.0)


@dataclass
class Case:
    name: str
    group: str
    problem: Problem
    optimum: float | None = None


# ---------------------------------------------------------------- cases


def tsptw_case(path: Path) -> Case:
    """A Dumas instance: depot 0 at time 0, all nodes must be visited, back by b_0."""
    name = path.name.removesuffix(".txt")
    return Case(name, "tsptw", read_tsptw(path), TSPTW_OPTIMUM.get(name))


def minutes(hhmm: str) -> float:
    hours, mins = hhmm.split(":")
    return int(hours) * 60.0 + int(mins)


def city_problem(
    points: Sequence[tuple[str, float, float, float, float, int]],
    *,
    depot: tuple[float, float] | None = None,
    service: float | Sequence[float] = VISIT_MIN,
    day: tuple[float, float] = DAY,
) -> Problem:
    """Points (id, lat, lon, open, close, rank) -> Problem with road-ish travel minutes."""
    coords = [(p[1], p[2]) for p in points]
    if depot is not None:
        coords.append(depot)
    travel = [[haversine_km(*a, *b) * DETOUR / SPEED_KMH * 60.0 for b in coords] for a in coords]
    services = [service] * len(points) if isinstance(service, (int, float)) else list(service)
    stops = tuple(
        Stop(p[0], p[3], p[4], float(s), p[5]) for p, s in zip(points, services, strict=True)
    )
    start = len(points) if depot is not None else None
    return Problem(stops, travel, day[0], day[1], start=start, return_to_start=depot is not None)


def sample_cases() -> list[Case]:
    """The shared sample data, planned as the API plans it (its defaults: 09:00-18:00,
    30 km/h, detour 1.3, 20-minute visits, free start)."""
    bodies = dict(point_set_bodies())
    for body in request_bodies():
        bodies[f"request-{len(body['locations'])}"] = body
    return [
        Case(name, "sample", build_plan(parse_request(body, max_locations=10_000)).problem)
        for name, body in bodies.items()
    ]


def synthetic_problem(n: int, seed: int, *, depot: bool) -> Problem:
    """A seeded city day: ~16x16 km, clustered points, mixed windows and A-D priorities.

    Windows: 45% all day, 20% morning, 20% afternoon, 15% a narrow 1-2 h slot.
    Visits take 10-30 minutes, so from about 25 stops on the day cannot hold them all.
    """
    rng = random.Random(seed)
    lat0, lon0 = 54.19, 45.18  # Saransk
    centres = [(rng.gauss(0, 4.0), rng.gauss(0, 4.0)) for _ in range(4)]
    points = []
    services = []
    for i in range(n):
        if rng.random() < 0.6:
            cx, cy = rng.choice(centres)
            x, y = cx + rng.gauss(0, 1.2), cy + rng.gauss(0, 1.2)
        else:
            x, y = rng.uniform(-8, 8), rng.uniform(-8, 8)
        lat = lat0 + y / 111.2
        lon = lon0 + x / (111.2 * math.cos(math.radians(lat0)))
        kind = rng.random()
        if kind < 0.45:
            open_, close = 9 * 60.0, 18 * 60.0
        elif kind < 0.65:
            open_, close = 9 * 60.0, rng.choice((12, 13)) * 60.0
        elif kind < 0.85:
            open_, close = rng.choice((13, 14)) * 60.0, 18 * 60.0
        else:
            open_ = rng.randrange(9 * 60, 16 * 60, 30)
            close = open_ + rng.choice((60, 90, 120))
        rank = rng.choices((0, 1, 2, 3), weights=(2, 3, 3, 2))[0]
        points.append((f"g{n}-{i}", lat, lon, float(open_), float(close), rank))
        services.append(float(rng.choice((10, 15, 20, 20, 30))))
    return city_problem(points, depot=(lat0, lon0) if depot else None, service=services)


def synthetic_cases() -> list[Case]:
    specs = [
        (20, 1, True),
        (20, 2, False),
        (50, 3, True),
        (100, 4, True),
        (150, 5, True),
        (150, 6, False),
    ]
    return [
        Case(
            f"city-{n}-{'depot' if depot else 'free'}",
            "synthetic",
            synthetic_problem(n, seed, depot=depot),
        )
        for n, seed, depot in specs
    ]


def dense_problem(n: int, seed: int) -> Problem:
    """A seeded dense day on which every stop fits: what the over-full city days never test.

    A Saransk-sized city (9 x 10 km; beyond 150 stops only its centre, so the
    day still holds them: 4.2 x 4.6 km at 250): 60 % of the points around five
    centres, the rest anywhere; a central depot with return, 2-minute visits, day
    08:30-20:00; ranks A:B:C:D = 1:2:4:3. Feasibility is planted: a good tour
    (nearest neighbour, then 2-opt) is timed with its spare time spread evenly
    over the day, and each stop of the windowed half gets a 2, 3 or 4 h window
    around its planted visit; the other half is open all day.
    """
    rng = random.Random(1000 + seed)
    lat0, lon0 = 54.19, 45.18
    day = (8 * 60.0 + 30, 20 * 60.0)
    # Beyond 150 stops the area shrinks (to the centre, 4 x 5 km at 250) so the day holds them all.
    k = min(1.0, (150 / n) ** 1.5)
    centres = [(rng.uniform(-3.5, 3.5) * k, rng.uniform(-4.0, 4.0) * k) for _ in range(5)]
    xy = []
    for _ in range(n):
        if rng.random() < 0.6:
            cx, cy = rng.choice(centres)
            x, y = cx + rng.gauss(0, 0.8 * k), cy + rng.gauss(0, 0.8 * k)
            x, y = min(4.5 * k, max(-4.5 * k, x)), min(5.0 * k, max(-5.0 * k, y))
        else:
            x, y = rng.uniform(-4.5 * k, 4.5 * k), rng.uniform(-5.0 * k, 5.0 * k)
        xy.append((x, y))
    coords = [(lat0 + y / 111.2, lon0 + x / (111.2 * math.cos(math.radians(lat0)))) for x, y in xy]
    plain = [(f"d{n}-{seed}-{i}", *coords[i], *day, 0) for i in range(n)]
    travel = city_problem(plain, depot=(lat0, lon0), service=2.0, day=day).travel
    tour = _planted_tour(travel, n)
    legs = sum(travel[a][b] for a, b in zip([n, *tour], [*tour, n], strict=True))
    spare = day[1] - day[0] - legs - 2.0 * n
    assert spare > 0, f"dense-{n}-s{seed}: the planted tour does not fit the day"
    gap = spare / (n + 1)
    planted = {}
    t, prev = day[0], n
    for i in tour:
        t += travel[prev][i] + gap
        planted[i] = t
        t += 2.0
        prev = i
    points = []
    for i in range(n):
        open_, close = day
        if rng.random() < 0.5:
            width = rng.choice((120.0, 180.0, 240.0))
            open_ = max(day[0], math.floor((planted[i] - rng.uniform(0, width)) / 5) * 5)
            close = min(day[1], open_ + width)
            if close < planted[i]:
                open_, close = close - width, planted[i]
        rank = rng.choices((0, 1, 2, 3), weights=(1, 2, 4, 3))[0]
        points.append((plain[i][0], *coords[i], float(open_), float(close), rank))
    return city_problem(points, depot=(lat0, lon0), service=2.0, day=day)


def _planted_tour(travel: Sequence[Sequence[float]], n: int) -> list[int]:
    """A good closed tour from the depot ``n`` through every stop: nearest neighbour, 2-opt."""
    left = set(range(n))
    tour, at = [], n
    while left:
        at = min(left, key=travel[at].__getitem__)
        left.remove(at)
        tour.append(at)
    seq = [n, *tour, n]
    improved = True
    while improved:
        improved = False
        for i in range(1, len(seq) - 2):
            a, b = seq[i - 1], seq[i]
            for j in range(i + 1, len(seq) - 1):
                c, d = seq[j], seq[j + 1]
                if travel[a][c] + travel[b][d] < travel[a][b] + travel[c][d] - 1e-9:
                    seq[i : j + 1] = seq[i : j + 1][::-1]
                    b = seq[i]
                    improved = True
    return seq[1:-1]


DENSE_SPECS = ((80, 1), (80, 2), (150, 1), (150, 2), (150, 3), (250, 1), (250, 2))


def dense_cases() -> list[Case]:
    return [Case(f"dense-{n}-s{seed}", "dense", dense_problem(n, seed)) for n, seed in DENSE_SPECS]


def all_cases() -> list[Case]:
    tsptw = [tsptw_case(TSPTW_DIR / f"{name}.txt") for name in TSPTW_OPTIMUM]
    return tsptw + sample_cases() + synthetic_cases() + dense_cases()


# ---------------------------------------------------------------- reference


def reference_order(problem: Problem, seconds: float) -> list[int]:
    """OR-Tools routing (GLS, ``seconds``) on the same problem; returns a visiting order.

    Times are scaled to 1/100 minute and rounded against us (travel and
    service up, windows inwards), so the order it returns is feasible in
    exact minutes too. Supported starts: free (a dummy node with zero legs),
    a depot, or a start stop; a free closed tour is not expressible here.
    """
    from ortools.constraint_solver import pywrapcp, routing_enums_pb2

    scale = 100.0
    stops = problem.stops
    n = len(stops)
    if problem.start is None and problem.return_to_start:
        raise NotImplementedError("reference: free start with return is not modelled")
    # Nodes: stops 0..n-1, then extra nodes that are only ever a route's start or end
    # (a zero-leg dummy that could be visited mid-route would teleport).
    zero: set[int] = set()  # dummy nodes: every leg to or from them is free
    if problem.start is None:
        origin, end, size = n, n + 1, n + 2
        zero = {n, n + 1}
    elif problem.start == n:
        origin = n
        end, size = (n, n + 1) if problem.return_to_start else (n + 1, n + 2)
        zero = set() if problem.return_to_start else {n + 1}
    else:
        origin = problem.start
        end, size = (origin, n) if problem.return_to_start else (n, n + 1)
        zero = set() if problem.return_to_start else {n}

    def leg(i: int, j: int) -> int:
        if i == j or i in zero or j in zero:
            return 0
        return int(math.ceil(problem.travel[i][j] * scale - 1e-9))

    legs = [[leg(i, j) for j in range(size)] for i in range(size)]
    service = [int(math.ceil(s.service * scale - 1e-9)) for s in stops] + [0] * (size - n)
    day_start = int(math.ceil(problem.day_start * scale - 1e-9))
    day_end = int(math.floor(problem.day_end * scale + 1e-9))

    manager = pywrapcp.RoutingIndexManager(size, 1, [origin], [end])
    routing = pywrapcp.RoutingModel(manager)

    def arc(a: int, b: int) -> int:
        return legs[manager.IndexToNode(a)][manager.IndexToNode(b)]

    def transit(a: int, b: int) -> int:
        i = manager.IndexToNode(a)
        return service[i] + legs[i][manager.IndexToNode(b)]

    arc_cb = routing.RegisterTransitCallback(arc)
    time_cb = routing.RegisterTransitCallback(transit)
    routing.SetArcCostEvaluatorOfAllVehicles(arc_cb)
    horizon = max(day_end, day_start) + 1
    routing.AddDimension(time_cb, horizon, horizon, False, "time")
    dim = routing.GetDimensionOrDie("time")
    for i, s in enumerate(stops):
        if i == origin:
            continue
        lo = int(math.ceil(s.open * scale - 1e-9))
        hi = min(int(math.floor(s.close * scale + 1e-9)), day_end - service[i])
        index = manager.NodeToIndex(i)
        if lo > hi:
            routing.AddDisjunction([index], 0)  # can never be served
            dim.CumulVar(index).SetRange(0, horizon)
            continue
        dim.CumulVar(index).SetRange(max(lo, 0), max(hi, 0))
    start_index = routing.Start(0)
    if origin < n:
        s = stops[origin]
        lo = max(day_start, int(math.ceil(s.open * scale - 1e-9)))
        hi = min(int(math.floor(s.close * scale + 1e-9)), day_end - service[origin])
        dim.CumulVar(start_index).SetRange(lo, max(lo, hi))
    else:
        dim.CumulVar(start_index).SetRange(day_start, day_start)
    dim.CumulVar(routing.End(0)).SetRange(0, day_end)

    # Lexicographic priorities: a rank's penalty beats all lower ranks' penalties plus any travel.
    travel_bound = sum(max(row) for row in legs) + 1
    ranks = sorted({s.rank for s in stops}, reverse=True)
    penalty: dict[int, int] = {}
    below = 0
    for r in ranks:  # least important first
        penalty[r] = travel_bound + below
        below += penalty[r] * sum(1 for s in stops if s.rank == r)
    for i, s in enumerate(stops):
        if i == origin:
            continue
        index = manager.NodeToIndex(i)
        if routing.GetDisjunctionIndices(index):
            continue
        routing.AddDisjunction([index], penalty[s.rank])

    params = pywrapcp.DefaultRoutingSearchParameters()
    params.first_solution_strategy = routing_enums_pb2.FirstSolutionStrategy.PATH_CHEAPEST_ARC
    params.local_search_metaheuristic = (
        routing_enums_pb2.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH
    )
    params.time_limit.FromMilliseconds(int(seconds * 1000))
    solution = routing.SolveWithParameters(params)
    if solution is None:
        return [origin] if origin < n else []
    order = []
    index = routing.Start(0)
    while not routing.IsEnd(index):
        node = manager.IndexToNode(index)
        if node < n:
            order.append(node)
        index = solution.Value(routing.NextVar(index))
    return order


def vroom_order(problem: Problem, exploration_level: int = 5) -> list[int]:
    """VROOM (pyvroom, exploration level 5, one thread) on the same problem; a visiting order.

    Units are 1/100 minute, rounded against VROOM like the OR-Tools reference.
    Starts: a depot is the vehicle's start (and its end with return). A start
    stop is served first by construction: the vehicle starts at its place when
    that visit ends, and the rest is searched. A free start (the day begins at
    the first visit, with no travel to it) is a vehicle starting at an extra
    location with zero travel to and from every stop and no end: the first
    visit then begins at ``max(day_start, open)`` as in the engine. A free
    closed tour (back to whichever stop came first) is not expressible.
    Priorities: VROOM maximises the sum of job priorities (0-100) before
    travel, so rank k gets ``100 // 4**k``: one A outweighs three B's, but not
    every B as the engine's lexicographic rule would.
    """
    import numpy as np
    import vroom

    scale = 100.0
    stops = problem.stops
    n = len(stops)
    if problem.start is None and problem.return_to_start:
        raise NotImplementedError("vroom: free start with return is not modelled")
    size = len(problem.travel)
    free = problem.start is None
    legs = [
        [math.ceil(problem.travel[i][j] * scale - 1e-9) for j in range(size)] for i in range(size)
    ]
    if free:
        # VROOM wants a start or an end: a dummy start with free legs to every stop.
        legs = [row + [0] for row in legs] + [[0] * (size + 1)]
    matrix = np.array(legs, dtype=np.uint32)
    day_start = math.ceil(problem.day_start * scale - 1e-9)
    day_end = math.floor(problem.day_end * scale + 1e-9)
    head = None
    begin = day_start
    if problem.start is not None and problem.start < n:
        h = stops[problem.start]
        first = max(day_start, math.ceil(h.open * scale - 1e-9))
        service = math.ceil(h.service * scale - 1e-9)
        if first <= math.floor(h.close * scale + 1e-9) and first + service <= day_end:
            head, begin = problem.start, first + service
    levels = sorted({s.rank for s in stops})
    priority = {r: 100 // 4**k for k, r in enumerate(levels)}
    inst = vroom.Input()
    inst.set_durations_matrix(profile="car", matrix_input=matrix)
    start = size if free else problem.start
    end = start if problem.return_to_start else None
    inst.add_vehicle(
        vroom.Vehicle(1, start=start, end=end, time_window=vroom.TimeWindow(begin, day_end))
    )
    for i, s in enumerate(stops):
        if i == problem.start:
            continue
        service = math.ceil(s.service * scale - 1e-9)
        lo = max(day_start, math.ceil(s.open * scale - 1e-9))
        hi = min(math.floor(s.close * scale + 1e-9), day_end - service)
        if lo > hi:
            continue  # can never be served
        inst.add_job(
            vroom.Job(
                i + 1,
                location=i,
                default_service=service,
                priority=priority[s.rank],
                time_windows=[vroom.TimeWindow(lo, hi)],
            )
        )
    solution = inst.solve(exploration_level=exploration_level, nb_threads=1)
    steps = solution.routes
    order = [] if head is None else [head]
    if len(steps):
        jobs = steps[steps["type"] == "job"]
        order += [int(j) - 1 for j in jobs["id"]]
    return order


# ---------------------------------------------------------------- scoring


def served_by_rank(problem: Problem, route: Route) -> dict[int, int]:
    counts = {r: 0 for r in sorted({s.rank for s in problem.stops})}
    for i in route.order:
        counts[problem.stops[i].rank] += 1
    return counts


def profile(problem: Problem, route: Route) -> tuple[int, ...]:
    """Stops served per rank, most important first: compared like a tuple."""
    served = served_by_rank(problem, route)
    return tuple(served[r] for r in sorted(served))


def dropped_text(problem: Problem, route: Route) -> str:
    served = served_by_rank(problem, route)
    total = {r: sum(1 for s in problem.stops if s.rank == r) for r in served}
    if len(total) == 1:
        return str(sum(total.values()) - sum(served.values()))
    return "/".join(str(total[r] - served[r]) for r in sorted(total))


def priority_cmp(problem: Problem, a: Route, b: Route) -> int:
    """+1 if ``a`` serves a better priority profile than ``b``, -1 if worse, 0 if equal."""
    va, vb = profile(problem, a), profile(problem, b)
    return (va > vb) - (va < vb)


@dataclass
class Run:
    """One solver's answer to one case, scored by evaluate().

    ``seconds`` is the CPU time of this process during the call (the engine
    is single-threaded, VROOM runs with one thread), so a machine shared with
    others does not skew the comparison; ``wall`` is the wall-clock time.
    """

    route: Route
    seconds: float
    wall: float = 0.0


@dataclass
class CaseResult:
    case: Case
    engine: list[Run]  # one per seed
    peers: dict[str, Run]  # "VROOM", "OR-Tools"

    def best_known(self) -> tuple[tuple[int, ...], float]:
        """The best priority profile any run reached, and the least travel with it.

        Candidates: every engine run, every peer, and the published optimum
        (which serves every stop), so a ratio of 1 means "as good as anything seen".
        """
        p = self.case.problem
        runs = [r.route for r in self.engine] + [r.route for r in self.peers.values()]
        runs = [r for r in runs if not r.violations]
        top = max(profile(p, r) for r in runs)
        travel = min(r.travel_minutes for r in runs if profile(p, r) == top)
        if self.case.optimum is not None and sum(top) == len(p.stops):
            travel = min(travel, float(self.case.optimum))
        return top, travel

    def ratio(self, route: Route) -> float | str:
        """Travel over the best known at the best profile, or why there is no ratio."""
        top, travel = self.best_known()
        mine = profile(self.case.problem, route)
        if route.violations:
            return "late"
        if mine != top:
            return "serves less" if mine < top else "serves more"
        if travel == 0:
            return 1.0
        return route.travel_minutes / travel

    def engine_ratios(self) -> list[float | str]:
        return [self.ratio(r.route) for r in self.engine]


def run_engine(case: Case, seeds: int) -> list[Run]:
    runs = []
    for seed in range(max(1, seeds)):
        cpu, wall = time.process_time(), time.perf_counter()
        route = solve(case.problem, seed=seed)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        check = evaluate(case.problem, route.order)
        assert check.violations == route.violations, "engine route disagrees with evaluate()"
        runs.append(Run(route, cpu, wall))
    return runs


def run_peer(
    case: Case, name: str, solver: Callable[[Problem], list[int]], cache: dict, key: str
) -> Run | None:
    """A peer's answer, from the cache when it has one (its time is cached with it)."""
    if key in cache:
        entry = cache[key]
        # Older caches hold the order alone; newer ones [order, cpu seconds, wall seconds].
        order, seconds, wall = (
            (entry, 0.0, 0.0) if not entry or isinstance(entry[0], int) else entry
        )
    else:
        cpu, wall = time.process_time(), time.perf_counter()
        try:
            order = solver(case.problem)
        except NotImplementedError:
            return None
        seconds, wall = time.process_time() - cpu, time.perf_counter() - wall
        cache[key] = [order, seconds, wall]
    return Run(evaluate(case.problem, order), seconds, wall)


@contextmanager
def busy_core(enabled: bool) -> Iterator[None]:
    """Keep one core busy with another process (a spinning Python) while inside."""
    if not enabled:
        yield
        return
    spinner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(0.2)
        yield
    finally:
        spinner.kill()
        spinner.wait()


HEADER = (
    "| case | stops | engine travel (worst) | dropped | engine CPU ms (median) "
    "| VROOM travel | dropped | VROOM CPU ms | OR-Tools travel | dropped "
    "| best known | engine/best (mean, worst) | VROOM/best |"
)
RULE = "|" + "---|" * 13


def _fmt_ratio(x: float | str) -> str:
    return f"{x:.4f}" if isinstance(x, float) else x


def _median(xs: list[float]) -> float:
    return statistics.median(xs) if xs else float("nan")


def row(cr: CaseResult) -> str:
    p = cr.case.problem
    worst = min(cr.engine, key=lambda r: (profile(p, r.route), -r.route.travel_minutes)).route
    ratios = cr.engine_ratios()
    numeric = [x for x in ratios if isinstance(x, float)]
    if len(numeric) == len(ratios):
        eng_ratio = f"{sum(numeric) / len(numeric):.4f}, {max(numeric):.4f}"
    else:
        eng_ratio = ", ".join(sorted({_fmt_ratio(x) for x in ratios if isinstance(x, str)}))
    cells = [
        cr.case.name,
        str(len(p.stops)),
        f"{worst.travel_minutes:.1f}",
        dropped_text(p, worst),
        f"{_median([r.seconds for r in cr.engine]) * 1000:.0f}",
    ]
    for name in ("VROOM", "OR-Tools"):
        peer = cr.peers.get(name)
        if peer is None:
            cells += ["-", "-"] + (["-"] if name == "VROOM" else [])
            continue
        cells += [f"{peer.route.travel_minutes:.1f}", dropped_text(p, peer.route)]
        if name == "VROOM":
            cells.append(f"{peer.seconds * 1000:.0f}")
    top, travel = cr.best_known()
    vroom = cr.peers.get("VROOM")
    cells += [
        f"{travel:.1f}",
        eng_ratio,
        _fmt_ratio(cr.ratio(vroom.route)) if vroom else "-",
    ]
    return "| " + " | ".join(cells) + " |"


BANDS = (("<= 20 stops", 0, 20), ("21-50", 21, 50), ("51-150", 51, 150), ("> 150", 151, 10**9))


def summary(results: list[CaseResult]) -> list[str]:
    lines = [
        "| family | engine/best mean | worst | VROOM/best mean | worst | engine vs VROOM profile (better/equal/worse) | engine runs longer than VROOM at the same profile | engine runs dropping a stop on a day where all fit | engine runs short of the best profile | worst spread over seeds: runs at the best profile, runs at any one profile |",
        "|" + "---|" * 10,
    ]
    for group in dict.fromkeys(r.case.group for r in results):
        rows = [r for r in results if r.case.group == group]
        eng = [x for r in rows for x in r.engine_ratios() if isinstance(x, float)]
        vro = [
            x
            for r in rows
            if "VROOM" in r.peers
            for x in [r.ratio(r.peers["VROOM"].route)]
            if isinstance(x, float)
        ]
        cmp = [0, 0, 0]
        longer = 0
        feasible_drops = 0
        short = 0
        spread = 0.0
        spread_any = 0.0  # among the runs that share any one profile
        for r in rows:
            p = r.case.problem
            top, _ = r.best_known()
            for run in r.engine:
                if "VROOM" in r.peers:
                    vroom = r.peers["VROOM"].route
                    order = priority_cmp(p, run.route, vroom)
                    cmp[1 - order] += 1
                    longer += order == 0 and run.route.travel_minutes > vroom.travel_minutes + 1e-6
                if sum(top) == len(p.stops) and len(run.route.order) < len(p.stops):
                    feasible_drops += 1
            by_profile: dict[tuple[int, ...], list[float]] = {}
            for run in r.engine:
                by_profile.setdefault(profile(p, run.route), []).append(run.route.travel_minutes)
            for key, same in by_profile.items():
                if key != top:  # over-full days: fewer important stops than the best run
                    short += len(same)
                if len(same) > 1 and min(same) > 0:
                    gap = max(same) / min(same) - 1
                    spread_any = max(spread_any, gap)
                    if key == top:
                        spread = max(spread, gap)
        lines.append(
            f"| {group} | {_mean_txt(eng)} | {_max_txt(eng)} | {_mean_txt(vro)} | {_max_txt(vro)} "
            f"| {cmp[0]}/{cmp[1]}/{cmp[2]} | {longer} | {feasible_drops} | {short} "
            f"| {spread * 100:.2f} %, {spread_any * 100:.2f} % |"
        )
    lines += [
        "",
        "| stops | engine CPU ms median | max | engine wall ms median | max "
        "| VROOM CPU ms median | max | VROOM wall ms median |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for label, lo, hi in BANDS:
        rows = [r for r in results if lo <= len(r.case.problem.stops) <= hi]
        if not rows:
            continue
        eng = [run.seconds * 1000 for r in rows for run in r.engine]
        eng_wall = [run.wall * 1000 for r in rows for run in r.engine]
        peers = [r.peers["VROOM"] for r in rows if "VROOM" in r.peers]
        vro = [run.seconds * 1000 for run in peers]
        vro_wall = [run.wall * 1000 for run in peers]
        cells = [label, f"{_median(eng):.0f}", f"{max(eng):.0f}"]
        cells += [f"{_median(eng_wall):.0f}", f"{max(eng_wall):.0f}"]
        if vro:
            cells += [f"{_median(vro):.1f}", f"{max(vro):.0f}", f"{_median(vro_wall):.1f}"]
        else:
            cells += ["-", "-", "-"]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def _mean_txt(xs: list[float]) -> str:
    return f"{sum(xs) / len(xs):.4f}" if xs else "-"


def _max_txt(xs: list[float]) -> str:
    return f"{max(xs):.4f}" if xs else "-"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--ref-seconds",
        type=float,
        default=None,
        help="OR-Tools time limit per case (default 30, 2 with --quick; 0: engine alone)",
    )
    parser.add_argument("--quick", action="store_true", help="2 s reference: a smoke run")
    parser.add_argument("--only", default="", help="run only cases whose name contains this")
    parser.add_argument(
        "--ref-cache",
        type=Path,
        help="JSON file to reuse the peers' answers from (and add new ones to)",
    )
    parser.add_argument(
        "--seeds",
        type=int,
        default=1,
        help="run the engine with seeds 0..N-1; a row shows the worst run, the summary all runs",
    )
    parser.add_argument("--no-vroom", action="store_true", help="leave VROOM out")
    parser.add_argument(
        "--busy",
        action="store_true",
        help="keep one core busy with another process while the engine runs",
    )
    parser.add_argument(
        "--no-wall-cap",
        action="store_true",
        help="let the engine use its whole CPU budget however long the wall clock says "
        "(on a machine shared with other jobs: measures the engine, not the load)",
    )
    parser.add_argument(
        "--short-ref",
        action="store_true",
        help="also run OR-Tools with the engine's own time budget (is it worth calling at runtime?)",
    )
    args = parser.parse_args(argv)
    ref_seconds = args.ref_seconds
    if ref_seconds is None:
        ref_seconds = 2.0 if args.quick else 30.0
    if ref_seconds > 0 and importlib.util.find_spec("ortools") is None:
        parser.error(
            "OR-Tools is not installed: .venv/bin/pip install '.[bench]' "
            "(or --ref-seconds 0 to run the engine alone)"
        )
    vroom = ref_seconds > 0 and not args.no_vroom
    if vroom and importlib.util.find_spec("vroom") is None:
        parser.error(
            "VROOM (pyvroom) is not installed: .venv/bin/pip install '.[bench]' (or --no-vroom)"
        )
    if args.no_wall_cap:
        engine_solver.WALL_FACTOR = math.inf
    cache: dict = {}
    if args.ref_cache and args.ref_cache.exists():
        cache = json.loads(args.ref_cache.read_text())
    cases = [c for c in all_cases() if args.only in c.name]
    print(
        f"# route engine benchmark, {time.strftime('%Y-%m-%d %H:%M')}, {platform.machine()} "
        f"{os.cpu_count()} cores, Python {platform.python_version()}, OR-Tools {ref_seconds:g} s, "
        f"VROOM {'level 5, 1 thread' if vroom else 'off'}, engine seeds {args.seeds}"
        f"{', one core kept busy' if args.busy else ''}"
        f"{', no wall-clock cap' if args.no_wall_cap else ''}, load average "
        f"{' '.join(f'{x:.1f}' for x in os.getloadavg())}"
    )
    if vroom:
        vroom_order(all_cases()[0].problem)  # load the library before timing it
    print(HEADER)
    print(RULE)
    results = []
    for case in cases:
        with busy_core(args.busy):
            engine_runs = run_engine(case, args.seeds)
        peers: dict[str, Run] = {}
        if vroom:
            found = run_peer(case, "VROOM", vroom_order, cache, f"vroom:{case.name}")
            if found is not None:
                peers["VROOM"] = found
        if ref_seconds > 0:
            found = run_peer(
                case,
                "OR-Tools",
                partial(reference_order, seconds=ref_seconds),
                cache,
                f"{case.name}@{ref_seconds:g}",
            )
            if found is not None:
                peers["OR-Tools"] = found
        if args.ref_cache:
            args.ref_cache.write_text(json.dumps(cache))
        result = CaseResult(case, engine_runs, peers)
        results.append(result)
        print(row(result), flush=True)
    print()
    for line in summary(results):
        print(line)
    if args.short_ref:
        print()
        for line in short_reference(results):
            print(line)
    return 0


def short_reference(results: list[CaseResult]) -> list[str]:
    """OR-Tools given the engine's budget, against the engine's seed-0 run."""
    lines = [
        "OR-Tools (GLS) with the engine's default time budget, vs the engine (seed 0):",
        "",
        "| case | stops | budget ms | OR-Tools wall ms | OR-Tools travel | OR-Tools dropped "
        "| engine travel | engine dropped | OR-Tools vs engine |",
        "|" + "---|" * 9,
    ]
    worse = better = 0
    for r in results:
        p = r.case.problem
        budget = default_time_limit(len(p.stops))
        t = time.perf_counter()
        order = reference_order(p, budget)
        wall = time.perf_counter() - t
        quick = evaluate(p, order)
        eng = r.engine[0].route
        cmp = priority_cmp(p, quick, eng) if not quick.violations else -1
        if cmp == 0:
            verdict = (
                f"travel x{quick.travel_minutes / eng.travel_minutes:.4f}"
                if eng.travel_minutes
                else "equal"
            )
        else:
            verdict = "serves more" if cmp > 0 else "SERVES LESS"
        worse += cmp < 0
        better += cmp > 0
        lines.append(
            f"| {r.case.name} | {len(p.stops)} | {budget * 1000:.0f} | {wall * 1000:.0f} "
            f"| {quick.travel_minutes:.1f} | {dropped_text(p, quick)} "
            f"| {eng.travel_minutes:.1f} | {dropped_text(p, eng)} | {verdict} |"
        )
    lines += [
        "",
        f"OR-Tools at the engine's budget serves a worse priority profile in {worse} "
        f"and a better one in {better} of {len(results)} cases.",
    ]
    return lines


if __name__ == "__main__":
    raise SystemExit(main())
