"""Hypothesis profiles for the fuzz suite and the checks every answer must pass.

`ci` (the default) is derandomized with a bounded number of examples, so `.ci/run` sees the same
inputs each time and the suite takes well under a minute; `T2_FUZZ=long` explores with fresh
random inputs and many more examples (see README, "Test it").
"""

from __future__ import annotations

import json
import os

import pytest
from hypothesis import HealthCheck, settings

from accounts.models import ApiToken
from routes.models import RouteRun
from tests.chain.conftest import fresh_pool, slot_with_model  # noqa: F401 (fixtures)

_SHARED = {
    "deadline": None,
    "database": None,  # nothing written into the checkout
    "print_blob": True,
    # The database and the client are set up once per test, not per example: they hold no
    # state an example could leak into the next (each answer is checked against counts).
    "suppress_health_check": [
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
}
settings.register_profile("ci", derandomize=True, max_examples=300, **_SHARED)
settings.register_profile("long", derandomize=False, max_examples=20_000, **_SHARED)
settings.load_profile(os.environ.get("T2_FUZZ") or "ci")

#: Every status the JSON API documents (OpenAPI, README): anything else is a bug.
DOCUMENTED = {200, 400, 401, 404, 405, 413, 503}


def assert_error_shape(response) -> dict:
    """`{"error": str, "errors"?: [{"field": str, "message": str}]}` and nothing that is not
    documented beside it; returns the decoded body."""
    assert response["Content-Type"].startswith("application/json"), response.content[:200]
    payload = json.loads(response.content)
    assert isinstance(payload, dict)
    assert isinstance(payload.get("error"), str) and payload["error"]
    if "errors" in payload:
        assert isinstance(payload["errors"], list) and payload["errors"]
        for entry in payload["errors"]:
            assert set(entry) == {"field", "message"}, entry
            assert isinstance(entry["field"], str) and entry["field"]
            assert isinstance(entry["message"], str) and entry["message"]
    extra = set(payload) - {"error", "errors"}
    if response.status_code == 503:
        # A slot that cannot answer also names itself, the stored run and its attempts.
        assert extra <= {"model", "run_id", "attempts"}, extra
    else:
        assert not extra, extra
    return payload


def assert_documented(response, runs_before: int) -> None:
    """No 500, the documented shape for each status, and nothing stored on error."""
    status = response.status_code
    assert status in DOCUMENTED, (status, response.content[:500])
    runs_after = RouteRun.objects.count()
    if status == 200:
        return
    if response.request["REQUEST_METHOD"] == "HEAD":  # an answer to HEAD has no body
        assert runs_after == runs_before
        return
    payload = assert_error_shape(response)
    if status == 405:
        assert response.has_header("Allow")
    if status == 503:
        # The slot's failed attempts are the record of why it could not answer.
        assert runs_after == runs_before + 1
        assert RouteRun.objects.get(pk=payload["run_id"]).status == RouteRun.Status.FAILED
    else:
        assert runs_after == runs_before, f"a {status} stored a run"


@pytest.fixture
def token_secret(django_user_model) -> str:
    user = django_user_model.objects.create_user("fuzzer", password="not-used-here")
    _, secret = ApiToken.objects.issue(user, "fuzz")
    return secret
