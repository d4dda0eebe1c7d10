"""solve(): feasibility, the priority rule, skip reasons and the objective."""

from __future__ import annotations

import math
import random
from dataclasses import replace

import pytest

from routes.engine import NO_TIME, UNREACHABLE, Problem, Route, Stop, evaluate, solve
from routes.engine.budget import now
from routes.engine.compiled import compile_problem, reachable_alone
from routes.engine.ils import INF, LONG_OVER_FULL, SHORT_OVER_FULL, Search, Solution, patience
from routes.engine.insertion import fill
from routes.engine.solver import (
    OVER_FULL_ON_FROM,
    OVER_FULL_RUNS,
    RESTART_FROM,
    ROOM_SHARE,
    _construct,
    _makes_room,
    _room_then_travel,
    _runs,
    _search_again,
)
from routes.engine.tour import Tour
from routes.engine.validate import check_problem

from .engine_cases import MODES, line_problem, new_search, planted_day, random_problem
from .oracle import best_plan


def served_by_rank(problem: Problem, route: Route) -> tuple[int, ...]:
    levels = sorted({s.rank for s in problem.stops})
    return tuple(sum(1 for i in route.order if problem.stops[i].rank == r) for r in levels)


def assert_consistent(problem: Problem, route: Route) -> None:
    """Every stop is either visited once or skipped once, and evaluate() agrees on the timing."""
    assert route.violations == 0
    assert len(set(route.order)) == len(route.order)
    assert sorted(route.order + tuple(s.stop for s in route.skipped)) == list(
        range(len(problem.stops))
    )
    check = evaluate(problem, route.order)
    assert check.violations == 0
    assert check.visits == route.visits
    assert check.travel_minutes == pytest.approx(route.travel_minutes)
    assert check.end_time == pytest.approx(route.end_time)
    assert route.end_time <= problem.day_end + 1e-6
    for visit in route.visits:
        stop = problem.stops[visit.stop]
        assert stop.open - 1e-9 <= visit.start <= stop.close + 1e-6
        assert visit.start >= problem.day_start - 1e-9


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("seed", range(4))
def test_solve_returns_a_route_that_evaluate_finds_feasible(mode: str, seed: int) -> None:
    problem = random_problem(40, seed, mode, tight=seed % 2 == 1)
    route = solve(problem, time_limit=0.05, seed=seed)
    assert_consistent(problem, route)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("seed", range(3))
def test_on_tiny_days_it_finds_the_exhaustive_optimum(mode: str, seed: int) -> None:
    problem = random_problem(7, 100 + seed, mode)
    # Shrink the day so that some stops must be dropped.
    problem = Problem(
        problem.stops, problem.travel, 0.0, 150.0, problem.start, problem.return_to_start
    )
    served, travel, _ = best_plan(problem)
    route = solve(problem, time_limit=0.05, seed=seed)
    assert_consistent(problem, route)
    assert served_by_rank(problem, route) == served
    assert route.travel_minutes == pytest.approx(travel, abs=1e-6)


def test_it_never_drops_a_high_priority_stop_to_keep_a_low_one() -> None:
    # One rank-0 stop far from four rank-3 stops: the day holds the rank-0 stop alone,
    # or all four rank-3 stops, never both kinds.
    problem = line_problem(
        [0, 85, 86, 87, 88],
        [(0, 100)] * 5,
        ranks=[0, 3, 3, 3, 3],
        day=(0, 100),
    )
    route = solve(problem, time_limit=0.05)
    assert route.order == (0,)
    assert {s.stop: s.reason for s in route.skipped} == {
        1: NO_TIME,
        2: NO_TIME,
        3: NO_TIME,
        4: NO_TIME,
    }


def test_it_keeps_two_medium_stops_rather_than_one_low_and_one_medium() -> None:
    # Three stops at one place, 25-minute visits, a 60-minute day: only two fit.
    problem = line_problem([0, 0, 0], [(0, 60)] * 3, service=25, ranks=[2, 1, 1], day=(0, 60))
    route = solve(problem, time_limit=0.05)
    assert sorted(route.order) == [1, 2]
    assert route.skipped[0].stop == 0 and route.skipped[0].reason == NO_TIME


def test_with_equal_ranks_it_serves_as_many_stops_as_fit() -> None:
    # The first stop alone would eat the day (long visit); three short ones fit together.
    problem = Problem(
        (
            Stop("long", 0, 100, 90, 1),
            Stop("a", 0, 100, 20, 1),
            Stop("b", 0, 100, 20, 1),
            Stop("c", 0, 100, 20, 1),
        ),
        [[0, 5, 5, 5], [5, 0, 5, 5], [5, 5, 0, 5], [5, 5, 5, 0]],
        0,
        100,
    )
    route = solve(problem, time_limit=0.05)
    assert sorted(route.order) == [1, 2, 3]


def test_it_explains_unreachable_and_no_time_stops() -> None:
    stops = (
        Stop("closed-before-day", 0, 30, 10, 0),  # window ends before the day starts
        Stop("opens-after-day", 700, 800, 10, 0),  # window starts after the day ends
        Stop("too-long", 100, 500, 500, 0),  # the visit itself outlasts the day
        Stop("far", 100, 500, 10, 0),  # cannot get there and back from the depot in time
        Stop("ok-a", 100, 120, 50, 1),
        Stop("ok-b", 100, 120, 50, 1),  # same window, same place as ok-a: only one fits
    )
    # Travel: depot (index 6) is 5 minutes from everything except "far" (400 each way).
    size = len(stops) + 1
    travel = [[0.0 if i == j else 5.0 for j in range(size)] for i in range(size)]
    travel[6][3] = travel[3][6] = 400.0
    problem = Problem(stops, travel, 60, 600, start=6, return_to_start=True)
    route = solve(problem, time_limit=0.05)
    reasons = {s.stop: s.reason for s in route.skipped}
    assert reasons[0] == reasons[1] == reasons[2] == reasons[3] == UNREACHABLE
    assert len(route.order) == 1 and route.order[0] in (4, 5)
    assert reasons[9 - route.order[0]] == NO_TIME


def test_an_empty_day_is_an_empty_route() -> None:
    route = solve(Problem((), [], 540, 1080))
    assert route.order == () and route.skipped == () and route.violations == 0
    assert route.end_time == 540


def test_it_prefers_the_shorter_of_two_feasible_tours() -> None:
    # On a line the only sensible tour from the depot sweeps out and back.
    problem = line_problem([10, 20, 30, 40], [(0, 1000)] * 4, depot=0, back=True)
    route = solve(problem, time_limit=0.05)
    assert route.travel_minutes == pytest.approx(80)
    assert route.order in ((0, 1, 2, 3), (3, 2, 1, 0))


def test_rejects_a_malformed_problem() -> None:
    stops = (Stop("a", 0, 10, 1, 0), Stop("b", 0, 10, 1, 0))
    with pytest.raises(ValueError):
        solve(Problem(stops, [[0, 1]], 0, 100))  # wrong matrix size
    with pytest.raises(ValueError):
        solve(Problem(stops, [[0, 1], [1, 0]], 0, 100, start=2))  # depot without its row
    with pytest.raises(ValueError):
        solve(Problem(stops, [[0, -1], [1, 0]], 0, 100))  # negative travel


def test_a_day_that_holds_all_of_200_stops_serves_them_all_quickly() -> None:
    import math
    import random
    import time

    rng = random.Random(5)
    pts = [(rng.uniform(0, 20), rng.uniform(0, 20)) for _ in range(200)]
    travel = [[math.dist(a, b) for b in pts] for a in pts]
    stops = tuple(Stop(f"s{i}", 0, 2000, 1, rng.randrange(4)) for i in range(200))
    problem = Problem(stops, travel, 0, 2000)
    began = time.perf_counter()
    route = solve(problem, time_limit=0.3)
    assert time.perf_counter() - began < 2.0  # budget plus construction, with slack for slow CI
    assert len(route.order) == 200
    assert_consistent(problem, route)


def test_an_iteration_cap_makes_the_search_reproducible() -> None:
    problem = random_problem(40, 3, "depot-return")
    first = solve(problem, time_limit=30, max_iterations=40, seed=7)
    again = solve(problem, time_limit=30, max_iterations=40, seed=7)
    assert first == again


def test_a_day_that_ends_before_it_starts_serves_nothing_and_breaks_nothing() -> None:
    problem = Problem((Stop("a", 0, 1000, 10, 0),), [[0.0]], 600, 500)
    route = solve(problem, time_limit=0.05)
    assert route.order == () and route.violations == 0
    assert [(s.stop, s.reason) for s in route.skipped] == [(0, UNREACHABLE)]


def descended_start(problem: Problem, by_rank: bool) -> tuple[int, float]:
    """Prize and travel of one of the solver's two starts after the first descent."""
    matrix = check_problem(problem)
    c = compile_problem(problem, matrix, reachable_alone(problem, matrix))
    search = Search(c, random.Random(0))
    if by_rank:
        tour = _construct(c, None)
    else:
        tour = Tour(c, [])
        fill(tour, c.candidates, parallel=True, key=c.close.__getitem__, by_rank=False)
    search.polish(tour, float("inf"))
    return tour.prize(), tour.travel


# Seed 1: the start by distance serves one stop fewer, so the rank-by-rank one is kept;
# seed 3: both serve every stop and the start by distance is 10 % shorter.
@pytest.mark.parametrize("seed", [1, 3])
def test_a_long_day_that_fits_starts_from_the_better_of_two_constructions(seed: int) -> None:
    # Rank by rank (the important stops placed first), and every rank in one pool by
    # distance alone: both descended, the better kept (priorities first, then travel).
    # No iteration after that here.
    problem = planted_day(120, seed)
    starts = [descended_start(problem, by_rank) for by_rank in (True, False)]
    assert abs(starts[0][1] - starts[1][1]) > 1.0  # the choice matters on these days
    _, travel = max(starts, key=lambda start: (start[0], -start[1]))

    route = solve(problem, seed=0, time_limit=30.0, max_iterations=0)

    assert route.travel_minutes == pytest.approx(travel)


def test_a_long_day_whose_search_stagnates_early_searches_again_and_keeps_the_best() -> None:
    problem = planted_day(RESTART_FROM, 1)
    search, start = new_search(problem)
    search.polish(start, float("inf"))
    first = search.run(start.route, now() + 60)  # stagnates long before a minute
    ran = search.iterations

    found = _search_again(search, start.route, first, now() + 0.3, None, float("inf"))

    assert search.iterations > ran  # it searched again, until the budget ended
    assert not first.better_than(found)  # and kept the best of the runs


def test_a_run_that_found_a_better_route_hands_it_to_the_next_one() -> None:
    # Until the budget ends: after a run that found a better route the next goes on from it,
    # after one that found nothing the next starts from the start again.
    problem = random_problem(RESTART_FROM, 7, "free", tight=True)  # over-full
    search, start = new_search(problem)
    search.polish(start, float("inf"))
    first = search.run(start.route, now() + 60)
    cap = search.iterations + 3000  # reproducible: no clock decides where the runs end
    runs: list[tuple[list[int], Solution]] = []
    run = search.run

    def recorded(route: list[int], *args: object) -> Solution:  # a spy: the runs are real
        runs.append((route, run(route, *args)))
        return runs[-1][1]

    search.run = recorded  # type: ignore[method-assign]
    found = _search_again(search, start.route, first, now() + 60, cap, float("inf"))

    best, expected, handed = first, first.route, 0
    for origin, result in runs:
        assert origin == expected
        if result.better_than(best):
            best, expected, handed = result, result.route, handed + 1
        else:
            expected = start.route
    assert handed and len(runs) > handed + 1  # both cases happened
    assert found == best


def test_an_over_full_day_with_many_candidates_waits_as_long_as_its_tour_asks() -> None:
    # 80 candidates, a tour of about 16 stops: patience counted by the tour, not the list.
    problem = random_problem(RESTART_FROM, 2, "free", tight=True)
    search, start = new_search(problem)
    search.polish(start, float("inf"))

    found = search.run(start.route, now() + 60)

    last_gain = search.trace[-1][0] if search.trace else 0
    waited = search.iterations - last_gain
    assert len(found.route) < RESTART_FROM // 2
    assert waited == patience(last_gain, len(found.route), LONG_OVER_FULL)
    assert waited < patience(last_gain, RESTART_FROM, LONG_OVER_FULL)


def test_a_smaller_over_full_day_makes_short_runs() -> None:
    problem = random_problem(16, 4, "depot", tight=True)
    search, start = new_search(problem)
    search.polish(start, float("inf"))

    found = search.run(start.route, now() + 60)

    last_gain = search.trace[-1][0] if search.trace else 0
    stops = len(search.c.candidates)
    assert len(found.route) < stops  # over-full
    assert search.iterations - last_gain == patience(last_gain, stops, SHORT_OVER_FULL)
    assert search.iterations - last_gain < patience(last_gain, stops)


def test_searching_again_respects_an_iteration_cap() -> None:
    problem = planted_day(RESTART_FROM, 2)
    search, start = new_search(problem)
    first = search.run(start.route, now() + 60, max_iterations=5)

    found = _search_again(search, start.route, first, now() + 60, 5, float("inf"))

    assert search.iterations == 5
    assert found is first


def test_searching_again_stops_after_the_runs_it_is_given() -> None:
    # An over-full day of fewer than RESTART_FROM stops gets OVER_FULL_RUNS runs, not the
    # whole budget.
    problem = random_problem(16, 4, "depot", tight=True)
    search, start = new_search(problem)
    first = search.run(start.route, now() + 60)
    ran = search.iterations

    assert _search_again(search, start.route, first, now() + 60, None, float("inf"), 1) is first
    assert search.iterations == ran

    began = now()
    _search_again(search, start.route, first, now() + 60, None, float("inf"), 2)
    assert search.iterations > ran  # one more run ...
    assert now() - began < 10  # ... which stagnated, not the minute it was allowed


def test_a_search_that_stagnates_starts_again_by_the_size_of_its_day() -> None:
    def runs_for(problem: Problem) -> tuple[int, bool, int | None]:
        search, start = new_search(problem)
        search.polish(start, float("inf"))
        n = len(search.c.candidates)
        return n, len(start.route) < n, _runs(search.c, search.snapshot(start))

    # A smaller day where everything fits settles in one run.
    assert runs_for(planted_day(OVER_FULL_ON_FROM, 1)) == (OVER_FULL_ON_FROM, False, 1)
    # A small over-full day makes a few short runs ...
    n, over_full, runs = runs_for(random_problem(20, 4, "depot", tight=True))
    assert (over_full, runs) == (True, OVER_FULL_RUNS) and n < OVER_FULL_ON_FROM
    # ... from OVER_FULL_ON_FROM candidates it searches until its budget ends ...
    n, over_full, runs = runs_for(random_problem(60, 2001, "depot-return", tight=True))
    assert (over_full, runs) == (True, None) and OVER_FULL_ON_FROM <= n < RESTART_FROM
    # ... as every day of RESTART_FROM candidates or more does, over-full or not.
    assert runs_for(planted_day(RESTART_FROM, 2))[1:] == (False, None)


def test_only_a_long_over_full_day_with_visits_of_different_lengths_makes_room_first() -> None:
    over_full = random_problem(RESTART_FROM, 7, "free", tight=True)  # visits of 5-20 minutes
    one_length = replace(over_full, stops=tuple(replace(s, service=10.0) for s in over_full.stops))
    for problem, expected in (
        (over_full, True),
        (one_length, False),
        (planted_day(RESTART_FROM, 1), False),
    ):
        search, start = new_search(problem)
        search.polish(start, float("inf"))
        assert _makes_room(search.c, start) is expected


def test_a_long_over_full_day_makes_room_first_then_shortens_travel() -> None:
    problem = random_problem(RESTART_FROM, 7, "free", tight=True)
    search, start = new_search(problem)
    search.polish(start, float("inf"))
    switches: list[tuple[bool, int]] = []
    switch = search.seek_room

    def recorded(on: bool) -> None:  # a spy: the switch is real
        switches.append((on, search.iterations))
        switch(on)

    search.seek_room = recorded  # type: ignore[method-assign]
    found = _room_then_travel(search, start.route, INF, INF, 400, INF)  # capped: reproducible

    assert [on for on, _ in switches] == [True, False]
    assert switches[1][1] == math.ceil(ROOM_SHARE * 400)  # room for its share of the search
    assert search.iterations == 400  # and travel for the rest
    assert found.tie == found.travel  # the answer is chosen by travel
    assert not search.shortest.better_than(found)  # type: ignore[union-attr]


def test_an_iteration_cap_makes_a_search_that_makes_room_reproducible() -> None:
    problem = random_problem(RESTART_FROM, 7, "free", tight=True)
    first = solve(problem, time_limit=60, max_iterations=300, seed=3)
    again = solve(problem, time_limit=60, max_iterations=300, seed=3)
    assert first == again
