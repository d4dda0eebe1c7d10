"""A run that no slot of its chain could answer is planned in the web process (the algorithm
alone needs no model, so no queue and no worker); any other run is queued for the worker."""

from __future__ import annotations

import threading
import time

import pytest

from llm.models import ModelSlot
from routes import optimize
from routes.models import RouteRun
from tests.factories import seed_example

pytestmark = pytest.mark.django_db


@pytest.fixture
def no_worker_running(settings):
    settings.T2_OPTIMIZE_INLINE = False  # the production shape: a worker would hold the models
    settings.T2_ALGORITHM_IN_WEB = True
    settings.T2_WORKER_GRACE_SECONDS = 0


def test_with_no_model_file_anywhere_the_algorithm_answers_at_once_without_a_worker(
    post_json, no_worker_running
):
    started = time.monotonic()
    response = post_json("/optimize", seed_example())

    assert response.status_code == 200
    answer = response.json()
    assert answer["model_used"] == "greedy"
    assert [(a["model"], a["status"]) for a in answer["attempts"]] == [
        ("qwen", "not_found"),
        ("tpro", "not_found"),
        ("llama", "not_found"),
        ("greedy", "ok"),
    ]
    run = RouteRun.objects.get()
    assert run.status == RouteRun.Status.DONE and run.worker.startswith("web:")
    assert time.monotonic() - started < 3


def test_a_chain_with_a_model_file_goes_to_the_worker(post_json, no_worker_running, tmp_path):
    (tmp_path / "models").mkdir(exist_ok=True)
    (tmp_path / "models" / "mine.gguf").write_bytes(b"GGUF")  # found: the worker must try it
    ModelSlot.objects.filter(name="llama").update(model_file="mine.gguf")

    response = post_json("/optimize", seed_example())

    assert response.status_code == 503  # queued, and no worker runs here to take it
    assert "no task worker is running" in response.json()["error"]
    assert RouteRun.objects.get().error == RouteRun.NO_WORKER


def test_a_remote_slot_goes_to_the_worker(post_json, no_worker_running):
    ModelSlot.objects.filter(name="tpro").update(
        backend="remote", endpoint_url="http://127.0.0.1:9/v1"
    )

    response = post_json("/optimize", seed_example())

    assert response.status_code == 503


def test_a_slot_asked_by_name_without_its_file_fails_here_with_its_reason(
    post_json, no_worker_running
):
    response = post_json("/qwen/optimize", seed_example())

    assert response.status_code == 503
    assert "GGUF model file not found" in response.json()["error"]
    assert RouteRun.objects.get().status == RouteRun.Status.FAILED


def test_switched_off_every_run_goes_to_the_worker(post_json, no_worker_running, settings):
    settings.T2_ALGORITHM_IN_WEB = False

    response = post_json("/optimize", seed_example())

    assert response.status_code == 503


@pytest.mark.django_db(transaction=True)
def test_runs_planned_here_wait_for_a_turn_at_the_cpu(post_json, no_worker_running, settings):
    """One search at a time per process (T2_SOLVES_AT_ONCE): a second waits for its turn
    instead of sharing the CPU, so small days can go first (routes/turns.py)."""
    settings.T2_SOLVES_AT_ONCE = 1
    turns = optimize.turns()
    answers = []
    with turns.take(1.0):  # another request's search holds the only turn
        caller = threading.Thread(
            target=lambda: answers.append(post_json("/optimize", seed_example()))
        )
        caller.start()
        deadline = time.monotonic() + 10
        while not turns.waiting:
            assert time.monotonic() < deadline, "the run never asked for a turn"
            time.sleep(0.005)
        time.sleep(0.1)
        assert answers == [] and RouteRun.objects.get().status == RouteRun.Status.QUEUED
    caller.join(30)

    assert answers[0].status_code == 200
    assert RouteRun.objects.get().status == RouteRun.Status.DONE
