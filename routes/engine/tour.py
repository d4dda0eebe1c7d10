"""A feasible visiting sequence plus the arrays that make move checks O(1).

For positions ``p`` of ``seq = [D, s1, ..., sk, D]`` it keeps

* ``start[p]``/``dep[p]``: earliest service start and departure (waiting when early);
* ``latest[p]``: the latest service start at ``p`` that keeps the *rest* of the
  sequence feasible (Savelsbergh's backward pass). A changed prefix that
  reaches an unchanged suffix at ``q`` no later than ``latest[q]`` is feasible;
* ``fwd[p]``/``bwd[p]``: prefix sums of arc costs walked forwards/backwards, so
  the cost of reversing any stretch is two subtractions;
* ``pos[v]``: the position of stop ``v`` (for moves that start from a stop's neighbours).
"""

from __future__ import annotations

from .compiled import Compiled
from .speedups import scan


class Tour:
    __slots__ = ("c", "seq", "start", "dep", "latest", "fwd", "bwd", "_room", "_pos")

    def __init__(self, c: Compiled, route: list[int]) -> None:
        self.c = c
        self.set(route)

    def set(self, route: list[int]) -> None:
        c = self.c
        depot = c.n
        seq = [depot, *route, depot]
        if c.fast is not None:
            self.seq = seq
            self.start, self.dep, self.latest, self.fwd, self.bwd = scan.tour_arrays(
                c.fast, seq, c.t0
            )
            self._pos = None
            self._room = None
        else:
            self.set_py(seq)

    def set_py(self, seq: list[int]) -> None:
        """The Python reference of :meth:`set` (``seq`` with the origin at both ends)."""
        c = self.c
        depot = c.n
        cost, opn, close, service = c.cost, c.open, c.close, c.service
        m = len(seq)
        start = [0.0] * m
        dep = [0.0] * m
        fwd = [0.0] * m
        bwd = [0.0] * m
        t = c.t0
        start[0] = dep[0] = t
        prev = depot
        f = b = 0.0
        for p in range(1, m):
            v = seq[p]
            row = cost[prev]
            leg = row[v]
            arr = t + leg
            st = arr if arr > opn[v] else opn[v]
            start[p] = st
            t = st + service[v]
            dep[p] = t
            f += leg
            b += cost[v][prev]
            fwd[p] = f
            bwd[p] = b
            prev = v
        latest = [0.0] * m
        nxt_latest = latest[m - 1] = close[depot]
        nxt = depot
        for p in range(m - 2, -1, -1):
            v = seq[p]
            lim = nxt_latest - cost[v][nxt] - service[v]
            nxt_latest = latest[p] = close[v] if close[v] < lim else lim
            nxt = v
        self.seq, self.start, self.dep, self.latest, self.fwd, self.bwd = (
            seq,
            start,
            dep,
            latest,
            fwd,
            bwd,
        )
        self._pos: dict[int, int] | None = None
        self._room: float | None = None

    @property
    def pos(self) -> dict[int, int]:
        """Where each stop stands (the origin D appears twice; nothing looks it up).

        Built on first use after a change: short tours never ask for it."""
        if self._pos is None:
            self._pos = {v: p for p, v in enumerate(self.seq)}
        return self._pos

    @property
    def room(self) -> float:
        """The most any gap can be delayed: waiting at p absorbs delay, plus p's own slack."""
        if self._room is None:
            cost, seq, dep, latest = self.c.cost, self.seq, self.dep, self.latest
            room = 0.0
            for p in range(1, len(seq)):
                gap = latest[p] - dep[p - 1] - cost[seq[p - 1]][seq[p]]
                if gap > room:
                    room = gap
            self._room = room
        return self._room

    def insert(self, u: int, p: int) -> None:
        """Insert ``u`` after position ``p`` and update the arrays where they change.

        Same result as :meth:`set` with the new route, but times are only
        recomputed until they meet the old schedule (forwards for start and
        departure, backwards for latest), and the prefix sums shift by a constant.
        """
        fast = self.c.fast
        if fast is None:
            self.insert_py(u, p)
            return
        scan.tour_insert(
            fast, self.seq, self.start, self.dep, self.latest, self.fwd, self.bwd, u, p
        )
        self._pos = None
        self._room = None

    def insert_py(self, u: int, p: int) -> None:
        """The Python reference of :meth:`insert`."""
        c = self.c
        cost, opn, close, service = c.cost, c.open, c.close, c.service
        seq, start, dep, latest, fwd, bwd = (
            self.seq,
            self.start,
            self.dep,
            self.latest,
            self.fwd,
            self.bwd,
        )
        x, y = seq[p], seq[p + 1]
        seq.insert(p + 1, u)
        m = len(seq)
        d_fwd = cost[x][u] + cost[u][y] - cost[x][y]
        d_bwd = cost[u][x] + cost[y][u] - cost[y][x]
        fwd.insert(p + 1, fwd[p] + cost[x][u])
        fwd[p + 2 :] = [f + d_fwd for f in fwd[p + 2 :]]
        bwd.insert(p + 1, bwd[p] + cost[u][x])
        bwd[p + 2 :] = [b + d_bwd for b in bwd[p + 2 :]]
        start.insert(p + 1, 0.0)
        dep.insert(p + 1, 0.0)
        t, prev = dep[p], x
        for q in range(p + 1, m):
            v = seq[q]
            arr = t + cost[prev][v]
            st = arr if arr > opn[v] else opn[v]
            if q > p + 1 and st == start[q]:
                break  # from here on the old schedule holds
            start[q] = st
            t = st + service[v]
            dep[q] = t
            prev = v
        latest.insert(p + 1, 0.0)
        nxt_latest, nxt = latest[p + 2], y
        for q in range(p + 1, -1, -1):
            v = seq[q]
            lim = nxt_latest - cost[v][nxt] - service[v]
            value = close[v] if close[v] < lim else lim
            if q <= p and value == latest[q]:
                break  # and so does the old latest-start array
            latest[q] = nxt_latest = value
            nxt = v
        self._pos = None
        self._room = None

    def may_fit(self, u: int) -> bool:
        """Cheap necessary test for inserting ``u`` when travel obeys the triangle inequality.

        A detour is then never negative, so the stop's service alone must fit
        into the largest delay some gap can absorb. Used only to skip hopeless
        tries, never to accept a tour.
        """
        return self.c.service[u] <= self.room

    @property
    def route(self) -> list[int]:
        return self.seq[1:-1]

    @property
    def size(self) -> int:
        return len(self.seq) - 2

    @property
    def travel(self) -> float:
        return self.fwd[-1]

    def feasible(self) -> bool:
        close = self.c.close
        seq, start = self.seq, self.start
        return all(start[p] <= close[seq[p]] for p in range(1, len(seq)))

    def prize(self) -> int:
        w = self.c.weight
        return sum(w[v] for v in self.seq[1:-1])

    def insertion(
        self, u: int, by_shift: bool = False, near: list[int] | None = None
    ) -> tuple[float, int] | None:
        """Cheapest feasible gap for ``u``: (score, p) to insert after position p.

        The score is the added travel, or with ``by_shift`` the added time at
        the next stop (travel + service + waiting), which packs a full day better.
        With ``near`` (stops close to ``u``) only the gaps next to those that
        are on the tour are tried first; the whole tour only if none fits.
        """
        fast = self.c.fast
        if fast is not None:
            pos = self.pos if near is not None else None
            return scan.insertion(fast, self.seq, self.dep, self.latest, u, by_shift, near, pos)
        return self.insertion_py(u, by_shift, near)

    def insertion_py(
        self, u: int, by_shift: bool = False, near: list[int] | None = None
    ) -> tuple[float, int] | None:
        """The Python reference of :meth:`insertion`."""
        c = self.c
        cost, opn, close, service = c.cost, c.open, c.close, c.service
        seq, dep, latest = self.seq, self.dep, self.latest
        au, bu, su = opn[u], close[u], service[u]
        row_u = cost[u]
        best = None
        best_score = float("inf")
        if near is not None:
            pos = self.pos
            for w in near:
                q = pos.get(w)
                if q is None:
                    continue
                for p in (q - 1, q):
                    x = seq[p]
                    y = seq[p + 1]
                    arr = dep[p] + cost[x][u]
                    if arr > bu:
                        continue
                    st = arr if arr > au else au
                    arr2 = st + su + row_u[y]
                    if arr2 > latest[p + 1]:
                        continue
                    if by_shift:
                        score = arr2 - (dep[p] + cost[x][y])
                    else:
                        score = cost[x][u] + row_u[y] - cost[x][y]
                    if score < best_score:
                        best_score = score
                        best = p
            if best is not None:
                return best_score, best
        for p in range(len(seq) - 1):
            if dep[p] > bu:
                # Departures only grow along the tour: no later gap can work.
                break
            x = seq[p]
            y = seq[p + 1]
            arr = dep[p] + cost[x][u]
            if arr > bu:
                continue
            st = arr if arr > au else au
            arr2 = st + su + row_u[y]
            if arr2 > latest[p + 1]:
                continue
            if by_shift:
                score = arr2 - (dep[p] + cost[x][y])
            else:
                score = cost[x][u] + row_u[y] - cost[x][y]
            if score < best_score:
                best_score = score
                best = p
        return None if best is None else (best_score, best)
