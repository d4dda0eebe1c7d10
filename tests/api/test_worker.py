"""Runs go through the task worker (django.tasks + django-tasks-db) unless set inline."""

from __future__ import annotations

import threading

import pytest
from django.core.management import call_command
from django.db import connections

from routes.models import RouteRun
from tests.factories import seed_example

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_api_waits_for_the_worker_to_run_the_optimization(post_json, settings):
    settings.T2_OPTIMIZE_INLINE = False
    settings.T2_RUN_WAIT_SECONDS = 60
    responses = []
    # The API call waits in a thread, as a web request would; the worker (which installs
    # signal handlers) runs in the main thread and stops after the one task.

    def web_request():
        try:
            responses.append(post_json("/optimize", seed_example()))
        finally:
            connections.close_all()  # this thread's own connection

    web = threading.Thread(target=web_request)
    web.start()
    call_command(
        "db_worker",
        "--max-tasks",
        "1",
        "--no-startup-delay",
        "--no-reload",
        "--interval",
        "0.1",
        verbosity=0,
    )
    web.join(timeout=60)

    (response,) = responses
    assert response.status_code == 200
    assert response.json()["model_used"] == "greedy"
    assert RouteRun.objects.get().status == RouteRun.Status.DONE


def test_without_a_worker_the_api_says_so_instead_of_hanging(post_json, settings):
    settings.T2_OPTIMIZE_INLINE = False
    settings.T2_RUN_WAIT_SECONDS = 0.5

    response = post_json("/optimize", seed_example())

    assert response.status_code == 504
    assert "db_worker" in response.json()["error"]
    assert RouteRun.objects.get().status == RouteRun.Status.QUEUED
