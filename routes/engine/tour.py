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


class Tour:
    __slots__ = ("c", "seq", "start", "dep", "latest", "fwd", "bwd", "room", "pos")

    def __init__(self, c: Compiled, route: list[int]) -> None:
        self.c = c
        self.set(route)

    def set(self, route: list[int]) -> None:
        c = self.c
        depot = c.n
        cost, opn, close, service = c.cost, c.open, c.close, c.service
        seq = [depot, *route, depot]
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
        # Where each stop stands (the origin D appears twice; nothing looks it up).
        self.pos = {v: p for p, v in enumerate(seq)}
        # The most any gap can be delayed: waiting at p absorbs delay, plus p's own slack.
        room = 0.0
        for p in range(1, m):
            arr = dep[p - 1] + cost[seq[p - 1]][seq[p]]
            gap = latest[p] - arr
            if gap > room:
                room = gap
        self.room = room

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

    def insertion(self, u: int, by_shift: bool = False) -> tuple[float, int] | None:
        """Cheapest feasible gap for ``u``: (score, p) to insert after position p.

        The score is the added travel, or with ``by_shift`` the added time at
        the next stop (travel + service + waiting), which packs a full day better.
        """
        c = self.c
        cost, opn, close, service = c.cost, c.open, c.close, c.service
        seq, dep, latest = self.seq, self.dep, self.latest
        au, bu, su = opn[u], close[u], service[u]
        row_u = cost[u]
        best = None
        best_score = float("inf")
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
