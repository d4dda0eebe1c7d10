"""A real task worker killed or stopped in the middle of a run, with gunicorn in front: the run
ends failed with the reason, and whoever waits on it hears within seconds.

The run is made slow for a real reason: the qwen slot points at a loopback model server that
takes its time to answer (tests/reliability/conftest.py). Measured on 2 cores: the caller of a
killed worker's run hears in about 1 s, a live worker's beat fails the run in about 0.5 s, a
worker with a 1 s stop deadline exits about 2 s after SIGTERM; the bounds leave room for a
machine busy with other work.
"""

from __future__ import annotations

import signal
import time

import pytest

from tests.factories import seed_example
from tests.reliability.conftest import wait_until

pytestmark = pytest.mark.processes


def test_a_worker_killed_mid_run_fails_the_run_and_its_caller_hears_within_seconds(
    service, slow_model
):
    worker = service.worker(QWEN_API_ENDPOINT=slow_model.url)
    service.web()  # both start at once
    name = service.wait_for_worker(worker)
    call = service.optimize(seed_example())
    assert slow_model.asked.wait(60), service.tail()  # the worker is inside the run

    killed = time.monotonic()
    worker.send_signal(signal.SIGKILL)  # as the kernel's OOM killer does
    worker.wait()
    call.wait(30)
    answered = time.monotonic() - killed

    assert call.status == 500
    assert "the worker running it stopped (killed or crashed) at about" in call.answer["error"]
    assert "run it again" in call.answer["error"]
    assert answered < 8, f"answered {answered:.1f} s after the kill"
    [run] = service.runs()
    assert run["status"] == "failed" and run["worker"] == name
    assert run["error"].startswith("the worker running it stopped")
    # The queue's own record of the task is not left running either.
    [task] = service.rows(
        "SELECT status, exception_class_path FROM django_tasks_database_dbtaskresult"
    )
    assert tuple(task) == ("FAILED", "routes.tasks.WorkerLost")


def test_a_live_worker_fails_the_run_of_a_killed_one_with_its_next_beat(service, slow_model):
    # Two workers; whichever takes the run is killed, and nobody waits on the run (the API gave
    # up after 1 s): the other worker's heartbeat has to notice.
    workers = [service.worker(QWEN_API_ENDPOINT=slow_model.url) for _ in range(2)]
    service.web(T2_RUN_WAIT_SECONDS="1")
    names = {service.wait_for_worker(process): process for process in workers}
    assert service.optimize(seed_example()).wait(30).status == 504
    assert slow_model.asked.wait(30), service.tail()
    [run] = service.runs()
    assert run["status"] == "running"

    killed = time.monotonic()
    names[run["worker"]].send_signal(signal.SIGKILL)
    names[run["worker"]].wait()
    wait_until(lambda: service.runs()[0]["status"] == "failed", 10, "the run is failed")
    failed_after = time.monotonic() - killed

    [run] = service.runs()
    assert run["error"].startswith("the worker running it stopped (killed or crashed)")
    assert failed_after < 8, f"failed {failed_after:.1f} s after the kill"


def test_sigterm_lets_the_worker_end_the_run_in_hand_with_a_reason_and_take_no_new_one(
    service, slow_model
):
    worker = service.worker(QWEN_API_ENDPOINT=slow_model.url, T2_WORKER_STOP_SECONDS="1")
    service.web()
    service.wait_for_worker(worker)
    first = service.optimize(seed_example())
    assert slow_model.asked.wait(60), service.tail()
    second = service.optimize(seed_example())  # queued behind the first
    wait_until(lambda: len(service.runs()) == 2, 10, "the second run is queued")

    stopped = time.monotonic()
    worker.send_signal(signal.SIGTERM)
    worker.wait(timeout=15)
    exited = time.monotonic() - stopped
    first.wait(15)
    second.wait(15)

    assert first.status == 500
    assert "the worker was stopped before the run finished; run it again" in first.answer["error"]
    assert exited < 10, f"the worker took {exited:.1f} s to stop"
    # The second run was not started: with no worker left, its caller is told so.
    assert second.status == 503
    assert second.answer["error"].startswith("no task worker is running")
    assert [run["status"] for run in service.runs()] == ["failed", "failed"]
    assert [run["worker"] for run in service.runs()][1] == ""
    assert not service.rows("SELECT name FROM routes_worker")  # it said goodbye
