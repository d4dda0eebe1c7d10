"""Runs go through the task worker (django.tasks + django-tasks-db) unless set inline."""

from __future__ import annotations

import time

import pytest
from django.core.management import call_command

from routes.models import RouteRun
from routes.optimize import submit
from routes.schema import parse_request
from tests.factories import seed_example

pytestmark = pytest.mark.django_db


# Committed, not in the test's transaction: the worker closes its connection between tasks
# (as a long-lived process must), which on PostgreSQL would end a test transaction under it.
@pytest.mark.django_db(transaction=True)
def test_a_submitted_run_waits_in_the_queue_until_the_worker_runs_it(client, settings):
    settings.T2_OPTIMIZE_INLINE = False

    run = submit(parse_request(seed_example()))
    assert RouteRun.objects.get(pk=run.pk).status == RouteRun.Status.QUEUED

    call_command("worker", "--batch", "--no-startup-delay", "--no-reload", verbosity=0)

    run.refresh_from_db()
    assert run.status == RouteRun.Status.DONE
    answer = client.get(f"/api/runs/{run.pk}").json()
    assert answer["model_used"] == "greedy"
    assert sorted(answer["locations"]) == ["loc_1", "loc_2"]


def test_without_a_worker_the_api_answers_503_at_once_instead_of_hanging(post_json, settings):
    settings.T2_OPTIMIZE_INLINE = False
    settings.T2_WORKER_GRACE_SECONDS = 0

    started = time.monotonic()
    response = post_json("/optimize", seed_example())

    assert response.status_code == 503
    assert response.json() == {
        "error": "no task worker is running (start it with scripts/run or manage.py worker)"
    }
    assert time.monotonic() - started < 3
    # Failed, not left queued for a worker that may start much later.
    run = RouteRun.objects.get()
    assert run.status == RouteRun.Status.FAILED
    assert run.error == RouteRun.NO_WORKER


def test_a_worker_that_does_not_finish_in_time_gets_a_504(post_json, settings):
    settings.T2_OPTIMIZE_INLINE = False
    settings.T2_RUN_WAIT_SECONDS = 0.5
    settings.T2_WORKER_GRACE_SECONDS = 60  # not long enough to ask whether a worker is alive

    response = post_json("/optimize", seed_example())

    assert response.status_code == 504
    assert "manage.py worker" in response.json()["error"]
    assert RouteRun.objects.get().status == RouteRun.Status.QUEUED
