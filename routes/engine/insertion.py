"""Adding stops to a tour: greedy insertion by priority, and stop substitution."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from itertools import groupby

from .speedups import scan
from .tour import Tour

IMPROVES = 1e-6


def insert_at(tour: Tour, u: int, p: int) -> None:
    """Insert ``u`` after sequence position ``p``."""
    tour.insert(u, p)


def fill(
    tour: Tour,
    pool: Iterable[int],
    *,
    by_shift: bool = False,
    parallel: bool = False,
    key: Callable[[int], float] | None = None,
    near: dict[int, list[int]] | None = None,
    by_rank: bool = True,
) -> list[int]:
    """Insert stops from ``pool``, most important rank first; return those inserted.

    ``near`` (a neighbour list per stop) makes each try look next to the
    stop's neighbours first (see :meth:`Tour.insertion`): for long tours.

    ``by_rank=False`` puts every rank in one pool: a start built by distance
    alone, for a day where everything fits (the solver's second start).

    Within a rank, ``parallel`` repeatedly takes the stop with the cheapest
    insertion overall (better, quadratic); otherwise stops are tried once each
    in ``key`` order (or pool order). A stop that fits nowhere is skipped: a
    less important stop can never block a more important one because the
    more important ones are all placed first.
    """
    weight = tour.c.weight
    ordered = sorted(
        pool, key=lambda u: -weight[u]
    )  # stable: keeps the caller's order within a rank
    inserted: list[int] = []
    for _, group_iter in groupby(ordered, key=lambda u: weight[u] if by_rank else 0):
        group = list(group_iter)
        if key is not None:
            group.sort(key=key)
        if parallel:
            left = group
            while left:
                best = None
                still = []
                for u in left:
                    found = tour.insertion(u, by_shift)
                    if found is None:
                        continue  # never fits again: the tour only gets fuller
                    still.append(u)
                    if best is None or found[0] < best[0]:
                        best = (found[0], u, found[1])
                if best is None:
                    break
                insert_at(tour, best[1], best[2])
                inserted.append(best[1])
                still.remove(best[1])
                left = still
        else:
            for u in group:
                found = tour.insertion(u, by_shift, near[u] if near is not None else None)
                if found is not None:
                    insert_at(tour, u, found[1])
                    inserted.append(u)
    return inserted


def substitute(tour: Tour, unserved: list[int], lean: bool = False) -> list[tuple[int, int]]:
    """Replace served stops by unserved ones in place when that helps.

    A swap is taken if the newcomer is more important than the stop it
    replaces, or equally important and the tour gets shorter; with ``lean``,
    equally important and the day shorter (travel plus visits: a shorter visit
    may be worth a longer drive, the room it leaves may take another stop).
    Returns the (added, removed) pairs applied.
    """
    c = tour.c
    weight = c.weight
    done: list[tuple[int, int]] = []
    pending = sorted(unserved, key=lambda u: -weight[u])
    for u in pending:
        best = NotImplemented
        if c.fast is not None:
            best = scan.substitute_best(c.fast, tour.seq, tour.dep, tour.latest, u, lean)
        if best is NotImplemented:
            best = _substitute_best_py(tour, u, lean)
        if best is not None:
            route = tour.route
            removed = route[best - 1]
            route[best - 1] = u
            tour.set(route)
            done.append((u, removed))
    return done


def _substitute_best_py(tour: Tour, u: int, lean: bool = False) -> int | None:
    """The position of the served stop that ``u`` replaces best in :func:`substitute`, or
    None (the Python reference of ``_scan.substitute_best``)."""
    c = tour.c
    cost, opn, close, service, weight = c.cost, c.open, c.close, c.service, c.weight
    seq, dep, latest = tour.seq, tour.dep, tour.latest
    au, bu, su, wu = opn[u], close[u], service[u], weight[u]
    best = None
    best_key = (0, IMPROVES)
    for i in range(1, len(seq) - 1):
        v = seq[i]
        if weight[v] > wu:
            continue
        x, y = seq[i - 1], seq[i + 1]
        arr = dep[i - 1] + cost[x][u]
        st = arr if arr > au else au
        if st > bu or st + su + cost[u][y] > latest[i + 1]:
            continue
        saved = cost[x][v] + cost[v][y] - cost[x][u] - cost[u][y]
        if lean:
            saved += service[v] - su
        cand = (wu - weight[v], saved)
        if cand > best_key:
            best_key, best = cand, i
    return best


def swap_elsewhere(tour: Tour, unserved: set[int], lean: bool = False) -> list[tuple[int, int]]:
    """Replace a served stop by an unserved one placed wherever it fits best.

    :func:`substitute` puts the newcomer in the leaving stop's place; on a full day
    the better swap often frees time in one part of the day for a stop in another
    (city-50-depot: dropping one B stop near the start makes room for another B
    stop in the afternoon, 7.6 minutes shorter). For each served stop, least
    important first, every unserved stop at least as important is tried at its
    cheapest gap in the tour without it; a swap is taken if the newcomer is more
    important, or equally important and the tour gets shorter (with ``lean``, the
    day: see :func:`substitute`). Costs a tour rebuild per served stop: for short
    tours (over-full days). Returns the (added, removed) pairs applied.
    """
    weight, service = tour.c.weight, tour.c.service
    done: list[tuple[int, int]] = []
    for v in sorted(tour.route, key=lambda w: weight[w]):
        options = [u for u in unserved if weight[u] >= weight[v]]
        if not options:
            continue
        travel = tour.travel
        route = tour.route
        tour.set([w for w in route if w != v])
        best = None
        for u in options:
            found = tour.insertion(u)
            if found is None:
                continue
            saved = travel - (tour.travel + found[0])
            if lean:
                saved += service[v] - service[u]
            key = (weight[u] - weight[v], saved)
            if key > (0, IMPROVES) and (best is None or key > best[0]):
                best = (key, u, found[1])
        if best is None:
            tour.set(route)
            continue
        _, u, at = best
        insert_at(tour, u, at)
        unserved.discard(u)
        unserved.add(v)
        done.append((u, v))
    return done


def squeeze_in(tour: Tour, unserved: list[int], max_run: int = 6) -> list[int]:
    """Insert stops by evicting a run of strictly less important stops next to them.

    For an unserved stop ``u`` and any two tour positions ``a < b`` with at
    most ``max_run`` stops between them, all less important than ``u``: drop
    those stops and put ``u`` between ``a`` and ``b``. By the lexicographic
    weights this always gains prize, however many stops are evicted. The
    check is O(1) per (a, b) thanks to the tour's latest-start array.
    Returns the stops inserted (evicted ones become unserved).
    """
    c = tour.c
    weight = c.weight
    placed: list[int] = []
    for u in sorted(unserved, key=lambda v: -weight[v]):
        best = NotImplemented
        if c.fast is not None:
            best = scan.squeeze_best(c.fast, tour.seq, tour.dep, tour.latest, tour.fwd, u, max_run)
        if best is NotImplemented:
            best = _squeeze_best_py(tour, u, max_run)
        if best is not None:
            a, b = best
            route = tour.route
            route[a : b - 1] = [u]
            tour.set(route)
            placed.append(u)
    return placed


def _squeeze_best_py(tour: Tour, u: int, max_run: int) -> tuple[int, int] | None:
    """The positions (a, b) between which :func:`squeeze_in` puts ``u``, or None (the Python
    reference of ``_scan.squeeze_best``)."""
    c = tour.c
    cost, opn, close, service, weight = c.cost, c.open, c.close, c.service, c.weight
    seq, dep, latest = tour.seq, tour.dep, tour.latest
    m = len(seq)
    wu, au, bu, su = weight[u], opn[u], close[u], service[u]
    row_u = cost[u]
    best = None
    best_key = None
    for a in range(m - 1):
        if dep[a] > bu:
            break
        arr = dep[a] + cost[seq[a]][u]
        if arr > bu:
            continue
        st = arr if arr > au else au
        leave = st + su
        lost = 0
        # b = a + 1 is a plain insertion (fill() already tried it); grow the evicted run.
        for b in range(a + 2, min(a + 2 + max_run, m)):
            v = seq[b - 1]
            if weight[v] >= wu:
                break
            lost += weight[v]
            y = seq[b]
            if leave + row_u[y] <= latest[b]:
                travel = cost[seq[a]][u] + row_u[y] - (tour.fwd[b] - tour.fwd[a])
                key = (wu - lost, -travel)
                if best_key is None or key > best_key:
                    best_key, best = key, (a, b)
                break  # evicting more of the run only loses prize
    return best


def make_room(
    tour: Tour, unserved: list[int], near: dict[int, list[int]], max_string: int = 4
) -> list[int]:
    """Fit stops that no single insertion fits by moving a few served stops out of the way.

    For an unserved stop, take out a string of up to ``max_string`` served
    stops next to one of its nearest neighbours, insert the stop, then put
    the string back wherever it fits; keep the result only if every stop of
    the string found a place (so the tour gains the stop and loses none).
    Returns the stops inserted. Meant for days that nearly fit: each stop
    costs a few dozen trial insertions.
    """
    weight = tour.c.weight
    placed: list[int] = []
    for u in sorted(unserved, key=lambda v: -weight[v]):
        done = False
        for w in near.get(u, ())[:8]:
            old = tour.route
            at = tour.pos.get(w)
            if at is None:
                continue
            for length in range(1, max_string + 1):
                lo = max(1, at - length // 2)
                hi = min(len(old), lo + length - 1)
                removed = old[lo - 1 : hi]
                tour.set(old[: lo - 1] + old[hi:])
                found = tour.insertion(u, by_shift=True)
                if found is not None:
                    insert_at(tour, u, found[1])
                    back = fill(tour, removed, by_shift=True, key=tour.c.close.__getitem__)
                    if len(back) == len(removed):
                        placed.append(u)
                        done = True
                        break
                tour.set(old)
            if done:
                break
    return placed
