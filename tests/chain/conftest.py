"""The chain with real models: the small test model in a slot, locally or behind a server."""

from __future__ import annotations

import pytest

from llm.models import ModelSlot
from llm.runtime import configure_pool, get_pool
from tests.llm_remote.conftest import llama_server  # noqa: F401 (fixture)


@pytest.fixture
def fresh_pool():
    """A pool of this test's own, so loads and budgets do not leak between tests."""
    pool = configure_pool(budget_bytes=None, keep_alive_seconds=None)
    yield pool
    get_pool().close()


@pytest.fixture
def slot_with_model(test_model_path, fresh_pool):
    """Point a slot at the small real model with test-sized settings."""

    def configure(name: str = "qwen", **fields) -> ModelSlot:
        values = {
            "model_file": str(test_model_path),
            "n_ctx": 2048,
            "n_threads": 2,
            "n_gpu_layers": 0,
            "timeout": 60,
            "max_tokens": 256,
            **fields,
        }
        ModelSlot.objects.filter(name=name).update(**values)
        return ModelSlot.objects.get(name=name)

    return configure
