"""The admin for model configuration (slots), and read-only views of the timing history."""

from __future__ import annotations

from functools import lru_cache

from django import forms
from django.contrib import admin, messages
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from llm.catalogue import MODELS
from llm.models import Attempt, ModelSlot, SlotAction

#: Help texts from the seed's guide (MODEL_SETUP_GUIDE.ru.md, sections 2, 3, 6, 7 and 10).
SEED_HELP = {
    "name": "The slot's name in URLs and in `model_used` (qwen, tpro, llama), and the prefix of "
    "its .env variables (QWEN_MODEL_ID, QWEN_API_ENDPOINT).",
    "role": "primary (Qwen: light and fast), secondary (T-Pro: quality, Russian) or fallback "
    "(Llama: reliable, open source).",
    "position": "Order in the fallback chain: qwen 1 → tpro 2 → llama 3, then the algorithm. "
    "Two enabled slots cannot share a position.",
    "enabled": "A disabled slot is skipped by the chain; its endpoint still answers 503.",
    "backend": "Local: a GGUF file run by llama.cpp in the worker (the seed's "
    "<NAME>_API_ENDPOINT=local). Remote: an OpenAI-compatible server at the URL below.",
    "endpoint_url": "The seed's <NAME>_API_ENDPOINT when it is a URL, e.g. http://host:8080/v1.",
    "model_file": "The seed's <NAME>_MODEL_ID: a GGUF file name or path, looked up as given "
    "(absolute, or from the current folder), then in the models folder, then in the project "
    "root. placeholder.gguf keeps the slot, which then answers “model not found”.",
    "quantization": "Which quantization the file is (Q4_K_M recommended): see the table above. "
    "The models page reads the real one from the file's header.",
    "n_threads": "CPU threads for inference (seed: 4 for Qwen and T-Pro, 8 for Llama). More "
    "than the machine's cores slows llama.cpp down, so it runs with at most the cores.",
    "n_gpu_layers": "How many layers go to the GPU: 0 = CPU only (seed: Qwen, T-Pro); -1 = "
    "every layer (seed: Llama, “auto”); N = the first N layers, the rest on the CPU (T-Pro "
    "with part of its layers on an 8 GB GPU answers 3–10× faster). Needs llama-cpp-python "
    "built with CUDA (CMAKE_ARGS=-DGGML_CUDA=on); a CPU build ignores it.",
    "n_ctx": "Context window in tokens: the prompt and the answer must both fit (seed: Qwen "
    "2048, T-Pro 512, Llama 4096). A smaller context takes less RAM (seed §9: reduce n_ctx "
    "when memory runs out). The prompt grows by ~15 tokens per stop.",
    "n_batch": "Prompt tokens evaluated per step (seed: 512; Llama 256).",
    "timeout": "Seconds an answer may take before the chain moves on (seed: 120; T-Pro 30, "
    "though on a CPU the seed expects 30–120 s from it).",
    "max_tokens": "Longest answer in tokens; the answer is a JSON list of stop numbers.",
    "temperature": "0 = always the most likely answer (repeatable runs).",
}

#: Fields the seed's environment variables may set (ModelSlot.environment_overrides).
ENV_FIELDS = ("backend", "endpoint_url", "model_file", "remote_model")

TPRO_NOTE = (
    "T-Pro has 33B parameters: at Q4_K_M it needs ~20 GB of RAM while loaded, and the system "
    "takes another 3–6 GB, so the seed asks for a 32 GB machine (24 GB at the least). With "
    "16–24 GB take Q3_K_M (~16 GB) or Q2_K (~14 GB, noticeably worse); on a laptop leave it "
    "out and run Qwen + Llama."
)


def quantization_table() -> str:
    rows = format_html_join(
        "",
        "<tr><td>{}</td><td>{}</td><td>{}</td><td>~{} GB</td><td>~{} GB</td></tr>",
        (
            (
                info.display_name,
                variant.quantization
                + (" (recommended)" if variant.quantization == info.default_quantization else ""),
                variant.filename,
                variant.file_gb,
                variant.ram_gb,
            )
            for info in MODELS.values()
            for variant in info.variants
        ),
    )
    return format_html(
        "<p>{}</p><table><thead><tr><th>Model</th><th>Quantization</th><th>File</th>"
        "<th>Download</th><th>RAM loaded</th></tr></thead><tbody>{}</tbody></table>",
        TPRO_NOTE,
        rows,
    )


#: Tokens per character of our prompt (digits are a token each), measured with a Llama-family
#: tokenizer on a 20-stop prompt: 411 tokens for 679 characters.
TOKENS_PER_CHAR = 0.62
#: The chat template's own tokens (role markers), a generous figure.
TEMPLATE_TOKENS = 24


@lru_cache(maxsize=4)
def tokens_needed(stops: int = 20) -> int:
    """Roughly how many tokens of context a request of this many stops needs: the prompt
    (estimated from its length) and the longest answer the grammar allows."""
    from llm.prompt import build_prompt
    from routes.planning import build_plan
    from routes.samples import point_set_bodies
    from routes.schema import parse_request

    locations = point_set_bodies()["mordovia-250"]["locations"][:stops]
    prompt = build_prompt(build_plan(parse_request({"locations": locations, "constraints": {}})))
    text = prompt.system + prompt.user
    return round(len(text) * TOKENS_PER_CHAR) + TEMPLATE_TOKENS + prompt.max_answer_tokens


class ModelSlotForm(forms.ModelForm):
    class Meta:
        model = ModelSlot
        fields = (
            *ENV_FIELDS,
            "hf_repo",
            "hf_file",
            "quantization",
            "n_threads",
            "n_gpu_layers",
            "n_ctx",
            "n_batch",
            "timeout",
            "max_tokens",
            "temperature",
            "name",
            "display_name",
            "role",
            "position",
            "enabled",
        )
        help_texts = SEED_HELP

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.warnings: list[str] = []

    def clean(self):
        data = super().clean()
        position, enabled = data.get("position"), data.get("enabled")
        if position is not None and enabled:
            taken = (
                ModelSlot.objects.filter(position=position, enabled=True)
                .exclude(pk=self.instance.pk)
                .values_list("name", flat=True)
                .first()
            )
            if taken:
                self.add_error(
                    "position",
                    f"Position {position} is taken by the enabled slot {taken}: two slots in "
                    "one chain position make the order ambiguous. Choose another position, "
                    f"or disable {taken} first.",
                )
        n_ctx = data.get("n_ctx")
        if n_ctx:
            need = tokens_needed(20)
            if n_ctx < need:
                self.warnings.append(
                    f"n_ctx={n_ctx} is smaller than a 20-stop request needs (~{need} tokens: "
                    f"the prompt and the answer). Such requests will fail with “prompt over "
                    f"n_ctx” and fall back; raise n_ctx to {need} or more if the model can."
                )
        return data


def _env_display(field: str):
    @admin.display(description=f"{ModelSlot._meta.get_field(field).verbose_name} (from .env)")
    def show(self, slot: ModelSlot) -> str:
        variable = f"{slot.env_prefix}_{'MODEL_ID' if 'model' in field else 'API_ENDPOINT'}"
        return format_html(
            "<code>{}</code> — set by <b>{}</b>; the value saved here (<code>{}</code>) is not "
            "used while the variable is set.",
            slot.environment_overrides().get(field, ""),
            variable,
            getattr(slot, field) or "empty",
        )

    return show


@admin.register(ModelSlot)
class ModelSlotAdmin(admin.ModelAdmin):
    form = ModelSlotForm
    list_display = ("name", "display_name", "role", "position", "enabled", "backend", "model_file")
    list_display_links = ("name", "display_name")
    fieldsets = (
        (
            "File and source",
            {
                "fields": (
                    "backend",
                    "endpoint_url",
                    "model_file",
                    "remote_model",
                    "hf_repo",
                    "hf_file",
                    "quantization",
                ),
                "description": quantization_table(),
            },
        ),
        (
            "llama.cpp settings",
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
        (
            "Chain position and role",
            {"fields": ("name", "display_name", "role", "position", "enabled")},
        ),
    )

    env_backend = _env_display("backend")
    env_endpoint_url = _env_display("endpoint_url")
    env_model_file = _env_display("model_file")
    env_remote_model = _env_display("remote_model")

    def _overridden(self, obj: ModelSlot | None) -> set[str]:
        return set(obj.environment_overrides()) if obj is not None else set()

    def get_fieldsets(self, request, obj=None):
        overridden = self._overridden(obj)
        return [
            (
                title,
                {
                    **options,
                    "fields": tuple(
                        f"env_{name}" if name in overridden else name for name in options["fields"]
                    ),
                },
            )
            for title, options in self.fieldsets
        ]

    def get_readonly_fields(self, request, obj=None):
        return tuple(f"env_{name}" for name in ENV_FIELDS if name in self._overridden(obj))

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        for warning in getattr(form, "warnings", []):
            messages.warning(request, warning)


def _run_link(run_id: int | None) -> str:
    if run_id is None:
        return "—"
    return format_html(
        '<a href="{}">#{}</a> (<a href="{}">page</a>)',
        reverse("admin:routes_routerun_change", args=[run_id]),
        run_id,
        reverse("run", args=[run_id]),
    )


class ReadOnlyAdmin(admin.ModelAdmin):
    """History is written by the chain, never by hand: view and delete only."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Attempt)
class AttemptAdmin(ReadOnlyAdmin):
    list_display = (
        "created_at",
        "slot",
        "status",
        "stops",
        "duration_ms",
        "load_ms",
        "tokens_per_second",
        "run_link",
    )
    list_filter = ("status", "slot", "created_at")
    date_hierarchy = "created_at"
    search_fields = ("reason", "model_file", "slot", "run__set_name", "run__owner__username")
    search_help_text = "Reason, model file, slot, the run's set name or owner's username."
    list_select_related = ("run",)
    show_full_result_count = False  # a COUNT over every attempt on each page is wasted work
    fields = (
        "run_link",
        "created_at",
        "slot",
        "model_file",
        "status",
        "reason",
        "stops",
        "duration_ms",
        "load_ms",
        "prompt_tokens",
        "prompt_ms",
        "completion_tokens",
        "generation_ms",
        "tokens_per_second",
        "metrics",
    )
    readonly_fields = fields

    @admin.display(description="run", ordering="run_id")
    def run_link(self, attempt: Attempt) -> str:
        return _run_link(attempt.run_id)


@admin.register(SlotAction)
class SlotActionAdmin(ReadOnlyAdmin):
    list_display = ("requested_at", "slot", "kind", "status", "load_ms", "reason", "requested_by")
    list_filter = ("kind", "status", "slot")
    list_select_related = ("requested_by",)
    readonly_fields = [f.name for f in SlotAction._meta.fields]
