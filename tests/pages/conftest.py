"""Personas and small builders for the planner's pages."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from routes.models import Location, LocationSet
from tests.factories import location


def make_user(username: str, **extra):
    return get_user_model().objects.create_user(username, password="a-long-test-password", **extra)


def make_set(owner, n: int = 3, name: str = "Саранск, понедельник", **constraints) -> LocationSet:
    location_set = LocationSet.objects.create(owner=owner, name=name, constraints=constraints)
    Location.objects.bulk_create(
        Location.from_request(location(i), location_set=location_set, position=i)
        for i in range(1, n + 1)
    )
    return location_set


@pytest.fixture
def owner(db):
    return make_user("owner")


@pytest.fixture
def stranger(db):
    return make_user("stranger")


@pytest.fixture
def owner_client(client, owner):
    client.force_login(owner)
    return client


@pytest.fixture
def stranger_client(client, stranger):
    client.force_login(stranger)
    return client


@pytest.fixture
def location_set(owner):
    return make_set(owner)
