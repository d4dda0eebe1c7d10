from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

PASSWORD = "a-long-enough-passphrase-42"


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """The real hasher is slow on purpose; these tests log in many times."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def make_user(username: str, **fields):
    """A user with the shared test password."""
    return get_user_model().objects.create_user(username=username, password=PASSWORD, **fields)


@pytest.fixture
def owner(db):
    return make_user("olga")


@pytest.fixture
def stranger(db):
    return make_user("stepan")


@pytest.fixture
def staff(db):
    return make_user("sveta", is_staff=True)


@pytest.fixture
def owner_client(owner) -> Client:
    client = Client()
    client.force_login(owner)
    return client


@pytest.fixture
def csrf_client() -> Client:
    """A browser that must send the CSRF token, as a real one must."""
    return Client(enforce_csrf_checks=True)


def csrf_token(client: Client, url: str) -> str:
    """Load a page as a browser would, and return the CSRF token its forms carry."""
    response = client.get(url)
    assert response.status_code == 200, response
    return client.cookies["csrftoken"].value
