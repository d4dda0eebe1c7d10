"""Changing one's password."""

from __future__ import annotations

import pytest

from tests.accounts.conftest import PASSWORD, csrf_token

pytestmark = pytest.mark.django_db

URL = "/accounts/password/"
NEW = "another-long-passphrase-77"


def change(client, old=PASSWORD, new=NEW, again=NEW, **extra):
    data = {"old_password": old, "new_password1": new, "new_password2": again, **extra}
    return client.post(URL, data)


def test_anonymous_is_sent_to_log_in(client):
    response = client.get(URL)

    assert response.status_code == 302
    assert response.url.startswith("/accounts/login/?next=")


def test_it_changes_the_password_and_keeps_the_user_logged_in(owner_client, owner):
    response = change(owner_client)

    assert response.url == "/accounts/password/done/"
    owner.refresh_from_db()
    assert owner.check_password(NEW)
    assert owner_client.get("/accounts/password/done/").status_code == 200


def test_a_wrong_old_password_changes_nothing(owner_client, owner):
    response = change(owner_client, old="not-my-password")

    assert response.status_code == 200
    assert b"field-error" in response.content
    owner.refresh_from_db()
    assert owner.check_password(PASSWORD)


def test_a_weak_new_password_is_refused(owner_client, owner):
    change(owner_client, new="12345678", again="12345678")

    owner.refresh_from_db()
    assert owner.check_password(PASSWORD)


def test_the_form_needs_the_csrf_token(csrf_client, owner):
    csrf_client.force_login(owner)
    assert change(csrf_client).status_code == 403

    token = csrf_token(csrf_client, URL)
    assert change(csrf_client, csrfmiddlewaretoken=token).status_code == 302
    owner.refresh_from_db()
    assert owner.check_password(NEW)
