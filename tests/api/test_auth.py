"""Who may call the JSON API, whose runs they make, and whose runs they see."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from accounts.models import ApiToken
from routes.models import RouteRun
from tests.factories import seed_example

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
REFUSED = "authentication required: send Authorization: Bearer <token> (create one on /account/)"


def make_user(username: str, **fields):
    return get_user_model().objects.create_user(username=username, password="x" * 20, **fields)


@pytest.fixture
def owner():
    return make_user("olga")


@pytest.fixture
def stranger():
    return make_user("stepan")


@pytest.fixture
def staff():
    return make_user("sveta", is_staff=True)


def token_for(user) -> str:
    return ApiToken.objects.issue(user, "script")[1]


def post(client: Client, url: str = "/optimize", token: str | None = None, **extra):
    if token:
        extra["headers"] = {"Authorization": f"Bearer {token}"}
    return client.post(url, json.dumps(seed_example()), content_type="application/json", **extra)


def get(client: Client, url: str, token: str | None = None):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return client.get(url, headers=headers)


def run_of(user) -> RouteRun:
    return RouteRun.objects.create(
        owner=user, request=seed_example(), location_count=2, status=RouteRun.Status.DONE
    )


# --- Anonymous calls ---------------------------------------------------------------------------


def test_anonymous_calls_work_locally_and_make_anonymous_runs(client):
    response = post(client)

    assert response.status_code == 200
    assert RouteRun.objects.get().owner is None


def test_with_anonymous_calls_off_they_get_a_clear_401_and_nothing_is_saved(client, settings):
    settings.T2_ANONYMOUS_API = False

    for response in (
        post(client),
        post(client, "/qwen/optimize"),
        get(client, "/api/runs"),
        get(client, "/api/runs/1"),
    ):
        assert response.status_code == 401
        assert response.json() == {"error": REFUSED}
        assert response["WWW-Authenticate"].startswith("Bearer")
    assert not RouteRun.objects.exists()


def anonymous_api_setting(**env: str) -> str:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("T2_", "DJANGO_"))}
    environment.update(env)
    code = "from django.conf import settings; print(settings.T2_ANONYMOUS_API)"
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-v", "0", "-c", code],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_anonymous_calls_are_on_locally_and_off_by_default_in_production():
    production = {
        "T2_PRODUCTION": "1",
        "SECRET_KEY": "k" * 60,
        "ALLOWED_HOSTS": "routes.example.com",
    }

    assert anonymous_api_setting() == "True"
    assert anonymous_api_setting(**production) == "False"
    assert anonymous_api_setting(**production, T2_ANONYMOUS_API="1") == "True"


# --- Tokens ------------------------------------------------------------------------------------


def test_a_run_made_with_a_token_belongs_to_its_user(client, owner, settings):
    settings.T2_ANONYMOUS_API = False

    response = post(client, token=token_for(owner))

    assert response.status_code == 200
    assert RouteRun.objects.get(pk=response.json()["id"]).owner == owner


def test_a_bad_token_is_a_401_not_an_anonymous_call(client):
    response = post(client, token="t2_not-a-token")

    assert response.status_code == 401
    assert "invalid API token" in response.json()["error"]
    assert not RouteRun.objects.exists()


def test_a_revoked_token_is_a_401(client, owner):
    token, secret = ApiToken.objects.issue(owner, "old laptop")
    token.delete()

    assert get(client, "/api/runs", secret).status_code == 401
    assert post(client, token=secret).status_code == 401


def test_token_calls_need_no_csrf_token(owner):
    browserless = Client(enforce_csrf_checks=True)

    response = post(browserless, token=token_for(owner))

    assert response.status_code == 200


def test_anonymous_calls_need_no_csrf_token():
    assert post(Client(enforce_csrf_checks=True)).status_code == 200


# --- Browser sessions --------------------------------------------------------------------------


def test_a_session_post_without_the_csrf_token_is_refused(owner):
    # Any site could make a logged-in browser post this.
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(owner)

    response = post(browser)

    assert response.status_code == 403
    assert "CSRF" in response.json()["error"]
    assert not RouteRun.objects.exists()


def test_a_session_post_with_the_csrf_token_makes_the_users_run(owner, settings):
    settings.T2_ANONYMOUS_API = False
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(owner)
    browser.get("/account/")
    csrf = browser.cookies["csrftoken"].value

    response = post(browser, headers={"X-CSRFToken": csrf})

    assert response.status_code == 200
    assert RouteRun.objects.get().owner == owner


# --- Whose runs are seen -----------------------------------------------------------------------


def listed(client, token=None) -> set[int]:
    response = get(client, "/api/runs", token)
    assert response.status_code == 200
    return {run["id"] for run in response.json()["results"]}


def test_each_caller_lists_only_their_own_runs(client, owner, stranger, staff):
    mine, theirs, anonymous = run_of(owner), run_of(stranger), run_of(None)

    assert listed(client, token_for(owner)) == {mine.pk}
    assert listed(client, token_for(stranger)) == {theirs.pk}
    assert listed(client) == {anonymous.pk}
    assert listed(client, token_for(staff)) == {mine.pk, theirs.pk, anonymous.pk}


def test_a_session_lists_its_users_runs(client, owner, stranger):
    mine = run_of(owner)
    run_of(stranger)
    client.force_login(owner)

    assert listed(client) == {mine.pk}


def test_another_users_run_answers_404(client, owner, stranger):
    run = run_of(owner)

    assert get(client, f"/api/runs/{run.pk}", token_for(owner)).status_code == 200
    assert get(client, f"/api/runs/{run.pk}", token_for(stranger)).status_code == 404
    assert get(client, f"/api/runs/{run.pk}").status_code == 404  # anonymous


def test_staff_open_anyones_run(client, owner, staff):
    run = run_of(owner)

    assert get(client, f"/api/runs/{run.pk}", token_for(staff)).status_code == 200


def test_anonymous_callers_open_anonymous_runs(client):
    run = run_of(None)

    assert get(client, f"/api/runs/{run.pk}").status_code == 200


# --- The document ------------------------------------------------------------------------------


def test_the_openapi_document_describes_bearer_tokens_and_401s(client):
    document = client.get("/openapi.json").json()

    assert document["components"]["securitySchemes"]["bearer"] == {
        "type": "http",
        "scheme": "bearer",
        "description": document["components"]["securitySchemes"]["bearer"]["description"],
    }
    assert {"bearer": []} in document["security"]
    for path in ("/optimize", "/qwen/optimize"):
        assert "401" in document["paths"][path]["post"]["responses"]
    for path in ("/api/runs", "/api/runs/{id}"):
        assert "401" in document["paths"][path]["get"]["responses"]
    assert "T2_ANONYMOUS_API" in document["info"]["description"]
