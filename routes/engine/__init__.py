"""Route optimisation engine for T2 Routes (plain Python, no Django).

A sales rep's day: visit retail points inside their opening windows, the
most important ones first, with as little travel as possible.

* :func:`solve` plans the day from scratch;
* :func:`evaluate` times a given order exactly as it is (for comparing plans);
* :func:`improve` repairs and optimises a proposed order (e.g. an LLM's).

Objective, in this order: every visit inside its window and the day ended in
time; the most stops of rank 0, then of rank 1, and so on (a stop is never
dropped to keep a less important one); the least travel. Skipped stops say
why: :data:`UNREACHABLE`, :data:`NO_TIME` or (evaluate only) :data:`NOT_IN_ORDER`.

``solve`` and ``improve`` also take ``time_limit`` (seconds; default
:func:`default_time_limit` of the problem size), ``seed`` and
``max_iterations`` (with a generous time limit: reproducible results).

Package layout: ``model`` (public types), ``validate``, ``schedule`` (timing an
order; builds every Route), ``compiled`` (the search's view of a Problem),
``tour`` (a feasible sequence with O(1) check arrays), ``local_search``
(2-opt, or-opt, exchange), ``insertion`` (priority insertion, substitution,
evict-to-insert), ``ils`` (ruin and recreate), ``budget``, ``solver``.
"""

from __future__ import annotations

from .budget import default_time_limit
from .model import NO_TIME, NOT_IN_ORDER, UNREACHABLE, Problem, Route, Skip, Stop, Visit
from .solver import evaluate, improve, solve

__all__ = [
    "NOT_IN_ORDER",
    "NO_TIME",
    "UNREACHABLE",
    "Problem",
    "Route",
    "Skip",
    "Stop",
    "Visit",
    "default_time_limit",
    "evaluate",
    "improve",
    "solve",
]
