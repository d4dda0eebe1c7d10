"""The task worker that holds the models: django-tasks-db's `db_worker` plus a heartbeat.

The heartbeat (a `routes.Worker` row touched every T2_WORKER_HEARTBEAT_SECONDS) lets the
pages and the API tell "waiting for the worker" from "no worker is running". With each beat,
and when it starts, a worker also fails the runs of workers that are gone (killed, crashed),
so that no run is left `running` for nobody.

Stopping: the first SIGTERM or Ctrl-C takes no new run and finishes the one in hand for at
most T2_WORKER_STOP_SECONDS; after that, or on a second signal, the run is failed with the
reason ("the worker was stopped ...") and the worker exits.
"""

from __future__ import annotations

import logging
import os
import signal
import threading

from django.conf import settings
from django.core.management.base import CommandError
from django.db import close_old_connections, connection
from django.utils import timezone
from django.utils.autoreload import DJANGO_AUTORELOAD_ENV, run_with_reloader
from django_tasks_db.management.commands.db_worker import Command as DbWorkerCommand
from django_tasks_db.management.commands.db_worker import Worker as DbWorker

from routes.models import Worker
from routes.tasks import (
    fail_runs_of_lost_web_processes,
    fail_runs_of_lost_workers,
    this_machine,
    this_process,
)

logger = logging.getLogger(__name__)


def worker_state() -> dict:
    """The models this process holds and the machine's memory, for the pages; who the process
    is, so that a peer on the same machine can tell at once that it has died."""
    from llm.memory import available_bytes, total_bytes
    from llm.runtime import get_pool

    loaded = [
        {
            **model,
            "loaded_at": model["loaded_at"].isoformat(),
            "last_used": model["last_used"].isoformat(),
        }
        for model in get_pool().loaded()
    ]
    return {
        "loaded": loaded,
        "free_bytes": available_bytes(),
        "total_bytes": total_bytes(),
        "process": {"machine": this_machine(), "pid": os.getpid()},
    }


def beat(name: str) -> None:
    Worker.objects.update_or_create(
        name=name, defaults={"seen_at": timezone.now(), "state": worker_state()}
    )


def _beat_forever(name: str, stop: threading.Event) -> None:
    interval = settings.T2_WORKER_HEARTBEAT_SECONDS
    while not stop.wait(interval):
        try:
            close_old_connections()
            beat(name)
            fail_runs_of_lost_workers()
            fail_runs_of_lost_web_processes()
        except Exception:  # a locked or restarting database must not stop the beats
            logger.warning("worker heartbeat failed", exc_info=True)
    connection.close()


class RunWorker(DbWorker):
    """db_worker's loop, whose first stop signal also starts a deadline for the run in hand."""

    def __init__(self, *, stop_seconds: float, **kwargs):
        super().__init__(**kwargs)
        self.stop_seconds = stop_seconds

    def shutdown(self, signum, frame) -> None:
        first = self.running
        super().shutdown(signum, frame)  # exits at once when no run is in hand, or on a repeat
        if first and self.running_task:
            logger.warning(
                "finishing the run in hand (for at most %s s), then stopping", self.stop_seconds
            )
            timer = threading.Timer(self.stop_seconds, self._stop_now, args=(signum,))
            timer.daemon = True
            timer.start()

    def _stop_now(self, signum: int) -> None:
        if self.running_task:
            logger.warning("the run in hand did not finish in %s s: stopping it", self.stop_seconds)
            # The same signal again, to the main thread so that a blocking read is interrupted
            # too: db_worker then raises SystemExit there, and execute() fails the run.
            signal.pthread_kill(threading.main_thread().ident, signum)


class Command(DbWorkerCommand):
    help = "Run optimizations from the queue (the models live here), with a heartbeat."

    def handle(self, *args, **options):
        name = this_process()
        # This worker may be the restart of one that was just killed: its runs end now.
        for run_id in fail_runs_of_lost_workers():
            logger.warning("run %s failed: its worker is gone", run_id)
        fail_runs_of_lost_web_processes()
        Worker.objects.update_or_create(
            name=name,
            defaults={
                "started_at": timezone.now(),
                "seen_at": timezone.now(),
                "state": worker_state(),
            },
        )
        stop = threading.Event()
        thread = threading.Thread(
            target=_beat_forever, args=(name, stop), name="worker-heartbeat", daemon=True
        )
        thread.start()
        try:
            return self.work(**options)
        finally:
            stop.set()
            Worker.objects.filter(name=name).delete()

    def work(
        self,
        *,
        verbosity: int,
        queue_name: str,
        interval: float,
        batch: bool,
        backend_name: str,
        startup_delay: bool,
        reload: bool,
        max_tasks: int | None,
        worker_id: str,
        exclude_queues: str,
        **options,
    ) -> None:
        # db_worker's handle() with RunWorker in place of its Worker (it names the class
        # inside, so there is no other way in).
        self.configure_logging(verbosity)
        if reload and batch:
            reload = False
        queue_names = queue_name.split(",")
        excluded = exclude_queues.split(",") if exclude_queues else []
        if excluded and "*" not in queue_names:
            raise CommandError("--exclude-queues can only be used with --queue-name=*")
        worker = RunWorker(
            queue_names=queue_names,
            interval=interval,
            batch=batch,
            backend_name=backend_name,
            startup_delay=startup_delay,
            max_tasks=max_tasks,
            worker_id=worker_id,
            excluded_queue_names=excluded,
            stop_seconds=settings.T2_WORKER_STOP_SECONDS,
        )
        if reload:
            if os.environ.get(DJANGO_AUTORELOAD_ENV) == "true":
                worker.configure_signals()
            run_with_reloader(worker.run)
        else:
            worker.configure_signals()
            worker.run()
