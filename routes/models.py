from __future__ import annotations

from django.db import models
from django.utils import timezone


class RouteRunQuerySet(models.QuerySet):
    def newest_first(self) -> RouteRunQuerySet:
        return self.order_by("-created_at", "-id")


class RouteRun(models.Model):
    """One optimization: the request as sent, the route that came back and how it was made.

    The attempts of the model chain are `llm.Attempt` rows pointing here.
    """

    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        DONE = "done"
        FAILED = "failed"

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
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

    objects = RouteRunQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Run {self.pk} ({self.status}, {self.location_count} stops)"

    def mark_failed(self, reason: str) -> None:
        self.status = self.Status.FAILED
        self.error = reason
        self.finished_at = timezone.now()
        self.save(update_fields=["status", "error", "finished_at"])
