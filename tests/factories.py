"""Small hand-written builders for request bodies."""

from __future__ import annotations

import copy
from typing import Any

from routes.samples import point_set_bodies, request_bodies


def location(i: int = 1, **overrides: Any) -> dict[str, Any]:
    base = {
        "ID": f"loc_{i}",
        "name": f"Точка {i}",
        "address": "Москва",
        "lat": 55.75 + 0.01 * (i % 7),
        "lon": 37.62 + 0.013 * (i % 5),
        "time_window_start": "09:00",
        "time_window_end": "18:00",
        "priority": "medium",
    }
    base.update(overrides)
    return base


def body(n: int = 3, constraints: dict[str, Any] | None = None, **location_overrides: Any) -> dict:
    return {
        "locations": [location(i, **location_overrides) for i in range(1, n + 1)],
        "constraints": constraints or {},
    }


def seed_example() -> dict[str, Any]:
    """The request from the seed guide's section 8, unchanged."""
    return {
        "locations": [
            {
                "ID": "loc_1",
                "name": "Красная площадь",
                "address": "Москва",
                "lat": 55.7539,
                "lon": 37.6208,
                "time_window_start": "10:00",
                "time_window_end": "22:00",
                "priority": "high",
            },
            {
                "ID": "loc_2",
                "name": "Парк Горького",
                "address": "Москва",
                "lat": 55.7298,
                "lon": 37.5995,
                "time_window_start": "08:00",
                "time_window_end": "23:00",
                "priority": "medium",
            },
        ],
        "constraints": {},
    }


def sample_requests() -> list[dict[str, Any]]:
    """The ready request bodies of the original project (2, 4, 6 and 10 points)."""
    return copy.deepcopy(request_bodies())


def mordovia_250() -> list[dict[str, Any]]:
    return point_set_bodies()["mordovia-250"]["locations"]
