"""The models: `GET /api/models` (JSON) and the models page with its staff actions."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache, wraps
from pathlib import Path

from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.db.models import Case, Count, F, FloatField, Func, Max, When
from django.db.models.fields.json import KT
from django.db.models.functions import Cast
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.dateparse import parse_datetime
from django.utils.safestring import mark_safe
from django.utils.timezone import get_current_timezone, localtime
from django.utils.translation import get_language, ngettext
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from llm import charts
from llm.catalogue import MODELS
from llm.chain import GREEDY
from llm.files import ModelFileNotFound
from llm.forms import ModelHistoryForm
from llm.memory import GB, available_bytes, estimate_bytes, format_gb, total_bytes
from llm.models import Attempt, ModelSlot, SlotAction
from llm.stats import SEED_RESPONSE_SECONDS, contribution, fitting_scenarios, latency, summarize
from llm.tasks import request_slot_action
from routes.models import Worker

HISTORY_WINDOW = 500  # newest attempts per slot that the summary figures cover


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
        .values(
            "status", "duration_ms", "load_ms", "tokens_per_second", "prompt_tokens", "prompt_ms"
        )[:HISTORY_WINDOW]
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


# --- The models page ---------------------------------------------------------------------------

CHART_POINTS = 150  # newest attempts per slot drawn in the charts
HISTORY_CACHE_SECONDS = 3600
RECENT_ATTEMPTS = 10
#: What the figures need of each of the newest HISTORY_WINDOW attempts (no dates: parsing a
#: thousand of them per slot costs more than the rest of the figures).
FIGURE_FIELDS = (
    "status",
    "reason",
    "duration_ms",
    "load_ms",
    "prompt_tokens",
    "prompt_ms",
    "tokens_per_second",
)


class JSONFloat(Func):
    """A number at a key path of a JSON column, as a float. On SQLite one JSON_EXTRACT (Django's
    key transform wraps it in a CASE that parses the document twice); elsewhere Django's."""

    output_field = FloatField()

    def __init__(self, column: str, *keys: str):
        super().__init__(F(column))
        self.path = "__".join((column, *keys))
        self.keys = keys

    def as_sql(self, compiler, connection, **extra):
        expression = Cast(KT(self.path), FloatField()).resolve_expression(compiler.query)
        return compiler.compile(expression)

    def as_sqlite(self, compiler, connection, **extra):
        sql, params = compiler.compile(self.source_expressions[0])
        path = "$" + "".join(f'."{key}"' for key in self.keys)
        return f"JSON_EXTRACT({sql}, %s)", (*params, path)


#: The km of Attempt.metrics that the contribution needs, read by the database for accepted
#: attempts only (parsing every JSON document in Python costs more than the rest of the page).
#: Violations are not needed: an accepted route never has more than the algorithm's.
METRIC_FIGURES = {
    f"{route}_km": Case(
        When(status=Attempt.Status.OK, then=JSONFloat("metrics", route, "km")),
        default=None,
        output_field=FloatField(),
    )
    for route in ("proposal", "final", "algorithm")
}
#: What the charts and the recent attempts table show of the newest CHART_POINTS attempts.
POINT_FIELDS = (
    "created_at",
    "status",
    "reason",
    "stops",
    "duration_ms",
    "load_ms",
    "tokens_per_second",
    "run_id",
    "run__owner_id",
)
STATUS_LABELS = dict(Attempt.Status.choices)


def staff_required(view):
    """For signed-in staff only: anyone else signed in gets 403 (after login_required)."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not request.user.is_staff:
            raise PermissionDenied("staff only")
        return view(request, *args, **kwargs)

    return wrapped


@lru_cache(maxsize=32)
def _gguf_facts(path: str, _mtime_ns: int, _size: int) -> str:
    """The quantization from the GGUF header (read once per file version: a header with a
    150k-token vocabulary takes ~80 ms to skip)."""
    from llm.management.commands.doctor import quantization_of

    return quantization_of(Path(path))


def gguf_quantization(path: Path) -> str:
    stat = path.stat()
    return _gguf_facts(str(path), stat.st_mtime_ns, stat.st_size)


def worker_machine(workers: list[Worker]) -> dict:
    """What the alive workers hold and the memory of their machine (or of this one when no
    worker runs): the live part of the page."""
    loaded: dict[str, dict] = {}
    for worker in workers:
        for model in (worker.state or {}).get("loaded", []):
            loaded[model["name"]] = {
                **model,
                "worker": worker.name,
                "loaded_at": parse_datetime(model["loaded_at"]),
                "last_used": parse_datetime(model["last_used"]),
                "est": format_gb(model["est_bytes"]) if model.get("est_bytes") else None,
            }
    newest = max(workers, key=lambda w: w.seen_at, default=None)
    state = (newest.state or {}) if newest else {}
    free = state.get("free_bytes") or available_bytes()
    total = state.get("total_bytes") or total_bytes()
    return {
        "workers": workers,
        "loaded": loaded,
        "free_bytes": free,
        "total_bytes": total,
        "free": format_gb(free),
        "total": format_gb(total),
        "measured_by": "worker" if state.get("free_bytes") else "web",
    }


def slot_facts(slot: ModelSlot) -> dict:
    """The slot's configuration and file as the card shows them (no history)."""
    config = slot.config
    info = MODELS.get(slot.name)
    facts: dict = {
        "slot": slot,
        "config": config,
        "env": {
            field: f"{slot.env_prefix}_{'MODEL_ID' if 'model' in field else 'API_ENDPOINT'}"
            for field in config.from_environment
        },
        "seed": info,
        "remote": config.backend == ModelSlot.Backend.REMOTE,
    }
    if facts["remote"]:
        return facts
    try:
        path = slot.find_model_file()
    except ModelFileNotFound as exc:
        facts.update(file_found=False, looked_in=exc.looked_in, problem=str(exc))
        quantization = slot.quantization
    else:
        quantization = gguf_quantization(path)
        need = estimate_bytes(path, config.n_ctx, config.n_batch)
        facts.update(
            file_found=True,
            path=path,
            size=format_gb(path.stat().st_size),
            quantization=quantization,
            need_bytes=need,
            need=format_gb(need),
        )
    if info and quantization:
        variant = next(
            (v for v in info.variants if v.quantization.lower() == quantization.lower()), None
        )
        facts["seed_variant"] = variant
    return facts


def live_card(facts: dict, machine: dict, action) -> dict:
    name = facts["slot"].name
    loaded = machine["loaded"].get(name)
    need = facts.get("need_bytes")
    return {
        **facts,
        "machine": machine,
        "loaded": loaded,
        "fits": None if need is None else need <= machine["free_bytes"],
        "action": action,
        "live_id": f"slot-{name}-live",
    }


def slot_history(name: str, filters: dict, choice: tuple, user) -> dict:
    """Figures, charts, contribution and recent attempts of one slot.

    They change only when an attempt is added or leaves the period, so they are cached under
    the filter's choice and the attempts' count and newest row (one index-only query); a miss
    costs two more queries."""
    attempts = Attempt.objects.for_slot(name).filter(**filters).order_by("-created_at", "-id")
    stamp = attempts.aggregate(count=Count("id"), newest=Max("id"), at=Max("created_at"))
    newest_at = stamp["at"].timestamp() if stamp["at"] else ""
    key = "models-page:" + ":".join(  # charts and labels are in the page's language
        str(part)
        for part in (name, get_language(), *choice, stamp["count"], stamp["newest"], newest_at)
    )
    history = cache.get(key)
    if history is None:
        history = _slot_history(name, attempts)
        cache.set(key, history, HISTORY_CACHE_SECONDS)
    recent = [
        {**row, "own_run": bool(row["run_id"]) and row["run__owner_id"] == user.pk}
        for row in history["recent"]
    ]
    return {**history, "recent": recent}


def _slot_history(name: str, attempts) -> dict:
    rows = list(attempts.values(*FIGURE_FIELDS, **METRIC_FIGURES)[:HISTORY_WINDOW])
    points = list(attempts.values(*POINT_FIELDS)[:CHART_POINTS])
    tz = get_current_timezone()
    for row in points:
        row["status_label"] = STATUS_LABELS.get(row["status"], row["status"])
        row["label"] = _attempt_label(row, tz)
    contributed = contribution(rows)
    for group in contributed["refusals"]:
        group["status_label"] = STATUS_LABELS.get(group["status"], group["status"])
    return {
        "summary": summarize(rows),
        "latency": latency(rows),
        "contribution": contributed,
        "recent": points[:RECENT_ATTEMPTS],
        "time_chart": mark_safe(time_chart(name, points)),
        "stops_chart": mark_safe(stops_chart(name, points)),
        "window": HISTORY_WINDOW,
        "chart_points": len(points),
    }


def _kind(status: str) -> str:
    return status if status in ("ok", "rejected") else "other"


def _duration(ms: float) -> str:
    return charts.seconds(ms, (_("ms"), _("s")))


def _attempt_label(row: dict, tz=None) -> str:
    d = row["created_at"].astimezone(tz or get_current_timezone())
    when = f"{d.day:02}.{d.month:02} {d.hour:02}:{d.minute:02}"
    stops = ngettext("%(n)d stop", "%(n)d stops", row["stops"]) % {"n": row["stops"]}
    return f"{when}: {_duration(row['duration_ms'])}, {stops}, {row['status_label']}"


def time_chart(name: str, rows: list[dict]) -> str:
    """Latency of each attempt over time."""
    points = [
        charts.Point(r["created_at"].timestamp(), r["duration_ms"], r["label"], _kind(r["status"]))
        for r in rows
    ]
    ticks = charts.time_ticks(rows[-1]["created_at"], rows[0]["created_at"]) if rows else None
    return charts.plot(
        points,
        title=_("%(slot)s: latency over time") % {"slot": name},
        x_label=_("time"),
        y_label=_("latency"),
        empty=_("no attempts to show"),
        x_format=lambda ts: localtime(datetime.fromtimestamp(ts, UTC)).strftime("%d.%m %H:%M"),
        y_format=_duration,
        line=True,
        x_ticks=ticks,
        chart_id=f"chart-{name}-time",
    )


def stops_chart(name: str, rows: list[dict]) -> str:
    """Latency against the number of stops: how long a model takes for a planner's day."""
    points = [
        charts.Point(r["stops"], r["duration_ms"], r["label"], _kind(r["status"])) for r in rows
    ]
    stops = [r["stops"] for r in rows]
    return charts.plot(
        points,
        title=_("%(slot)s: latency by number of stops") % {"slot": name},
        x_label=_("stops"),
        y_label=_("latency"),
        empty=_("no attempts to show"),
        x_format=lambda v: f"{v:.0f}",
        x_ticks=charts.integer_ticks(min(stops), max(stops)) if stops else None,
        y_format=_duration,
        chart_id=f"chart-{name}-stops",
    )


def _live_target(request: HttpRequest) -> str | None:
    """The slot whose live block an htmx poll asks for (`slot-<name>-live`)."""
    target = request.htmx.target if request.htmx else None
    if target and target.startswith("slot-") and target.endswith("-live"):
        return target[len("slot-") : -len("-live")]
    return None


def _render_live(request: HttpRequest, slot: ModelSlot) -> HttpResponse:
    machine = worker_machine(list(Worker.objects.alive()))
    action = SlotAction.objects.filter(slot=slot).select_related("requested_by").first()
    context = {"card": live_card(slot_facts(slot), machine, action)}
    return render(request, "llm/models.html#slot-live", context)


@login_required
@require_GET
def model_page(request: HttpRequest) -> HttpResponse:
    if name := _live_target(request):
        return _render_live(request, get_object_or_404(ModelSlot, name=name))
    form = ModelHistoryForm(request.GET)
    filters = form.filters()
    machine = worker_machine(list(Worker.objects.alive()))
    actions = SlotAction.objects.latest_per_slot()
    cards = []
    for slot in ModelSlot.objects.all():
        card = live_card(slot_facts(slot), machine, actions.get(slot.name))
        card["history"] = slot_history(slot.name, filters, form.choice(), request.user)
        if card["seed"] and card["slot"].name in SEED_RESPONSE_SECONDS:
            card["seed_seconds"] = SEED_RESPONSE_SECONDS[slot.name]
        cards.append(card)
    context = {
        "nav": "models",
        "form": form,
        "cards": cards,
        "machine": machine,
        "greedy": summarize(
            Attempt.objects.for_slot(GREEDY)
            .filter(**filters)
            .order_by("-created_at")
            .values("status", "duration_ms")[:HISTORY_WINDOW]
        ),
        "scenarios": fitting_scenarios(machine["total_bytes"]),
        "catalogue": MODELS.values(),
        "gb": GB,
    }
    return render(request, "llm/models.html", context)


def _slot_action(request: HttpRequest, name: str, kind: str) -> HttpResponse:
    slot = get_object_or_404(ModelSlot, name=name)
    request_slot_action(slot, kind, request.user)
    if request.htmx:
        return _render_live(request, slot)
    return redirect(f"{reverse('models')}#slot-{slot.name}")


@login_required
@staff_required
@require_POST
def slot_warm_up(request: HttpRequest, name: str) -> HttpResponse:
    return _slot_action(request, name, SlotAction.Kind.WARM_UP)


@login_required
@staff_required
@require_POST
def slot_unload(request: HttpRequest, name: str) -> HttpResponse:
    return _slot_action(request, name, SlotAction.Kind.UNLOAD)
