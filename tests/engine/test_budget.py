"""The time budget: what the clock may and may not cut, and when the search stops by itself."""

from __future__ import annotations

import time

import pytest

from routes.engine import evaluate, solve
from routes.engine.budget import default_time_limit

from .engine_cases import planted_day, random_problem


@pytest.mark.parametrize("seed", range(4))
def test_it_never_drops_a_stop_on_a_feasible_day_under_a_tiny_budget(seed: int) -> None:
    # A zero budget still lets construction and the first full descent finish, and
    # those alone fit every stop of a day with a quarter of it to spare.
    problem = planted_day(120, seed)
    route = solve(problem, time_limit=0.0, seed=seed)
    assert len(route.order) == len(problem.stops)
    assert route.violations == 0 and evaluate(problem, route.order).violations == 0


@pytest.mark.parametrize("seed", range(2))
def test_it_fits_every_stop_of_a_tight_feasible_day(seed: int) -> None:
    # A tenth of the day to spare around a nearest-neighbour tour: the first descent
    # may leave a few out, the search must find room for them. (A second of CPU, not
    # the default budget, so that a loaded test machine's wall-clock cap cannot bite.)
    problem = planted_day(80, 10 + seed, spare=0.1)
    route = solve(problem, seed=seed, time_limit=1.0)
    assert len(route.order) == len(problem.stops)
    assert route.violations == 0


def test_a_small_day_stops_when_the_search_stagnates_instead_of_using_its_budget() -> None:
    problem = random_problem(12, 4, "depot-return")
    began = time.perf_counter()
    generous = solve(problem, time_limit=20.0, seed=1)
    assert time.perf_counter() - began < 2.0  # stagnation, not the 20 s limit, ended it
    assert generous.travel_minutes <= solve(problem, seed=1).travel_minutes + 1e-6


def test_the_default_budget_fits_the_product_targets() -> None:
    assert default_time_limit(20) <= 0.1
    assert default_time_limit(150) <= 1.0
    assert default_time_limit(250) <= 2.0
    assert default_time_limit(1000) == default_time_limit(250)  # flat beyond the last point
