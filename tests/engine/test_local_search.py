"""The move machinery keeps tours feasible and never lengthens them."""

from __future__ import annotations

import random

import pytest

from routes.engine import evaluate
from routes.engine.budget import now
from routes.engine.compiled import compile_problem, reachable_alone
from routes.engine.ils import timed_neighbours
from routes.engine.insertion import fill
from routes.engine.local_search import (
    descend,
    exchange,
    exchange_near,
    relocate,
    relocate_near,
    shift_stretch,
    two_opt,
    two_opt_near,
)
from routes.engine.tour import Tour
from routes.engine.validate import check_problem

from .engine_cases import MODES, line_problem, planted_day, random_problem


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
    deadline = now() + 5
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


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("seed", range(3))
def test_the_neighbour_list_moves_keep_the_tour_feasible_and_never_longer(
    mode: str, seed: int
) -> None:
    problem, c, tour = random_tour(mode, seed, tight=seed % 2 == 0)
    near = timed_neighbours(c, count=8)
    deadline = now() + 5
    for move in (
        lambda: relocate_near(tour, 1, deadline, near),
        lambda: relocate_near(tour, 2, deadline, near),
        lambda: relocate_near(tour, 3, deadline, near),
        # whole stretches (LONG_STRETCHES), forwards or reversed
        lambda: relocate_near(tour, 5, deadline, near),
        lambda: relocate_near(tour, 8, deadline, near),
        lambda: exchange_near(tour, deadline, near),
        lambda: two_opt_near(tour, deadline, near),
    ):
        before = evaluate(problem, public_order(c, tour))
        served = sorted(tour.route)
        move()
        after = evaluate(problem, public_order(c, tour))
        assert after.violations == 0
        assert sorted(tour.route) == served
        assert after.travel_minutes <= before.travel_minutes + 1e-6
        assert tour.travel == pytest.approx(after.travel_minutes)


@pytest.mark.parametrize("seed", range(4))
def test_a_shifted_stretch_moves_whole_and_keeps_the_tour_feasible(seed: int) -> None:
    # The search's perturbation for long days that fit: the stretch lands elsewhere in
    # one piece, forwards or reversed, even when that makes the route longer.
    problem = planted_day(60, seed, spare=0.5)
    matrix = check_problem(problem)
    c = compile_problem(problem, matrix, reachable_alone(problem, matrix))
    tour = Tour(c, [])
    fill(tour, list(c.candidates), by_shift=True)
    near = timed_neighbours(c)
    rng = random.Random(seed)
    shifted = 0
    for _ in range(20):
        length = rng.randint(3, 10)
        i = rng.randint(1, len(tour.route) - length + 1)
        stretch = tour.seq[i : i + length]
        moved = shift_stretch(tour, i, length, near)
        if moved is None:
            continue
        shifted += 1
        assert moved != tour.route and sorted(moved) == sorted(tour.route)
        at = min(moved.index(u) for u in stretch)
        assert moved[at : at + length] in (stretch, stretch[::-1])
        assert evaluate(problem, moved).violations == 0
        tour.set(moved)
    assert shifted >= 5


@pytest.mark.parametrize("seed", range(3))
def test_neighbour_list_descent_shortens_a_random_insertion_tour(seed: int) -> None:
    problem, c, tour = random_tour("depot-return", seed)
    before = tour.travel
    descend(tour, now() + 5, near=timed_neighbours(c))
    assert tour.travel < before
    assert evaluate(problem, public_order(c, tour)).violations == 0


def test_time_aware_neighbours_leave_out_stops_that_can_never_follow_each_other() -> None:
    # Stops 0 and 1 both open 0-10 with 50-minute visits: neither can follow the other.
    # Stop 2 (all day) is farther away, but it is the only stop either can sit next to.
    problem = line_problem([0, 1, 5], [(0, 10), (0, 10), (0, 500)], service=50)
    matrix = check_problem(problem)
    c = compile_problem(problem, matrix, reachable_alone(problem, matrix))
    near = timed_neighbours(c)
    assert near[0] == [2] and near[1] == [2]
    assert near[2] == [1, 0]  # nearest first


@pytest.mark.parametrize("seed", range(3))
def test_descent_shortens_a_random_insertion_tour(seed: int) -> None:
    problem, c, tour = random_tour("depot-return", seed)
    before = tour.travel
    descend(tour, now() + 5)
    assert tour.travel < before
    assert evaluate(problem, public_order(c, tour)).violations == 0


def test_the_tour_arrays_match_evaluate() -> None:
    problem, c, tour = random_tour("depot-return", 11)
    route = evaluate(problem, public_order(c, tour))
    assert tour.travel == pytest.approx(route.travel_minutes)
    assert tour.start[1 : 1 + len(route.visits)] == pytest.approx([v.start for v in route.visits])


@pytest.mark.parametrize("mode", MODES)
def test_inserting_a_stop_updates_the_arrays_exactly_as_a_rebuild_would(mode: str) -> None:
    problem, c, full = random_tour(mode, 5)
    tour = Tour(c, full.route[::2])
    rng = random.Random(5)
    left = full.route[1::2]
    assert left
    for u in left:
        p = rng.randrange(len(tour.seq) - 1)
        tour.insert(u, p)
        rebuilt = Tour(c, tour.route)
        assert tour.seq == rebuilt.seq and tour.pos == rebuilt.pos
        assert tour.start == pytest.approx(rebuilt.start)
        assert tour.dep == pytest.approx(rebuilt.dep)
        assert tour.latest == pytest.approx(rebuilt.latest)
        assert tour.fwd == pytest.approx(rebuilt.fwd)
        assert tour.bwd == pytest.approx(rebuilt.bwd)
        assert tour.room == pytest.approx(rebuilt.room)
