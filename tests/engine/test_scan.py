"""The compiled scans (routes/engine/_scan.c) give exactly what their Python references give.

Every scan is run both ways on the same tours of random days (every start mode, loose and
tight windows, planted long days) and must return the same move, to the last bit of the
floats; and solve() must plan the same routes with the scans and without them.
"""

from __future__ import annotations

import random
import shutil
import subprocess
from dataclasses import replace

import pytest

from routes.engine import solve, speedups
from routes.engine.build import command, compiler
from routes.engine.compiled import Compiled, compile_problem, reachable_alone
from routes.engine.ils import (
    neighbours,
    neighbours_py,
    timed_neighbours,
    timed_neighbours_py,
)
from routes.engine.insertion import _squeeze_best_py, _substitute_best_py, fill
from routes.engine.local_search import (
    _exchange_best_py,
    _exchange_near_best_py,
    _near_place_py,
    _relocate_best_py,
    _two_opt_best_py,
    _two_opt_near_best_py,
    tour_lists,
)
from routes.engine.model import Problem
from routes.engine.tour import Tour
from routes.engine.validate import check_problem

from .engine_cases import MODES, planted_day, random_problem

scan = speedups.scan

HAS_COMPILER = shutil.which(compiler()[0]) is not None

pytestmark = pytest.mark.skipif(
    scan is None and (speedups.pure_wanted() or not HAS_COMPILER),
    reason="the compiled scans are turned off (T2_ENGINE_PURE) or there is no C compiler: "
    "the engine runs its Python references",
)


def test_the_compiled_scans_are_built_and_current() -> None:
    # scripts/test builds them (python -m routes.engine.build); a stale or missing module
    # would silently run the slower Python references.
    assert scan is not None, "run: .venv/bin/python -m routes.engine.build"
    assert scan.SOURCE_HASH == speedups.source_hash()


def compiled(problem: Problem) -> Compiled:
    matrix = check_problem(problem)
    return compile_problem(problem, matrix, reachable_alone(problem, matrix))


def one_way(problem: Problem, seed: int) -> Problem:
    """The same day with travel that differs by direction (up to 40 % longer one way)."""
    rng = random.Random(seed)
    travel = [[t * (1 + 0.4 * rng.random()) for t in row] for row in problem.travel]
    return replace(problem, travel=travel)


def days() -> list[Problem]:
    found = []
    for seed in range(4):
        for mode in MODES:
            day = random_problem(14, seed, mode, tight=seed % 2 == 1)
            found.append(one_way(day, seed) if seed >= 2 else day)
    found += [planted_day(60, 1), one_way(planted_day(60, 2, spare=0.05), 2)]
    return found


def tours(c: Compiled, rng: random.Random, count: int = 4) -> list[Tour]:
    """Feasible tours of the day: random orders of insertion, some with stops left out."""
    found = []
    for k in range(count):
        pool = list(c.candidates)
        rng.shuffle(pool)
        if k % 2:
            pool = pool[: max(1, len(pool) * 2 // 3)]
        tour = Tour(c, [])
        fill(tour, pool, by_shift=k % 3 == 0)
        found.append(tour)
    return found


CASES = [(day, seed) for day in days() for seed in range(2)]


def both(problem: Problem) -> tuple[Compiled, Compiled]:
    fast = compiled(problem)
    return fast, replace(fast, fast=None)


@pytest.mark.parametrize(("problem", "seed"), CASES)
def test_tour_arrays_and_insertion_match_the_python_reference(problem: Problem, seed: int) -> None:
    c, pure = both(problem)
    near = neighbours(c)
    for tour in tours(c, random.Random(seed)):
        fresh, reference = Tour(c, tour.route), Tour(pure, tour.route)
        assert (fresh.start, fresh.dep, fresh.latest, fresh.fwd, fresh.bwd) == (
            reference.start,
            reference.dep,
            reference.latest,
            reference.fwd,
            reference.bwd,
        )
        for u in c.candidates:
            for by_shift in (False, True):
                for close in (None, near[u]):
                    assert tour.insertion(u, by_shift, close) == tour.insertion_py(
                        u, by_shift, close
                    )


@pytest.mark.parametrize(("problem", "seed"), CASES)
def test_insert_updates_the_arrays_like_the_python_reference(problem: Problem, seed: int) -> None:
    c, pure = both(problem)
    rng = random.Random(seed)
    tour, reference = Tour(c, []), Tour(pure, [])
    pool = list(c.candidates)
    rng.shuffle(pool)
    for u in pool:
        found = tour.insertion(u, by_shift=rng.random() < 0.5)
        if found is None:
            continue
        tour.insert(u, found[1])
        reference.insert_py(u, found[1])
        assert (tour.seq, tour.start, tour.dep, tour.latest, tour.fwd, tour.bwd) == (
            reference.seq,
            reference.start,
            reference.dep,
            reference.latest,
            reference.fwd,
            reference.bwd,
        )


@pytest.mark.parametrize(("problem", "seed"), CASES)
def test_the_move_scans_match_the_python_references(problem: Problem, seed: int) -> None:
    c, _ = both(problem)
    near = timed_neighbours(c)
    for tour in tours(c, random.Random(seed)):
        args = (c.fast, tour.seq, tour.dep, tour.latest)
        k = tour.size
        for i in range(1, k + 1):
            for length in (1, 2, 3, 5):
                if i + length - 1 <= k:
                    assert scan.relocate_best(
                        *args, tour.fwd, tour.bwd, i, length
                    ) == _relocate_best_py(tour, i, length)
                    j = i + length - 1
                    for floor in (1e-6, -float("inf")):
                        assert scan.near_place(
                            c.fast,
                            *tour_lists(tour),
                            near[tour.seq[i]],
                            near[tour.seq[j]],
                            i,
                            j,
                            floor,
                        ) == _near_place_py(tour, i, j, near, floor)
            if i < k:
                assert scan.exchange_best(*args, i) == _exchange_best_py(tour, i)
                assert scan.two_opt_best(*args, tour.fwd, tour.bwd, i) == _two_opt_best_py(tour, i)
                assert scan.two_opt_near_best(
                    *args,
                    tour.fwd,
                    tour.bwd,
                    tour.pos,
                    near.get(tour.seq[i - 1], []),
                    near[tour.seq[i]],
                    i,
                ) == _two_opt_near_best_py(tour, i, near)
            assert scan.exchange_near_best(
                c.fast, tour.seq, tour.start, tour.dep, tour.latest, tour.pos, near[tour.seq[i]], i
            ) == _exchange_near_best_py(tour, i, near)


@pytest.mark.parametrize(("problem", "seed"), CASES)
def test_the_next_neighbour_relocation_is_the_first_one_the_python_scan_finds(
    problem: Problem, seed: int
) -> None:
    c, _ = both(problem)
    near = timed_neighbours(c)
    rng = random.Random(seed)
    for tour in tours(c, rng):
        k = tour.size
        some = set(rng.sample(tour.route, k // 2))
        for focus in (None, some):
            for length in (1, 2, 3, 5):
                for start in range(1, k + 1):
                    expected = None
                    for i in range(start, k - length + 2):
                        if focus is not None and tour.seq[i] not in focus:
                            continue
                        found = _near_place_py(tour, i, i + length - 1, near, 1e-6)
                        if found is not None:
                            expected = (i, *found)
                            break
                    assert (
                        scan.relocate_near_next(
                            c.fast,
                            *tour_lists(tour),
                            near,
                            start,
                            length,
                            focus,
                        )
                        == expected
                    )


@pytest.mark.parametrize("problem", days())
def test_the_neighbour_lists_match_the_python_reference(problem: Problem) -> None:
    c, pure = both(problem)
    for count in (3, 12, 24):
        assert neighbours(c, count) == neighbours_py(pure, count)
        assert timed_neighbours(c, count) == timed_neighbours_py(pure, count)


@pytest.mark.parametrize(("problem", "seed"), CASES)
def test_the_selection_scans_match_the_python_references(problem: Problem, seed: int) -> None:
    c, _ = both(problem)
    for tour in tours(c, random.Random(seed)):
        served = set(tour.route)
        for u in c.candidates:
            if u in served:
                continue
            for lean in (False, True):
                assert scan.substitute_best(
                    c.fast, tour.seq, tour.dep, tour.latest, u, lean
                ) == _substitute_best_py(tour, u, lean)
            for max_run in (1, 6):
                assert scan.squeeze_best(
                    c.fast, tour.seq, tour.dep, tour.latest, tour.fwd, u, max_run
                ) == _squeeze_best_py(tour, u, max_run)


def test_weights_too_large_for_64_bits_leave_the_selection_scans_to_python() -> None:
    c = compiled(random_problem(6, 1, "depot"))
    huge = scan.arrays(c.cost, c.open, c.close, c.service, [2**70] * len(c.cost))
    tour = Tour(c, [])

    assert scan.substitute_best(huge, tour.seq, tour.dep, tour.latest, 0) is NotImplemented
    assert (
        scan.squeeze_best(huge, tour.seq, tour.dep, tour.latest, tour.fwd, 0, 6) is NotImplemented
    )


@pytest.mark.parametrize("problem", [random_problem(16, 5, "depot-return"), planted_day(80, 3)])
def test_solve_plans_the_same_route_with_and_without_the_compiled_scans(
    problem: Problem, monkeypatch: pytest.MonkeyPatch
) -> None:
    fast = solve(problem, seed=3, max_iterations=40, time_limit=60)
    # compile_problem reads the module's scan when it builds a day: None = pure Python.
    monkeypatch.setattr("routes.engine.compiled.scan", None)
    pure = solve(problem, seed=3, max_iterations=40, time_limit=60)

    assert (fast.order, fast.travel_minutes) == (pure.order, pure.travel_minutes)


def test_a_module_built_from_another_version_of_the_source_is_not_used(
    tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    edited = tmp_path / "_scan.c"
    edited.write_bytes(speedups.SOURCE.read_bytes() + b"\n/* edited */\n")
    monkeypatch.setattr(speedups, "SOURCE", edited)

    assert speedups.load() is None


def test_the_scans_build_with_portable_flags_and_no_fused_arithmetic(tmp_path) -> None:
    cmd = command(tmp_path / "_scan.so")
    assert "-ffp-contract=off" in cmd
    assert not any(flag.startswith(("-march", "-mtune", "-ffast-math", "-Ofast")) for flag in cmd)

    done = subprocess.run(cmd, capture_output=True, text=True)

    assert done.returncode == 0, done.stderr
    assert (tmp_path / "_scan.so").stat().st_size > 0


def test_bad_arguments_raise_instead_of_reading_out_of_bounds() -> None:
    c = compiled(random_problem(6, 1, "depot"))
    tour = Tour(c, [])
    with pytest.raises(IndexError):
        scan.tour_arrays(c.fast, [c.n, 99, c.n], 0.0)
    with pytest.raises(IndexError):
        scan.relocate_best(c.fast, tour.seq, tour.dep, tour.latest, tour.fwd, tour.bwd, 1, 1)
    with pytest.raises(ValueError):
        scan.insertion(c.fast, tour.seq, tour.dep[:1], tour.latest, 0, False, None, None)
