"""Logging in and out, and the throttle on failed log-ins."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth import SESSION_KEY
from django.utils import timezone

from accounts.models import LoginFailure
from tests.accounts.conftest import PASSWORD, csrf_token

pytestmark = pytest.mark.django_db

LOGIN = "/accounts/login/"


def log_in(client, username="olga", password=PASSWORD, **extra):
    return client.post(LOGIN, {"username": username, "password": password}, **extra)


def test_the_page_shows_the_form(client, owner):
    response = client.get(LOGIN)

    assert response.status_code == 200
    assert 'name="username"' in response.content.decode()


def test_a_right_password_logs_in_and_goes_to_the_sets(client, owner):
    response = log_in(client)

    assert response.url == "/sets/"
    assert int(client.session[SESSION_KEY]) == owner.pk


def test_it_goes_back_to_the_page_that_asked_for_a_log_in(client, owner):
    response = client.post(LOGIN, {"username": "olga", "password": PASSWORD, "next": "/runs/"})

    assert response.url == "/runs/"


def test_it_never_sends_the_user_to_another_site(client, owner):
    response = client.post(
        LOGIN, {"username": "olga", "password": PASSWORD, "next": "https://evil.example/"}
    )

    assert response.url == "/sets/"


def test_a_logged_in_user_is_sent_on(owner_client):
    assert owner_client.get(LOGIN + "?next=/runs/").url == "/runs/"


def test_a_wrong_password_is_refused_and_counted(client, owner):
    response = log_in(client, password="wrong")

    assert response.status_code == 200
    assert SESSION_KEY not in client.session
    assert LoginFailure.objects.filter(username="olga").count() == 1


def test_a_successful_log_in_is_not_counted(client, owner):
    log_in(client)

    assert not LoginFailure.objects.exists()


def test_the_sixth_failure_in_a_minute_is_refused_with_the_wait(client, owner):
    for _ in range(5):
        log_in(client, password="wrong")

    response = log_in(client)  # even the right password waits

    assert response.status_code == 429
    text = response.content.decode()
    assert "Too many failed log-ins; try again in" in text
    assert SESSION_KEY not in client.session
    assert LoginFailure.objects.count() == 5  # a refused try is not checked, nor counted


def test_the_limit_holds_per_username_across_addresses(client, owner):
    for n in range(5):
        log_in(client, password="wrong", REMOTE_ADDR=f"198.51.100.{n}")

    response = log_in(client, REMOTE_ADDR="198.51.100.99")

    assert response.status_code == 429


def test_the_limit_holds_per_address_across_usernames(client, owner):
    for n in range(5):
        log_in(client, username=f"guess{n}", password="wrong")

    response = log_in(client)

    assert response.status_code == 429


def test_another_user_from_another_address_is_not_held_back(client, owner, stranger):
    for _ in range(5):
        log_in(client, password="wrong", REMOTE_ADDR="198.51.100.1")

    response = log_in(client, username="stepan", REMOTE_ADDR="198.51.100.2")

    assert response.status_code == 302


def test_the_wait_is_the_time_until_the_oldest_failure_leaves_the_minute(client, owner):
    now = timezone.now()
    for seconds_ago in (50, 40, 30, 20, 10):
        LoginFailure.objects.create(
            username="olga", address="127.0.0.1", created_at=now - timedelta(seconds=seconds_ago)
        )

    text = log_in(client).content.decode()

    assert "try again in 10 seconds" in text or "try again in 11 seconds" in text


def test_failures_older_than_a_minute_do_not_count(client, owner):
    long_ago = timezone.now() - timedelta(seconds=61)
    for _ in range(5):
        LoginFailure.objects.create(username="olga", address="127.0.0.1", created_at=long_ago)

    assert log_in(client).status_code == 302


def test_the_form_needs_the_csrf_token(csrf_client, owner):
    assert log_in(csrf_client).status_code == 403

    token = csrf_token(csrf_client, LOGIN)
    response = csrf_client.post(
        LOGIN, {"username": "olga", "password": PASSWORD, "csrfmiddlewaretoken": token}
    )

    assert response.status_code == 302


def test_log_out_is_a_post(owner_client):
    assert owner_client.get("/accounts/logout/").status_code == 405

    response = owner_client.post("/accounts/logout/")

    assert response.url == LOGIN
    assert SESSION_KEY not in owner_client.session


def test_log_out_needs_the_csrf_token(csrf_client, owner):
    csrf_client.force_login(owner)

    assert csrf_client.post("/accounts/logout/").status_code == 403
    token = csrf_token(csrf_client, "/account/")
    assert csrf_client.post("/accounts/logout/", {"csrfmiddlewaretoken": token}).status_code == 302
