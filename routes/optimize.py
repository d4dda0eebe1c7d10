"""The one way to run an optimization, for the JSON API, the HTML pages and the task worker."""

from __future__ import annotations

import time
from typing import Any

from django.db import transaction
from django.utils import timezone

from llm.chain import run_chain
from llm.models import Attempt, ModelSlot
from routes.models import RouteRun
from routes.planning import build_plan
from routes.schema import OptimizeRequest


class SlotUnavailable(Exception):
    """The asked-for slot could not answer and no fallback was allowed (HTTP 503)."""

    def __init__(self, run: RouteRun, reason: str):
        super().__init__(reason)
        self.run = run
        self.reason = reason


def chain_slots(only: str | None):
    slots = ModelSlot.objects.in_chain()
    if only is None:
        return [slot.config for slot in slots]
    # /<slot>/optimize starts at that slot, then (with fallback) continues down the chain.
    ordered = list(ModelSlot.objects.order_by("position", "name"))
    names = [slot.name for slot in ordered]
    start = names.index(only)
    first = ordered[start]
    rest = [slot for slot in ordered[start + 1 :] if slot.enabled]
    return [first.config] + [slot.config for slot in rest]


def optimize(request: OptimizeRequest, *, only: str | None = None, fallback: bool = True) -> RouteRun:
    """Plan the route, save the run with its attempts, and return the run.

    Raises SlotUnavailable (after saving the failed run) when `only` names a slot that could not
    answer and `fallback` is off.
    """
    started = time.perf_counter()
    plan = build_plan(request)
    outcome = run_chain(plan, chain_slots(only), fallback=fallback or only is None)
    duration_ms = int((time.perf_counter() - started) * 1000)

    with transaction.atomic():
        run = RouteRun.objects.create(
            request=request.model_dump(mode="json"),
            requested_model=only or "",
            allow_fallback=fallback,
            location_count=len(request.locations),
            duration_ms=duration_ms,
            finished_at=timezone.now(),
            status=RouteRun.Status.DONE if outcome.route else RouteRun.Status.FAILED,
            model_used=outcome.model_used,
            fallback_reason=outcome.fallback_reason,
        )
        Attempt.objects.bulk_create(
            Attempt(
                run=run,
                position=i,
                slot=a.slot,
                model_file=a.model_file,
                status=a.status,
                reason=a.reason,
                stops=len(request.locations),
                duration_ms=a.duration_ms,
                metrics=a.metrics,
                **a.stats,
            )
            for i, a in enumerate(outcome.attempts)
        )
        if outcome.route is None:
            run.error = outcome.fallback_reason
            run.save(update_fields=["error"])
        else:
            run.result = plan.describe(outcome.route)
            run.total_distance_km = run.result["total_distance_km"]
            run.save(update_fields=["result", "total_distance_km"])

    if outcome.route is None:
        raise SlotUnavailable(run, outcome.fallback_reason)
    return run


def run_json(run: RouteRun) -> dict[str, Any]:
    """The API's answer for a stored run (one shape whichever model made it)."""
    result = run.result or {}
    return {
        "id": run.pk,
        "status": run.status,
        "model_used": run.model_used or None,
        "fallback_reason": run.fallback_reason or None,
        "requested_model": run.requested_model or None,
        **result,
        "attempts": [a.as_json() for a in run.attempts.all()],
        "created_at": run.created_at.isoformat(),
    }
