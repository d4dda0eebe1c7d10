"""Optimization runs executed by the task worker (`manage.py worker`), which holds the models."""

from __future__ import annotations

from django.tasks import task

from routes.models import RouteRun


@task()
def execute_run(run_id: int) -> str:
    from routes.optimize import execute

    run = execute(RouteRun.objects.get(pk=run_id))
    return run.status
