from __future__ import annotations

from django.contrib import admin
from django.utils.html import format_html_join

from llm.models import Attempt, ModelSlot


@admin.register(ModelSlot)
class ModelSlotAdmin(admin.ModelAdmin):
    list_display = ("name", "display_name", "role", "position", "enabled", "backend", "model_file")
    list_editable = ("enabled", "position")
    readonly_fields = ("environment",)
    fieldsets = (
        (None, {"fields": ("name", "display_name", "role", "position", "enabled")}),
        (
            "Where it runs",
            {"fields": ("environment", "backend", "endpoint_url", "model_file", "remote_model")},
        ),
        ("Download", {"fields": ("hf_repo", "hf_file", "quantization")}),
        (
            "Inference",
            {
                "fields": (
                    "n_threads",
                    "n_gpu_layers",
                    "n_ctx",
                    "n_batch",
                    "timeout",
                    "max_tokens",
                    "temperature",
                )
            },
        ),
    )

    @admin.display(description="Set by the environment")
    def environment(self, slot: ModelSlot) -> str:
        overrides = slot.environment_overrides()
        if not overrides:
            return "nothing: the values below are used"
        return format_html_join(
            "",
            "<div><b>{}</b> = {} (from {}_{}; wins over the field below)</div>",
            (
                (field, value, slot.env_prefix, "MODEL_ID" if "model" in field else "API_ENDPOINT")
                for field, value in overrides.items()
            ),
        )


@admin.register(Attempt)
class AttemptAdmin(admin.ModelAdmin):
    list_display = ("created_at", "slot", "status", "stops", "duration_ms", "run")
    list_filter = ("slot", "status")
    list_select_related = ("run",)
    readonly_fields = [f.name for f in Attempt._meta.fields]
