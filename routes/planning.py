"""From a validated request to the engine's problem, and from its route to the API's answer.

Plain Python (no Django): the API, the HTML views, the LLM chain and the benchmarks share it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from routes.engine import Problem, Route, Stop, evaluate
from routes.schema import OptimizeRequest, Point, hhmm_of, minutes_of

EARTH_RADIUS_KM = 6371.0088

SKIP_REASONS = {
    "unreachable": "cannot be visited inside its window ({window}) within the working day",
    "no_time": "no time left in the working day; dropped to keep more important stops",
    "not_in_order": "not in the proposed order",
}


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi = phi2 - phi1
    dlmb = math.radians(lon2 - lon1)
    a = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlmb / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


@dataclass(frozen=True)
class Plan:
    """A request turned into the engine's terms, with what is needed to describe a route."""

    request: OptimizeRequest
    problem: Problem
    km: tuple[tuple[float, ...], ...]  # road km between points; index n is the start point, if any

    @property
    def locations(self):
        return self.request.locations

    def describe(self, route: Route) -> dict[str, Any]:
        """The route in the API's shape (without id, model and attempts)."""
        return describe_route(self, route)


def build_plan(request: OptimizeRequest) -> Plan:
    constraints = request.constraints
    points = [(loc.lat, loc.lon) for loc in request.locations]
    start: int | None = None
    if isinstance(constraints.start, Point):
        points.append((constraints.start.lat, constraints.start.lon))
        start = len(request.locations)
    elif isinstance(constraints.start, str):
        start = next(i for i, loc in enumerate(request.locations) if loc.ID == constraints.start)

    km = tuple(
        tuple(haversine_km(*a, *b) * constraints.detour_factor for b in points) for a in points
    )
    minutes_per_km = 60.0 / constraints.speed_kmh
    travel = tuple(tuple(d * minutes_per_km for d in row) for row in km)
    stops = tuple(
        Stop(
            id=loc.ID,
            open=minutes_of(loc.time_window_start),
            close=minutes_of(loc.time_window_end),
            service=loc.visit_minutes
            if loc.visit_minutes is not None
            else constraints.visit_minutes,
            rank=loc.rank,
        )
        for loc in request.locations
    )
    problem = Problem(
        stops=stops,
        travel=travel,
        day_start=minutes_of(constraints.start_time),
        day_end=minutes_of(constraints.end_time),
        start=start,
        return_to_start=constraints.return_to_start,
    )
    return Plan(request=request, problem=problem, km=km)


def _skip_reason(plan: Plan, stop: int, code: str) -> str:
    loc = plan.locations[stop]
    window = f"{loc.time_window_start}–{loc.time_window_end}"
    return SKIP_REASONS.get(code, code).format(window=window)


def describe_route(plan: Plan, route: Route) -> dict[str, Any]:
    constraints = plan.request.constraints
    locations = plan.locations
    stops = []
    total_km = 0.0
    previous = plan.problem.start if plan.problem.start == len(locations) else None
    for visit in route.visits:
        leg_km = plan.km[previous][visit.stop] if previous is not None else 0.0
        total_km += leg_km
        loc = locations[visit.stop]
        stops.append(
            {
                "ID": loc.ID,
                "name": loc.name,
                "arrival": hhmm_of(visit.arrival),
                "wait_minutes": round(visit.wait, 1),
                "start": hhmm_of(visit.start),
                "departure": hhmm_of(visit.departure),
                "km_from_previous": round(leg_km, 2),
                "late": visit.late,
            }
        )
        previous = visit.stop
    if route.visits and plan.problem.return_to_start:
        home = plan.problem.start if plan.problem.start is not None else route.visits[0].stop
        total_km += plan.km[previous][home]
    begin = route.visits[0].arrival - route.visits[0].travel if route.visits else 0.0
    hours = max(0.0, route.end_time - begin) / 60 if route.visits else 0.0
    return {
        "locations": [locations[v.stop].ID for v in route.visits],
        "stops": stops,
        "skipped": [
            {"ID": locations[s.stop].ID, "reason": _skip_reason(plan, s.stop, s.reason)}
            for s in route.skipped
        ],
        "total_distance_km": round(total_km, 2),
        "total_travel_minutes": round(route.travel_minutes, 1),
        "total_time_hours": round(hours, 2),
        "total_cost_rub": round(total_km * constraints.cost_per_km_rub, 2),
        "violations": route.violations,
    }


def as_entered(plan: Plan) -> dict[str, Any]:
    """The day as entered: every stop visited in the request's own order, late or not (what
    the planner would drive without optimizing; the route page compares with it)."""
    described = describe_route(plan, evaluate(plan.problem, list(range(len(plan.locations)))))
    keys = ("total_distance_km", "total_travel_minutes", "total_time_hours", "violations")
    return {key: described[key] for key in keys}
