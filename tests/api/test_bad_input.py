"""Every bad request gets a 4xx JSON error naming the field and the problem, and saves nothing."""

from __future__ import annotations

import pytest

from llm.models import Attempt
from routes.models import RouteRun
from tests.factories import body, location

pytestmark = pytest.mark.django_db


def _with_location(**overrides):
    return {"locations": [location(1, **overrides), location(2)], "constraints": {}}


def _with_constraints(**constraints):
    return body(2, constraints=constraints)


BAD_REQUESTS = {
    "not_json": ("{not json", "body", "not valid JSON"),
    "array_body": ("[1, 2]", "body", "JSON object"),
    "missing_locations": ({"constraints": {}}, "locations", "required"),
    "empty_locations": ({"locations": [], "constraints": {}}, "locations", "at least 1"),
    "locations_not_a_list": ({"locations": {"a": 1}}, "locations", "list"),
    "missing_id": (
        {"locations": [{k: v for k, v in location(1).items() if k != "ID"}]},
        "locations[0].ID",
        "required",
    ),
    "missing_lat": (
        {"locations": [{k: v for k, v in location(1).items() if k != "lat"}]},
        "locations[0].lat",
        "required",
    ),
    "lat_is_text": (_with_location(lat="north"), "locations[0].lat", "number"),
    "lat_too_big": (_with_location(lat=90.5), "locations[0].lat", "90"),
    "lon_too_small": (_with_location(lon=-180.1), "locations[0].lon", "-180"),
    "name_is_number": (_with_location(name=5), "locations[0].name", "string"),
    "time_without_leading_zero": (
        _with_location(time_window_start="9:00"),
        "locations[0].time_window_start",
        "HH:MM",
    ),
    "time_24_00": (
        _with_location(time_window_end="24:00"),
        "locations[0].time_window_end",
        "HH:MM",
    ),
    "time_not_a_string": (
        _with_location(time_window_end=1800),
        "locations[0].time_window_end",
        "HH:MM",
    ),
    "window_ends_before_start": (
        _with_location(time_window_start="15:00", time_window_end="10:00"),
        "locations[0].time_window_end",
        "before it starts",
    ),
    "unknown_priority": (
        _with_location(priority="urgent"),
        "locations[0].priority",
        "high, medium",
    ),
    "duplicate_ids": (
        {"locations": [location(1), location(2, ID="loc_1")]},
        "locations[1].ID",
        "duplicate",
    ),
    "start_unknown_id": (_with_constraints(start="nowhere"), "constraints.start", "nowhere"),
    "start_missing_lon": (
        _with_constraints(start={"lat": 55.7}),
        "constraints.start.lon",
        "required",
    ),
    "start_time_after_end_time": (
        _with_constraints(start_time="19:00", end_time="10:00"),
        "constraints.end_time",
        "after it starts",
    ),
    "bad_start_time": (_with_constraints(start_time="late"), "constraints.start_time", "HH:MM"),
    "zero_speed": (_with_constraints(speed_kmh=0), "constraints.speed_kmh", "greater than 0"),
    "detour_below_one": (_with_constraints(detour_factor=0.5), "constraints.detour_factor", "1"),
    "unknown_constraint": (_with_constraints(speed=40), "constraints.speed", "unknown field"),
    "negative_visit": (_with_location(visit_minutes=-5), "locations[0].visit_minutes", "0"),
    "return_to_start_not_bool": (
        _with_constraints(return_to_start="maybe"),
        "constraints.return_to_start",
        "boolean",
    ),
}


@pytest.mark.parametrize("name", BAD_REQUESTS)
def test_it_rejects_bad_input_naming_the_field(post_json, name):
    data, field, words = BAD_REQUESTS[name]

    response = post_json("/optimize", data)

    assert response.status_code == 400, response.content
    errors = response.json()["errors"]
    matching = [e for e in errors if e["field"] == field]
    assert matching, errors
    assert any(words.lower() in e["message"].lower() for e in matching), matching
    assert RouteRun.objects.count() == 0
    assert Attempt.objects.count() == 0


@pytest.mark.parametrize("value", ["NaN", "Infinity", "-Infinity"])
def test_it_rejects_non_finite_coordinates(post_json, value):
    location = (
        '{"ID": "a", "name": "", "address": "", "lat": VALUE, "lon": 37,'
        ' "time_window_start": "09:00", "time_window_end": "18:00", "priority": "A"}'
    )
    raw = '{"locations": [' + location.replace("VALUE", value) + "]}"

    response = post_json("/optimize", raw)

    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "locations[0].lat"
    assert "finite" in response.json()["errors"][0]["message"]
    assert RouteRun.objects.count() == 0


def test_it_rejects_more_locations_than_the_documented_maximum(post_json, settings):
    settings.T2_MAX_LOCATIONS = 300

    response = post_json("/optimize", body(301))

    assert response.status_code == 400
    assert response.json()["errors"] == [
        {"field": "locations", "message": "at most 300 locations per request, got 301"}
    ]


def test_it_rejects_a_body_over_the_size_limit_with_413(post_json, settings):
    settings.T2_MAX_BODY_BYTES = 2048

    response = post_json("/optimize", body(40))

    assert response.status_code == 413
    assert "2048" in response.json()["error"]
    assert RouteRun.objects.count() == 0


def test_it_rejects_a_body_that_is_not_utf8(post_json):
    response = post_json("/optimize", b'{"locations": "\xff\xfe"}')

    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "body"


def test_empty_name_and_address_are_fine(post_json):
    response = post_json("/optimize", _with_location(name="", address=""))

    assert response.status_code == 200


def test_categories_and_words_are_both_priorities(post_json):
    request = body(4)
    for loc, priority in zip(request["locations"], ["A", "high", "d", "Low"], strict=True):
        loc["priority"] = priority

    assert post_json("/optimize", request).status_code == 200
