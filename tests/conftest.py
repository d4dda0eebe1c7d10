from __future__ import annotations

import json
import os
from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _inline_optimizations(settings, tmp_path):
    """Runs execute in the test process unless a test asks for the worker; model files are
    looked up in an empty folder so a developer's own downloads never change a result.
    Pages answer in English unless a test asks for another language (the product's default is
    Russian; tests/pages/test_i18n.py checks that default itself)."""
    settings.T2_OPTIMIZE_INLINE = True
    settings.LANGUAGE_CODE = "en"
    # Runs that only the algorithm can answer go to the worker as the others do, unless a test
    # is about computing them here (tests/api/test_algorithm_in_web.py).
    settings.T2_ALGORITHM_IN_WEB = False
    settings.T2_MODELS_DIR = tmp_path / "models"


@pytest.fixture
def post_json(client):
    """POST a JSON body (or raw text) and return the response."""

    def post(url: str, data, **extra):
        payload = data if isinstance(data, str | bytes) else json.dumps(data)
        return client.post(url, payload, content_type="application/json", **extra)

    return post


@pytest.fixture(autouse=True)
def _seed_slots_in_transactional_tests(request):
    """Transactional tests flush the database, data migrations included: put the seed's three
    slots back, as a fresh database has them."""
    marker = request.node.get_closest_marker("django_db")
    if marker and marker.kwargs.get("transaction"):
        request.getfixturevalue("transactional_db")
        import importlib

        from django.apps import apps

        seed = importlib.import_module("llm.migrations.0002_seed_model_slots")
        seed.create_slots(apps, None)


@pytest.fixture(scope="session")
def test_model_path() -> Path:
    """The small real GGUF model (SmolLM2-135M-Instruct Q4_1) that scripts/test fetches."""
    cache = Path(os.environ.get("T2_TEST_MODEL_DIR") or Path.home() / ".cache" / "t2routes")
    path = cache / "SmolLM2-135M-Instruct.Q4_1.gguf"
    if not path.exists():
        pytest.fail(f"{path} is missing: run `python scripts/fetch_test_model.py` first")
    return path
