"""Tasks run by the worker that holds the models."""

from __future__ import annotations

from django.tasks import task


@task()
def warm_up_models() -> list[dict]:
    from llm.warmup import warm_up

    return warm_up()
