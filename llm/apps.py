from django.apps import AppConfig


class LlmConfig(AppConfig):
    name = "llm"
    verbose_name = "Language models"

    def ready(self) -> None:
        # Registers checks only; no model is loaded here (models load on first use).
        from django.core import checks

        from llm.checks import check_model_slots

        checks.register(check_model_slots, "models")
