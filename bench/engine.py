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
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from routes.engine import Problem, Route, Stop, default_time_limit, evaluate, solve  # noqa: E402
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


def all_cases() -> list[Case]:
    tsptw = [tsptw_case(TSPTW_DIR / f"{name}.txt") for name in TSPTW_OPTIMUM]
    return tsptw + sample_cases() + synthetic_cases()


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


# ---------------------------------------------------------------- scoring


def served_by_rank(problem: Problem, route: Route) -> dict[int, int]:
    counts = {r: 0 for r in sorted({s.rank for s in problem.stops})}
    for i in route.order:
        counts[problem.stops[i].rank] += 1
    return counts


def dropped_text(problem: Problem, route: Route) -> str:
    served = served_by_rank(problem, route)
    total = {r: sum(1 for s in problem.stops if s.rank == r) for r in served}
    if len(total) == 1:
        return str(sum(total.values()) - sum(served.values()))
    return "/".join(str(total[r] - served[r]) for r in sorted(total))


def priority_cmp(problem: Problem, a: Route, b: Route) -> int:
    """+1 if ``a`` serves a better priority profile than ``b``, -1 if worse, 0 if equal."""
    sa, sb = served_by_rank(problem, a), served_by_rank(problem, b)
    va = [sa[r] for r in sorted(sa)]
    vb = [sb[r] for r in sorted(sb)]
    return (va > vb) - (va < vb)


@dataclass
class Result:
    case: Case
    engine: Route
    seconds: float
    reference: Route | None
    ref_seconds: float

    @property
    def cmp(self) -> int:
        return (
            0
            if self.reference is None
            else priority_cmp(self.case.problem, self.engine, self.reference)
        )

    @property
    def ratio(self) -> float | None:
        ref = self.reference
        if ref is None or self.cmp != 0 or ref.violations:
            return None
        if ref.travel_minutes == 0:
            return 1.0 if self.engine.travel_minutes == 0 else None
        return self.engine.travel_minutes / ref.travel_minutes


def run_case(
    case: Case,
    ref_seconds: float,
    engine: Callable[[Problem], Route],
    cache: dict[str, list[int]] | None = None,
) -> Result:
    t = time.perf_counter()
    route = engine(case.problem)
    seconds = time.perf_counter() - t
    check = evaluate(case.problem, route.order)
    assert check.violations == route.violations, "engine route disagrees with evaluate()"
    reference = None
    ref_time = 0.0
    if ref_seconds > 0:
        key = f"{case.name}@{ref_seconds:g}"
        t = time.perf_counter()
        if cache is not None and key in cache:
            order = cache[key]
        else:
            order = reference_order(case.problem, ref_seconds)
            if cache is not None:
                cache[key] = order
        ref_time = time.perf_counter() - t
        reference = evaluate(case.problem, order)
    return Result(case, route, seconds, reference, ref_time)


HEADER = (
    "| case | stops | engine travel | viol | dropped | engine ms | ref travel | ref viol | ref dropped "
    "| engine/ref | optimum | engine/opt |"
)
RULE = "|" + "---|" * 12


def row(r: Result) -> str:
    p = r.case.problem
    ref = r.reference
    cells = [
        r.case.name,
        str(len(p.stops)),
        f"{r.engine.travel_minutes:.1f}",
        str(r.engine.violations),
        dropped_text(p, r.engine),
        f"{r.seconds * 1000:.0f}",
    ]
    if ref is None:
        cells += ["-", "-", "-", "-"]
    else:
        ratio = r.ratio
        if ratio is not None:
            ratio_txt = f"{ratio:.4f}"
        else:
            ratio_txt = {1: "serves more", -1: "SERVES LESS", 0: "ref infeasible"}[r.cmp]
        cells += [f"{ref.travel_minutes:.1f}", str(ref.violations), dropped_text(p, ref), ratio_txt]
    opt = r.case.optimum
    cells += [f"{opt:g}", f"{r.engine.travel_minutes / opt:.4f}"] if opt else ["-", "-"]
    return "| " + " | ".join(cells) + " |"


def summary(results: list[Result]) -> list[str]:
    lines = []
    ratios = [r.ratio for r in results if r.ratio is not None]
    if ratios:
        lines.append(
            f"engine/reference travel over {len(ratios)} comparable runs (same priority profile): "
            f"mean {sum(ratios) / len(ratios):.4f}, worst {max(ratios):.4f}, best {min(ratios):.4f}"
        )
    with_ref = [r for r in results if r.reference is not None]
    if with_ref:
        more = sum(1 for r in with_ref if r.cmp > 0)
        less = sum(1 for r in with_ref if r.cmp < 0)
        worse_viol = sum(1 for r in with_ref if r.engine.violations > r.reference.violations)
        lines.append(
            f"priority profile vs reference over {len(with_ref)} engine runs: {more} better, "
            f"{len(with_ref) - more - less} equal, {less} worse; "
            f"runs with more violations than the reference: {worse_viol}"
        )
    opt = [r.engine.travel_minutes / r.case.optimum for r in results if r.case.optimum]
    if opt:
        lines.append(
            f"engine/published optimum (TSPTW): mean {sum(opt) / len(opt):.4f}, worst {max(opt):.4f}"
        )
    for label, lo, hi in (
        ("<= 20 stops", 0, 20),
        ("21-50 stops", 21, 50),
        ("51-150 stops", 51, 150),
        ("> 150 stops", 151, 10**9),
    ):
        times = [r.seconds for r in results if lo <= len(r.case.problem.stops) <= hi]
        if times:
            lines.append(
                f"engine wall time, {label}: max {max(times) * 1000:.0f} ms, mean {sum(times) / len(times) * 1000:.0f} ms"
            )
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--ref-seconds", type=float, default=30.0, help="OR-Tools time limit per case (0: skip)"
    )
    parser.add_argument("--quick", action="store_true", help="2 s reference: a smoke run")
    parser.add_argument("--only", default="", help="run only cases whose name contains this")
    parser.add_argument(
        "--ref-cache",
        type=Path,
        help="JSON file to reuse reference orders from (and add new ones to)",
    )
    parser.add_argument(
        "--seeds",
        type=int,
        default=1,
        help="run the engine with seeds 0..N-1; a row shows the worst run, the summary all runs",
    )
    parser.add_argument(
        "--short-ref",
        action="store_true",
        help="also run OR-Tools with the engine's own time budget (is it worth calling at runtime?)",
    )
    args = parser.parse_args(argv)
    if args.ref_seconds > 0 and importlib.util.find_spec("ortools") is None:
        parser.error(
            "OR-Tools is not installed: .venv/bin/pip install '.[bench]' "
            "(or --ref-seconds 0 to run the engine alone)"
        )
    cache: dict[str, list[int]] = {}
    if args.ref_cache and args.ref_cache.exists():
        cache = json.loads(args.ref_cache.read_text())
    ref_seconds = 2.0 if args.quick else args.ref_seconds
    cases = [c for c in all_cases() if args.only in c.name]
    print(
        f"# route engine benchmark, {time.strftime('%Y-%m-%d %H:%M')}, {platform.machine()} "
        f"{os.cpu_count()} cores, Python {platform.python_version()}, reference {ref_seconds:g} s, "
        f"engine seeds {args.seeds}"
    )
    print(HEADER)
    print(RULE)
    results = []
    for case in cases:
        runs = []
        for seed in range(max(1, args.seeds)):
            runs.append(run_case(case, ref_seconds, partial(solve, seed=seed), cache))
            if args.ref_cache:
                args.ref_cache.write_text(json.dumps(cache))
        results += runs
        print(row(min(runs, key=badness_order)), flush=True)
    print()
    for line in summary(results):
        print(line)
    if args.short_ref:
        print()
        for line in short_reference(cases, results):
            print(line)
    return 0


def short_reference(cases: list[Case], results: list[Result]) -> list[str]:
    """OR-Tools given the engine's budget, against the engine's seed-0 run."""
    lines = [
        "OR-Tools (GLS) with the engine's default time budget, vs the engine (seed 0):",
        "",
        "| case | stops | budget ms | OR-Tools wall ms | OR-Tools travel | OR-Tools dropped "
        "| engine travel | engine dropped | OR-Tools vs engine |",
        "|" + "---|" * 9,
    ]
    first = {}
    for r in results:
        first.setdefault(r.case.name, r)
    worse = better = 0
    for case in cases:
        p = case.problem
        budget = default_time_limit(len(p.stops))
        t = time.perf_counter()
        order = reference_order(p, budget)
        wall = time.perf_counter() - t
        quick = evaluate(p, order)
        eng = first[case.name].engine
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
            f"| {case.name} | {len(p.stops)} | {budget * 1000:.0f} | {wall * 1000:.0f} "
            f"| {quick.travel_minutes:.1f} | {dropped_text(p, quick)} "
            f"| {eng.travel_minutes:.1f} | {dropped_text(p, eng)} | {verdict} |"
        )
    lines += [
        "",
        f"OR-Tools at the engine's budget serves a worse priority profile in {worse} "
        f"and a better one in {better} of {len(cases)} cases.",
    ]
    return lines


def badness_order(r: Result) -> tuple:
    """Sort key putting the worst run first: worse priority profile, then longer travel."""
    return (r.cmp, -(r.ratio or 0.0), -r.engine.travel_minutes)


if __name__ == "__main__":
    raise SystemExit(main())
