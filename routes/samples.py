"""The sample data shipped in the repository, as API request bodies and engine problems.

Plain Python, used by the app (sample sets for new users), the tests and the benchmarks so that
all read the files one way. The retail-point files carry no IDs: each point gets a stable one
from its file and position. Provenance: `routes/sample_data/README.md`, `bench/tsptw/README.md`.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from routes.engine import Problem, Stop

ROOT = Path(__file__).resolve().parents[1]
#: The original T2 project's retail points and request bodies.
DATA_DIR = Path(__file__).resolve().parent / "sample_data"
#: The public TSPTW instances (Dumas et al. 1995) with their proven optima.
TSPTW_DIR = ROOT / "bench" / "tsptw"


def _location(prefix: str, i: int, point: dict[str, Any]) -> dict[str, Any]:
    return {
        "ID": f"{prefix}{i}",
        "name": point.get("name", ""),
        "address": point.get("address", ""),
        "lat": float(point["lat"]),
        "lon": float(point["lon"]),
        "time_window_start": point["time_window_start"],
        "time_window_end": point["time_window_end"],
        # The CSV files have no categories: every point counts as A there.
        "priority": point.get("category", "A"),
    }


def _body(prefix: str, points: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "locations": [_location(prefix, i, p) for i, p in enumerate(points, start=1)],
        "constraints": {},
    }


def request_bodies() -> list[dict[str, Any]]:
    """The original project's ready request bodies (2, 4, 6 and 10 points), unchanged."""
    data = json.loads((DATA_DIR / "test_optimize_requests.json").read_text(encoding="utf-8"))
    return [item["body"] for item in data["requests"]]


def point_set_bodies() -> dict[str, dict[str, Any]]:
    """Moscow (15), Mordovia (30, with categories) and Mordovia (250, A–D) as request bodies."""
    data = DATA_DIR
    with open(data / "locations_moscow.csv", encoding="utf-8") as fh:
        moscow = list(csv.DictReader(fh))
    mordovia = json.loads((data / "locations_mordovia.json").read_text(encoding="utf-8"))
    big = json.loads((data / "locations_mordovia_250.json").read_text(encoding="utf-8"))
    return {
        "moscow-15": _body("msk_", moscow),
        "mordovia-30": _body("mrd_", mordovia),
        "mordovia-250": _body("m250_", big),
    }


#: The sample sets a new user can add with one click: key → name shown.
SAMPLE_SETS = {
    "moscow-15": "Москва — 15 точек (образец)",
    "mordovia-30": "Мордовия — 30 точек (образец)",
}


def sample_set(key: str) -> tuple[str, dict[str, Any]]:
    """A sample set's name and request body."""
    return SAMPLE_SETS[key], point_set_bodies()[key]


def read_tsptw(path: Path) -> Problem:
    """A TSPTW instance in López-Ibáñez's format (see bench/tsptw/README.md):
    depot 0 leaves at time 0, every node is a stop, the tour returns to the depot by its close.
    Engine layout: stops 0..n-1 are nodes 1..N-1; the depot is index n."""
    tokens = Path(path).read_text().split()
    size = int(tokens[0])
    values = [float(x) for x in tokens[1:]]
    matrix = [values[i * size : (i + 1) * size] for i in range(size)]
    windows = values[size * size :]
    nodes = list(range(1, size)) + [0]
    travel = [[matrix[a][b] for b in nodes] for a in nodes]
    stops = tuple(
        Stop(str(node), windows[2 * node], windows[2 * node + 1], 0.0, 0) for node in range(1, size)
    )
    return Problem(stops, travel, 0.0, windows[1], start=size - 1, return_to_start=True)
