"""API tokens: made and revoked on the account page, stored hashed, read from the header."""

from __future__ import annotations

import hashlib
import re

import pytest
from django.db import connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext

from accounts.bearer import InvalidToken, authenticate_bearer
from accounts.models import ApiToken
from tests.accounts.conftest import csrf_token

pytestmark = pytest.mark.django_db


def bearer(secret: str):
    return RequestFactory().get("/api/runs", headers={"Authorization": f"Bearer {secret}"})


def new_secret(response) -> str:
    return re.search(r'id="new-token-secret" value="([^"]+)"', response.content.decode()).group(1)


# --- The account page --------------------------------------------------------------------------


def test_anonymous_is_sent_to_log_in(client):
    response = client.get("/account/")

    assert response.status_code == 302
    assert response.url == "/accounts/login/?next=/account/"


def test_the_page_shows_the_user_and_their_tokens_only(owner_client, owner, stranger):
    ApiToken.objects.issue(owner, "dispatch script")
    ApiToken.objects.issue(stranger, "someone else's")

    page = owner_client.get("/account/").content.decode()

    assert "olga" in page
    assert "/accounts/password/" in page
    assert "dispatch script" in page
    assert "someone else" not in page
    assert "data-confirm=" in page


def test_creating_a_token_shows_its_secret_once_and_stores_only_a_digest(owner_client, owner):
    response = owner_client.post("/account/tokens/", {"name": "dispatch script"})

    assert response.status_code == 200
    secret = new_secret(response)
    token = ApiToken.objects.get(user=owner)
    assert token.name == "dispatch script"
    assert token.digest == hashlib.sha256(secret.encode()).hexdigest()
    assert secret.startswith(token.prefix)
    assert "no-store" in response["Cache-Control"]
    assert secret not in owner_client.get("/account/").content.decode()


def test_a_token_needs_a_name(owner_client):
    response = owner_client.post("/account/tokens/", {"name": ""})

    assert b"field-error" in response.content
    assert not ApiToken.objects.exists()


def test_the_owner_revokes_a_token(owner_client, owner):
    token, _ = ApiToken.objects.issue(owner, "old laptop")

    response = owner_client.post(f"/account/tokens/{token.pk}/revoke/")

    assert response.url == "/account/"
    assert not ApiToken.objects.exists()


def test_a_stranger_cannot_revoke_it(client, owner, stranger):
    token, _ = ApiToken.objects.issue(owner, "mine")
    client.force_login(stranger)

    response = client.post(f"/account/tokens/{token.pk}/revoke/")

    assert response.status_code == 404
    assert ApiToken.objects.filter(pk=token.pk).exists()


def test_anonymous_cannot_create_or_revoke(client, owner):
    token, _ = ApiToken.objects.issue(owner, "mine")

    assert client.post("/account/tokens/", {"name": "x"}).status_code == 302
    assert client.post(f"/account/tokens/{token.pk}/revoke/").status_code == 302
    assert ApiToken.objects.count() == 1


def test_revoking_is_a_post(owner_client, owner):
    token, _ = ApiToken.objects.issue(owner, "mine")

    assert owner_client.get(f"/account/tokens/{token.pk}/revoke/").status_code == 405
    assert ApiToken.objects.exists()


def test_the_token_forms_need_the_csrf_token(csrf_client, owner):
    csrf_client.force_login(owner)
    token, _ = ApiToken.objects.issue(owner, "mine")

    assert csrf_client.post("/account/tokens/", {"name": "x"}).status_code == 403
    assert csrf_client.post(f"/account/tokens/{token.pk}/revoke/").status_code == 403
    assert ApiToken.objects.count() == 1

    csrf = csrf_token(csrf_client, "/account/")
    created = csrf_client.post("/account/tokens/", {"name": "x", "csrfmiddlewaretoken": csrf})
    revoked = csrf_client.post(f"/account/tokens/{token.pk}/revoke/", {"csrfmiddlewaretoken": csrf})

    assert created.status_code == 200 and revoked.status_code == 302
    assert list(ApiToken.objects.values_list("name", flat=True)) == ["x"]


# --- Reading the header ------------------------------------------------------------------------


def test_no_header_is_anonymous():
    assert authenticate_bearer(RequestFactory().get("/api/runs")) is None


def test_a_valid_token_is_its_user_and_notes_the_use(owner):
    token, secret = ApiToken.objects.issue(owner, "script")

    assert authenticate_bearer(bearer(secret)) == owner
    token.refresh_from_db()
    assert token.last_used_at is not None


def test_a_revoked_token_is_refused(owner):
    token, secret = ApiToken.objects.issue(owner, "script")
    token.delete()

    with pytest.raises(InvalidToken):
        authenticate_bearer(bearer(secret))


def test_an_unknown_token_is_refused():
    with pytest.raises(InvalidToken):
        authenticate_bearer(bearer("t2_made-up"))


def test_another_scheme_is_refused(owner):
    _, secret = ApiToken.objects.issue(owner, "script")
    request = RequestFactory().get("/", headers={"Authorization": f"Token {secret}"})

    with pytest.raises(InvalidToken):
        authenticate_bearer(request)


def test_a_proxys_basic_credentials_are_left_alone():
    request = RequestFactory().get("/", headers={"Authorization": "Basic b2xnYTpzZWNyZXQ="})

    assert authenticate_bearer(request) is None


def test_a_deactivated_users_token_is_refused(owner):
    _, secret = ApiToken.objects.issue(owner, "script")
    owner.is_active = False
    owner.save()

    with pytest.raises(InvalidToken):
        authenticate_bearer(bearer(secret))


# --- The admin ---------------------------------------------------------------------------------


def test_the_admin_lists_tokens_read_only_without_any_secret(client, owner):
    from django.contrib.auth import get_user_model

    admin = get_user_model().objects.create_superuser("root", password="x" * 20)
    token, secret = ApiToken.objects.issue(owner, "script")
    client.force_login(admin)

    listing = client.get("/admin/accounts/apitoken/").content.decode()
    detail = client.get(f"/admin/accounts/apitoken/{token.pk}/change/").content.decode()

    assert "script" in listing
    for page in (listing, detail):
        assert secret not in page
        assert token.digest not in page
    assert client.get("/admin/accounts/apitoken/add/").status_code == 403


def test_the_account_page_keeps_its_query_budget(owner_client, owner):
    for n in range(10):
        ApiToken.objects.issue(owner, f"script {n}")

    with CaptureQueriesContext(connection) as queries:
        response = owner_client.get("/account/")

    assert response.status_code == 200
    assert len(queries) <= 3  # session, user, tokens
