"""Against proven optima: the public Dumas et al. TSPTW instances with 20 customers."""

from __future__ import annotations

import pytest

from routes.engine import solve

from .engine_cases import tsptw_problem

OPTIMUM = {
    "n20w20.001": 378,
    "n20w20.002": 286,
    "n20w20.003": 394,
    "n20w40.001": 254,
    "n20w60.001": 335,
    "n20w100.001": 237,
}


@pytest.mark.parametrize("name", sorted(OPTIMUM))
def test_solve_matches_the_proven_optimum_on_20_customer_tsptw(name: str) -> None:
    problem = tsptw_problem(name)
    route = solve(problem)  # the default budget for 20 stops
    assert route.violations == 0
    assert len(route.order) == len(problem.stops)  # every customer served
    assert route.travel_minutes <= OPTIMUM[name] * 1.01
    assert route.travel_minutes >= OPTIMUM[name] - 1e-6  # sanity: nothing beats a proven optimum
