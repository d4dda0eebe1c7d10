from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_GET

from llm.files import ModelFileNotFound
from llm.models import Attempt, ModelSlot
from llm.stats import summarize

HISTORY_WINDOW = 1000  # attempts per slot that the summary figures cover


def slot_file_status(slot: ModelSlot) -> dict:
    config = slot.config
    if config.backend == "remote":
        return {"endpoint_url": config.endpoint_url, "remote_model": config.remote_model}
    try:
        path = slot.find_model_file()
    except ModelFileNotFound as exc:
        return {"model_file": config.model_file, "file_found": False, "problem": str(exc)}
    return {
        "model_file": config.model_file,
        "file_found": True,
        "path": str(path),
        "size_bytes": path.stat().st_size,
    }


def slot_summary(name: str) -> dict:
    rows = (
        Attempt.objects.for_slot(name)
        .order_by("-created_at")
        .values("status", "duration_ms", "load_ms", "tokens_per_second")[:HISTORY_WINDOW]
    )
    return summarize(rows)


@require_GET
def model_list(request: HttpRequest) -> JsonResponse:
    slots = []
    for slot in ModelSlot.objects.all():
        config = slot.config
        last = Attempt.objects.for_slot(slot.name).order_by("-created_at").first()
        slots.append(
            {
                "name": slot.name,
                "display_name": slot.display_name,
                "role": slot.role,
                "position": slot.position,
                "enabled": slot.enabled,
                "backend": config.backend,
                "from_environment": sorted(config.from_environment),
                "settings": {
                    "n_threads": config.n_threads,
                    "n_gpu_layers": config.n_gpu_layers,
                    "n_ctx": config.n_ctx,
                    "n_batch": config.n_batch,
                    "timeout": config.timeout,
                    "max_tokens": config.max_tokens,
                    "temperature": config.temperature,
                },
                **slot_file_status(slot),
                "last_attempt": None
                if last is None
                else {
                    "status": last.status,
                    "reason": last.reason or None,
                    "at": last.created_at.isoformat(),
                },
                "summary": slot_summary(slot.name),
            }
        )
    return JsonResponse(
        {"slots": slots, "greedy": slot_summary("greedy")},
        json_dumps_params={"ensure_ascii": False},
    )
