"""Input checking and matrix normalisation shared by every entry point."""

from __future__ import annotations

import math

from .model import Problem


def check_problem(problem: Problem) -> list[list[float]]:
    """Validate ``problem`` and return its travel matrix as lists of floats.

    Raises ValueError with a message a caller can show; the search code relies
    on these guarantees (square, finite, non-negative) and does not re-check.
    """
    n = len(problem.stops)
    size = len(problem.travel)
    if size not in (n, n + 1):
        raise ValueError(f"travel must be {n}x{n} or {n + 1}x{n + 1}, got {size} rows")
    start = problem.start
    if start is not None and not 0 <= start <= n:
        raise ValueError(f"start must be None or in [0, {n}], got {start}")
    if start == n and size != n + 1:
        raise ValueError("start == n (depot) needs an (n+1)x(n+1) travel matrix")
    matrix: list[list[float]] = []
    for i, row in enumerate(problem.travel):
        values = [float(x) for x in row]
        if len(values) != size:
            raise ValueError(f"travel row {i} has {len(values)} entries, expected {size}")
        for x in values:
            if not math.isfinite(x) or x < 0:
                raise ValueError(f"travel row {i} holds {x!r}: travel must be finite and >= 0")
        matrix.append(values)
    for label, value in (("day_start", problem.day_start), ("day_end", problem.day_end)):
        if not math.isfinite(value):
            raise ValueError(f"{label} must be finite")
    for i, stop in enumerate(problem.stops):
        for label in ("open", "close", "service"):
            if not math.isfinite(getattr(stop, label)):
                raise ValueError(f"stop {i} ({stop.id}): {label} must be finite")
        if stop.service < 0:
            raise ValueError(f"stop {i} ({stop.id}): service must be >= 0")
    return matrix


def check_order(n: int, order: object) -> list[int]:
    """Return ``order`` as a list of ints, rejecting out-of-range indices."""
    result = []
    for x in order:  # type: ignore[attr-defined]
        i = int(x)
        if not 0 <= i < n:
            raise ValueError(f"order holds {x!r}, which is not a stop index in [0, {n})")
        result.append(i)
    return result
