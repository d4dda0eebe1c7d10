"""Loading the enabled local slots ahead of the first request (manage.py warmup)."""

from __future__ import annotations

from llm.files import ModelFileNotFound
from llm.models import ModelSlot
from llm.runtime import LocalModel, ModelError, get_pool

# The guide's section 7 D: the light models first, T-Pro last.
SEED_ORDER = ("qwen", "llama", "tpro")


def warm_order(slots: list[ModelSlot]) -> list[ModelSlot]:
    def key(slot: ModelSlot) -> tuple[int, int]:
        known = SEED_ORDER.index(slot.name) if slot.name in SEED_ORDER else len(SEED_ORDER)
        return known, slot.position

    return sorted(slots, key=key)


def warm_up() -> list[dict]:
    """Load each enabled local slot in this process; one line of outcome per slot."""
    results = []
    for slot in warm_order(list(ModelSlot.objects.in_chain())):
        config = slot.config
        if config.backend != "local":
            results.append({"slot": slot.name, "status": "skipped", "reason": "remote slot"})
            continue
        try:
            path = slot.find_model_file()
            load_ms = get_pool().load(LocalModel.from_config(config, path))
        except ModelFileNotFound as exc:
            results.append({"slot": slot.name, "status": "not_found", "reason": str(exc)})
        except ModelError as exc:
            results.append({"slot": slot.name, "status": exc.status, "reason": exc.reason})
        else:
            results.append({"slot": slot.name, "status": "loaded", "load_ms": round(load_ms, 1)})
    return results
