"""The task worker's heartbeat: how the pages tell "waiting" from "no worker"."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from routes.management.commands.worker import beat
from routes.models import Worker

pytestmark = pytest.mark.django_db


def test_a_beat_records_the_worker_and_what_it_holds():
    beat("host:1")
    worker = Worker.objects.get(name="host:1")
    assert Worker.objects.alive().filter(pk=worker.pk).exists()
    assert worker.state["loaded"] == [] and worker.state["free_bytes"] > 0


def test_a_worker_silent_for_longer_than_the_stale_limit_is_gone(settings):
    beat("host:2")
    Worker.objects.filter(name="host:2").update(
        seen_at=timezone.now() - timedelta(seconds=settings.T2_WORKER_STALE_SECONDS + 1)
    )
    assert not Worker.objects.alive().exists()
