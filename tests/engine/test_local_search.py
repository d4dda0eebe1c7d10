"""The move machinery keeps tours feasible and never lengthens them."""

from __future__ import annotations

import random
import time

import pytest

from routes.engine import evaluate
from routes.engine.compiled import compile_problem, reachable_alone
from routes.engine.insertion import fill
from routes.engine.local_search import descend, exchange, relocate, two_opt
from routes.engine.tour import Tour
from routes.engine.validate import check_problem

from .engine_cases import MODES, random_problem


def random_tour(mode: str, seed: int, tight: bool = False) -> tuple:
    problem = random_problem(35, seed, mode, tight=tight)
    matrix = check_problem(problem)
    c = compile_problem(problem, matrix, reachable_alone(problem, matrix), pinned_head=None)
    if problem.start is None and problem.return_to_start:
        c = compile_problem(
            problem, matrix, reachable_alone(problem, matrix), pinned_head=c.candidates[0]
        )
    tour = Tour(c, [])
    pool = list(c.candidates)
    random.Random(seed).shuffle(pool)
    fill(tour, pool)  # a feasible but poor tour: insertion in random order
    return problem, c, tour


def public_order(c, tour: Tour) -> list[int]:
    return ([c.head] if c.head is not None else []) + tour.route


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("seed", range(3))
def test_each_neighbourhood_keeps_the_tour_feasible_and_never_longer(mode: str, seed: int) -> None:
    problem, c, tour = random_tour(mode, seed, tight=seed % 2 == 0)
    deadline = time.perf_counter() + 5
    for move in (
        lambda: relocate(tour, 1, deadline),
        lambda: relocate(tour, 2, deadline),
        lambda: relocate(tour, 3, deadline),
        lambda: exchange(tour, deadline),
        lambda: two_opt(tour, deadline),
    ):
        before = evaluate(problem, public_order(c, tour))
        served = sorted(tour.route)
        move()
        after = evaluate(problem, public_order(c, tour))
        assert after.violations == 0
        assert sorted(tour.route) == served
        assert after.travel_minutes <= before.travel_minutes + 1e-6
        assert tour.travel == pytest.approx(after.travel_minutes)


@pytest.mark.parametrize("seed", range(3))
def test_descent_shortens_a_random_insertion_tour(seed: int) -> None:
    problem, c, tour = random_tour("depot-return", seed)
    before = tour.travel
    descend(tour, time.perf_counter() + 5)
    assert tour.travel < before
    assert evaluate(problem, public_order(c, tour)).violations == 0


def test_the_tour_arrays_match_evaluate() -> None:
    problem, c, tour = random_tour("depot-return", 11)
    route = evaluate(problem, public_order(c, tour))
    assert tour.travel == pytest.approx(route.travel_minutes)
    assert tour.start[1 : 1 + len(route.visits)] == pytest.approx([v.start for v in route.visits])
