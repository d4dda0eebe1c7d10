"""Changing which stops a full day serves: swaps in place and elsewhere, and the search's
escape from a basin that only such a swap leaves."""

from __future__ import annotations

import random

from routes.engine.compiled import compile_problem, reachable_alone
from routes.engine.ils import INF, Search
from routes.engine.insertion import substitute, swap_elsewhere
from routes.engine.tour import Tour
from routes.engine.validate import check_problem

from .engine_cases import line_problem


def full_day_tour(route: list[int]) -> Tour:
    # On a line from a depot at 0 (with return), 1-minute visits, the day ends at 25:
    # x (5, rank A) and a (10, rank B) fit together (22 min), b (-3, rank B) and x too
    # (18 min), all three do not (29 min); b closes at 5, so it can only come first.
    problem = line_problem(
        [5, 10, -3],
        [(0, 100), (0, 100), (0, 5)],
        service=1,
        ranks=[0, 1, 1],
        day=(0, 25),
        depot=0,
        back=True,
    )
    matrix = check_problem(problem)
    c = compile_problem(problem, matrix, reachable_alone(problem, matrix))
    return Tour(c, route)


def test_a_stop_that_cannot_take_the_leaving_ones_place_is_swapped_in_elsewhere() -> None:
    tour = full_day_tour([0, 1])  # x, a: 20 minutes of travel
    assert substitute(tour, [2]) == []  # b in a's place, after x, would come after 5

    swaps = swap_elsewhere(tour, {2})

    assert swaps == [(2, 1)]
    assert tour.route == [2, 0]  # b first, then x: 16 minutes
    assert tour.travel == 16


def test_a_swap_elsewhere_never_trades_a_stop_for_an_equal_one_that_makes_the_day_longer() -> None:
    tour = full_day_tour([2, 0])  # b, x: the shorter day already
    assert swap_elsewhere(tour, {1}) == []
    assert tour.route == [2, 0]


def test_a_stagnating_search_escapes_by_a_swap_elsewhere_once_per_best_tour() -> None:
    tour = full_day_tour([0, 1])  # x, a: 20 minutes; b unserved
    search = Search(tour.c, random.Random(0))
    stuck = search.snapshot(tour)

    escaped = search.escape(stuck, INF)

    assert escaped is not None
    assert (escaped.route, escaped.prize, escaped.travel) == ([2, 0], stuck.prize, 16)
    assert search.escape(stuck, INF) is None  # the same best is not tried twice


def test_the_escape_leaves_alone_a_day_that_serves_every_stop() -> None:
    problem = line_problem(
        [5, 10], [(0, 100), (0, 100)], service=1, ranks=[0, 1], day=(0, 100), depot=0, back=True
    )
    matrix = check_problem(problem)
    c = compile_problem(problem, matrix, reachable_alone(problem, matrix))
    search = Search(c, random.Random(0))

    assert search.escape(search.snapshot(Tour(c, [0, 1])), INF) is None
