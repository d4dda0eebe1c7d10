"""Generated bodies against POST /optimize and /<slot>/optimize: valid-ish ones get a route made
of their own stops; broken ones a 400 in the documented shape; nothing is stored on error."""

from __future__ import annotations

import json

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from routes.models import RouteRun
from tests.factories import body
from tests.fuzz import strategies as s
from tests.fuzz.conftest import assert_documented, assert_error_shape

pytestmark = pytest.mark.django_db


def _post(client, url: str, raw: bytes, **extra):
    return client.generic("POST", url, raw, content_type="application/json", **extra)


def _ids(locations) -> list[str]:
    return [str(loc["ID"]).strip() for loc in locations]


@given(data=s.valid_ish_body)
def test_a_valid_ish_body_gets_a_route_of_its_own_stops_or_a_400(client, data):
    before = RouteRun.objects.count()

    response = _post(client, "/optimize", json.dumps(data, ensure_ascii=False).encode())

    assert_documented(response, before)
    event(f"status {response.status_code}")
    assert response.status_code in {200, 400}
    if response.status_code == 200:
        answer = response.json()
        given_ids = _ids(data["locations"])
        visited = answer["locations"]
        skipped = [s["ID"] for s in answer["skipped"]]
        assert len(visited) == len(set(visited))
        assert sorted(visited + skipped) == sorted(given_ids)
        assert [stop["ID"] for stop in answer["stops"]] == visited
        assert answer["model_used"] == "greedy"
        assert RouteRun.objects.count() == before + 1
    else:
        # What is left for a 400 after the schema: duplicate IDs, windows, the day, the start.
        fields = {e["field"] for e in response.json()["errors"]}
        assert fields, response.json()


@given(raw=s.encoded(s.broken_body()))
def test_a_broken_body_is_refused_in_the_documented_shape_and_stores_nothing(client, raw):
    before = RouteRun.objects.count()

    response = _post(client, "/optimize", raw)

    assert_documented(response, before)
    event(f"status {response.status_code}")
    assert response.status_code in {200, 400}


@settings(max_examples=max(settings.default.max_examples // 2, 1))
@given(raw=s.encoded(s.valid_ish_body | s.broken_body()), fallback=st.sampled_from(["", "1"]))
def test_a_slot_endpoint_answers_any_body_as_documented(client, raw, fallback):
    before = RouteRun.objects.count()

    response = _post(client, f"/qwen/optimize?fallback={fallback}", raw)

    # No model file is there: the slot alone is a 503, with fallback the algorithm answers.
    assert_documented(response, before)
    assert response.status_code in ({200, 400} if fallback else {400, 503})


@given(n=st.integers(501, 520))
def test_more_locations_than_allowed_is_a_400_naming_the_limit(client, n):
    before = RouteRun.objects.count()

    response = _post(client, "/optimize", json.dumps(body(n)).encode())

    assert_documented(response, before)
    assert response.status_code == 400
    assert "at most 500" in response.json()["errors"][0]["message"]


def test_deeply_nested_json_is_a_400_not_a_500(client):
    before = RouteRun.objects.count()
    raw = b'{"locations": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"

    response = _post(client, "/optimize", raw)

    assert response.status_code == 400
    assert_documented(response, before)
    assert response.json()["errors"] == [{"field": "body", "message": "JSON nested too deeply"}]


def test_a_number_too_long_to_convert_is_a_400_not_a_500(client):
    before = RouteRun.objects.count()
    location = body(1)["locations"][0]
    raw = json.dumps({"locations": [location]}).replace('"lat": 55.76', '"lat": ' + "9" * 5000)

    response = _post(client, "/optimize", raw.encode())

    assert response.status_code == 400
    assert_error_shape(response)
    assert "4300 digits" in response.json()["errors"][0]["message"]
    assert RouteRun.objects.count() == before


def test_a_nul_in_a_name_is_refused_by_name_as_no_database_can_store_it(client):
    before = RouteRun.objects.count()
    data = body(2)
    data["locations"][0]["name"] = "Точка\x00 1"

    response = _post(client, "/optimize", json.dumps(data).encode())

    assert response.status_code == 400
    assert_documented(response, before)
    assert response.json()["errors"] == [
        {"field": "locations[0].name", "message": "must not contain a NUL character (\\u0000)"}
    ]
