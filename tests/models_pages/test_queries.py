"""The models page's query budget does not grow with the history."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from llm.models import Attempt
from tests.models_pages.conftest import metrics

pytestmark = pytest.mark.django_db

SLOTS = ("qwen", "tpro", "llama", "greedy")
STATUSES = ("ok", "ok", "rejected", "timeout", "not_found")


def many_attempts(n: int) -> None:
    Attempt.objects.bulk_create(
        Attempt(
            slot=SLOTS[i % 4],
            status="ok" if SLOTS[i % 4] == "greedy" else STATUSES[i % 5],
            reason="" if STATUSES[i % 5] == "ok" else f"travel {i % 90} min is over 10% more",
            stops=2 + i % 60,
            duration_ms=200.0 + (i * 37) % 20000,
            load_ms=300.0 if i % 50 == 0 else None,
            prompt_tokens=400,
            prompt_ms=800.0,
            completion_tokens=60,
            tokens_per_second=25.0,
            metrics=metrics(40 + i % 7, 38 + i % 5, 38 + i % 4) if SLOTS[i % 4] != "greedy" else {},
        )
        for i in range(n)
    )


def page_queries(client, **params) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/models/", params)
    assert response.status_code == 200
    return len(queries.captured_queries)


def test_the_page_takes_the_same_few_queries_with_10_000_attempts(user_client):
    many_attempts(10)
    few = page_queries(user_client)
    many_attempts(10_000)

    assert page_queries(user_client) == few <= 15  # three per slot, the rest fixed
    assert page_queries(user_client, period="week", stops="11-20") == few
    # Until an attempt is added, each slot's history comes from the cache: one query a slot.
    assert page_queries(user_client) == few - 6


def test_a_live_poll_takes_a_handful_of_queries(user_client):
    many_attempts(10_000)

    with CaptureQueriesContext(connection) as queries:
        user_client.get("/models/", headers={"HX-Request": "true", "HX-Target": "slot-qwen-live"})

    assert len(queries.captured_queries) <= 5
    assert not any("llm_attempt" in q["sql"] for q in queries.captured_queries)
