"""Queue depth: beyond T2_MAX_QUEUED waiting runs, a new one is refused at once."""

from __future__ import annotations

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from routes.models import RouteRun
from routes.optimize import create_run, retry_after_seconds
from routes.schema import parse_request
from tests.factories import seed_example
from tests.pages.conftest import make_set, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def full_queue(settings) -> list[RouteRun]:
    settings.T2_OPTIMIZE_INLINE = False
    settings.T2_MAX_QUEUED = 2
    return [create_run(parse_request(seed_example()), only=None, fallback=True) for _ in range(2)]


def test_the_api_refuses_a_run_beyond_the_queue_limit_at_once_with_retry_after(
    post_json, full_queue
):
    response = post_json("/optimize", seed_example())

    assert response.status_code == 503
    assert response.json()["error"].startswith("2 runs are waiting for the worker already")
    assert int(response["Retry-After"]) >= 1
    assert RouteRun.objects.count() == 2  # nothing saved


def test_the_slot_api_is_limited_too(post_json, full_queue):
    response = post_json("/qwen/optimize", seed_example())

    assert response.status_code == 503 and "Retry-After" in response
    assert RouteRun.objects.count() == 2


def test_the_page_says_the_queue_is_full_and_goes_back_to_the_set(client, full_queue):
    owner = make_user("owner")
    location_set = make_set(owner)
    client.force_login(owner)

    response = client.post(
        reverse("set-optimize", args=[location_set.pk]),
        {"fallback": "on"},
        HTTP_ACCEPT_LANGUAGE="en",
    )

    assert response.status_code == 302 and response["Location"] == location_set.url
    [message] = get_messages(response.wsgi_request)
    assert "Too many routes are waiting" in str(message)
    assert RouteRun.objects.count() == 2


def test_running_runs_do_not_count_as_waiting(post_json, full_queue, settings):
    RouteRun.objects.filter(pk=full_queue[0].pk).update(status=RouteRun.Status.RUNNING)
    settings.T2_RUN_WAIT_SECONDS = 0.2
    settings.T2_WORKER_GRACE_SECONDS = 60

    response = post_json("/optimize", seed_example())

    assert response.status_code == 504  # taken into the queue; nobody ran it in 0.2 s
    assert RouteRun.objects.count() == 3


def test_inline_runs_have_no_queue(post_json, full_queue, settings):
    settings.T2_OPTIMIZE_INLINE = True

    assert post_json("/optimize", seed_example()).status_code == 200


def test_retry_after_is_about_one_runs_time():
    for ms in (1500, 2500, 9000):
        run = create_run(parse_request(seed_example()), only=None, fallback=True)
        RouteRun.objects.filter(pk=run.pk).update(status=RouteRun.Status.DONE, duration_ms=ms)

    assert retry_after_seconds() == 3
