"""Public value types of the route engine.

All times are minutes since midnight; all durations are minutes. The engine
never sees kilometres: the caller turns distances into a travel-time matrix.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Stop:
    """A retail point to visit.

    The visit must *start* inside ``[open, close]``; arriving early means waiting.
    ``rank`` orders importance: 0 is the most important (A/high), larger is less.
    """

    id: str
    open: float
    close: float
    service: float
    rank: int


@dataclass(frozen=True)
class Problem:
    """One day's routing problem.

    ``travel`` is an n×n matrix of travel minutes between stops, or (n+1)×(n+1)
    when a depot is used (the depot is node ``n``).

    ``start``:
      * ``None``: the route begins at whichever stop it visits first, with no
        travel to it; the rep arrives there at ``max(day_start, open)``.
      * ``0 <= start < n``: that stop is visited first.
      * ``start == n``: the rep leaves the depot (row/column ``n``) at ``day_start``.

    ``return_to_start`` adds the leg back to the start point (with ``start`` None:
    back to the first stop visited). The route must end by ``day_end``.
    """

    stops: tuple[Stop, ...]
    travel: Sequence[Sequence[float]]
    day_start: float
    day_end: float
    start: int | None = None
    return_to_start: bool = False


@dataclass(frozen=True)
class Visit:
    stop: int
    arrival: float
    wait: float
    start: float
    departure: float
    travel: float  # minutes from the previous point (0 for a free first stop)
    late: bool  # started after its window closed (only possible from evaluate())


@dataclass(frozen=True)
class Skip:
    """A stop that is not on the route, and why.

    ``reason`` is ``"unreachable"`` (cannot be served even as the only stop),
    ``"no_time"`` (could be served alone but was dropped so that more important
    or more stops fit), or ``"not_in_order"`` (evaluate(): absent from the order).
    """

    stop: int
    reason: str


UNREACHABLE = "unreachable"
NO_TIME = "no_time"
NOT_IN_ORDER = "not_in_order"


@dataclass(frozen=True)
class Route:
    order: tuple[int, ...]
    visits: tuple[Visit, ...]
    skipped: tuple[Skip, ...]
    travel_minutes: float  # all travel legs, including the return leg
    return_travel: float  # the return leg alone (0 if none)
    end_time: float  # departure from the last stop, or arrival back at the start
    violations: int  # late visits + (1 if end_time > day_end)
