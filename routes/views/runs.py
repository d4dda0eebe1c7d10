"""Optimizing a set, the live run and route page, exports, comparison and the history."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseClientRefresh

from llm.models import ModelSlot
from routes import exporting
from routes.forms import CompareForm, HistoryFilterForm, OptimizeForm
from routes.models import LocationSet, RouteRun, Worker
from routes.optimize import QueueFull, run_json, submit
from routes.schema import RequestError, parse_request

PHASE_LABELS = {  # lazy: translated when shown, in the page's language
    "baseline": gettext_lazy("the algorithm plans its own route"),
    "starting": gettext_lazy("starting"),
    "waiting": gettext_lazy("waiting for the model to be free"),
    "loading": gettext_lazy("loading the model"),
    "prompt": gettext_lazy("reading the prompt"),
    "generating": gettext_lazy("generating"),
    "checking": gettext_lazy("checking and improving the model's route"),
}


def _get_run_for_user(request: HttpRequest, pk: int) -> RouteRun:
    return get_object_or_404(RouteRun.objects.for_user(request.user), pk=pk)


@login_required
@require_POST
def set_optimize(request: HttpRequest, pk: int) -> HttpResponse:
    location_set = get_object_or_404(LocationSet.objects.for_user(request.user), pk=pk)
    form = OptimizeForm(request.POST, slots=ModelSlot.objects.all())
    if not form.is_valid():
        messages.error(request, _("Choose a model from the list."))
        return redirect("set", pk=pk)
    try:
        body = parse_request(location_set.request_body(), max_locations=settings.T2_MAX_LOCATIONS)
    except RequestError as exc:
        for error in exc.errors[:10]:
            messages.error(request, f"{error['field']}: {error['message']}")
        return redirect("set", pk=pk)
    only = form.cleaned_data["model"] or None
    try:
        run = submit(
            body,
            only=only,
            fallback=form.cleaned_data["fallback"] or only is None,
            owner=request.user,
            location_set=location_set,
        )
    except QueueFull as exc:
        messages.error(
            request,
            _("Too many routes are waiting to be planned; try again in %(seconds)s s.")
            % {"seconds": exc.retry_after},
        )
        return redirect("set", pk=pk)
    return redirect("run", pk=run.pk)


def run_map_data(run: RouteRun) -> dict:
    locations = {loc["ID"]: loc for loc in run.request["locations"]}
    result = run.result or {}
    order = {stop["ID"]: i for i, stop in enumerate(result.get("stops", []), start=1)}
    start = (run.request.get("constraints") or {}).get("start")
    return {
        "points": [
            {
                "id": ident,
                "name": loc.get("name", ""),
                "address": loc.get("address", ""),
                "lat": loc["lat"],
                "lon": loc["lon"],
                "priority": _category(loc["priority"]),
                "order": order.get(ident),
                "skipped": bool(result) and ident not in order,
                "row": f"stop-{ident}",
            }
            for ident, loc in locations.items()
        ],
        "route": bool(order),
        "start": start if isinstance(start, dict) else None,
    }


def _category(priority: str) -> str:
    return {"high": "A", "medium": "B", "low": "C"}.get(priority.lower(), priority.upper())


def _live_context(run: RouteRun) -> dict:
    attempts = list(run.attempts.all())
    worker_missing = (
        not run.is_finished
        and not settings.T2_OPTIMIZE_INLINE
        and not Worker.objects.alive().exists()
    )
    progress = run.progress or {}
    return {
        "run": run,
        "attempts": attempts,
        "progress": progress,
        "phase_label": PHASE_LABELS.get(progress.get("phase", ""), progress.get("phase", "")),
        "worker_missing": worker_missing,
        "now": timezone.now(),
    }


def _route_rows(run: RouteRun) -> list[dict]:
    """The stops in order with each location's window and priority beside the schedule."""
    if not run.result:
        return []
    locations = {loc["ID"]: loc for loc in run.request["locations"]}
    rows = []
    for i, stop in enumerate(run.result["stops"], start=1):
        loc = locations.get(stop["ID"], {})
        rows.append(
            {
                **stop,
                "n": i,
                "address": loc.get("address", ""),
                "window": f"{loc.get('time_window_start', '')}–{loc.get('time_window_end', '')}",
                "priority": _category(loc.get("priority", "")),
            }
        )
    return rows


def _skipped_rows(run: RouteRun) -> list[dict]:
    if not run.result:
        return []
    locations = {loc["ID"]: loc for loc in run.request["locations"]}
    return [
        {
            **item,
            "name": locations.get(item["ID"], {}).get("name", ""),
            "priority": _category(locations.get(item["ID"], {}).get("priority", "")),
        }
        for item in run.result["skipped"]
    ]


def _comparison(run: RouteRun, other: RouteRun | None) -> dict | None:
    if not run.result or "as_entered" not in run.result:
        return None
    result = run.result
    given = result["as_entered"]
    figures = {
        "given": given,
        "km_saved": round(given["total_distance_km"] - result["total_distance_km"], 2),
        "hours_saved": round(given["total_time_hours"] - result["total_time_hours"], 2),
        "violations_avoided": given["violations"] - result["violations"],
    }
    if other is not None and other.result:
        figures["other"] = other
        figures["other_km_diff"] = round(
            other.result["total_distance_km"] - result["total_distance_km"], 2
        )
        figures["other_hours_diff"] = round(
            other.result["total_time_hours"] - result["total_time_hours"], 2
        )
    return figures


@login_required
@require_GET
def run_detail(request: HttpRequest, pk: int) -> HttpResponse:
    run = _get_run_for_user(request, pk)
    if request.htmx and request.htmx.target == f"run-{run.pk}-live":
        if run.is_finished:
            # The whole page changes (route, map, exports): load it once.
            return HttpResponseClientRefresh()
        return render(request, "routes/run_detail.html#live", _live_context(run))
    compare_form = CompareForm(request.GET)
    other = None
    if compare_form.is_valid() and compare_form.cleaned_data["other"]:
        other = (
            RouteRun.objects.for_user(request.user)
            .filter(pk=compare_form.cleaned_data["other"])
            .first()
        )
    siblings = (
        RouteRun.objects.for_user(request.user)
        .filter(location_set=run.location_set, status=RouteRun.Status.DONE)
        .exclude(pk=run.pk)
        .newest_first()
        .only("id", "created_at", "model_used", "total_distance_km")[:20]
        if run.location_set_id
        else []
    )
    context = {
        **_live_context(run),
        "nav": "runs",
        "rows": _route_rows(run),
        "skipped": _skipped_rows(run),
        "map_data": run_map_data(run),
        "comparison": _comparison(run, other),
        "siblings": siblings,
        "compare_form": compare_form,
        "links": _map_links(run),
    }
    return render(request, "routes/run_detail.html", context)


def _map_links(run: RouteRun) -> dict:
    if not run.result or not run.result["stops"]:
        return {}
    points = exporting.route_points(
        run.result, run.request["locations"], run.request.get("constraints")
    )
    return {
        "yandex": exporting.yandex_maps_url(points),
        "google": exporting.google_maps_urls(points),
    }


@login_required
@require_POST
def run_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    run = _get_run_for_user(request, pk)
    if run.request_cancel():
        messages.info(request, _("Cancelling the run…"))
    if request.htmx:
        return HttpResponseClientRefresh()
    return redirect("run", pk=pk)


@login_required
@require_GET
def run_export(request: HttpRequest, pk: int, fmt: str) -> HttpResponse:
    run = _get_run_for_user(request, pk)
    if not run.result:
        raise Http404("this run has no route")
    locations = run.request["locations"]
    name = run.set_name or f"Route {run.pk}"
    if fmt == "json":
        response = JsonResponse(
            run_json(run), json_dumps_params={"ensure_ascii": False, "indent": 1}
        )
    elif fmt == "csv":
        response = HttpResponse(
            "\ufeff" + exporting.route_csv(run.result, locations),
            content_type="text/csv; charset=utf-8",
        )
    elif fmt == "gpx":
        response = HttpResponse(
            exporting.route_gpx(run.result, locations, name, run.request.get("constraints")),
            content_type="application/gpx+xml",
        )
    else:
        raise Http404
    response["Content-Disposition"] = f'attachment; filename="route-{run.pk}.{fmt}"'
    return response


@login_required
@require_GET
def run_list(request: HttpRequest) -> HttpResponse:
    form = HistoryFilterForm(request.GET)
    runs = RouteRun.objects.for_user(request.user).newest_first()
    filters = form.cleaned_data if form.is_valid() else {}
    if filters.get("set"):
        runs = runs.filter(location_set_id=filters["set"])
    if filters.get("model"):
        runs = runs.filter(model_used=filters["model"])
    if filters.get("status"):
        runs = runs.filter(status=filters["status"])
    runs = runs.only(
        "id",
        "created_at",
        "status",
        "set_name",
        "location_set_id",
        "location_count",
        "model_used",
        "requested_model",
        "total_distance_km",
        "duration_ms",
    )
    page = Paginator(runs, 50).get_page(filters.get("page") or 1)
    context = {
        "nav": "runs",
        "form": form,
        "page": page,
        "sets": LocationSet.objects.for_user(request.user).only("id", "name").order_by("name"),
        "models": ["qwen", "tpro", "llama", "greedy"],
        "statuses": RouteRun.Status.choices,
        "query": request.GET.copy(),
    }
    if request.htmx and request.htmx.target == "history-more":
        return render(request, "routes/run_list.html#page-rows", context)
    return render(request, "routes/run_list.html", context)
