"""The one way to run an optimization, for the JSON API, the HTML pages and the task worker.

A run is created (queued), executed by the task worker that holds the models (or inline in
this process when T2_OPTIMIZE_INLINE is on), and saved with its attempts in one transaction.
"""

from __future__ import annotations

import logging
import math
import statistics
import threading
import time
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from llm.backends import ChainOptions
from llm.chain import AttemptRecord, run_chain
from llm.config import SlotConfig
from llm.files import ModelFileNotFound, find_model_file
from llm.models import Attempt, ModelSlot
from llm.progress import Progress
from routes.engine import default_time_limit
from routes.models import LocationSet, RouteRun, Worker
from routes.planning import as_entered, build_plan
from routes.schema import OptimizeRequest, parse_request
from routes.turns import Turns

logger = logging.getLogger(__name__)


class SlotUnavailable(Exception):
    """The asked-for slot could not answer and no fallback was allowed (HTTP 503)."""

    def __init__(self, run: RouteRun):
        super().__init__(run.error)
        self.run = run
        self.reason = run.error


class RunCrashed(Exception):
    """The optimization itself failed (a bug, not a model): HTTP 500 with the reason."""

    def __init__(self, run: RouteRun):
        super().__init__(run.error)
        self.run = run


class NoWorker(Exception):
    """No task worker is running to take the run (HTTP 503); the run is failed, not left queued."""

    def __init__(self, run: RouteRun):
        super().__init__(run.error)
        self.run = run


class QueueFull(Exception):
    """T2_MAX_QUEUED runs are waiting already (HTTP 503 with Retry-After); nothing was saved."""

    def __init__(self, waiting: int, retry_after: int):
        super().__init__(
            f"{waiting} runs are waiting for the worker already (the limit is "
            f"{settings.T2_MAX_QUEUED}); try again in {retry_after} s"
        )
        self.retry_after = retry_after


class RunNotFinished(Exception):
    """The worker did not finish the run in time (HTTP 504)."""

    def __init__(self, run: RouteRun, waited: float):
        super().__init__(
            f"run {run.pk} is still {run.status} after {waited:.0f} s; "
            "is the task worker running (manage.py worker)?"
        )
        self.run = run


def chain_slots(only: str | None) -> list[SlotConfig]:
    """The slots to try: the enabled chain, or the named slot then (for fallback) the rest."""
    if only is None:
        return [slot.config for slot in ModelSlot.objects.in_chain()]
    ordered = list(ModelSlot.objects.order_by("position", "name"))
    start = [slot.name for slot in ordered].index(only)
    rest = [slot for slot in ordered[start + 1 :] if slot.enabled]
    return [ordered[start].config] + [slot.config for slot in rest]


def chain_options() -> ChainOptions:
    return ChainOptions(
        models_dir=settings.T2_MODELS_DIR,
        project_dir=settings.BASE_DIR,
        tolerance=settings.T2_QUALITY_TOLERANCE,
    )


def create_run(
    request: OptimizeRequest,
    *,
    only: str | None,
    fallback: bool,
    owner=None,
    location_set: LocationSet | None = None,
) -> RouteRun:
    return RouteRun.objects.create(
        request=request.model_dump(mode="json"),
        requested_model=only or "",
        allow_fallback=fallback or only is None,
        location_count=len(request.locations),
        owner=owner if owner is not None and owner.is_authenticated else None,
        location_set=location_set,
        set_name=location_set.name if location_set else "",
    )


class RunProgress(Progress):
    """Writes a run's current step to the database as it goes (at most every `interval`
    seconds for token counts), each attempt when it ends, and reads the cancel flag."""

    def __init__(self, run: RouteRun, interval: float = 0.25):
        self.run = run
        self.interval = interval
        self.state: dict = {}
        self.position = 0
        self._written = 0.0
        self._checked = 0.0
        self._cancelled = False

    def _write(self) -> None:
        self._written = time.monotonic()
        RouteRun.objects.filter(pk=self.run.pk).update(progress=self.state)

    def step(self, slot: str, phase: str, **details) -> None:
        self.state = {"slot": slot, "phase": phase, "since": timezone.now().isoformat(), **details}
        self._write()

    def tokens(self, slot: str, count: int, tokens_per_second: float) -> None:
        if time.monotonic() - self._written < self.interval:
            return
        self.state = {
            **self.state,
            "tokens": count,
            "tokens_per_second": round(tokens_per_second, 1),
        }
        self._write()

    def attempt(self, record: AttemptRecord) -> None:
        Attempt.objects.create(
            run=self.run,
            position=self.position,
            slot=record.slot,
            model_file=record.model_file,
            status=record.status,
            reason=record.reason,
            stops=self.run.location_count,
            duration_ms=record.duration_ms,
            metrics=record.metrics,
            **record.stats,
        )
        self.position += 1

    def cancelled(self) -> bool:
        if not self._cancelled and time.monotonic() - self._checked >= self.interval:
            self._checked = time.monotonic()
            self._cancelled = RouteRun.objects.filter(
                pk=self.run.pk, cancel_requested=True
            ).exists()
        return self._cancelled


def execute(run: RouteRun, *, worker: str = "") -> RouteRun:
    """Run the chain for a stored run; each attempt is saved as it ends, the outcome at the end.

    `worker` names the task worker that claims it, so that the run can be failed if that
    worker dies with it (routes.tasks.fail_runs_of_lost_workers).
    """
    started = time.perf_counter()
    claimed = RouteRun.objects.filter(pk=run.pk, status=RouteRun.Status.QUEUED).update(
        status=RouteRun.Status.RUNNING, started_at=timezone.now(), worker=worker
    )
    if not claimed:  # cancelled while queued, or taken already
        run.refresh_from_db()
        return run
    run.refresh_from_db()
    progress = RunProgress(run)
    try:
        request = parse_request(run.request, max_locations=max(run.location_count, 1))
        plan = build_plan(request)
        only = run.requested_model or None
        outcome = run_chain(
            plan, chain_slots(only), chain_options(), fallback=run.allow_fallback, progress=progress
        )
    except Exception as exc:
        # A bug must not leave the run "running" for a caller waiting on it.
        run.mark_failed(f"internal error: {type(exc).__name__}: {exc}")
        raise
    except BaseException:
        # SystemExit or KeyboardInterrupt: the worker was told to stop now (a second SIGTERM or
        # Ctrl-C, or its own stop deadline; see the worker command).
        run.mark_failed(RouteRun.WORKER_STOPPED)
        raise

    run.duration_ms = int((time.perf_counter() - started) * 1000)
    run.finished_at = timezone.now()
    run.model_used = outcome.model_used
    run.fallback_reason = outcome.fallback_reason
    run.progress = {}
    if outcome.cancelled:
        run.status = RouteRun.Status.CANCELLED
        run.error = "cancelled by the user"
    elif outcome.route is None:
        run.status = RouteRun.Status.FAILED
        run.error = outcome.fallback_reason
    else:
        run.status = RouteRun.Status.DONE
        run.result = {**plan.describe(outcome.route), "as_entered": as_entered(plan)}
        run.total_distance_km = run.result["total_distance_km"]
    with transaction.atomic():
        run.save()
    return run


WORKER_CHECK_SECONDS = 1.0


def wait_for(run: RouteRun, timeout: float) -> RouteRun:
    """Wait for the worker to finish the run; raises RunNotFinished after `timeout` seconds.

    While waiting it checks, every WORKER_CHECK_SECONDS, that someone will finish the run: a
    running run whose worker is gone is failed (the caller gets the reason at once), and a run
    still queued after T2_WORKER_GRACE_SECONDS with no worker alive is failed with NoWorker.
    (Alive by its heartbeat alone: a worker killed a moment ago is being restarted by
    scripts/run, and its queued runs had better wait for the new one.)
    """
    from routes.tasks import fail_runs_of_lost_workers

    started = time.monotonic()
    deadline = started + timeout
    checked = started
    delay = 0.05
    while True:
        run.refresh_from_db()
        if run.is_finished:
            return run
        now = time.monotonic()
        if now >= deadline:
            raise RunNotFinished(run, timeout)
        if not settings.T2_OPTIMIZE_INLINE and now - checked >= WORKER_CHECK_SECONDS:
            checked = now
            if run.status == RouteRun.Status.RUNNING and run.worker:
                if fail_runs_of_lost_workers(run.worker):
                    continue
            elif (
                run.status == RouteRun.Status.QUEUED
                and now - started >= settings.T2_WORKER_GRACE_SECONDS
                and not Worker.objects.alive().exists()
                and run.fail_unless_finished(RouteRun.NO_WORKER, status=RouteRun.Status.QUEUED)
            ):
                raise NoWorker(run)
        time.sleep(delay)
        delay = min(delay * 1.5, 0.5)


def retry_after_seconds() -> int:
    """When a place in the queue should be free: about one run's time (the median of the last
    20), between 1 and 60 s."""
    recent = RouteRun.objects.filter(
        status=RouteRun.Status.DONE, duration_ms__isnull=False
    ).order_by("-id")
    durations = list(recent.values_list("duration_ms", flat=True)[:20])
    if not durations:
        return 10
    return min(60, max(1, math.ceil(statistics.median(durations) / 1000)))


def check_queue() -> None:
    """Raise QueueFull when T2_MAX_QUEUED runs wait already (the worker is behind: a caller
    is better told at once than left to time out). Counted, then created: two requests at the
    same moment may pass the limit by one each, which is harmless."""
    waiting = RouteRun.objects.queued().count()
    if waiting >= settings.T2_MAX_QUEUED:
        raise QueueFull(waiting, retry_after_seconds())


def needs_worker(slots: list[SlotConfig]) -> bool:
    """Whether a slot of this chain could answer: a remote slot, or a local one whose file is
    found. The models live in the worker, so such a run is queued for it; a chain with none
    would only run the algorithm, which the web process computes as fast itself (no queue,
    no polling: bench/load.py)."""
    for config in slots:
        if config.backend != "local":
            return True
        try:
            find_model_file(
                config.model_file, models_dir=settings.T2_MODELS_DIR, project_dir=settings.BASE_DIR
            )
        except ModelFileNotFound:
            continue
        return True
    return False


def runs_here(only: str | None) -> bool:
    """Execute in this process: always with T2_OPTIMIZE_INLINE; with T2_ALGORITHM_IN_WEB when
    no slot of the chain could answer."""
    if settings.T2_OPTIMIZE_INLINE:
        return True
    return settings.T2_ALGORITHM_IN_WEB and not needs_worker(chain_slots(only))


_turns: Turns | None = None
_turns_made = threading.Lock()


def turns() -> Turns:
    """This process's turns for the algorithm-only runs it plans (T2_SOLVES_AT_ONCE)."""
    global _turns
    with _turns_made:  # the first requests of a process arrive together: one Turns for all
        if _turns is None or _turns.slots != settings.T2_SOLVES_AT_ONCE:
            _turns = Turns(settings.T2_SOLVES_AT_ONCE)
        return _turns


def submit(
    request: OptimizeRequest,
    *,
    only: str | None = None,
    fallback: bool = True,
    owner=None,
    location_set: LocationSet | None = None,
) -> RouteRun:
    """Create the run and have it executed: inline here, or queued for the task worker.

    Raises QueueFull (and saves nothing) when T2_MAX_QUEUED runs are waiting already.
    """
    here = runs_here(only)
    if not here:
        check_queue()
    run = create_run(request, only=only, fallback=fallback, owner=owner, location_set=location_set)
    if here:
        try:
            if settings.T2_OPTIMIZE_INLINE:
                return execute(run)
            from routes.tasks import this_web_process

            with turns().take(default_time_limit(run.location_count)):
                # Named, so that a task worker fails it if this process dies with it.
                return execute(run, worker=this_web_process())
        except Exception:
            logger.exception("run %s failed", run.pk)
            return run
    from routes.tasks import execute_run

    execute_run.enqueue(run.pk)
    return run


def optimize(
    request: OptimizeRequest, *, only: str | None = None, fallback: bool = True, owner=None
) -> RouteRun:
    """Plan the route and return the finished run (the API waits for it).

    Raises SlotUnavailable when `only` names a slot that could not answer and fallback is off,
    RunCrashed when the run failed for another reason (a bug, its worker died), QueueFull and
    NoWorker when no worker will take it, RunNotFinished when the worker did not finish in
    T2_RUN_WAIT_SECONDS.
    """
    run = submit(request, only=only, fallback=fallback, owner=owner)
    run = wait_for(run, settings.T2_RUN_WAIT_SECONDS)
    if run.status == RouteRun.Status.FAILED:
        if run.error.startswith("internal error") or run.lost_its_worker:
            raise RunCrashed(run)
        raise SlotUnavailable(run)
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
