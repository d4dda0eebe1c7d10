"""GET /api/runs and /api/runs/<id>: the route history."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.factories import body, seed_example

pytestmark = pytest.mark.django_db


def test_runs_are_listed_newest_first_with_a_total_count(client, post_json, settings):
    settings.T2_RUNS_PER_PAGE = 2
    ids = [post_json("/optimize", body(n)).json()["id"] for n in (2, 3, 4)]

    first = client.get("/api/runs").json()
    second = client.get("/api/runs?page=2").json()

    assert first["count"] == 3
    assert first["pages"] == 2
    assert [r["id"] for r in first["results"]] == ids[::-1][:2]
    assert [r["id"] for r in second["results"]] == ids[:1]
    assert first["results"][0]["location_count"] == 4


def test_a_stored_run_answers_as_it_did(client, post_json):
    answer = post_json("/optimize", seed_example()).json()

    stored = client.get(f"/api/runs/{answer['id']}").json()

    assert stored == answer


def test_a_missing_run_is_a_json_404(client):
    response = client.get("/api/runs/999")

    assert response.status_code == 404
    assert "999" in response.json()["error"]


def test_a_bad_page_is_a_clear_error(client):
    response = client.get("/api/runs?page=zero")

    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "page"


def test_the_list_keeps_its_query_budget(client, post_json):
    for n in range(2, 8):
        post_json("/optimize", body(n))

    with CaptureQueriesContext(connection) as queries:
        client.get("/api/runs")

    assert len(queries) <= 2
