"""Start modes, the return leg, waiting, and evaluate()'s accounting of violations."""

from __future__ import annotations

import pytest

from routes.engine import NOT_IN_ORDER, Problem, Stop, evaluate, solve

from .engine_cases import line_problem


def test_a_free_start_reaches_the_first_stop_without_travel() -> None:
    problem = line_problem([100, 110], [(50, 500), (0, 500)], day=(30, 500))
    route = evaluate(problem, [0, 1])
    first = route.visits[0]
    assert first.travel == 0 and first.arrival == 50 and first.wait == 0 and first.start == 50
    assert route.visits[1].travel == 10 and route.visits[1].arrival == 70
    assert route.travel_minutes == 10


def test_a_depot_start_leaves_at_day_start_and_travels_to_the_first_stop() -> None:
    problem = line_problem([30, 50], [(0, 500)] * 2, depot=0, day=(100, 500))
    route = evaluate(problem, [1, 0])
    assert route.visits[0].travel == 50 and route.visits[0].arrival == 150
    assert route.visits[1].arrival == 150 + 10 + 20
    assert route.return_travel == 0 and route.travel_minutes == 70


def test_a_start_stop_is_visited_first() -> None:
    # Stop 2 is the start; it lies at the far end, so a free solver would not begin there.
    problem = line_problem([0, 10, 50], [(0, 500)] * 3, start=2)
    route = solve(problem, time_limit=0.05)
    assert route.order[0] == 2 and route.visits[0].travel == 0
    assert sorted(route.order) == [0, 1, 2]
    assert route.travel_minutes == pytest.approx(50)


def test_return_to_start_adds_the_leg_home_and_must_end_by_day_end() -> None:
    problem = line_problem([40], [(0, 500)], depot=0, back=True, day=(0, 90))
    route = evaluate(problem, [0])
    assert route.return_travel == 40 and route.travel_minutes == 80
    assert route.end_time == 40 + 10 + 40 and route.violations == 0
    tight = line_problem([40], [(0, 500)], depot=0, back=True, day=(0, 89))
    assert evaluate(tight, [0]).violations == 1
    # The solver knows the same: the stop cannot be served and come back by 89.
    assert solve(tight, time_limit=0.05).order == ()


def test_a_free_start_with_return_closes_the_tour_on_its_first_stop() -> None:
    problem = line_problem([0, 10, 30], [(0, 500)] * 3, back=True)
    route = evaluate(problem, [1, 2, 0])
    assert route.return_travel == 10  # from stop 0 back to stop 1
    assert route.travel_minutes == 20 + 30 + 10
    solved = solve(problem, time_limit=0.05)
    assert solved.travel_minutes == pytest.approx(60) and len(solved.order) == 3


def test_an_early_arrival_waits_for_opening() -> None:
    problem = line_problem([0, 10], [(0, 500), (100, 200)], day=(0, 500))
    route = evaluate(problem, [0, 1])
    second = route.visits[1]
    assert second.arrival == 20 and second.wait == 80 and second.start == 100
    assert second.departure == 110 and not second.late and route.violations == 0


def test_the_solver_waits_rather_than_skipping_a_stop_that_opens_later() -> None:
    problem = line_problem([0, 10], [(0, 30), (300, 320)], day=(0, 500))
    route = solve(problem, time_limit=0.05)
    assert route.order == (0, 1) and route.visits[1].wait > 0


def test_evaluate_counts_late_visits_and_a_late_end() -> None:
    problem = line_problem([0, 50, 100], [(0, 20), (0, 20), (0, 500)], day=(0, 120))
    route = evaluate(problem, [0, 1, 2])
    assert [v.late for v in route.visits] == [False, True, False]
    assert route.visits[1].start == 60 and route.visits[1].wait == 0
    assert route.end_time == 130  # leaves the last stop at 120 + 10
    assert route.violations == 2  # one late visit + the day overrun


def test_evaluate_keeps_the_order_and_lists_the_rest_as_not_in_order() -> None:
    problem = line_problem([0, 10, 20, 30], [(0, 500)] * 4)
    route = evaluate(problem, [3, 1])
    assert route.order == (3, 1)
    assert [(s.stop, s.reason) for s in route.skipped] == [(0, NOT_IN_ORDER), (2, NOT_IN_ORDER)]


def test_evaluate_rejects_duplicates_and_unknown_stops() -> None:
    problem = line_problem([0, 10], [(0, 500)] * 2)
    with pytest.raises(ValueError):
        evaluate(problem, [0, 0])
    with pytest.raises(ValueError):
        evaluate(problem, [2])


def test_nothing_starts_before_the_day() -> None:
    problem = Problem((Stop("early", 0, 1000, 10, 0),), [[0.0]], 540, 1080)
    route = solve(problem, time_limit=0.05)
    assert route.visits[0].start == 540


def test_a_start_stop_that_cannot_be_served_is_still_where_the_day_begins() -> None:
    # Stop 0 closed before the day starts: it is skipped, but the rep leaves from there.
    problem = line_problem([0, 30], [(0, 10), (0, 500)], start=0, day=(100, 500), back=True)
    route = solve(problem, time_limit=0.05)
    assert route.order == (1,)
    assert [(s.stop, s.reason) for s in route.skipped] == [(0, "unreachable")]
    assert route.visits[0].travel == 30 and route.visits[0].arrival == 130
    assert route.return_travel == 30 and route.end_time == 130 + 10 + 30
