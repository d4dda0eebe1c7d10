from __future__ import annotations

from datetime import timedelta
from functools import cached_property
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Count, OuterRef, Subquery
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from routes.schema import Constraints

# --- Location sets -----------------------------------------------------------------------------


class LocationSetQuerySet(models.QuerySet):
    def for_user(self, user) -> LocationSetQuerySet:
        return self.filter(owner=user)

    def with_summary(self) -> LocationSetQuerySet:
        """Location counts and the newest run of each set, in the same query."""
        newest = RouteRun.objects.filter(location_set=OuterRef("pk")).order_by("-created_at", "-id")
        return self.annotate(
            location_total=Count("locations", distinct=True),
            last_run_id=Subquery(newest.values("id")[:1]),
            last_run_status=Subquery(newest.values("status")[:1]),
            last_run_at=Subquery(newest.values("created_at")[:1]),
            last_run_km=Subquery(newest.values("total_distance_km")[:1]),
            last_run_model=Subquery(newest.values("model_used")[:1]),
        )


class LocationSet(models.Model):
    """A planner's saved list of retail points with the day's constraints."""

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="location_sets"
    )
    name = models.CharField(_("name"), max_length=200)
    # The request's `constraints` object, validated by routes.schema.Constraints.
    constraints = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = LocationSetQuerySet.as_manager()

    class Meta:
        ordering = ["-updated_at", "-id"]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("set", args=[self.pk])

    @cached_property
    def url(self) -> str:
        """The set page's URL, reversed once: rows build their own URLs on it."""
        return self.get_absolute_url()

    @property
    def day(self) -> Constraints:
        """The constraints as a typed object (defaults filled in)."""
        return Constraints.model_validate(self.constraints or {})

    def request_body(self, locations: list[Location] | None = None) -> dict[str, Any]:
        """The set as a `POST /optimize` body."""
        rows = self.locations.all() if locations is None else locations
        return {
            "locations": [row.as_request() for row in rows],
            "constraints": self.constraints or {},
        }

    def next_position(self) -> int:
        last = self.locations.aggregate(models.Max("position"))["position__max"]
        return 0 if last is None else last + 1

    def next_ident(self) -> str:
        taken = set(self.locations.values_list("ident", flat=True))
        n = len(taken) + 1
        while f"p{n}" in taken:
            n += 1
        return f"p{n}"

    def duplicate(self, name: str) -> LocationSet:
        copy = LocationSet.objects.create(owner=self.owner, name=name, constraints=self.constraints)
        Location.objects.bulk_create(
            Location(**{**row.fields(), "location_set": copy}) for row in self.locations.all()
        )
        return copy


class Location(models.Model):
    """One retail point of a set, in the API's shape (`ID` is `ident` here)."""

    PRIORITIES = [("A", "A"), ("B", "B"), ("C", "C"), ("D", "D")]

    location_set = models.ForeignKey(
        LocationSet, on_delete=models.CASCADE, related_name="locations"
    )
    position = models.PositiveIntegerField(default=0)
    ident = models.CharField("ID", max_length=100)
    name = models.CharField(_("name"), max_length=300, blank=True)
    address = models.CharField(_("address"), max_length=500, blank=True)
    lat = models.FloatField(_("latitude"))
    lon = models.FloatField(_("longitude"))
    time_window_start = models.CharField(_("opens"), max_length=5, default="09:00")
    time_window_end = models.CharField(_("closes"), max_length=5, default="18:00")
    priority = models.CharField(_("priority"), max_length=10, default="B")
    visit_minutes = models.FloatField(_("visit, min"), null=True, blank=True)

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["location_set", "ident"], name="unique_location_id_in_set"
            )
        ]

    def __str__(self) -> str:
        return f"{self.ident} {self.name}"

    FIELDS = (
        "position",
        "ident",
        "name",
        "address",
        "lat",
        "lon",
        "time_window_start",
        "time_window_end",
        "priority",
        "visit_minutes",
    )

    def fields(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.FIELDS}

    def as_request(self) -> dict[str, Any]:
        data = {
            "ID": self.ident,
            "name": self.name,
            "address": self.address,
            "lat": self.lat,
            "lon": self.lon,
            "time_window_start": self.time_window_start,
            "time_window_end": self.time_window_end,
            "priority": self.priority,
        }
        if self.visit_minutes is not None:
            data["visit_minutes"] = self.visit_minutes
        return data

    @classmethod
    def from_request(cls, data: dict[str, Any], **extra: Any) -> Location:
        return cls(
            ident=data["ID"],
            name=data.get("name", ""),
            address=data.get("address", ""),
            lat=data["lat"],
            lon=data["lon"],
            time_window_start=data["time_window_start"],
            time_window_end=data["time_window_end"],
            priority=normalise_priority(data["priority"]),
            visit_minutes=data.get("visit_minutes"),
            **extra,
        )


def normalise_priority(value: str) -> str:
    """Sets store the categories A–D; the API's words map onto them (high = A, ...)."""
    return {"high": "A", "medium": "B", "low": "C"}.get(str(value).lower(), str(value).upper())


# --- Runs --------------------------------------------------------------------------------------


class RouteRunQuerySet(models.QuerySet):
    def newest_first(self) -> RouteRunQuerySet:
        return self.order_by("-created_at", "-id")

    def for_user(self, user) -> RouteRunQuerySet:
        return self.filter(owner=user)

    def unfinished(self) -> RouteRunQuerySet:
        return self.filter(status__in=RouteRun.UNFINISHED)

    def queued(self) -> RouteRunQuerySet:
        return self.filter(status=RouteRun.Status.QUEUED)

    def running_on_workers(self) -> RouteRunQuerySet:
        """Running runs that a task worker claimed (inline runs name no worker; runs planned
        in a web process name it with the prefix RouteRun.IN_WEB)."""
        return (
            self.filter(status=RouteRun.Status.RUNNING)
            .exclude(worker="")
            .exclude(worker__startswith=RouteRun.IN_WEB)
        )

    def running_in_web_processes(self) -> RouteRunQuerySet:
        return self.filter(status=RouteRun.Status.RUNNING, worker__startswith=RouteRun.IN_WEB)


class RouteRun(models.Model):
    """One optimization: the request as sent, the route that came back and how it was made.

    The attempts of the model chain are `llm.Attempt` rows pointing here; the running one's
    current step is in `progress`.
    """

    class Status(models.TextChoices):
        QUEUED = "queued", _("queued")
        RUNNING = "running", _("running")
        DONE = "done", _("done")
        FAILED = "failed", _("failed")
        CANCELLED = "cancelled", _("cancelled")

    UNFINISHED = (Status.QUEUED, Status.RUNNING)

    # Why a run ended without an answer when its worker did: the API answers these with 500.
    WORKER_LOST = "the worker running it stopped (killed or crashed) at about {time}; run it again"
    WORKER_STOPPED = "the worker was stopped before the run finished; run it again"
    NO_WORKER = "no task worker is running (start it with scripts/run or manage.py worker)"
    WEB_LOST = "the web process planning it stopped (killed or crashed); run it again"
    # How the worker field names a web process that plans an algorithm-only run itself.
    IN_WEB = "web:"

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="runs",
        help_text="Empty for anonymous API calls.",
    )
    location_set = models.ForeignKey(
        LocationSet, on_delete=models.SET_NULL, null=True, blank=True, related_name="runs"
    )
    set_name = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    # The slot asked for by /<slot>/optimize; empty for the whole chain.
    requested_model = models.CharField(max_length=20, blank=True)
    allow_fallback = models.BooleanField(default=True)
    model_used = models.CharField(max_length=20, blank=True)
    fallback_reason = models.TextField(blank=True)
    error = models.TextField(blank=True)
    request = models.JSONField()
    result = models.JSONField(null=True, blank=True)
    location_count = models.PositiveIntegerField()
    total_distance_km = models.FloatField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    # What the worker is doing now: {"slot", "phase", "tokens", "tokens_per_second", ...}.
    progress = models.JSONField(default=dict, blank=True)
    cancel_requested = models.BooleanField(default=False)
    # The task worker (routes.Worker name, "host:pid") that claimed it; "web:pid@machine" for a
    # run planned in a web process (T2_ALGORITHM_IN_WEB); empty for inline runs.
    worker = models.CharField(max_length=200, blank=True)

    objects = RouteRunQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["owner", "-created_at", "-id"], name="run_owner_newest")]

    def __str__(self) -> str:
        return f"Run {self.pk} ({self.status}, {self.location_count} stops)"

    @property
    def duration_seconds(self) -> float | None:
        return None if self.duration_ms is None else self.duration_ms / 1000

    @property
    def is_finished(self) -> bool:
        return self.status not in self.UNFINISHED

    def mark_failed(self, reason: str) -> None:
        self.status = self.Status.FAILED
        self.error = reason
        self.finished_at = timezone.now()
        self.progress = {}
        self.save(update_fields=["status", "error", "finished_at", "progress"])

    @property
    def lost_its_worker(self) -> bool:
        prefix = self.WORKER_LOST.split("{")[0]
        return self.error.startswith((prefix, self.WORKER_STOPPED, self.NO_WORKER, self.WEB_LOST))

    def fail_unless_finished(self, reason: str, *, status: str | None = None) -> bool:
        """Fail the run if it is still queued or running (or still in `status`); False when
        it had ended, or moved on, in the meantime. One conditional update, so a worker
        finishing the run at the same moment is never overwritten."""
        statuses = [status] if status else list(self.UNFINISHED)
        updated = RouteRun.objects.filter(pk=self.pk, status__in=statuses).update(
            status=self.Status.FAILED, error=reason, finished_at=timezone.now(), progress={}
        )
        self.refresh_from_db()
        return bool(updated)

    def request_cancel(self) -> bool:
        """Ask the worker to stop this run; a queued run is cancelled at once. False when the
        run had already finished."""
        if self.is_finished:
            return False
        updated = RouteRun.objects.filter(pk=self.pk, status=self.Status.QUEUED).update(
            status=self.Status.CANCELLED,
            cancel_requested=True,
            finished_at=timezone.now(),
            error=str(_("cancelled before it started")),
        )
        if not updated:
            RouteRun.objects.filter(pk=self.pk, status=self.Status.RUNNING).update(
                cancel_requested=True
            )
        self.refresh_from_db()
        return True


# --- The task worker ---------------------------------------------------------------------------


class WorkerQuerySet(models.QuerySet):
    def alive(self) -> WorkerQuerySet:
        cutoff = timezone.now() - timedelta(seconds=settings.T2_WORKER_STALE_SECONDS)
        return self.filter(seen_at__gte=cutoff)


class Worker(models.Model):
    """A running task worker (`manage.py worker`), which beats every few seconds."""

    name = models.CharField(max_length=200, unique=True)
    started_at = models.DateTimeField(default=timezone.now)
    seen_at = models.DateTimeField(default=timezone.now, db_index=True)
    # What the worker holds, written with each beat: {"loaded": [...], "free_bytes": ...,
    # "total_bytes": ...} (see routes.management.commands.worker.worker_state).
    state = models.JSONField(default=dict, blank=True)

    objects = WorkerQuerySet.as_manager()

    def __str__(self) -> str:
        return self.name
