"""Iterated local search: ruin part of the tour, recreate by priority, descend.

On a long day that serves every stop, some iterations move a whole stretch of the route
elsewhere instead (:meth:`Search.shift`): stop-by-stop ruins cannot turn a street round.

The acceptance test is lexicographic like the objective: more prize (served
stops, weighted by rank) always wins; at equal prize a tour is accepted when
its travel is within a shrinking threshold of the current one, which lets the
search walk across plateaus early and settles it towards the end. While the search
seeks room on a day that not everything fits (:meth:`Search.seek_room`), the day's
working time (travel plus visits) takes the place of travel.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

from .budget import now
from .compiled import Compiled
from .insertion import fill, make_room, squeeze_in, substitute, swap_elsewhere
from .local_search import GRANULAR_FROM, Focus, descend, shift_stretch
from .speedups import scan
from .tour import Tour

INF = float("inf")
RUIN_CAP = 25  # most stops one ruin removes
SHIFT_SHARE = 0.2  # iterations that move a whole stretch instead (long days that fit)
MEMO_LIMIT = 5_000  # remembered polished tours of each kind (about 10 MB at 250 stops)
# From this many candidates a search that stagnates starts again until its budget ends
# (solver._search_again), so on an over-full day its patience is counted by the tour's length,
# not by the candidates' (below, :meth:`Search.run`), and its escape also drops stops one by
# one (:meth:`Search.refill`).
MANY_CANDIDATES = 80


@dataclass
class Solution:
    route: list[int]
    prize: int
    travel: float
    # What decides between routes of equal prize: the travel, or while the search makes room
    # (Search.lean) the day's working time, travel plus visits. Compare solutions of one mode.
    tie: float = -1.0

    def __post_init__(self) -> None:
        if self.tie < 0:
            self.tie = self.travel

    def by_travel(self) -> Solution:
        """The same route compared by travel at equal prize (as outside the room search)."""
        return Solution(self.route, self.prize, self.travel)

    def better_than(self, other: Solution) -> bool:
        if self.prize != other.prize:
            return self.prize > other.prize
        return self.tie < other.tie - 1e-6


def neighbours(c: Compiled, count: int = 24) -> dict[int, list[int]]:
    """For each candidate, the nearest other candidates (by the shorter direction)."""
    if c.fast is not None:
        return scan.neighbours(c.fast, c.candidates, count)
    return neighbours_py(c, count)


def neighbours_py(c: Compiled, count: int = 24) -> dict[int, list[int]]:
    """The Python reference of :func:`neighbours`."""
    cost = c.cost
    cands = c.candidates
    result = {}
    for u in cands:
        row = cost[u]
        near = sorted((min(row[v], cost[v][u]), v) for v in cands if v != u)
        result[u] = [v for _, v in near[:count]]
    return result


def timed_neighbours(c: Compiled, count: int = 12) -> dict[int, list[int]]:
    """For each candidate, the others it can sit next to most cheaply, windows included.

    ``u`` then ``v`` costs the travel plus the least wait it forces (v opens
    after u must have left), and is impossible when v closes before u can
    reach it at the earliest; the better direction counts. Near stops whose
    windows never meet are left out: they cannot be neighbours in any tour.
    """
    if c.fast is not None:
        return scan.timed_neighbours(c.fast, c.candidates, count)
    return timed_neighbours_py(c, count)


def timed_neighbours_py(c: Compiled, count: int = 12) -> dict[int, list[int]]:
    """The Python reference of :func:`timed_neighbours`."""
    cost, opn, close, service = c.cost, c.open, c.close, c.service
    cands = c.candidates
    inf = float("inf")
    result = {}
    for u in cands:
        row = cost[u]
        ready_u, late_u = opn[u] + service[u], close[u] + service[u]
        scored = []
        for v in cands:
            if v == u:
                continue
            arr = ready_u + row[v]
            after = inf if arr > close[v] else row[v] + max(0.0, opn[v] - late_u - row[v])
            back = cost[v][u]
            arr = opn[v] + service[v] + back
            before = (
                inf if arr > close[u] else back + max(0.0, opn[u] - close[v] - service[v] - back)
            )
            score = after if after < before else before
            if score < inf:
                scored.append((score, v))
        scored.sort()
        result[u] = [v for _, v in scored[:count]]
    return result


def fill_order(c: Compiled, style: float, over_full: bool) -> Callable[[int], float] | None:
    """The order in which a recreate tries the stops of one rank, drawn by ``style`` in [0, 1):
    by closing time, by opening time, or as shuffled (None); on a day that not everything
    fits, a fifth of the draws take the shortest visits first, which packs more stops of a
    rank into the day (city-150-free over 128 seeds: every run at its best two priority
    profiles, against 100; docs/benchmarks.md).
    """
    if style < 0.3:
        return c.close.__getitem__
    if style < 0.5:
        return c.open.__getitem__
    if style < 0.7 and over_full:
        return c.service.__getitem__
    return None


def _around(old: list[int], removed: list[int], new: list[int], added: list[int]) -> set[int]:
    """Stops next to where a ruin-and-recreate step cut or inserted: where to look for moves."""
    out: set[int] = set()
    for route, changed in ((old, set(removed)), (new, set(added))):
        for p, v in enumerate(route):
            if v in changed:
                out.add(v)
                if p > 0:
                    out.add(route[p - 1])
                if p + 1 < len(route):
                    out.add(route[p + 1])
    return out


class Search:
    def __init__(self, c: Compiled, rng: random.Random) -> None:
        self.c = c
        self.rng = rng
        self.near = neighbours(c)
        self.iterations = 0
        self.trace: list[tuple[int, int, float]] = []  # (iteration, prize, travel) at each new best
        # Polished results by the tour they started from: after the focused polish of a
        # recreated tour, and after the full polish of a promising one.
        self.settled: dict[tuple[int, ...], list[int]] = {}
        self.polished: dict[tuple[int, ...], list[int]] = {}
        # The last best :meth:`escape` started from (or, taking stops out, ended at).
        self.escaped_from: list[int] | None = None
        # Making room (:meth:`seek_room`): at equal prize the shorter working day wins,
        # and the shortest travel met at the best prize is kept aside.
        self.lean = False
        self.shortest: Solution | None = None

    @cached_property
    def granular(self) -> dict[int, list[int]]:
        """The neighbour lists of long tours' moves: not built for the short ones."""
        return timed_neighbours(self.c)

    def snapshot(self, tour: Tour) -> Solution:
        if self.lean:
            service = self.c.service
            working = tour.travel + sum(service[v] for v in tour.route)
            return Solution(tour.route, tour.prize(), tour.travel, working)
        return Solution(tour.route, tour.prize(), tour.travel)

    def seek_room(self, on: bool) -> None:
        """Switch the search between making room (``on``: at equal priorities the route
        whose travel plus visits is shorter wins, in the walk, the swaps and the best) and
        shortening travel (the objective).

        On a day bound by its length the stops a day of least travel serves are often the
        longer visits; another stop of the same rank fits only after a shorter visit replaced
        one, a move that lengthens travel and the travel search never takes (city-150-free:
        26 A stops need nearly the A stops of shortest visits, at 1.2 minutes to spare).
        Polished results are forgotten at each switch: they depend on the mode.
        """
        self.lean = on
        self.settled.clear()
        self.polished.clear()
        self.escaped_from = None

    def polish(
        self, tour: Tour, deadline: float, full: bool = True, focus: Focus | None = None
    ) -> None:
        """Descend, then try to add or upgrade stops, until nothing changes."""
        c = self.c
        weight = c.weight
        while True:
            near = self.granular if tour.size >= GRANULAR_FROM else None
            descend(tour, deadline, full=full, focus=focus, near=near)
            if now() > deadline:
                return
            before = tour.route
            served = set(before)
            unserved = [u for u in c.candidates if u not in served]
            if not unserved:
                return
            added = fill(tour, [u for u in unserved if tour.may_fit(u)], by_shift=True)
            # Only stops at least as important as some served one can replace it.
            route = tour.route
            served = set(route)
            floor = min((weight[v] for v in route), default=0)
            swaps = substitute(
                tour,
                [u for u in c.candidates if u not in served and weight[u] >= floor],
                lean=self.lean,
            )
            route = tour.route
            served = set(route)
            floor = min((weight[v] for v in route), default=0)
            added += squeeze_in(
                tour, [u for u in c.candidates if u not in served and weight[u] > floor]
            )
            now_served = set(tour.route)
            left = [u for u in c.candidates if u not in now_served]
            if focus is None and 0 < len(left) <= max(2, len(c.candidates) // 50):
                # A day that nearly fits: shuffle neighbours aside for the last few stops.
                added += make_room(tour, left, self.near)
            if not added and not swaps:
                return
            gone = served.symmetric_difference(tour.route) - set(added)
            added += [u for u, _ in swaps]
            focus = Focus(_around(before, list(gone | {v for _, v in swaps}), tour.route, added))

    def polish_once(
        self, tour: Tour, deadline: float, memo: dict[tuple[int, ...], list[int]], **how
    ) -> None:
        """:meth:`polish`, remembered: a tour met before is set to what polishing it gave.

        The search keeps coming back to the same places (on days of up to 20 stops about
        three recreated tours in four were seen before, bench/engine.py), and a descent is
        most of an iteration's cost. Only finished descents are remembered.
        """
        key = tuple(tour.route)
        known = memo.get(key)
        if known is not None:
            tour.set(known)
            return
        self.polish(tour, deadline, **how)
        if now() <= deadline and len(memo) < MEMO_LIMIT:
            memo[key] = tour.route

    def shift(self, tour: Tour, route: list[int]) -> list[int] | None:
        """Now and then on a long day that serves every stop, move a whole stretch of the
        route elsewhere (maybe reversed) instead of ruining it; returns the stretch moved."""
        k = len(route)
        rng = self.rng
        if k < GRANULAR_FROM or k < len(self.c.candidates) or rng.random() >= SHIFT_SHARE:
            return None
        length = rng.randint(6, min(30, k // 3))
        tour.set(route)
        i = rng.randint(1, k - length + 1)
        moved = shift_stretch(tour, i, length, self.granular)
        if moved is None:
            return None
        stretch = tour.seq[i : i + length]
        tour.set(moved)
        return stretch

    def escape(self, best: Solution, deadline: float) -> Solution | None:
        """On a short over-full day that has gone 30 iterations without a new best: trade
        served stops for unserved ones at least as important placed anywhere
        (:func:`swap_elsewhere`), then polish; None when nothing is gained.

        Some days have two basins that differ by such a trade (city-50-depot: 187.8 or
        195.4 min with the same stops by rank) and ruin-and-recreate rarely crosses from one
        to the other. Only the best tour is traded from, once each, and only a better
        result is returned: the search's answer cannot get worse, and it is one rebuild
        per served stop, too dear to try on every iteration (as :meth:`polish` once did:
        it changed where seeds settled, and 2 of 10 ended serving a stop fewer). With
        MANY_CANDIDATES or more it then also takes stops out one by one (:meth:`refill`).
        """
        c = self.c
        if (
            len(best.route) >= GRANULAR_FROM
            or len(best.route) == len(c.candidates)
            or best.route == self.escaped_from
        ):
            return None
        self.escaped_from = best.route
        tour = Tour(c, best.route)
        found = None
        if swap_elsewhere(tour, set(c.candidates) - set(best.route), lean=self.lean):
            self.polish(tour, deadline)
            traded = self.snapshot(tour)
            found = traded if traded.better_than(best) else None
        if len(c.candidates) >= MANY_CANDIDATES:
            start = found or best
            refilled = self.refill(start, deadline)
            if refilled.better_than(start):
                found = refilled
            self.escaped_from = refilled.route
        return found

    def refill(self, best: Solution, deadline: float) -> Solution:
        """Take each served stop out in turn and polish again; keep the first better tour
        and start over from it, until none is better or the clock ends.

        Polishing a tour with a gap lets the descent reshape the day around it before the
        stop (or another one) goes back in, by the time it adds to the day: a compound move
        random ruins find rarely. Costs one polish per served stop a round, so only the
        escape calls it (city-150-free over 80 seeds: 13 runs reach its best priority
        profile with it, 4 without).
        """
        c = self.c
        while True:
            route = best.route
            for p in range(len(route)):
                if now() > deadline:
                    return best
                tour = Tour(c, route[:p] + route[p + 1 :])
                self.polish(tour, deadline)
                found = self.snapshot(tour)
                if now() <= deadline and found.better_than(best):
                    best = found
                    break
            else:
                return best

    def _keep_shortest(self, cand: Solution) -> None:
        by_travel = cand.by_travel()
        if self.shortest is None or by_travel.better_than(self.shortest):
            self.shortest = by_travel

    def ruin(self, route: list[int]) -> tuple[list[int], list[int]]:
        rng = self.rng
        k = len(route)
        if k == 0:
            return route, []
        full_day = len(route) == len(self.c.candidates)
        if rng.random() < (0.15 * min(1.0, (40 / k) ** 2) if full_day else 0.15):
            # Now and then rebuild the whole day: the only way out of some shapes
            # (a far stop that fits only if the day is swept the other way round).
            # It costs a construction and a full descent, so big days that already
            # serve every stop do it rarely; over-full days need it to swap stops.
            return [], list(route)
        # Large ruins (a quarter to three quarters of the day) escape deep local
        # optima on over-full days; small ones fine-tune. Both are needed.
        if rng.random() < 0.5:
            hi = min(k, max(3, k * 3 // 4), RUIN_CAP)
            q = rng.randint(min(max(1, k // 4), hi), hi)
        else:
            q = rng.randint(1, max(1, min(k, k // 5, RUIN_CAP)))
        kind = rng.random()
        if kind < 0.4:
            # A contiguous string: frees a whole period of the day.
            at = rng.randrange(k - q + 1)
            removed = route[at : at + q]
            kept = route[:at] + route[at + q :]
        elif kind < 0.8:
            # A seed and its served neighbours: reshapes one area.
            seed = rng.choice(route)
            served = set(route)
            chosen = [seed] + [v for v in self.near.get(seed, ()) if v in served][: q - 1]
            removed = chosen
            drop = set(chosen)
            kept = [v for v in route if v not in drop]
        else:
            removed = rng.sample(route, q)
            drop = set(removed)
            kept = [v for v in route if v not in drop]
        return kept, removed

    def recreate(self, tour: Tour, removed: list[int], served: set[int]) -> list[int]:
        c = self.c
        rng = self.rng
        pool = list(removed)
        seen = set(removed) | served
        # Unserved stops near the freed places are the ones most likely to fit now.
        for v in removed:
            for u in self.near.get(v, ())[:10]:
                if u not in seen:
                    seen.add(u)
                    pool.append(u)
        # And every unserved stop more important than something removed: the
        # freed time may be exactly what it needed (there are few such stops
        # on a full day, since the important ones are mostly served).
        floor = min(c.weight[v] for v in removed)
        for u in c.candidates:
            if u not in seen and c.weight[u] > floor:
                seen.add(u)
                pool.append(u)
        rng.shuffle(pool)
        key = fill_order(c, rng.random(), over_full=len(served) + len(removed) < len(c.candidates))
        # Parallel insertion is quadratic in the pool: keep it for small pools.
        parallel = len(pool) <= 40 and rng.random() < 0.3
        near = self.near if tour.size >= GRANULAR_FROM else None
        return fill(tour, pool, by_shift=rng.random() < 0.5, parallel=parallel, key=key, near=near)

    def run(
        self,
        route: list[int],
        deadline: float,
        max_iterations: int | None = None,
        wall_deadline: float = INF,
    ) -> Solution:
        """Search from ``route``, already polished (solver._optimise: that first descent
        ignores the clock), until the CPU ``deadline`` (:func:`budget.now`), the
        ``wall_deadline`` (``time.perf_counter``), ``max_iterations``, or stagnation."""
        c = self.c
        tour = Tour(c, route)
        current = best = self.snapshot(tour)
        began = now()
        span = max(deadline - began, 1e-9)
        stale = 0
        first = last_gain = self.iterations  # a run may follow another on this search
        while now() < deadline and time.perf_counter() < wall_deadline:
            if max_iterations is not None and self.iterations >= max_iterations:
                break
            stops, scale = len(c.candidates), 1.0
            if len(best.route) < stops:  # over-full
                if stops >= MANY_CANDIDATES:
                    # A long list for a short tour: wait as the tour asks, not the list
                    # (city-150-free over 80 seeds, with the hand-over of _search_again and
                    # the refill of the escape: runs at its best two priority profiles
                    # 47 -> 64, at the best one 4 -> 13; docs/benchmarks.md).
                    stops, scale = len(best.route), LONG_OVER_FULL
                else:
                    scale = SHORT_OVER_FULL
            if self.iterations - last_gain >= patience(last_gain - first, stops, scale):
                break
            self.iterations += 1
            shifted = self.shift(tour, current.route)
            if shifted is not None:
                removed = added = shifted
            else:
                kept, removed = self.ruin(current.route)
                if not removed:
                    break
                tour.set(kept)
                added = self.recreate(tour, removed, set(kept))
            # Short tours (most over-full days) can afford the or-opt moves on every
            # tour near the best; long ones get them around the change, and everywhere
            # only for a new best (a full descent of 150 stops costs as much as
            # dozens of iterations).
            short = len(current.route) < GRANULAR_FROM
            self.polish_once(
                tour,
                deadline,
                self.settled,
                full=not short,
                focus=Focus(_around(current.route, removed, tour.route, added)),
            )
            cand = self.snapshot(tour)
            if short:
                promising = cand.route != best.route and (
                    cand.prize > best.prize
                    or (cand.prize == best.prize and cand.tie < best.tie + 0.01 * best.travel)
                )
            else:
                promising = cand.better_than(best)
            if promising:
                self.polish_once(tour, deadline, self.polished)
                cand = self.snapshot(tour)
            if self.lean:
                self._keep_shortest(cand)
            if max_iterations is not None:
                progress = self.iterations / max_iterations  # reproducible: no clock in the loop
            else:
                progress = (now() - began) / span
            threshold = 0.02 * best.travel / max(1, len(best.route)) * (1.0 - progress)
            if cand.better_than(best):
                best = cand
                self.trace.append((self.iterations, best.prize, best.travel))
                stale = 0
                last_gain = self.iterations
            else:
                stale += 1
            if cand.prize > current.prize or (
                cand.prize == current.prize and cand.tie < current.tie + threshold
            ):
                current = cand
            if stale > 30:
                escaped = self.escape(best, deadline)
                if escaped is not None:
                    best = escaped
                    self.trace.append((self.iterations, best.prize, best.travel))
                    last_gain = self.iterations
                current, stale = best, 0
        return best


# Stagnation: stop after this many iterations without a new best, or as many as
# it took to find the current best if that is more (the search gets as long
# again as its last success needed), or 2 iterations per stop on bigger days
# (LONG_PATIENCE on long ones). Measured on 348 runs of 58 days of up to 20
# stops against the best of 6 x 1000 iterations: 50 misses the best in 37 runs,
# 75 in 30, 100 in 23, the former fixed 80 ms budget in 32 (see docs/benchmarks.md). Smaller days
# have fewer places to look: 25 + 2.5 per stop (40 at 6 stops, 62 at 15) missed
# one run more than 75 in 300 runs of 50 days of 2-20 stops, for 13 % less time.
PATIENCE = 75


# Long days (GRANULAR_FROM stops or more) wait LONG_PATIENCE iterations per stop: with the
# compiled scans an iteration costs about 2.5 times less than when 2 per stop was set, and
# on dense-80 days 2 per stop stopped 4 runs of 20 in a basin 1 % longer, 4 per stop 1 of
# 20 (0.5 % longer), within half the budget (docs/benchmarks.md).
LONG_PATIENCE = 4


# Over-full days. With MANY_CANDIDATES or more a run waits twice what its tour asks (it also
# trades stops, which takes longer to pay off), then the search starts again until the budget
# ends. A smaller day makes short runs, half the patience, and several of them
# (solver.OVER_FULL_RUNS): city-20-free over 100 seeds, 95 at its best route or a shorter one
# against 76 with three runs of twice the patience (the budget ended after 1-3 of them).
LONG_OVER_FULL = 2.0
SHORT_OVER_FULL = 0.5


def patience(last_gain: int, stops: int, scale: float = 1.0) -> int:
    per_stop = LONG_PATIENCE if stops >= GRANULAR_FROM else 2
    return math.ceil(scale * max(min(PATIENCE, 25 + 5 * stops // 2), last_gain, per_stop * stops))
