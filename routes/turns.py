"""Turns at the CPU for route searches planned in one web process: small days first.

A web process plans the runs no model can answer itself (T2_ALGORITHM_IN_WEB), one thread a
request. Left to the GIL, every search in the process advances a little at a time, so a
15-stop day that needs 20 ms of CPU waits behind a dozen 50-stop days for most of a second.
Here at most ``slots`` searches run at once and the next turn goes to the earliest "due
time": arrival plus ``stretch`` times the search's budget. A small day then overtakes big
ones that came shortly before it, and a big day waits at most ``stretch`` times its own
budget for small ones that came after it (no starvation). bench/load.py measures it.

Plain Python (no Django): routes.optimize holds one per process and takes a turn for a whole
run (its database writes too: the GIL runs one thread at a time anyway, and a run that
finishes before the next starts answers sooner than many advancing together; a turn around
the search alone measured no consistent gain, docs/benchmarks.md "Load").
"""

from __future__ import annotations

import heapq
import itertools
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

STRETCH = 10.0


class Turns:
    def __init__(
        self,
        slots: int = 1,
        *,
        stretch: float = STRETCH,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if slots < 1:
            raise ValueError("slots must be at least 1")
        self.slots = slots
        self.stretch = stretch
        self.clock = clock
        self._free = slots
        self._waiting: list[tuple[float, int]] = []
        self._arrivals = itertools.count()
        self._changed = threading.Condition()

    @property
    def waiting(self) -> int:
        with self._changed:
            return len(self._waiting)

    @contextmanager
    def take(self, budget: float) -> Iterator[float]:
        """Wait for a turn for a search of ``budget`` seconds; yields the seconds waited."""
        arrived = self.clock()
        ticket = (arrived + self.stretch * budget, next(self._arrivals))
        with self._changed:
            heapq.heappush(self._waiting, ticket)
            while not (self._free and self._waiting[0] == ticket):
                self._changed.wait()
            heapq.heappop(self._waiting)
            self._free -= 1
            # Another slot may be free for the next ticket in line.
            self._changed.notify_all()
        try:
            yield self.clock() - arrived
        finally:
            with self._changed:
                self._free += 1
                self._changed.notify_all()
