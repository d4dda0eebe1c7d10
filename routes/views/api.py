"""The seed's JSON API: POST /optimize, /<slot>/optimize, and the stored run history.

Callers are a bearer token's user, a logged-in browser session (whose POSTs must pass the
CSRF check, or any site could post as the user), or anonymous when T2_ANONYMOUS_API allows.
Runs belong to their caller; each caller sees only their own (staff: all).
"""

from __future__ import annotations

import json
from functools import wraps

from django.conf import settings
from django.core.paginator import Paginator
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from accounts.bearer import InvalidToken, authenticate_bearer, csrf_failure
from llm.models import ModelSlot
from routes.forms import RunFilterForm
from routes.models import RouteRun
from routes.optimize import (
    NoWorker,
    QueueFull,
    RunCrashed,
    RunNotFinished,
    SlotUnavailable,
    optimize,
    run_json,
)
from routes.schema import OptimizeRequest, RequestError, parse_request


def _error(status: int, message: str, errors: list[dict[str, str]] | None = None) -> JsonResponse:
    body: dict = {"error": message}
    if errors is not None:
        body["errors"] = errors
    return JsonResponse(body, status=status, json_dumps_params={"ensure_ascii": False})


ANONYMOUS_REFUSED = (
    "authentication required: send Authorization: Bearer <token> (create one on /account/)"
)


class CallerRefused(Exception):
    def __init__(self, response: JsonResponse):
        self.response = response


def _unauthorized(message: str) -> CallerRefused:
    response = _error(401, message)
    response["WWW-Authenticate"] = 'Bearer realm="T2 Routes"'
    return CallerRefused(response)


def _caller(request: HttpRequest):
    """The user the call is made for (None: anonymous); raises CallerRefused with the answer
    when the call may not be made."""
    try:
        user = authenticate_bearer(request)
    except InvalidToken as exc:
        raise _unauthorized(f"invalid API token: {exc}") from None
    if user is not None:
        return user
    if request.user.is_authenticated:
        if reason := csrf_failure(request):
            raise CallerRefused(_error(403, f"CSRF check failed: {reason}"))
        return request.user
    if not settings.T2_ANONYMOUS_API:
        raise _unauthorized(ANONYMOUS_REFUSED)
    return None


def allow(*methods: str):
    """Answer other methods with 405 in the API's error shape (Django's own 405 is empty HTML)."""

    def decorator(view):
        @wraps(view)
        def wrapper(request: HttpRequest, *args, **kwargs):
            if request.method not in methods:
                response = _error(
                    405, f"method {request.method} is not allowed here; use {', '.join(methods)}"
                )
                response["Allow"] = ", ".join(methods)
                return response
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


def api_caller(view):
    """Resolve the caller before the view runs and pass it on (None: anonymous)."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs):
        try:
            caller = _caller(request)
        except CallerRefused as exc:
            return exc.response
        return view(request, caller, *args, **kwargs)

    return wrapper


def _runs_visible_to(user):
    runs = RouteRun.objects.all()
    if user is None:
        return runs.filter(owner__isnull=True)
    return runs if user.is_staff else runs.for_user(user)


def _read_request(request: HttpRequest) -> OptimizeRequest:
    """Decode and validate the body; raises RequestError naming the problem."""
    try:
        data = json.loads(request.body)
    except UnicodeDecodeError:
        raise RequestError([{"field": "body", "message": "must be UTF-8 encoded JSON"}]) from None
    except json.JSONDecodeError as exc:
        raise RequestError(
            [{"field": "body", "message": f"not valid JSON: {exc.msg} at line {exc.lineno}"}]
        ) from None
    except RecursionError:
        raise RequestError([{"field": "body", "message": "JSON nested too deeply"}]) from None
    except ValueError:  # the one other error json.loads raises: an integer's digit limit
        raise RequestError(
            [{"field": "body", "message": "a number in it has more than 4300 digits"}]
        ) from None
    return parse_request(data, max_locations=settings.T2_MAX_LOCATIONS)


def _too_large(request: HttpRequest) -> JsonResponse | None:
    limit = settings.T2_MAX_BODY_BYTES
    try:
        length = int(request.headers.get("Content-Length") or 0)
    except ValueError:
        length = 0
    if length > limit:
        return _error(413, f"request body is {length} bytes; the limit is {limit}")
    return None


def _optimize(request: HttpRequest, caller, *, only: str | None, fallback: bool) -> JsonResponse:
    if response := _too_large(request):
        return response
    try:
        body = _read_request(request)
    except RequestError as exc:
        return _error(400, "invalid request", exc.errors)
    try:
        run = optimize(body, only=only, fallback=fallback, owner=caller)
    except SlotUnavailable as exc:
        payload = {
            "error": f"model {only!r} is not available: {exc.reason}",
            "model": only,
            "run_id": exc.run.pk,
            "attempts": [a.as_json() for a in exc.run.attempts.all()],
        }
        return JsonResponse(payload, status=503, json_dumps_params={"ensure_ascii": False})
    except QueueFull as exc:
        response = _error(503, str(exc))
        response["Retry-After"] = str(exc.retry_after)
        return response
    except NoWorker as exc:
        return _error(503, exc.run.error)
    except RunNotFinished as exc:
        return _error(504, str(exc))
    except RunCrashed as exc:
        return _error(500, f"run {exc.run.pk} failed: {exc.run.error}")
    return JsonResponse(run_json(run), json_dumps_params={"ensure_ascii": False})


# CSRF-exempt for token and anonymous callers; _caller checks it for browser sessions.
@csrf_exempt
@allow("POST")
@api_caller
def optimize_chain(request: HttpRequest, caller) -> JsonResponse:
    return _optimize(request, caller, only=None, fallback=True)


@csrf_exempt
@allow("POST")
@api_caller
def optimize_slot(request: HttpRequest, caller, slot: str) -> JsonResponse:
    if not ModelSlot.objects.filter(name=slot).exists():
        names = ", ".join(ModelSlot.objects.values_list("name", flat=True))
        return _error(404, f"no model slot {slot!r}; known: {names}")
    fallback = request.GET.get("fallback", "").lower() in {"1", "true", "yes"}
    return _optimize(request, caller, only=slot, fallback=fallback)


@allow("GET", "HEAD")
@api_caller
def run_list(request: HttpRequest, caller) -> JsonResponse:
    form = RunFilterForm(request.GET)
    if not form.is_valid():
        return _error(400, "invalid filter", form.errors_as_list())
    runs = _runs_visible_to(caller).newest_first()
    if model := form.cleaned_data["model"]:
        runs = runs.filter(model_used=model)
    paginator = Paginator(runs, settings.T2_RUNS_PER_PAGE)
    page_number = form.cleaned_data["page"] or 1
    if page_number > paginator.num_pages:
        return _error(404, f"page {page_number} does not exist; there are {paginator.num_pages}")
    page = paginator.page(page_number)
    return JsonResponse(
        {
            "count": paginator.count,
            "page": page.number,
            "pages": paginator.num_pages,
            "results": [
                {
                    "id": run.pk,
                    "created_at": run.created_at.isoformat(),
                    "status": run.status,
                    "requested_model": run.requested_model or None,
                    "model_used": run.model_used or None,
                    "location_count": run.location_count,
                    "total_distance_km": run.total_distance_km,
                    "duration_ms": run.duration_ms,
                    "url": f"/api/runs/{run.pk}",
                }
                for run in page.object_list
            ],
        }
    )


@allow("GET", "HEAD")
@api_caller
def run_detail(request: HttpRequest, caller, run_id: int) -> JsonResponse:
    try:
        # Another caller's run answers as if it did not exist.
        run = _runs_visible_to(caller).prefetch_related("attempts").get(pk=run_id)
    except RouteRun.DoesNotExist:
        return _error(404, f"no run {run_id}")
    return JsonResponse(run_json(run), json_dumps_params={"ensure_ascii": False})
