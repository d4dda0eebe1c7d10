from django.apps import AppConfig


class LlmConfig(AppConfig):
    name = "llm"
    verbose_name = "Language models"

    def ready(self) -> None:
        # Registers checks and sets the pool's limits; no model is loaded here (models load on
        # the first request that needs them).
        from django.conf import settings
        from django.core import checks

        from llm.checks import check_model_slots
        from llm.memory import GB
        from llm.runtime import configure_pool

        checks.register(check_model_slots, "models")
        budget = settings.T2_MEMORY_BUDGET_GB
        configure_pool(
            budget_bytes=int(budget * GB) if budget else None,
            keep_alive_seconds=settings.T2_MODEL_KEEP_ALIVE,
        )
