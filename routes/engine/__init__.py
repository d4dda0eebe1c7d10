"""Route optimisation engine for T2 Routes (plain Python, no Django).

A sales rep's day: visit retail points inside their opening windows, the
most important ones first, with as little travel as possible. See
:class:`Problem` for the input and :func:`solve`, :func:`evaluate`,
:func:`improve` for the three things the engine does.
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
