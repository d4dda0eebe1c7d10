"""The task worker that holds the models: django-tasks-db's `db_worker` plus a heartbeat.

The heartbeat (a `routes.Worker` row touched every T2_WORKER_HEARTBEAT_SECONDS) lets the
pages and the API tell "waiting for the worker" from "no worker is running".
"""

from __future__ import annotations

import logging
import os
import socket
import threading

from django.conf import settings
from django.db import close_old_connections, connection
from django.utils import timezone
from django_tasks_db.management.commands.db_worker import Command as DbWorkerCommand

from routes.models import Worker

logger = logging.getLogger(__name__)


def worker_state() -> dict:
    """The models this process holds and the machine's memory, for the pages."""
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
    return {"loaded": loaded, "free_bytes": available_bytes(), "total_bytes": total_bytes()}


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
        except Exception:  # a locked or restarting database must not stop the beats
            logger.warning("worker heartbeat failed", exc_info=True)
    connection.close()


class Command(DbWorkerCommand):
    help = "Run optimizations from the queue (the models live here), with a heartbeat."

    def handle(self, *args, **options):
        name = f"{socket.gethostname()}:{os.getpid()}"
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
            return super().handle(*args, **options)
        finally:
            stop.set()
            Worker.objects.filter(name=name).delete()
