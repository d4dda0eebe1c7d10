"""Personas and a hand-written attempt builder for the models pages."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from llm.models import Attempt


def make_user(username: str, **extra):
    return get_user_model().objects.create_user(username, password="a-long-test-password", **extra)


def metrics(proposal: float, final: float, algorithm: float, violations: int = 0) -> dict:
    def figures(km: float) -> dict:
        return {
            "km": km,
            "travel_minutes": km * 2,
            "violations": violations,
            "dropped_by_rank": [0, 0, 0, 0],
        }

    return {"proposal": figures(proposal), "final": figures(final), "algorithm": figures(algorithm)}


def make_attempt(slot: str = "qwen", *, ago: timedelta = timedelta(0), **fields) -> Attempt:
    """An attempt as the chain records one; `ago` moves its time back (created_at is auto)."""
    values = {"status": "ok", "duration_ms": 1500.0, "stops": 6, **fields}
    attempt = Attempt.objects.create(slot=slot, **values)
    if ago:
        Attempt.objects.filter(pk=attempt.pk).update(created_at=timezone.now() - ago)
        attempt.refresh_from_db()
    return attempt


@pytest.fixture
def client(client):
    """Pages in English (Russian is the default), so the tests can read the words."""
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


@pytest.fixture
def user(db):
    return make_user("planner")


@pytest.fixture
def staff(db):
    return make_user("boss", is_staff=True)


@pytest.fixture
def user_client(client, user):
    client.force_login(user)
    return client


@pytest.fixture
def staff_client(client, staff):
    client.force_login(staff)
    return client
