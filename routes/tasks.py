"""Optimization runs executed by the task worker (`manage.py worker`), which holds the models,
and how the rest of the system tells that a worker is gone.

A worker is named `host:pid` and beats every T2_WORKER_HEARTBEAT_SECONDS (a `routes.Worker`
row). It is gone when its row is missing, when it has not beaten for T2_WORKER_STALE_SECONDS,
or, seen from the same machine, at once when its process no longer exists.
"""

from __future__ import annotations

import logging
import os
import socket
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.tasks import task
from django.utils import timezone

from routes.models import RouteRun, Worker

logger = logging.getLogger(__name__)


@task()
def execute_run(run_id: int) -> str:
    from routes.optimize import execute

    name = this_process()
    # A plain `db_worker` has no heartbeat row: its runs name no worker, so nothing fails them.
    if not Worker.objects.filter(name=name).exists():
        name = ""
    run = execute(RouteRun.objects.get(pk=run_id), worker=name)
    return run.status


def this_process() -> str:
    """This process's worker name."""
    return f"{socket.gethostname()}:{os.getpid()}"


def this_machine() -> str:
    """Who can see this process's pid: the host, its boot and its pid namespace. Two workers
    with the same value can check each other's pids; containers sharing a host name cannot."""
    parts = [socket.gethostname()]
    try:
        parts.append(Path("/proc/sys/kernel/random/boot_id").read_text().strip())
        parts.append(str(os.stat("/proc/self/ns/pid").st_ino))
    except OSError:
        return ""  # no /proc: rely on the heartbeat alone
    return "/".join(parts)


def process_is_gone(pid: int) -> bool:
    """Whether a process on this machine has ended (a zombie not yet reaped has too)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return True
    except OSError:
        return False
    return stat.rsplit(")", 1)[-1].split()[0] == "Z"


def worker_is_gone(worker: Worker | None, *, machine: str | None = None) -> bool:
    if worker is None:
        return True
    process = (worker.state or {}).get("process") or {}
    machine = this_machine() if machine is None else machine
    same_machine = bool(machine) and process.get("machine") == machine
    if same_machine and process.get("pid") == os.getpid():
        return False  # this very worker, whose beats a locked database may have delayed
    stale = timezone.now() - timedelta(seconds=settings.T2_WORKER_STALE_SECONDS)
    return worker.seen_at < stale or (same_machine and process_is_gone(process["pid"]))


def fail_runs_of_lost_workers(worker: str | None = None) -> list[int]:
    """Fail the running runs whose worker is gone (all of them, or those of `worker`).

    Failed, not queued again: a run in hand when its worker died may be what killed it (a model
    too big for the memory, llama.cpp crashing on this prompt), and running it again would take
    the next worker down too, in a loop with the supervisor restarting it. The caller learns at
    once and can run it again; `error` says so.
    """
    runs = RouteRun.objects.running_on_workers()
    if worker is not None:
        runs = runs.filter(worker=worker)
    names = set(runs.values_list("worker", flat=True))
    if not names:
        return []
    rows = {w.name: w for w in Worker.objects.filter(name__in=names)}
    machine = this_machine()
    failed: list[int] = []
    for name in sorted(names):
        row = rows.get(name)
        if not worker_is_gone(row, machine=machine):
            continue
        last_seen = row.seen_at if row is not None else timezone.now()
        reason = RouteRun.WORKER_LOST.format(time=timezone.localtime(last_seen).strftime("%H:%M"))
        for run in runs.filter(worker=name):
            if run.fail_unless_finished(reason, status=RouteRun.Status.RUNNING):
                logger.warning("run %s failed: its worker %s is gone", run.pk, name)
                _fail_task_result(run)
                failed.append(run.pk)
    return failed


# A run planned in a web process takes seconds (the search's budget is at most 1.8 s of CPU);
# one still running after this long has lost its process, wherever that process was.
WEB_RUN_LIMIT = timedelta(minutes=10)


def this_web_process() -> str:
    """How a run planned in this web process names it: the pid, and the machine that can
    check that pid (this_machine)."""
    return f"{RouteRun.IN_WEB}{os.getpid()}@{this_machine()}"


def fail_runs_of_lost_web_processes() -> list[int]:
    """Fail the runs a web process was planning when it died (killed, restarted by a deploy):
    at once when it ran on this machine, else after WEB_RUN_LIMIT. Task workers call it with
    their beats, so no such run stays "running"."""
    machine = this_machine()
    too_old = timezone.now() - WEB_RUN_LIMIT
    failed: list[int] = []
    for run in RouteRun.objects.running_in_web_processes():
        pid, _, where = run.worker.removeprefix(RouteRun.IN_WEB).partition("@")
        here = bool(machine) and where == machine and pid.isdigit()
        gone = (here and process_is_gone(int(pid))) or (
            run.started_at is not None and run.started_at < too_old
        )
        if gone and run.fail_unless_finished(RouteRun.WEB_LOST, status=RouteRun.Status.RUNNING):
            logger.warning("run %s failed: the web process planning it (%s) is gone", run.pk, pid)
            failed.append(run.pk)
    return failed


class WorkerLost(Exception):
    """What the queue's own record of a run's task says when the worker died with it."""


def _fail_task_result(run: RouteRun) -> None:
    """django-tasks-db's row for the run's task would stay "running" for ever too."""
    from django_tasks_db.models import DBTaskResult

    results = DBTaskResult.objects.running().filter(task_path=execute_run.module_path)
    for result in results:
        if ((result.args_kwargs or {}).get("args") or [None])[0] == run.pk:
            result.set_failed(WorkerLost(run.error))
