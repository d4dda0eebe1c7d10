"""Exports: a set as CSV or a request body, a finished route as CSV, GPX and map links."""

from __future__ import annotations

import csv
import io
import json
import xml.etree.ElementTree as ET
from urllib.parse import parse_qs, urlsplit

import pytest

from routes.engine.solver import evaluate
from routes.exporting import (
    google_maps_url,
    google_maps_urls,
    locations_csv,
    request_json,
    route_csv,
    route_gpx,
    route_points,
    yandex_maps_url,
)
from routes.importing import parse_locations_file
from routes.planning import build_plan
from routes.schema import parse_request
from tests.factories import location

GPX = "{http://www.topografix.com/GPX/1/1}"
TRICKY_NAME = 'Кафе "<Рога> & Копыта"'


def _rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def _route(locations, order, constraints=None):
    """The API's answer for `locations` visited in `order` (indexes; the rest are skipped)."""
    request = parse_request({"locations": locations, "constraints": constraints or {}})
    plan = build_plan(request)
    return plan.describe(evaluate(plan.problem, order))


def test_it_neutralises_formula_cells_on_export():
    locations = [
        location(1, name='=HYPERLINK("http://evil")', address="+7 495 000"),
        location(2, name="-Минус", address="@home", ID="\tтаб"),
        location(3, name="Обычная", address="ул. Ленина, 1"),
    ]

    rows = _rows(locations_csv(locations))

    assert [(r["name"], r["address"]) for r in rows] == [
        ('\'=HYPERLINK("http://evil")', "'+7 495 000"),
        ("'-Минус", "'@home"),
        ("Обычная", "ул. Ленина, 1"),
    ]
    assert rows[1]["ID"] == "'\tтаб"


def test_numbers_are_written_as_numbers_even_when_negative():
    text = locations_csv([location(1, lat=-12.5, lon=-77.0, visit_minutes=30)])

    row = _rows(text)[0]

    assert (row["lat"], row["lon"], row["visit_minutes"]) == ("-12.5", "-77", "30")


def test_export_then_import_round_trips():
    locations = [
        location(1, name=TRICKY_NAME, address="Москва, ул. Тверская, 1"),
        location(2, name="=1+2", address="-", priority="A", visit_minutes=45.5),
        location(3, name="", address="", lat=-33.868820, lon=151.209296, priority="low"),
        location(4, name="Строка\nс переводом", priority="D"),
    ]

    result = parse_locations_file("set.csv", locations_csv(locations).encode())

    assert result.errors == []
    assert result.locations == locations


def test_the_request_json_is_a_valid_optimize_body():
    locations = [location(1, name=TRICKY_NAME, visit_minutes=None), location(2, extra="dropped")]
    constraints = {"start_time": "08:00", "start": {"lat": 55.7, "lon": 37.6}}

    text = request_json(locations, constraints)

    body = json.loads(text)
    assert parse_request(body).locations[0].name == TRICKY_NAME
    assert body["constraints"] == constraints
    assert "visit_minutes" not in body["locations"][0]
    assert "extra" not in body["locations"][1]
    assert "Кафе" in text  # readable Russian, not \u escapes


def test_the_request_json_imports_back_with_its_constraints():
    locations = [location(1), location(2, visit_minutes=10)]

    result = parse_locations_file("set.json", request_json(locations, {"speed_kmh": 40}).encode())

    assert result.errors == []
    assert result.locations == locations
    assert result.constraints == {"speed_kmh": 40}


def test_route_csv_lists_stops_in_visit_order_then_the_skipped():
    locations = [location(1), location(2, name="=Вторая"), location(3, address="Тверская")]
    result = _route(locations, [2, 0])

    rows = _rows(route_csv(result, locations))

    assert [(r["order"], r["ID"]) for r in rows] == [("1", "loc_3"), ("2", "loc_1"), ("", "loc_2")]
    assert rows[0]["address"] == "Тверская"
    assert rows[0]["lat"] == str(locations[2]["lat"])
    assert rows[1]["arrival"] == result["stops"][1]["arrival"]
    assert rows[1]["km_from_previous"] == str(result["stops"][1]["km_from_previous"])
    assert rows[2]["name"] == "'=Вторая"
    assert rows[2]["skipped"] == result["skipped"][0]["reason"]


def test_gpx_is_well_formed_and_in_visit_order():
    locations = [location(i) for i in range(1, 5)]
    result = _route(locations, [3, 1, 0, 2])

    gpx = ET.fromstring(route_gpx(result, locations, "Маршрут на 28.11").encode())

    assert gpx.tag == f"{GPX}gpx"
    assert gpx.get("version") == "1.1" and gpx.get("creator")
    # GPX 1.1 order: metadata, then wpt*, then rte*.
    assert [child.tag.removeprefix(GPX) for child in gpx] == ["metadata"] + ["wpt"] * 4 + ["rte"]
    assert gpx.findtext(f"{GPX}metadata/{GPX}name") == "Маршрут на 28.11"
    rte = gpx.find(f"{GPX}rte")
    assert [child.tag.removeprefix(GPX) for child in rte] == ["name"] + ["rtept"] * 4
    visited = [locations[i] for i in (3, 1, 0, 2)]
    points = [(float(p.get("lat")), float(p.get("lon"))) for p in rte.findall(f"{GPX}rtept")]
    assert points == [(round(loc["lat"], 6), round(loc["lon"], 6)) for loc in visited]
    names = [w.findtext(f"{GPX}name") for w in gpx.findall(f"{GPX}wpt")]
    assert names == [f"{n}. {loc['name']}" for n, loc in enumerate(visited, start=1)]
    desc = gpx.find(f"{GPX}wpt").findtext(f"{GPX}desc")
    assert result["stops"][0]["start"] in desc and "Москва" in desc


def test_gpx_escapes_names_and_drops_characters_xml_cannot_carry():
    locations = [location(1, name=TRICKY_NAME, address="a < b & c"), location(2, name="bell\x07")]
    result = _route(locations, [0, 1])

    text = route_gpx(result, locations, 'Route "<1>" & co')

    gpx = ET.fromstring(text.encode())  # parses: everything is escaped
    assert "<Рога>" not in text
    assert gpx.findtext(f"{GPX}metadata/{GPX}name") == 'Route "<1>" & co'
    assert [w.findtext(f"{GPX}name") for w in gpx.findall(f"{GPX}wpt")] == [
        f"1. {TRICKY_NAME}",
        "2. bell",
    ]
    assert "a < b & c" in gpx.find(f"{GPX}wpt").findtext(f"{GPX}desc")


def test_route_points_add_the_start_and_the_way_home():
    locations = [location(1), location(2)]
    start = {"lat": 55.7, "lon": 37.5}
    result = _route(locations, [1, 0], {"start": start, "return_to_start": True})

    points = route_points(result, locations, {"start": start, "return_to_start": True})

    home = (55.7, 37.5)
    assert points == [
        home,
        (locations[1]["lat"], locations[1]["lon"]),
        (locations[0]["lat"], locations[0]["lon"]),
        home,
    ]
    assert route_points(result, locations) == points[1:3]


def test_yandex_link_routes_through_the_points_in_order():
    url = yandex_maps_url([(55.7539, 37.6208), (55.7298, 37.5995), (55.8264, 37.6377)])

    assert url == (
        "https://yandex.ru/maps/?rtext=55.7539,37.6208~55.7298,37.5995~55.8264,37.6377&rtt=auto"
    )


def test_google_link_has_origin_destination_and_waypoints():
    points = [(55.75, 37.62), (55.73, 37.6), (55.82, 37.63), (55.76, 37.61)]

    url = google_maps_url(points)

    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == "https://www.google.com/maps/dir/"
    query = {key: values[0] for key, values in parse_qs(parts.query).items()}
    assert query == {
        "api": "1",
        "origin": "55.75,37.62",
        "destination": "55.76,37.61",
        "waypoints": "55.73,37.6|55.82,37.63",
        "travelmode": "driving",
    }


def test_google_takes_at_most_nine_waypoints_so_long_routes_get_several_links():
    points = [(55.0 + i / 100, 37.0) for i in range(25)]

    with pytest.raises(ValueError, match="at most 11 points"):
        google_maps_url(points)
    urls = google_maps_urls(points)

    legs = []
    for url in urls:
        query = parse_qs(urlsplit(url).query)
        waypoints = query["waypoints"][0].split("|") if "waypoints" in query else []
        assert len(waypoints) <= 9
        legs.append([query["origin"][0], *waypoints, query["destination"][0]])
    assert len(urls) == 3
    assert all(a[-1] == b[0] for a, b in zip(legs, legs[1:], strict=False))  # they join up
    visited = [legs[0][0]] + [p for leg in legs for p in leg[1:]]
    assert visited == [f"{lat:g},{lon:g}" for lat, lon in points]


def test_a_single_point_link_leads_there_from_where_the_user_is():
    assert "rtext=~55.75,37.62&" in yandex_maps_url([(55.75, 37.62)])
    assert "origin" not in google_maps_url([(55.75, 37.62)])
