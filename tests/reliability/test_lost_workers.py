"""Which runs have lost their worker, and who fails them: any worker as it starts and with each
beat, and whoever waits on the run."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from routes.management.commands.worker import worker_state
from routes.models import RouteRun, Worker
from routes.optimize import create_run, wait_for
from routes.schema import parse_request
from routes.tasks import (
    fail_runs_of_lost_web_processes,
    fail_runs_of_lost_workers,
    this_machine,
    this_web_process,
)
from tests.factories import seed_example

pytestmark = pytest.mark.django_db


def running_run(worker: str) -> RouteRun:
    run = create_run(parse_request(seed_example()), only=None, fallback=True)
    RouteRun.objects.filter(pk=run.pk).update(
        status=RouteRun.Status.RUNNING, started_at=timezone.now(), worker=worker
    )
    run.refresh_from_db()
    return run


def worker_row(name: str, *, seen_ago: float = 0, pid: int | None = None, machine=None) -> Worker:
    state = {"process": {"machine": this_machine() if machine is None else machine, "pid": pid}}
    return Worker.objects.create(
        name=name, seen_at=timezone.now() - timedelta(seconds=seen_ago), state=state
    )


@pytest.fixture
def dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_a_run_on_a_live_worker_is_left_alone():
    worker_row("live:1", pid=os.getpid())
    run = running_run("live:1")

    assert fail_runs_of_lost_workers() == []
    run.refresh_from_db()
    assert run.status == RouteRun.Status.RUNNING


def test_a_run_whose_worker_stopped_beating_is_failed_with_the_time_it_was_last_seen():
    seen = worker_row("silent:1", seen_ago=60, pid=1).seen_at
    run = running_run("silent:1")

    assert fail_runs_of_lost_workers() == [run.pk]
    run.refresh_from_db()
    at = timezone.localtime(seen).strftime("%H:%M")
    assert run.status == RouteRun.Status.FAILED
    assert run.error == (
        f"the worker running it stopped (killed or crashed) at about {at}; run it again"
    )
    assert run.finished_at is not None and run.progress == {}


def test_a_worker_never_fails_its_own_run_when_its_beats_were_late():
    worker_row("me:1", seen_ago=60, pid=os.getpid())
    run = running_run("me:1")

    assert fail_runs_of_lost_workers() == []
    run.refresh_from_db()
    assert run.status == RouteRun.Status.RUNNING


def test_a_run_whose_worker_has_no_row_is_failed():
    run = running_run("vanished:1")

    assert fail_runs_of_lost_workers() == [run.pk]


def test_on_the_same_machine_a_dead_process_is_known_at_once(dead_pid):
    worker_row(f"dead:{dead_pid}", pid=dead_pid)  # beat just now
    run = running_run(f"dead:{dead_pid}")

    assert fail_runs_of_lost_workers() == [run.pk]


def test_another_machines_pids_are_not_ours_to_check(dead_pid):
    worker_row(f"elsewhere:{dead_pid}", pid=dead_pid, machine="another-host/boot/1")
    run = running_run(f"elsewhere:{dead_pid}")

    assert fail_runs_of_lost_workers() == []
    run.refresh_from_db()
    assert run.status == RouteRun.Status.RUNNING


def test_inline_runs_name_no_worker_and_are_never_failed_for_one():
    running_run("")

    assert fail_runs_of_lost_workers() == []


def test_a_worker_fails_the_runs_of_dead_workers_when_it_starts(settings):
    settings.T2_OPTIMIZE_INLINE = False
    run = running_run("killed:1")
    worker_row("killed:1", seen_ago=60)

    call_command("worker", "--batch", "--no-startup-delay", "--no-reload", verbosity=0)

    run.refresh_from_db()
    assert run.status == RouteRun.Status.FAILED
    assert run.error.startswith("the worker running it stopped (killed or crashed) at about")


def test_the_beat_says_who_the_worker_is():
    assert worker_state()["process"] == {"machine": this_machine(), "pid": os.getpid()}


def test_whoever_waits_on_a_run_fails_it_when_its_worker_is_gone(settings, dead_pid):
    settings.T2_OPTIMIZE_INLINE = False
    worker_row(f"dead:{dead_pid}", pid=dead_pid)
    run = running_run(f"dead:{dead_pid}")

    run = wait_for(run, timeout=10)

    assert run.status == RouteRun.Status.FAILED
    assert run.lost_its_worker


def test_a_run_finished_meanwhile_is_not_failed_afterwards():
    run = running_run("vanished:1")
    RouteRun.objects.filter(pk=run.pk).update(status=RouteRun.Status.DONE)

    assert not run.fail_unless_finished("too late", status=RouteRun.Status.RUNNING)
    assert run.status == RouteRun.Status.DONE


# --- Runs planned in a web process (T2_ALGORITHM_IN_WEB) -----------------------------------------


def test_a_run_planned_in_a_web_process_names_that_process(post_json, settings):
    settings.T2_OPTIMIZE_INLINE = False
    settings.T2_ALGORITHM_IN_WEB = True  # no model file anywhere: the web process plans it

    assert post_json("/optimize", seed_example()).status_code == 200

    assert RouteRun.objects.get().worker == this_web_process()
    assert this_web_process() == f"web:{os.getpid()}@{this_machine()}"


def test_a_run_whose_web_process_died_is_failed_at_once_on_its_machine(dead_pid):
    run = running_run(f"web:{dead_pid}@{this_machine()}")

    assert fail_runs_of_lost_web_processes() == [run.pk]
    run.refresh_from_db()
    assert run.status == RouteRun.Status.FAILED
    assert run.error == "the web process planning it stopped (killed or crashed); run it again"
    assert run.lost_its_worker


def test_a_run_of_a_live_web_process_is_left_alone_and_no_worker_check_takes_it():
    run = running_run(this_web_process())

    assert fail_runs_of_lost_web_processes() == []
    assert fail_runs_of_lost_workers() == []  # no Worker row by that name: not a lost worker
    run.refresh_from_db()
    assert run.status == RouteRun.Status.RUNNING


def test_a_web_process_on_another_machine_is_trusted_until_its_run_is_ten_minutes_old(dead_pid):
    run = running_run(f"web:{dead_pid}@another-host/boot/1")
    assert fail_runs_of_lost_web_processes() == []

    RouteRun.objects.filter(pk=run.pk).update(started_at=timezone.now() - timedelta(minutes=11))

    assert fail_runs_of_lost_web_processes() == [run.pk]


def test_a_worker_fails_the_runs_of_dead_web_processes_when_it_starts(settings, dead_pid):
    settings.T2_OPTIMIZE_INLINE = False
    run = running_run(f"web:{dead_pid}@{this_machine()}")

    call_command("worker", "--batch", "--no-startup-delay", "--no-reload", verbosity=0)

    run.refresh_from_db()
    assert run.error == RouteRun.WEB_LOST
