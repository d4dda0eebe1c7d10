"""Tasks run by the worker that holds the models."""

from __future__ import annotations

from django.conf import settings
from django.tasks import task


@task()
def warm_up_models() -> list[dict]:
    from llm.warmup import warm_up

    return warm_up()


@task()
def perform_slot_action(action_id: int) -> str:
    from llm.models import SlotAction

    return SlotAction.objects.select_related("slot").get(pk=action_id).perform().status


def request_slot_action(slot, kind: str, user=None):
    """Record a warm-up or unload of the slot and have the process that holds the models do it:
    the task worker, or this process when runs execute inline (T2_OPTIMIZE_INLINE)."""
    from llm.models import SlotAction

    action = SlotAction.objects.create(slot=slot, kind=kind, requested_by=user)
    if settings.T2_OPTIMIZE_INLINE:
        return action.perform()
    perform_slot_action.enqueue(action.pk)
    return action
