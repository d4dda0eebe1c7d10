"""improve(): repair a proposed order, fill it up, then optimise like solve()."""

from __future__ import annotations

import random

import pytest

from routes.engine import NO_TIME, Problem, evaluate, improve, solve

from .engine_cases import line_problem, random_problem
from .oracle import best_plan


def test_improve_repairs_an_infeasible_order() -> None:
    # Proposed order visits the morning-only stop last, which would be late.
    problem = line_problem([0, 10, 20], [(0, 500), (0, 500), (0, 30)], day=(0, 500))
    proposal = [0, 1, 2]
    assert evaluate(problem, proposal).violations > 0
    route = improve(problem, proposal, time_limit=0.05)
    assert route.violations == 0 and evaluate(problem, route.order).violations == 0
    assert sorted(route.order) == [0, 1, 2]


def test_improve_inserts_missing_stops() -> None:
    problem = line_problem([0, 10, 20, 30], [(0, 500)] * 4)
    route = improve(problem, [3], time_limit=0.05)
    assert sorted(route.order) == [0, 1, 2, 3] and route.skipped == ()


def test_improve_ignores_repeated_stops() -> None:
    problem = line_problem([0, 10, 20], [(0, 500)] * 3)
    route = improve(problem, [2, 1, 2, 1, 0, 2], time_limit=0.05)
    assert sorted(route.order) == [0, 1, 2]


def test_improve_drops_by_the_priority_rule() -> None:
    # The day holds one of the two stops; the proposal puts the less important one first.
    problem = line_problem([0, 0], [(0, 60)] * 2, service=40, ranks=[1, 0], day=(0, 60))
    route = improve(problem, [0, 1], time_limit=0.05)
    assert route.order == (1,)
    assert [(s.stop, s.reason) for s in route.skipped] == [(0, NO_TIME)]


def profile(problem, route) -> tuple[int, ...]:
    return tuple(sum(1 for i in route.order if problem.stops[i].rank == r) for r in range(4))


@pytest.mark.parametrize("seed", range(3))
def test_improve_never_returns_worse_than_a_feasible_proposal(seed: int) -> None:
    problem = random_problem(30, seed, "depot-return")
    proposal = list(solve(problem, time_limit=0.01, seed=seed).order)
    given = evaluate(problem, proposal)
    assert given.violations == 0
    route = improve(problem, proposal, time_limit=0.05, seed=seed)
    assert profile(problem, route) >= profile(problem, given)
    if profile(problem, route) == profile(problem, given):
        assert route.travel_minutes <= given.travel_minutes + 1e-6


def test_improve_rejects_unknown_stops() -> None:
    problem = line_problem([0, 10], [(0, 500)] * 2)
    with pytest.raises(ValueError):
        improve(problem, [5])


@pytest.mark.parametrize("seed", range(4))
def test_improve_finds_the_exhaustive_optimum_from_a_shuffled_order_on_tiny_days(seed: int) -> None:
    problem = random_problem(7, 200 + seed, "depot-return")
    problem = Problem(problem.stops, problem.travel, 0.0, 150.0, problem.start, True)
    served, travel, _ = best_plan(problem)
    order = list(range(7))
    random.Random(seed).shuffle(order)
    route = improve(problem, order, time_limit=0.05, seed=seed)
    assert route.violations == 0
    levels = sorted({s.rank for s in problem.stops})
    assert (
        tuple(sum(1 for i in route.order if problem.stops[i].rank == r) for r in levels) == served
    )
    assert route.travel_minutes == pytest.approx(travel, abs=1e-6)
