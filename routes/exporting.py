"""Writing locations and finished routes out: CSV, a request body, GPX and map links.

Plain Python (no Django): the web views call these and wrap the text in a download. Locations
are dicts in the API's shape (`Location.model_dump()`); a route is the API's answer (`stops`,
`skipped`, totals). Names and addresses are data: CSV cells that a spreadsheet would run as a
formula are neutralised, and XML is built by ElementTree, which escapes it.
"""

from __future__ import annotations

import csv
import io
import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from routes.importing import FIELDS, FORMULA_STARTS

GPX_NAMESPACE = "http://www.topografix.com/GPX/1/1"
#: Google Maps takes an origin, a destination and at most 9 waypoints in one link.
GOOGLE_MAX_POINTS = 11

LOCATION_COLUMNS = FIELDS  # what the importer reads, so an export imports back unchanged
ROUTE_COLUMNS = (
    "order",
    "ID",
    "name",
    "address",
    "lat",
    "lon",
    "time_window_start",
    "time_window_end",
    "priority",
    "arrival",
    "wait_minutes",
    "start",
    "departure",
    "km_from_previous",
    "late",
    "skipped",
)
# Characters XML 1.0 cannot carry at all, even escaped.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")

Point = tuple[float, float]


def locations_csv(locations: Iterable[Mapping[str, Any]]) -> str:
    """The locations with the importer's columns (ID first; visit_minutes empty when unset)."""
    return _csv(LOCATION_COLUMNS, ([loc.get(c) for c in LOCATION_COLUMNS] for loc in locations))


def request_json(
    locations: Iterable[Mapping[str, Any]], constraints: Mapping[str, Any] | None = None
) -> str:
    """A `POST /optimize` body: the API's location fields only, and the constraints as given."""
    body = {
        "locations": [_api_location(loc) for loc in locations],
        "constraints": dict(constraints or {}),
    }
    return json.dumps(body, ensure_ascii=False, indent=2) + "\n"


def route_csv(result: Mapping[str, Any], locations: Iterable[Mapping[str, Any]]) -> str:
    """One row per stop in visit order, then the skipped locations with their reasons."""
    by_id = _by_id(locations)
    rows = []
    for order, stop in enumerate(result.get("stops", []), start=1):
        loc = by_id.get(stop["ID"], {})
        rows.append(
            [order, stop["ID"], stop.get("name", loc.get("name")), loc.get("address")]
            + [loc.get(c) for c in ("lat", "lon", "time_window_start", "time_window_end")]
            + [loc.get("priority")]
            + [stop.get(c) for c in ("arrival", "wait_minutes", "start", "departure")]
            + [stop.get("km_from_previous"), "yes" if stop.get("late") else "", None]
        )
    for skipped in result.get("skipped", []):
        loc = by_id.get(skipped["ID"], {})
        rows.append(
            [None, skipped["ID"]]
            + [loc.get(c) for c in ("name", "address", "lat", "lon")]
            + [loc.get(c) for c in ("time_window_start", "time_window_end", "priority")]
            + [None] * 6
            + [skipped.get("reason", "")]
        )
    return _csv(ROUTE_COLUMNS, rows)


def route_points(
    result: Mapping[str, Any],
    locations: Iterable[Mapping[str, Any]],
    constraints: Mapping[str, Any] | None = None,
) -> list[Point]:
    """(lat, lon) in driving order: the start point when it is one, the stops, and the way
    home when the day returns to its start."""
    return [(lat, lon) for _, lat, lon in _legs(result, _by_id(locations), constraints or {})]


def route_gpx(
    result: Mapping[str, Any],
    locations: Iterable[Mapping[str, Any]],
    name: str,
    constraints: Mapping[str, Any] | None = None,
) -> str:
    """GPX 1.1: a waypoint per stop ("1. name", with its times and address) and one route
    through them in visit order, for navigation apps."""
    by_id = _by_id(locations)
    gpx = ET.Element("gpx", {"xmlns": GPX_NAMESPACE, "version": "1.1", "creator": "T2 Routes"})
    metadata = ET.SubElement(gpx, "metadata")
    _text(metadata, "name", name)
    _text(metadata, "desc", _summary(result))
    for label, loc, stop in _stops(result, by_id):
        wpt = ET.SubElement(gpx, "wpt", _lat_lon(loc["lat"], loc["lon"]))
        _text(wpt, "name", label)
        _text(wpt, "desc", _stop_description(stop, loc))
    rte = ET.SubElement(gpx, "rte")
    _text(rte, "name", name)
    for label, lat, lon in _legs(result, by_id, constraints or {}):
        _text(ET.SubElement(rte, "rtept", _lat_lon(lat, lon)), "name", label)
    ET.indent(gpx)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(gpx, encoding="unicode")


def yandex_maps_url(points: Sequence[Point]) -> str:
    """Yandex Maps with a driving route through the points, in order (no key needed)."""
    if not points:
        raise ValueError("a route link needs at least one point")
    rtext = "~".join(_coordinates(p) for p in points)
    if len(points) == 1:
        rtext = "~" + rtext  # from wherever the user is
    return "https://yandex.ru/maps/?" + urlencode({"rtext": rtext, "rtt": "auto"}, safe=",~")


def google_maps_url(points: Sequence[Point]) -> str:
    """Google Maps directions through at most 11 points (origin, 9 waypoints, destination);
    use `google_maps_urls` for longer routes."""
    if not points:
        raise ValueError("a route link needs at least one point")
    if len(points) > GOOGLE_MAX_POINTS:
        raise ValueError(
            f"Google Maps takes at most {GOOGLE_MAX_POINTS} points in one link, got {len(points)}"
        )
    params = {"api": "1"}
    if len(points) > 1:
        params["origin"] = _coordinates(points[0])
    params["destination"] = _coordinates(points[-1])
    if len(points) > 2:
        params["waypoints"] = "|".join(_coordinates(p) for p in points[1:-1])
    params["travelmode"] = "driving"
    return "https://www.google.com/maps/dir/?" + urlencode(params, safe=",")


def google_maps_urls(points: Sequence[Point]) -> list[str]:
    """Google Maps links for a route of any length: consecutive legs of at most 11 points,
    each starting where the previous one ended."""
    if len(points) <= GOOGLE_MAX_POINTS:
        return [google_maps_url(points)]
    step = GOOGLE_MAX_POINTS - 1
    return [
        google_maps_url(points[i : i + GOOGLE_MAX_POINTS]) for i in range(0, len(points) - 1, step)
    ]


# --- helpers ------------------------------------------------------------------------------


def _csv(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    for row in rows:
        writer.writerow([_cell(value) for value in row])
    return out.getvalue()


def _cell(value: Any) -> str:
    """Numbers as numbers; text that a spreadsheet would run as a formula gets a quote."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float | Decimal):
        return _number(value)
    text = str(value)
    if text.startswith(FORMULA_STARTS):
        return "'" + text
    return text


def _number(value: int | float | Decimal) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _api_location(loc: Mapping[str, Any]) -> dict[str, Any]:
    location = {name: loc.get(name) for name in LOCATION_COLUMNS}
    for name in ("lat", "lon", "visit_minutes"):
        if isinstance(location[name], Decimal):
            location[name] = float(location[name])
    if location["visit_minutes"] is None:
        del location["visit_minutes"]
    return location


def _by_id(locations: Iterable[Mapping[str, Any]]) -> dict[str, Mapping[str, Any]]:
    return {str(loc["ID"]): loc for loc in locations}


def _stops(result: Mapping[str, Any], by_id: Mapping[str, Mapping[str, Any]]):
    """(label, location, stop) for each visited stop that has a location to place it."""
    for order, stop in enumerate(result.get("stops", []), start=1):
        loc = by_id.get(str(stop["ID"]))
        if loc is not None:
            yield f"{order}. {stop.get('name') or loc.get('name') or stop['ID']}", loc, stop


def _legs(
    result: Mapping[str, Any],
    by_id: Mapping[str, Mapping[str, Any]],
    constraints: Mapping[str, Any],
) -> list[tuple[str, float, float]]:
    legs = [
        (label, float(loc["lat"]), float(loc["lon"])) for label, loc, _ in _stops(result, by_id)
    ]
    if not legs:
        return legs
    start = constraints.get("start")
    home = legs[0]
    if isinstance(start, Mapping):
        home = ("Start", float(start["lat"]), float(start["lon"]))
        legs.insert(0, home)
    elif start is not None and str(start) in by_id:
        loc = by_id[str(start)]
        home = (str(loc.get("name") or start), float(loc["lat"]), float(loc["lon"]))
    if constraints.get("return_to_start"):
        legs.append(home)
    return legs


def _stop_description(stop: Mapping[str, Any], loc: Mapping[str, Any]) -> str:
    parts = [f"{stop.get('start', '')}–{stop.get('departure', '')}"]
    if stop.get("late"):
        parts.append("late")
    if loc.get("address"):
        parts.append(str(loc["address"]))
    return " · ".join(parts)


def _summary(result: Mapping[str, Any]) -> str:
    return (
        f"{len(result.get('stops', []))} stops · {result.get('total_distance_km', 0)} km · "
        f"{result.get('total_time_hours', 0)} h"
    )


def _text(parent: ET.Element, tag: str, text: str) -> None:
    ET.SubElement(parent, tag).text = _NOT_XML.sub("", str(text))


def _lat_lon(lat: Any, lon: Any) -> dict[str, str]:
    lon = float(lon)
    if lon >= 180:  # GPX longitudes run from -180 up to, not including, 180
        lon -= 360
    return {"lat": _degrees(float(lat)), "lon": _degrees(lon)}


def _coordinates(point: Point) -> str:
    return f"{_degrees(point[0])},{_degrees(point[1])}"


def _degrees(value: float) -> str:
    return f"{value:.6f}".rstrip("0").rstrip(".")
