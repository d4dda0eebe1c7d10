"""Changing which stops a full day serves: swaps in place and elsewhere, taking stops out
one by one, and the search's escape from a basin that only such a move leaves."""

from __future__ import annotations

import random

from routes.engine import Problem, Stop
from routes.engine.budget import now
from routes.engine.compiled import compile_problem, reachable_alone
from routes.engine.ils import INF, MANY_CANDIDATES, Search, Solution, fill_order
from routes.engine.insertion import fill, substitute, swap_elsewhere
from routes.engine.tour import Tour
from routes.engine.validate import check_problem

from .engine_cases import line_problem, new_search, random_problem


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


def polished_day(n: int, seed: int) -> tuple[Search, Solution]:
    """A search over an over-full random day and its constructed start, polished."""
    search, tour = new_search(random_problem(n, seed, "free", tight=True))
    search.polish(tour, INF)
    assert len(tour.route) < len(search.c.candidates)  # over-full
    return search, search.snapshot(tour)


def test_taking_a_stop_out_and_polishing_again_finds_a_shorter_day_the_polish_missed() -> None:
    search, polished = polished_day(12, 20)

    refilled = search.refill(polished, INF)

    assert refilled.prize == polished.prize
    assert refilled.travel < polished.travel - 1
    assert search.refill(refilled, INF) == refilled  # it went on until nothing was better


def test_taking_a_stop_out_can_make_room_for_more_important_ones() -> None:
    search, polished = polished_day(12, 23)

    refilled = search.refill(polished, INF)

    assert refilled.prize > polished.prize


def test_taking_stops_out_stops_at_the_deadline() -> None:
    search, polished = polished_day(12, 20)

    assert search.refill(polished, now() - 1) is polished


def test_the_escape_of_a_day_with_many_candidates_also_takes_stops_out_one_by_one() -> None:
    # No swap elsewhere helps this day's polished start; taking a stop out does.
    search, polished = polished_day(MANY_CANDIDATES, 9)
    unserved = set(search.c.candidates) - set(polished.route)
    assert not swap_elsewhere(Tour(search.c, polished.route), unserved)

    escaped = search.escape(polished, INF)

    assert escaped is not None and escaped.better_than(polished)
    assert search.escape(escaped, INF) is None  # its own result is not taken out again


def test_a_day_with_fewer_candidates_escapes_by_swaps_alone() -> None:
    search, polished = polished_day(12, 20)  # refill would shorten it (above)

    assert search.escape(polished, INF) is None


def one_place_day() -> Tour:
    # Nine stops at one place, a 60-minute day, free start: three 60-minute visits listed
    # first, then six of 10 minutes. One long visit fills the day; the six short ones fit.
    services = [60.0] * 3 + [10.0] * 6
    stops = tuple(Stop(f"s{i}", 0.0, 60.0, service, 0) for i, service in enumerate(services))
    problem = Problem(stops, [[0.0] * 9 for _ in range(9)], 0.0, 60.0)
    matrix = check_problem(problem)
    return Tour(compile_problem(problem, matrix, reachable_alone(problem, matrix)), [])


def test_a_recreate_on_a_day_that_not_everything_fits_may_try_the_shortest_visits_first() -> None:
    tour = one_place_day()
    c = tour.c
    in_list_order = Tour(c, [])
    assert len(fill(in_list_order, c.candidates)) == 1

    key = fill_order(c, 0.6, over_full=True)

    assert len(fill(tour, c.candidates, key=key)) == 6


def test_a_recreate_on_a_day_that_fits_never_orders_by_visit_length() -> None:
    c = one_place_day().c
    assert fill_order(c, 0.6, over_full=False) is None
    assert fill_order(c, 0.1, over_full=True) == c.close.__getitem__


def long_visit_day() -> Tour:
    # On a line from a depot at 0, no return, a 40-minute day: L (at 1, a 30-minute visit)
    # alone, or S (at 5) and T (at 6), 10-minute visits, together; L with either is too long.
    # The tour serves L: the least travel for one stop.
    stops = tuple(
        Stop(name, 0.0, 40.0, service, 0)
        for name, service in (("L", 30.0), ("S", 10.0), ("T", 10.0))
    )
    pts = [1.0, 5.0, 6.0, 0.0]
    problem = Problem(stops, [[abs(a - b) for b in pts] for a in pts], 0.0, 40.0, start=3)
    matrix = check_problem(problem)
    return Tour(compile_problem(problem, matrix, reachable_alone(problem, matrix)), [0])


def test_a_search_shortening_travel_keeps_the_long_visit_that_leaves_no_room() -> None:
    tour = long_visit_day()
    search = Search(tour.c, random.Random(0))

    search.polish(tour, INF)

    assert tour.route == [0]


def test_a_search_making_room_trades_a_long_visit_for_a_short_one_and_fits_another_stop() -> None:
    tour = long_visit_day()
    search = Search(tour.c, random.Random(0))
    search.seek_room(True)

    search.polish(tour, INF)

    assert sorted(tour.route) == [1, 2]
    assert search.snapshot(tour).tie == tour.travel + 20  # the working day: travel and visits


def test_a_swap_elsewhere_making_room_takes_a_shorter_visit_at_more_travel() -> None:
    tour = long_visit_day()
    assert swap_elsewhere(tour, {1, 2}) == []  # S or T instead of L: 4-5 minutes more travel

    assert swap_elsewhere(tour, {1, 2}, lean=True) == [(1, 0)]  # and 20 minutes less visiting
    assert tour.route == [1]
