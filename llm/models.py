from __future__ import annotations

import os
from pathlib import Path

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from llm.config import SlotConfig
from llm.files import find_model_file


class ModelSlotQuerySet(models.QuerySet):
    def in_chain(self) -> ModelSlotQuerySet:
        return self.filter(enabled=True).order_by("position", "name")


class ModelSlot(models.Model):
    """One of the three models of the chain (qwen, tpro, llama), editable in the admin."""

    class Backend(models.TextChoices):
        LOCAL = "local", "Local GGUF file"
        REMOTE = "remote", "Remote OpenAI-compatible server"

    name = models.SlugField(max_length=20, unique=True)
    display_name = models.CharField(max_length=100)
    role = models.CharField(max_length=20, help_text="primary, secondary or fallback")
    position = models.PositiveSmallIntegerField(help_text="Order in the fallback chain (1 first).")
    enabled = models.BooleanField(default=True)
    backend = models.CharField(max_length=10, choices=Backend.choices, default=Backend.LOCAL)
    endpoint_url = models.URLField(
        blank=True, help_text="For a remote slot: the server's base URL, e.g. http://host:8080/v1"
    )
    model_file = models.CharField(
        max_length=500,
        blank=True,
        help_text="GGUF file: a path, or a name looked up in the models folder, then the project.",
    )
    remote_model = models.CharField(
        max_length=200, blank=True, help_text="Model name sent to a remote server."
    )
    hf_repo = models.CharField("Hugging Face repo", max_length=200, blank=True)
    hf_file = models.CharField("Hugging Face file", max_length=200, blank=True)
    quantization = models.CharField(max_length=20, blank=True)
    n_threads = models.SmallIntegerField(default=4)
    n_gpu_layers = models.SmallIntegerField(default=0, help_text="-1 offloads every layer.")
    n_ctx = models.PositiveIntegerField(default=2048)
    n_batch = models.PositiveIntegerField(default=512)
    timeout = models.FloatField(default=120, help_text="Seconds an answer may take.")
    max_tokens = models.PositiveIntegerField(default=1024)
    temperature = models.FloatField(default=0.0)

    objects = ModelSlotQuerySet.as_manager()

    class Meta:
        ordering = ["position", "name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.display_name})"

    @property
    def env_prefix(self) -> str:
        return self.name.upper()

    def environment_overrides(self) -> dict[str, str]:
        """Fields set by the seed's `<NAME>_API_ENDPOINT` / `<NAME>_MODEL_ID` variables."""
        overrides: dict[str, str] = {}
        endpoint = os.environ.get(f"{self.env_prefix}_API_ENDPOINT", "").strip()
        model_id = os.environ.get(f"{self.env_prefix}_MODEL_ID", "").strip()
        remote = bool(endpoint) and endpoint.lower() != "local"
        if endpoint:
            overrides["backend"] = self.Backend.REMOTE if remote else self.Backend.LOCAL
            if remote:
                overrides["endpoint_url"] = endpoint
        if model_id:
            is_remote = remote or (not endpoint and self.backend == self.Backend.REMOTE)
            overrides["remote_model" if is_remote else "model_file"] = model_id
        return overrides

    def find_model_file(self) -> Path:
        """The slot's GGUF file, looked up as the seed says; raises ModelFileNotFound."""
        return find_model_file(
            self.config.model_file,
            models_dir=settings.T2_MODELS_DIR,
            project_dir=settings.BASE_DIR,
        )

    @property
    def config(self) -> SlotConfig:
        overrides = self.environment_overrides()
        values = {
            name: overrides.get(name, getattr(self, name))
            for name in ("backend", "endpoint_url", "model_file", "remote_model")
        }
        return SlotConfig(
            name=self.name,
            n_threads=self.n_threads,
            n_gpu_layers=self.n_gpu_layers,
            n_ctx=self.n_ctx,
            n_batch=self.n_batch,
            timeout=self.timeout,
            max_tokens=self.max_tokens,
            temperature=self.temperature,
            from_environment=frozenset(overrides),
            **values,
        )


class AttemptQuerySet(models.QuerySet):
    def for_slot(self, name: str) -> AttemptQuerySet:
        return self.filter(slot=name)


class Attempt(models.Model):
    """One link of the chain tried for one run: the per-model timing history."""

    class Status(models.TextChoices):
        OK = "ok", _("accepted")
        REJECTED = "rejected", _("rejected")
        TIMEOUT = "timeout", _("timed out")
        NOT_FOUND = "not_found", _("not found")
        REFUSED_MEMORY = "refused_memory", _("refused for memory")
        CONTEXT_OVERFLOW = "context_overflow", _("prompt over n_ctx")
        ERROR = "error", _("error")
        UNAVAILABLE = "unavailable", _("unavailable")
        SKIPPED = "skipped", _("skipped")
        CANCELLED = "cancelled", _("cancelled")

    run = models.ForeignKey(
        "routes.RouteRun", on_delete=models.CASCADE, related_name="attempts", null=True
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    position = models.PositiveSmallIntegerField(default=0)
    slot = models.CharField(max_length=20, db_index=True)
    model_file = models.CharField(max_length=500, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices)
    reason = models.TextField(blank=True)
    stops = models.PositiveIntegerField(default=0)
    load_ms = models.FloatField(null=True, blank=True)
    prompt_tokens = models.PositiveIntegerField(null=True, blank=True)
    completion_tokens = models.PositiveIntegerField(null=True, blank=True)
    prompt_ms = models.FloatField(null=True, blank=True)
    generation_ms = models.FloatField(null=True, blank=True)
    tokens_per_second = models.FloatField(null=True, blank=True)
    duration_ms = models.FloatField()
    # Route metrics of the model's raw proposal and of the final (repaired, improved) route.
    metrics = models.JSONField(default=dict, blank=True)

    objects = AttemptQuerySet.as_manager()

    class Meta:
        ordering = ["run_id", "position"]
        # The models page reads each slot's newest attempts.
        indexes = [models.Index(fields=["slot", "-created_at", "-id"], name="attempt_slot_newest")]

    def __str__(self) -> str:
        return f"{self.slot}: {self.status}"

    def as_json(self) -> dict:
        return {
            "model": self.slot,
            "status": self.status,
            "reason": self.reason or None,
            "duration_ms": round(self.duration_ms, 1),
            "load_ms": _rounded(self.load_ms),
            "prompt_ms": _rounded(self.prompt_ms),
            "generation_ms": _rounded(self.generation_ms),
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "tokens_per_second": _rounded(self.tokens_per_second),
            "route_km": self.route_km,
        }

    @property
    def route_km(self) -> dict[str, float] | None:
        """What the model contributed, in km: its raw order, after repair, and the algorithm's
        own route (None when the model proposed no order)."""
        metrics = self.metrics or {}
        figures = {
            "proposal": (metrics.get("proposal") or {}).get("km"),
            "final": (metrics.get("final") or {}).get("km"),
            "algorithm": (metrics.get("algorithm") or {}).get("km"),
        }
        return figures if any(v is not None for v in figures.values()) else None


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


class SlotActionQuerySet(models.QuerySet):
    def latest_per_slot(self) -> dict[str, SlotAction]:
        """The newest action of each slot, by slot name (one query)."""
        newest = (
            SlotAction.objects.filter(slot=models.OuterRef("slot"))
            .order_by("-requested_at", "-id")
            .values("id")[:1]
        )
        rows = self.filter(id=models.Subquery(newest)).select_related("slot", "requested_by")
        return {action.slot.name: action for action in rows}


class SlotAction(models.Model):
    """A staff request to warm up or unload a slot in the worker that holds the models, and
    its outcome (load time, or the reason it failed)."""

    class Kind(models.TextChoices):
        WARM_UP = "warm_up", "warm up"
        UNLOAD = "unload", "unload"

    class Status(models.TextChoices):
        QUEUED = "queued"
        DONE = "done"
        FAILED = "failed"

    slot = models.ForeignKey(ModelSlot, on_delete=models.CASCADE, related_name="actions")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True
    )
    requested_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    load_ms = models.FloatField(null=True, blank=True)
    reason = models.TextField(blank=True)
    worker = models.CharField(max_length=200, blank=True)

    objects = SlotActionQuerySet.as_manager()

    class Meta:
        ordering = ["-requested_at", "-id"]

    def __str__(self) -> str:
        return f"{self.slot.name}: {self.kind} ({self.status})"

    def perform(self) -> SlotAction:
        """Do it in this process's model pool (the worker's) and save the outcome in one write."""
        import socket

        from django.utils import timezone

        from llm.files import ModelFileNotFound
        from llm.runtime import LocalModel, ModelError, get_pool

        slot = self.slot
        config = slot.config
        status, load_ms, reason = self.Status.DONE, None, ""
        if self.kind == self.Kind.UNLOAD:
            if not get_pool().unload(slot.name):
                reason = "it was not loaded"
        elif config.backend != ModelSlot.Backend.LOCAL:
            status, reason = self.Status.FAILED, "a remote slot runs on its server, not here"
        else:
            try:
                path = slot.find_model_file()
                load_ms = round(get_pool().load(LocalModel.from_config(config, path)), 1)
            except ModelFileNotFound as exc:
                status, reason = self.Status.FAILED, str(exc)
            except ModelError as exc:
                status, reason = self.Status.FAILED, exc.reason
            else:
                if not load_ms:
                    reason = "it was loaded already"
        self.status, self.load_ms, self.reason = status, load_ms, reason
        self.finished_at = timezone.now()
        self.worker = f"{socket.gethostname()}:{os.getpid()}"  # as routes.Worker names it
        self.save(update_fields=["status", "load_ms", "reason", "finished_at", "worker"])
        return self
