"""Generated headers: content types, Content-Length that lies, Authorization in any form, any
method. Answers stay documented and nothing is stored on error."""

from __future__ import annotations

import io
import json

import pytest
from hypothesis import event, given
from hypothesis import strategies as st

from routes.models import RouteRun
from tests.factories import seed_example
from tests.fuzz import strategies as s
from tests.fuzz.conftest import assert_documented, assert_error_shape

pytestmark = pytest.mark.django_db

VALID = json.dumps(seed_example()).encode()
LIMIT = 1_000_000  # T2_MAX_BODY_BYTES's default

content_types = st.sampled_from(
    [
        "application/json",
        "application/json; charset=utf-8",
        "application/json; charset=latin-1",
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=xyz",
        "multipart/form-data",
        "",
        "application/xml",
    ]
) | st.text(st.characters(min_codepoint=32, max_codepoint=255), max_size=40)


@st.composite
def content_lengths(draw, actual: int) -> str | None:
    """None (no header), the truth, or a lie: shorter, longer, over the limit, not a number."""
    choice = draw(st.integers(0, 7))
    if choice == 0:
        return None
    if choice == 1:
        return str(actual)
    if choice == 2:
        return str(draw(st.integers(0, max(actual - 1, 0))))
    if choice == 3:
        return str(draw(st.integers(actual + 1, actual + 10_000)))
    if choice == 4:
        return str(draw(st.integers(LIMIT + 1, 10**20)))
    return draw(st.sampled_from(["-1", "-100000", "abc", "", " 12", "1e3", "0x10", "٣"]))


authorization = st.sampled_from(
    [None, "", "Bearer", "Bearer ", "Bearer nope", "bearer t2_xxxxxxxx", "Basic dXNlcjpwYXNz",
     "Token abc", "Bearer \x00", "VALID", "Bearer VALID extra"]
)  # fmt: skip


@given(
    raw=st.sampled_from([VALID]) | s.encoded(s.valid_ish_body | s.broken_body()),
    content_type=content_types,
    data=st.data(),
    auth=authorization,
)
def test_any_headers_get_a_documented_answer(client, token_secret, raw, content_type, data, auth):
    length = data.draw(content_lengths(len(raw)), label="Content-Length")
    # The server reads what Content-Length says, from a stream that holds what was sent.
    extra = {"wsgi.input": io.BytesIO(raw), "CONTENT_TYPE": content_type, "CONTENT_LENGTH": ""}
    if length is not None:
        extra["CONTENT_LENGTH"] = length
    if auth is not None:
        extra["HTTP_AUTHORIZATION"] = auth.replace("VALID", token_secret)
    before = RouteRun.objects.count()

    response = client.generic("POST", "/optimize", raw, **extra)

    assert_documented(response, before)
    event(f"status {response.status_code}")
    declared = int(length) if length and length.strip().isdigit() and length.isascii() else 0
    if declared > LIMIT:
        assert response.status_code in {401, 413}
    bad_auth = auth is not None and auth != "" and not auth.startswith(("Basic", "VALID"))
    bad_auth = bad_auth or auth == "Bearer VALID extra"
    if bad_auth:
        assert response.status_code == 401
        assert response.has_header("WWW-Authenticate")


@given(
    method=st.sampled_from(["GET", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "TRACE"]),
    url=st.sampled_from(["/optimize", "/qwen/optimize", "/llama/optimize?fallback=1"]),
)
def test_a_wrong_method_on_an_optimize_url_is_a_405_and_stores_nothing(client, method, url):
    before = RouteRun.objects.count()

    response = client.generic(method, url, VALID, content_type="application/json")

    assert response.status_code == 405
    assert "POST" in response["Allow"]
    assert_documented(response, before)


def test_a_wrong_method_gets_the_json_error_shape(client):
    response = client.get("/optimize")

    assert response.status_code == 405
    assert_error_shape(response)


def test_a_body_over_the_limit_is_a_413_even_when_its_length_is_true(client, settings):
    settings.T2_MAX_BODY_BYTES = 4096
    raw = json.dumps({**seed_example(), "padding": "x" * 5000}).encode()

    response = client.generic("POST", "/optimize", raw, content_type="application/json")

    assert response.status_code == 413
    assert_error_shape(response)
    assert RouteRun.objects.count() == 0
