"""Travel-reducing moves on a feasible tour, each checked for time windows in O(1).

Neighbourhoods: relocate of a stretch of 1-3 stops forwards or backwards
(optionally reversed, i.e. or-opt), exchange of two stops, and 2-opt
(reversal). Every move only ever yields feasible tours.

The O(1) checks combine the tour's arrays (see :mod:`tour`) with the
segment summaries of Vidal et al. (2013) for the stretch a move shifts or
reverses: ``(dur, early, late)`` of a time-warp-free stretch means "start it at
any time t <= late, leave its last stop at max(t, early) + dur". Scanning
insertion points outward grows that stretch one stop at a time, so each
candidate costs a constant number of operations.
"""

from __future__ import annotations

from functools import partial

from .budget import now
from .speedups import scan
from .tour import Tour

IMPROVES = 1e-6  # minutes; smaller gains are float noise and could loop forever


class Focus:
    """Which stops moves may start from ("don't look bits", shared by all neighbourhoods).

    ``scan`` is this round's set; stops that a move touches join it at once
    and also form the next round's set.
    """

    __slots__ = ("scan", "touched")

    def __init__(self, stops: set[int]) -> None:
        self.scan = set(stops)
        self.touched: set[int] = set()

    def mark(self, stops: tuple[int, ...]) -> None:
        self.scan.update(stops)
        self.touched.update(stops)

    def next_round(self) -> None:
        self.scan, self.touched = self.touched, set()


def _apply(tour: Tour, route: list[int]) -> None:
    tour.set(route)


def _fits(
    cost, opn, close, service, t: float, prev: int, stretch: list[int], nxt: int, limit: float
) -> bool:
    """Leaving ``prev`` at ``t``, can ``stretch`` be served and ``nxt`` reached by ``limit``?"""
    for w in stretch:
        arr = t + cost[prev][w]
        st = arr if arr > opn[w] else opn[w]
        if st > close[w]:
            return False
        t = st + service[w]
        prev = w
    return t + cost[prev][nxt] <= limit


def _fits_before(
    cost, opn, close, service, t, prev, stretch, m_first, m_early, m_late, m_dur, tail, limit
) -> bool:
    """As :func:`_fits`, with a summarised stretch ``mid`` (then ``tail`` minutes) between."""
    for w in stretch:
        arr = t + cost[prev][w]
        st = arr if arr > opn[w] else opn[w]
        if st > close[w]:
            return False
        t = st + service[w]
        prev = w
    arr = t + cost[prev][m_first]
    if arr > m_late:
        return False
    return (arr if arr > m_early else m_early) + m_dur + tail <= limit


def relocate(tour: Tour, length: int, deadline: float, focus: Focus | None = None) -> int:
    """Move stretches of ``length`` stops elsewhere (also reversed when length > 1)."""
    fast = tour.c.fast
    moves = 0
    i = 1
    while i + length - 1 <= len(tour.seq) - 2:
        if not i & 15 and now() > deadline:
            break
        seq = tour.seq
        if focus is not None and seq[i] not in focus.scan:
            i += 1
            continue
        if fast is not None:
            best = scan.relocate_best(
                fast, seq, tour.dep, tour.latest, tour.fwd, tour.bwd, i, length
            )
        else:
            best = _relocate_best_py(tour, i, length)
        if best is None:
            i += 1
            continue
        p, reverse = best
        j = i + length - 1
        stretch = seq[i : j + 1]
        if focus is not None:
            focus.mark((seq[i - 1], seq[j + 1], seq[p], seq[p + 1], *stretch))
        _apply(tour, _moved_route(seq, i, j, p, stretch[::-1] if reverse else stretch))
        moves += 1
    return moves


def _relocate_best_py(tour: Tour, i: int, length: int) -> tuple[int, bool] | None:
    """Where the stretch seq[i .. i+length-1] gains most when moved, and whether reversed:
    (p, reversed) to put it after position p, or None (the Python reference of
    ``_scan.relocate_best``)."""
    c = tour.c
    cost, opn, close, service = c.cost, c.open, c.close, c.service
    seq, dep, latest, fwd, bwd = tour.seq, tour.dep, tour.latest, tour.fwd, tour.bwd
    k = len(seq) - 2
    j = i + length - 1
    first, last = seq[i], seq[j]
    before, after = seq[i - 1], seq[j + 1]
    # Travel saved by cutting the stretch out and closing the gap.
    cut = cost[before][first] + cost[last][after] - cost[before][after]
    rev_inner = (bwd[j] - bwd[i]) - (fwd[j] - fwd[i]) if length > 1 else 0.0
    best_gain = IMPROVES
    best: tuple[int, bool] | None = None
    stretch = seq[i : j + 1]
    backwards = stretch[::-1]
    b_first = close[first] if close[first] > close[last] else close[last]

    # Forwards: new order ... before, after .. seq[p], stretch, seq[p+1] ...
    t = dep[i - 1]
    prev = before
    for p in range(j + 1, k + 1):
        v = seq[p]
        arr = t + cost[prev][v]
        st = arr if arr > opn[v] else opn[v]
        if st > close[v]:
            break
        t = st + service[v]
        prev = v
        if t > b_first:
            break
        nxt = seq[p + 1]
        row_v = cost[v]
        base = cut + row_v[nxt]
        gain = base - row_v[first] - cost[last][nxt]
        if gain > best_gain and _fits(cost, opn, close, service, t, v, stretch, nxt, latest[p + 1]):
            best_gain, best = gain, (p, False)
        if length > 1:
            gain = base - row_v[last] - cost[first][nxt] - rev_inner
            if gain > best_gain and _fits(
                cost, opn, close, service, t, v, backwards, nxt, latest[p + 1]
            ):
                best_gain, best = gain, (p, True)

    # Backwards: new order ... seq[p], stretch, seq[p+1] .. before, after ...
    if i >= 2:
        # Summary of mid = seq[p+1 .. i-1], grown by prepending.
        v = before
        m_dur, m_early, m_late = service[v], opn[v], close[v]
        m_first = v
        tail = cost[before][after]
        lat_after = latest[j + 1]
        for p in range(i - 2, -1, -1):
            if m_early + m_dur + tail > lat_after:
                break
            x = seq[p]
            # Removing (x, m_first) and adding the two arcs around the stretch.
            row_x = cost[x]
            base = cut + row_x[m_first]
            gain = base - row_x[first] - cost[last][m_first]
            if gain > best_gain and _fits_before(
                cost,
                opn,
                close,
                service,
                dep[p],
                x,
                stretch,
                m_first,
                m_early,
                m_late,
                m_dur,
                tail,
                lat_after,
            ):
                best_gain, best = gain, (p, False)
            if length > 1:
                gain = base - row_x[last] - cost[first][m_first] - rev_inner
                if gain > best_gain and _fits_before(
                    cost,
                    opn,
                    close,
                    service,
                    dep[p],
                    x,
                    backwards,
                    m_first,
                    m_early,
                    m_late,
                    m_dur,
                    tail,
                    lat_after,
                ):
                    best_gain, best = gain, (p, True)
            if p == 0:
                break
            # Prepend seq[p] to mid (its first stop becomes x).
            leg = cost[x][m_first]
            delta = service[x] + leg
            wait = m_early - delta - close[x]
            warp = opn[x] + delta - m_late
            if warp > 0:
                break  # cannot happen for a feasible tour; keep the summary exact otherwise
            wait = wait if wait > 0 else 0.0
            m_early = (m_early - delta if m_early - delta > opn[x] else opn[x]) - wait
            m_late = m_late - delta if m_late - delta < close[x] else close[x]
            m_dur = m_dur + service[x] + leg + wait
            m_first = x

    return best


def tour_lists(tour: Tour) -> tuple:
    """The tour's lists in the order the compiled scans take them (``_scan.near_place``,
    ``_scan.relocate_near_next``): seq, start, dep, latest, fwd, bwd, pos."""
    return tour.seq, tour.start, tour.dep, tour.latest, tour.fwd, tour.bwd, tour.pos


def _moved_route(seq: list[int], i: int, j: int, p: int, piece: list[int]) -> list[int]:
    """The route (seq without its depot ends) with seq[i..j] taken out and ``piece`` put
    after position p."""
    route = seq[1:-1]
    del route[i - 1 : j]
    # Positions after the cut shift left by the stretch's length when inserting forwards.
    at = p - (j - i + 1) if p > j else p
    route[at:at] = piece
    return route


def shift_stretch(tour: Tour, i: int, length: int, near: dict[int, list[int]]) -> list[int] | None:
    """The route with ``seq[i .. i+length-1]`` moved whole, forwards or reversed, to the
    feasible place next to a neighbour of its ends that costs least, even if the route gets
    longer (a perturbation for the search, not a descent move); None when none fits."""
    j = i + length - 1
    if i < 1 or j > len(tour.seq) - 2:
        return None
    found = _near_place(tour, i, j, near, -float("inf"))
    if found is None:
        return None
    p, reverse = found
    stretch = tour.seq[i : j + 1]
    return _moved_route(tour.seq, i, j, p, stretch[::-1] if reverse else stretch)


def _moved_fits(tour: Tour, i: int, j: int, p: int, piece: list[int]) -> bool:
    """Is the tour feasible with seq[i..j] taken out and ``piece`` put after position p?

    Exact: the stops that the move shifts are timed one by one until their
    schedule meets the old one (usually after a few steps).
    """
    c = tour.c
    cost, opn, close, service = c.cost, c.open, c.close, c.service
    seq, dep, start, latest = tour.seq, tour.dep, tour.start, tour.latest
    before, after = seq[i - 1], seq[j + 1]
    if p > j:
        # Forwards: after .. seq[p] move earlier.
        t, prev = dep[i - 1], before
        for q in range(j + 1, p + 1):
            w = seq[q]
            arr = t + cost[prev][w]
            st = arr if arr > opn[w] else opn[w]
            if st > close[w]:
                return False
            if st == start[q]:
                t = dep[p]
                break
            t = st + service[w]
            prev = w
        return _fits(cost, opn, close, service, t, seq[p], piece, seq[p + 1], latest[p + 1])
    # Backwards: the piece goes after seq[p], then seq[p+1] .. before shift later.
    t, prev = dep[p], seq[p]
    for w in piece:
        arr = t + cost[prev][w]
        st = arr if arr > opn[w] else opn[w]
        if st > close[w]:
            return False
        t = st + service[w]
        prev = w
    for q in range(p + 1, i):
        w = seq[q]
        arr = t + cost[prev][w]
        st = arr if arr > opn[w] else opn[w]
        if st > close[w]:
            return False
        if st == start[q]:
            t = dep[i - 1]
            break
        t = st + service[w]
        prev = w
    return t + cost[before][after] <= latest[j + 1]


def relocate_near(
    tour: Tour,
    length: int,
    deadline: float,
    near: dict[int, list[int]],
    focus: Focus | None = None,
) -> int:
    """:func:`relocate` restricted to places next to a neighbour of the stretch's ends.

    A granular neighbourhood (Toth and Vigo 2003): a stretch is only tried
    right after or before one of the nearest stops of its first or last stop,
    so a scan costs O(neighbours) instead of O(tour). The time check stays
    exact: only a move that gains is timed, by walking the stops it shifts
    until their schedule meets the old one (usually a few steps).
    """
    fast = tour.c.fast
    moves = 0
    i = 1
    while i + length - 1 <= len(tour.seq) - 2:
        seq = tour.seq
        if fast is not None:
            # The whole scan to the next move in C; the clock is read between moves.
            if moves and now() > deadline:
                break
            found = scan.relocate_near_next(
                fast, *tour_lists(tour), near, i, length, None if focus is None else focus.scan
            )
            if found is None:
                break
            i, p, reverse = found
            j = i + length - 1
        else:
            if not i & 15 and now() > deadline:
                break
            if focus is not None and seq[i] not in focus.scan:
                i += 1
                continue
            j = i + length - 1
            best = _near_place_py(tour, i, j, near, IMPROVES)
            if best is None:
                i += 1
                continue
            p, reverse = best
        stretch = seq[i : j + 1]
        if focus is not None:
            focus.mark((seq[i - 1], seq[j + 1], seq[p], seq[p + 1], *stretch))
        _apply(tour, _moved_route(seq, i, j, p, stretch[::-1] if reverse else stretch))
        moves += 1
    return moves


def _near_place(
    tour: Tour, i: int, j: int, near: dict[int, list[int]], floor: float
) -> tuple[int, bool] | None:
    """Where seq[i..j] gains most (more than ``floor``) when moved next to a neighbour of
    its first or last stop, and whether reversed: (p, reversed) to put it after position
    p, or None. Only a place that gains enough is timed (:func:`_moved_fits`)."""
    fast = tour.c.fast
    if fast is None:
        return _near_place_py(tour, i, j, near, floor)
    seq = tour.seq
    return scan.near_place(fast, *tour_lists(tour), near[seq[i]], near[seq[j]], i, j, floor)


def _near_place_py(
    tour: Tour, i: int, j: int, near: dict[int, list[int]], floor: float
) -> tuple[int, bool] | None:
    """The Python reference of :func:`_near_place` (``_scan.near_place``)."""
    cost = tour.c.cost
    seq, fwd, bwd, pos = tour.seq, tour.fwd, tour.bwd, tour.pos
    length = j - i + 1
    first, last = seq[i], seq[j]
    before, after = seq[i - 1], seq[j + 1]
    cut = cost[before][first] + cost[last][after] - cost[before][after]
    rev_inner = (bwd[j] - bwd[i]) - (fwd[j] - fwd[i]) if length > 1 else 0.0
    stretch = seq[i : j + 1]
    backwards = stretch[::-1]
    at_first = [pos[w] for w in near[first] if w in pos]
    at_last = at_first if length == 1 else [pos[w] for w in near[last] if w in pos]
    best_gain = floor
    best: tuple[int, bool] | None = None
    # (positions, offset, reversed): after a neighbour of first, before one of
    # last, and for longer stretches the reversed piece the other way round.
    options = [(at_first, 0, False), (at_last, -1, False)]
    if length > 1:
        options += [(at_first, -1, True), (at_last, 0, True)]
    for places, offset, reverse in options:
        for q in places:
            p = q + offset
            if i - 1 <= p <= j:
                continue  # the stretch's own place, or inside it
            v, nxt = seq[p], seq[p + 1]
            if reverse:
                gain = cut + cost[v][nxt] - cost[v][last] - cost[first][nxt] - rev_inner
            else:
                gain = cut + cost[v][nxt] - cost[v][first] - cost[last][nxt]
            if gain > best_gain and _moved_fits(tour, i, j, p, backwards if reverse else stretch):
                best_gain, best = gain, (p, reverse)
    return best


def _walk(
    tour: Tour, t: float, prev: int, nodes: list[int], resume: int
) -> tuple[float, int] | None:
    """Time ``nodes`` after leaving ``prev`` at ``t``: (departure, last) or None if one is late.

    ``nodes`` is a stretch of the old sequence starting at position ``resume``
    (or -1 for new orders): once a stop starts exactly when it used to, the
    rest of the stretch keeps its old times, so the walk jumps to its end.
    """
    c = tour.c
    cost, opn, close, service = c.cost, c.open, c.close, c.service
    start, dep = tour.start, tour.dep
    for k, w in enumerate(nodes):
        arr = t + cost[prev][w]
        st = arr if arr > opn[w] else opn[w]
        if st > close[w]:
            return None
        if resume >= 0 and st == start[resume + k]:
            return dep[resume + len(nodes) - 1], nodes[-1]
        t = st + service[w]
        prev = w
    return t, prev


def _swap_fits(tour: Tour, a: int, b: int) -> bool:
    """Is the tour feasible with the stops at positions a < b swapped?"""
    seq, dep, latest, cost = tour.seq, tour.dep, tour.latest, tour.c.cost
    got = _walk(tour, dep[a - 1], seq[a - 1], [seq[b]], -1)
    if got is None:
        return False
    if b > a + 1:
        got = _walk(tour, got[0], got[1], seq[a + 1 : b], a + 1)
        if got is None:
            return False
    got = _walk(tour, got[0], got[1], [seq[a]], -1)
    return got is not None and got[0] + cost[seq[a]][seq[b + 1]] <= latest[b + 1]


def exchange_near(
    tour: Tour, deadline: float, near: dict[int, list[int]], focus: Focus | None = None
) -> int:
    """:func:`exchange` restricted to partners that put a stop next to one of its neighbours."""
    fast = tour.c.fast
    moves = 0
    i = 1
    while i < len(tour.seq) - 1:
        seq = tour.seq
        u = seq[i]
        if focus is not None and u not in focus.scan:
            i += 1
            continue
        if not i & 15 and now() > deadline:
            break
        if fast is not None:
            best = scan.exchange_near_best(
                fast, seq, tour.start, tour.dep, tour.latest, tour.pos, near[u], i
            )
        else:
            best = _exchange_near_best_py(tour, i, near)
        if best is None:
            i += 1
            continue
        a, b = best
        if focus is not None:
            focus.mark((seq[a - 1], seq[a], seq[a + 1], seq[b - 1], seq[b], seq[b + 1]))
        route = seq[1:-1]
        route[a - 1], route[b - 1] = route[b - 1], route[a - 1]
        _apply(tour, route)
        moves += 1
    return moves


def _exchange_near_best_py(
    tour: Tour, i: int, near: dict[int, list[int]]
) -> tuple[int, int] | None:
    """The positions a < b (one of them i) whose swap gains most, putting seq[i] next to
    one of its neighbours, or None (the Python reference of ``_scan.exchange_near_best``)."""
    cost = tour.c.cost
    seq, pos = tour.seq, tour.pos
    u = seq[i]
    k = len(seq) - 2
    best_gain = IMPROVES
    best = None
    for w in near[u]:
        q = pos.get(w)
        if q is None:
            continue
        for j in (q - 1, q + 1):
            if j == i or j < 1 or j > k:
                continue
            a, b = (i, j) if i < j else (j, i)
            x, y = seq[a], seq[b]
            pa, nb = seq[a - 1], seq[b + 1]
            if b == a + 1:
                gain = (cost[pa][x] + cost[x][y] + cost[y][nb]) - (
                    cost[pa][y] + cost[y][x] + cost[x][nb]
                )
            else:
                na, pb = seq[a + 1], seq[b - 1]
                gain = (cost[pa][x] + cost[x][na] + cost[pb][y] + cost[y][nb]) - (
                    cost[pa][y] + cost[y][na] + cost[pb][x] + cost[x][nb]
                )
            if gain > best_gain and _swap_fits(tour, a, b):
                best_gain, best = gain, (a, b)
    return best


def two_opt_near(
    tour: Tour, deadline: float, near: dict[int, list[int]], focus: Focus | None = None
) -> int:
    """:func:`two_opt` restricted to reversals that join a stop to one of its neighbours."""
    fast = tour.c.fast
    moves = 0
    i = 1
    while i < len(tour.seq) - 2:
        seq = tour.seq
        x = seq[i]
        if focus is not None and x not in focus.scan:
            i += 1
            continue
        if not i & 15 and now() > deadline:
            break
        before = seq[i - 1]
        if fast is not None:
            best = scan.two_opt_near_best(
                fast,
                seq,
                tour.dep,
                tour.latest,
                tour.fwd,
                tour.bwd,
                tour.pos,
                near.get(before, []),
                near[x],
                i,
            )
        else:
            best = _two_opt_near_best_py(tour, i, near)
        if best is None:
            i += 1
            continue
        if focus is not None:
            focus.mark((before, x, seq[best], seq[best + 1]))
        route = seq[1:-1]
        route[i - 1 : best] = route[i - 1 : best][::-1]
        _apply(tour, route)
        moves += 1
    return moves


def _two_opt_near_best_py(tour: Tour, i: int, near: dict[int, list[int]]) -> int | None:
    """The end j whose reversal of seq[i..j] gains most, joining a stop to one of its
    neighbours, or None (the Python reference of ``_scan.two_opt_near_best``)."""
    cost = tour.c.cost
    seq = tour.seq
    x = seq[i]
    pos, fwd, bwd, dep, latest = tour.pos, tour.fwd, tour.bwd, tour.dep, tour.latest
    k = len(seq) - 2
    before = seq[i - 1]
    best_gain = IMPROVES
    best = None
    # Reverse seq[i..j]: before then seq[j] (a neighbour of before), or x then
    # seq[j+1] (a neighbour of x).
    ends = [pos[w] for w in near.get(before, ()) if w in pos]
    ends += [pos[w] - 1 for w in near[x] if w in pos]
    for j in ends:
        if j <= i or j > k:
            continue
        y, after = seq[j], seq[j + 1]
        gain = (cost[before][x] + cost[y][after] + (fwd[j] - fwd[i])) - (
            cost[before][y] + cost[x][after] + (bwd[j] - bwd[i])
        )
        if gain <= best_gain:
            continue
        got = _walk(tour, dep[i - 1], before, seq[j : i - 1 : -1], -1)
        if got is not None and got[0] + cost[x][after] <= latest[j + 1]:
            best_gain, best = gain, j
    return best


def exchange(tour: Tour, deadline: float, focus: Focus | None = None) -> int:
    """Swap two stops."""
    fast = tour.c.fast
    moves = 0
    i = 1
    while i < len(tour.seq) - 2:
        if not i & 15 and now() > deadline:
            break
        seq = tour.seq
        if focus is not None and seq[i] not in focus.scan:
            i += 1
            continue
        if fast is not None:
            best = scan.exchange_best(fast, seq, tour.dep, tour.latest, i)
        else:
            best = _exchange_best_py(tour, i)
        if best is None:
            i += 1
            continue
        if focus is not None:
            focus.mark((seq[i - 1], seq[i], seq[i + 1], seq[best - 1], seq[best], seq[best + 1]))
        route = seq[1:-1]
        route[i - 1], route[best - 1] = route[best - 1], route[i - 1]
        _apply(tour, route)
        moves += 1
    return moves


def _exchange_best_py(tour: Tour, i: int) -> int | None:
    """The partner j > i whose swap with seq[i] gains most, or None (the Python reference
    of ``_scan.exchange_best``)."""
    c = tour.c
    cost, opn, close, service = c.cost, c.open, c.close, c.service
    seq, dep, latest = tour.seq, tour.dep, tour.latest
    k = len(seq) - 2
    u = seq[i]
    before, nxt_u = seq[i - 1], seq[i + 1]
    au, bu, su = opn[u], close[u], service[u]
    best_gain = IMPROVES
    best = None
    # mid = seq[i+1 .. j-1], grown by appending.
    m_dur = m_early = m_late = 0.0
    m_last = -1
    for j in range(i + 1, k + 1):
        v = seq[j]
        after = seq[j + 1]
        if j == i + 1:
            gain = (cost[before][u] + cost[u][v] + cost[v][after]) - (
                cost[before][v] + cost[v][u] + cost[u][after]
            )
            if gain > best_gain:
                arr = dep[i - 1] + cost[before][v]
                st = arr if arr > opn[v] else opn[v]
                if st <= close[v]:
                    arr = st + service[v] + cost[v][u]
                    st = arr if arr > au else au
                    if st <= bu and st + su + cost[u][after] <= latest[j + 1]:
                        best_gain, best = gain, j
            # Start mid with v for the next j.
            m_dur, m_early, m_late, m_last = service[v], opn[v], close[v], v
            continue
        if m_early + m_dur > bu:
            break  # u would start after its close wherever it goes further on
        gain = (cost[before][u] + cost[u][nxt_u] + cost[m_last][v] + cost[v][after]) - (
            cost[before][v] + cost[v][nxt_u] + cost[m_last][u] + cost[u][after]
        )
        if gain > best_gain:
            arr = dep[i - 1] + cost[before][v]
            st = arr if arr > opn[v] else opn[v]
            if st <= close[v]:
                arr = st + service[v] + cost[v][nxt_u]
                if arr <= m_late:
                    tt = (arr if arr > m_early else m_early) + m_dur
                    arr = tt + cost[m_last][u]
                    st = arr if arr > au else au
                    if st <= bu and st + su + cost[u][after] <= latest[j + 1]:
                        best_gain, best = gain, j
        # Append v to mid.
        leg = cost[m_last][v]
        delta = m_dur + leg
        wait = opn[v] - delta - m_late
        warp = m_early + delta - close[v]
        if warp > 0:
            break
        wait = wait if wait > 0 else 0.0
        m_early = (opn[v] - delta if opn[v] - delta > m_early else m_early) - wait
        m_late = close[v] - delta if close[v] - delta < m_late else m_late
        m_dur = m_dur + service[v] + leg + wait
        m_last = v
    return best


def two_opt(tour: Tour, deadline: float, focus: Focus | None = None) -> int:
    """Reverse a stretch seq[i..j]."""
    fast = tour.c.fast
    moves = 0
    i = 1
    while i < len(tour.seq) - 2:
        if not i & 15 and now() > deadline:
            break
        seq = tour.seq
        if focus is not None and seq[i] not in focus.scan:
            i += 1
            continue
        if fast is not None:
            best = scan.two_opt_best(fast, seq, tour.dep, tour.latest, tour.fwd, tour.bwd, i)
        else:
            best = _two_opt_best_py(tour, i)
        if best is None:
            i += 1
            continue
        if focus is not None:
            focus.mark((seq[i - 1], seq[i], seq[best], seq[best + 1]))
        route = seq[1:-1]
        route[i - 1 : best] = route[i - 1 : best][::-1]
        _apply(tour, route)
        moves += 1
    return moves


def _two_opt_best_py(tour: Tour, i: int) -> int | None:
    """The end j whose reversal of seq[i..j] gains most, or None (the Python reference of
    ``_scan.two_opt_best``)."""
    c = tour.c
    cost, opn, close, service = c.cost, c.open, c.close, c.service
    seq, dep, latest, fwd, bwd = tour.seq, tour.dep, tour.latest, tour.fwd, tour.bwd
    k = len(seq) - 2
    before = seq[i - 1]
    x = seq[i]
    base_in = cost[before][x]
    best_gain = IMPROVES
    best = None
    # rev = seq[j], seq[j-1], ..., seq[i], grown by prepending seq[j].
    r_dur, r_early, r_late, r_first = service[x], opn[x], close[x], x
    t_before = dep[i - 1]
    for j in range(i + 1, k + 1):
        v = seq[j]
        leg = cost[v][r_first]
        delta = service[v] + leg
        warp = opn[v] + delta - r_late
        if warp > 0:
            break  # reversing any longer stretch keeps this violation
        wait = r_early - delta - close[v]
        wait = wait if wait > 0 else 0.0
        r_early = (r_early - delta if r_early - delta > opn[v] else opn[v]) - wait
        r_late = r_late - delta if r_late - delta < close[v] else close[v]
        r_dur = r_dur + service[v] + leg + wait
        r_first = v
        after = seq[j + 1]
        gain = (base_in + cost[v][after] + (fwd[j] - fwd[i])) - (
            cost[before][v] + cost[x][after] + (bwd[j] - bwd[i])
        )
        if gain <= best_gain:
            continue
        arr = t_before + cost[before][v]
        if arr > r_late:
            continue
        tt = (arr if arr > r_early else r_early) + r_dur
        if tt + cost[x][after] <= latest[j + 1]:
            best_gain, best = gain, j
    return best


GRANULAR_FROM = 40  # tours at least this long use the neighbour-list relocation
# Whole stretches moved elsewhere (maybe reversed) by an unfocused descent of a long tour:
# on dense days the better routes take a street at another time of the day, or the other
# way round, which 1-3 stop moves cannot reach one at a time (docs/benchmarks.md).
LONG_STRETCHES = (5, 8)


def descend(
    tour: Tour,
    deadline: float,
    *,
    full: bool = True,
    focus: Focus | None = None,
    near: dict[int, list[int]] | None = None,
) -> None:
    """Apply improving moves until none is left (or time runs out).

    ``full`` adds relocation of 2- and 3-stop stretches (or-opt), the most
    expensive neighbourhoods, and without a focus on a long tour also of
    :data:`LONG_STRETCHES`. With a ``focus`` only moves that start at its
    stops are tried, and each round looks only at the stops the previous
    round changed, so a local change costs a local search.
    """
    while now() < deadline:
        if near is not None and tour.size >= GRANULAR_FROM:
            move = partial(relocate_near, near=near)
            moved = move(tour, 1, deadline, focus=focus)
            moved += two_opt_near(tour, deadline, near, focus)
            moved += exchange_near(tour, deadline, near, focus)
        else:
            move = relocate
            moved = move(tour, 1, deadline, focus=focus)
            moved += two_opt(tour, deadline, focus)
            moved += exchange(tour, deadline, focus)
        if full:
            moved += move(tour, 2, deadline, focus=focus)
            moved += move(tour, 3, deadline, focus=focus)
            if focus is None and near is not None and tour.size >= GRANULAR_FROM:
                for length in LONG_STRETCHES:
                    moved += move(tour, length, deadline)
        if not moved:
            return
        if focus is not None:
            focus.next_round()
