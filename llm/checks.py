"""System checks for model configuration, so `manage.py check` (and every command) warns."""

from __future__ import annotations

from django.core.checks import Error, Info, Warning
from django.db import DatabaseError

from llm.files import ModelFileNotFound
from llm.runtime import usable_cpus


def check_model_slots(app_configs=None, **kwargs):
    from llm.models import ModelSlot

    try:
        slots = list(ModelSlot.objects.all())
    except DatabaseError:
        return []  # before `migrate` there is nothing to check
    messages = []
    cores = usable_cpus()
    positions: dict[int, str] = {}
    for slot in slots:
        config = slot.config
        if slot.enabled and slot.position in positions:
            messages.append(
                Warning(
                    f"slots {positions[slot.position]} and {slot.name} share chain position "
                    f"{slot.position}",
                    hint="Give each enabled slot its own position in the admin.",
                    id="llm.W005",
                )
            )
        positions.setdefault(slot.position, slot.name)
        if config.backend == "remote" and not config.endpoint_url:
            messages.append(
                Error(f"slot {slot.name} is remote but has no endpoint URL", id="llm.E002")
            )
        if config.backend == "local" and slot.enabled:
            try:
                slot.find_model_file()
            except ModelFileNotFound as exc:
                messages.append(
                    Warning(
                        f"slot {slot.name}: {exc}",
                        hint=f"manage.py download_models {slot.name}, or disable the slot; "
                        "until then the chain skips it.",
                        id="llm.W001",
                    )
                )
        if config.n_threads > cores:
            messages.append(
                Info(
                    f"slot {slot.name} asks for n_threads={config.n_threads} on {cores} cores; "
                    f"it runs with {cores}",
                    hint="More threads than cores would slow llama.cpp down, so they are capped.",
                    id="llm.I003",
                )
            )
        if config.n_ctx < 256:
            messages.append(
                Error(f"slot {slot.name}: n_ctx={config.n_ctx} is too small", id="llm.E004")
            )
    return messages
