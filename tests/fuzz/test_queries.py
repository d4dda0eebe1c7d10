"""Generated query strings and path IDs on the run history and the slot endpoints."""

from __future__ import annotations

import json
from urllib.parse import urlencode

import pytest
from django.http import QueryDict
from hypothesis import event, given, settings
from hypothesis import strategies as st

from routes.models import RouteRun
from tests.factories import seed_example
from tests.fuzz.conftest import assert_documented

pytestmark = pytest.mark.django_db

VALID = json.dumps(seed_example()).encode()

values = (
    st.text(max_size=30)
    | st.integers(-(10**30), 10**30).map(str)
    | st.sampled_from(["1", "2", "0", "-1", "9" * 5000, "qwen", "greedy", "1.5", "%ff", "1 "])
)
# A raw query string as a client could send it: bytes decoded as WSGI does (latin-1).
raw_query = st.binary(max_size=60).map(lambda b: b.decode("latin-1"))


@pytest.fixture
def some_runs(client):
    for _ in range(3):
        client.post("/optimize", VALID, content_type="application/json")
    return RouteRun.objects.count()


@given(
    params=st.lists(st.tuples(st.sampled_from(["page", "model", "x", "page[]"]), values))
    | raw_query
)
def test_the_run_history_answers_any_query_string_as_documented(client, some_runs, params):
    query = params if isinstance(params, str) else urlencode(params)
    before = RouteRun.objects.count()

    response = client.get("/api/runs", QUERY_STRING=query)

    assert_documented(response, before)
    event(f"status {response.status_code}")
    assert response.status_code in {200, 400, 404}
    if response.status_code == 200:
        page = response.json()
        assert page["count"] <= some_runs
        assert len(page["results"]) <= page["count"]


@given(run_id=st.integers(0, 10**40))
def test_one_run_by_any_id_is_found_or_a_404(client, some_runs, run_id):
    response = client.get(f"/api/runs/{run_id}")

    assert_documented(response, some_runs)
    assert response.status_code in {200, 404}
    if response.status_code == 200:
        assert response.json()["id"] == run_id


# Each of these runs the chain and stores its failed attempts: fewer examples, same coverage.
@settings(max_examples=max(settings.default.max_examples // 3, 1))
@given(fallback=values | raw_query, slot=st.sampled_from(["qwen", "tpro", "llama", "nope"]))
def test_a_slot_endpoint_answers_any_fallback_value_as_documented(client, fallback, slot):
    before = RouteRun.objects.count()
    query = urlencode({"fallback": fallback}) if not fallback.startswith("%") else fallback

    response = client.generic(
        "POST", f"/{slot}/optimize", VALID, content_type="application/json", QUERY_STRING=query
    )

    assert_documented(response, before)
    event(f"status {response.status_code}")
    if slot == "nope":
        assert response.status_code == 404
    else:
        on = QueryDict(query).get("fallback", "").lower() in {"1", "true", "yes"}
        assert response.status_code == (200 if on else 503)
