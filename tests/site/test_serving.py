"""The served app as `scripts/run` starts it: gunicorn + whitenoise in front, the task worker
behind, one SQLite file between them. Real processes on loopback."""

from __future__ import annotations

import json
import urllib.request

import pytest

from tests.browser.server import served_app
from tests.factories import seed_example


@pytest.fixture
def served(tmp_path):
    with served_app(tmp_path, T2_RUN_WAIT_SECONDS="60") as app:
        yield app.url


def test_the_served_app_answers_through_the_worker_and_serves_its_static_files(served):
    request = urllib.request.Request(
        served + "/optimize",
        data=json.dumps(seed_example()).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        answer = json.load(response)
    with urllib.request.urlopen(served + "/static/js/swagger-init.js", timeout=10) as response:
        script = response.read()

    assert answer["model_used"] == "greedy"
    assert answer["status"] == "done"
    assert b"SwaggerUIBundle" in script
