"""/setup/: the first account on a fresh server, and the one-time code that guards it."""

from __future__ import annotations

import re
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from accounts.models import SetupCode
from tests.accounts.conftest import PASSWORD, csrf_token, make_user

pytestmark = pytest.mark.django_db

User = get_user_model()
OUTSIDE = {"REMOTE_ADDR": "203.0.113.7"}


def account(username="admin", **extra) -> dict:
    return {"username": username, "password1": PASSWORD, "password2": PASSWORD, **extra}


def issue_code() -> str:
    out = StringIO()
    call_command("setup_code", stdout=out)
    return re.search(r"setup code (\S+)\)", out.getvalue()).group(1)


def test_the_first_account_is_a_staff_superuser_and_is_logged_in(client):
    response = client.post("/setup/", account())

    assert response.status_code == 302
    assert response.url == "/sets/"
    user = User.objects.get()
    assert user.is_staff and user.is_superuser
    assert user.check_password(PASSWORD)
    assert client.get("/account/").status_code == 200


def test_the_page_answers_404_once_any_account_exists(client):
    make_user("someone")

    assert client.get("/setup/").status_code == 404
    assert client.post("/setup/", account()).status_code == 404
    assert User.objects.count() == 1


def test_the_log_in_page_sends_a_fresh_server_to_setup(client):
    assert client.get("/accounts/login/").url == "/setup/"
    assert client.get("/login/").url == "/setup/"


def test_bad_input_shows_errors_and_saves_nothing(client):
    response = client.post("/setup/", account(password2="something-else-entirely"))

    assert response.status_code == 200
    assert b"field-error" in response.content
    assert not User.objects.exists()


def test_on_this_machine_no_code_is_asked(client):
    page = client.get("/setup/").content.decode()

    assert 'name="code"' not in page


def test_from_outside_it_asks_for_the_code(client):
    page = client.get("/setup/", **OUTSIDE).content.decode()

    assert 'name="code"' in page


def test_from_outside_the_account_is_refused_without_the_code(client):
    issue_code()

    response = client.post("/setup/", account(), **OUTSIDE)

    assert response.status_code == 200
    assert not User.objects.exists()


def test_a_wrong_code_is_refused(client):
    issue_code()

    response = client.post("/setup/", account(code="not-the-code"), **OUTSIDE)

    assert "This setup code is not valid." in response.content.decode()
    assert not User.objects.exists()


def test_the_right_code_makes_the_account_and_is_consumed(client):
    code = issue_code()

    response = client.post("/setup/", account(code=code), **OUTSIDE)

    assert response.status_code == 302
    assert User.objects.get().is_superuser
    assert not SetupCode.objects.exists()


def test_in_production_even_this_machine_needs_the_code(client, settings):
    # Behind a reverse proxy every caller comes from 127.0.0.1.
    settings.PRODUCTION = True
    issue_code()

    assert 'name="code"' in client.get("/setup/").content.decode()
    client.post("/setup/", account())
    assert not User.objects.exists()


def test_a_new_code_replaces_the_old_one(client):
    old = issue_code()
    new = issue_code()

    client.post("/setup/", account(code=old), **OUTSIDE)
    assert not User.objects.exists()
    client.post("/setup/", account(code=new), **OUTSIDE)
    assert User.objects.exists()


def test_the_printed_link_fills_in_the_code(client):
    code = issue_code()

    page = client.get(f"/setup/?code={code}", **OUTSIDE).content.decode()

    assert f'value="{code}"' in page


def test_setup_code_prints_the_link_and_stores_only_a_digest():
    out = StringIO()
    call_command("setup_code", "--url", "http://127.0.0.1:8000", stdout=out)

    line = out.getvalue().strip()
    match = re.fullmatch(
        r"First run: create the admin account at http://127\.0\.0\.1:8000/setup/\?code=(\S+) "
        r"\(setup code (\S+)\)",
        line,
    )
    assert match and match.group(1) == match.group(2)
    assert len(match.group(1)) >= 20
    stored = SetupCode.objects.get()
    assert match.group(1) not in stored.digest


def test_setup_code_prints_nothing_once_an_account_exists():
    make_user("someone")
    out = StringIO()

    call_command("setup_code", stdout=out)

    assert out.getvalue() == ""
    assert not SetupCode.objects.exists()


def test_the_form_needs_the_csrf_token(csrf_client):
    assert csrf_client.post("/setup/", account()).status_code == 403
    assert not User.objects.exists()

    token = csrf_token(csrf_client, "/setup/")
    response = csrf_client.post("/setup/", account(csrfmiddlewaretoken=token))

    assert response.status_code == 302
    assert User.objects.exists()
