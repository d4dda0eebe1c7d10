"""The small real model and real sample plans for the local LLM tests.

Models load in a few hundred milliseconds, so each test that is about loading gets a fresh
`ModelPool`; tests that only need answers share one loaded model for the session.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from llm.runtime import LocalModel, ModelPool
from routes.planning import Plan, build_plan
from routes.schema import parse_request
from tests import factories

ROOT = Path(__file__).resolve().parents[2]
TEST_N_CTX = 2048
TEST_THREADS = 2


def _fetch_script():
    spec = importlib.util.spec_from_file_location(
        "fetch_test_model", ROOT / "scripts" / "fetch_test_model.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def test_model_path() -> Path:
    fetch = _fetch_script()
    path = fetch.cache_dir() / Path(fetch.MEMBER).name
    if not path.exists():
        pytest.skip(f"{path} is missing: run `python scripts/fetch_test_model.py` first")
    return path


@pytest.fixture(scope="session")
def make_model(test_model_path: Path) -> Callable[..., LocalModel]:
    """A LocalModel of the test file under a slot name, with test-sized settings."""

    def make(
        name: str = "test", *, path: Path | None = None, n_ctx: int = TEST_N_CTX
    ) -> LocalModel:
        return LocalModel(
            name=name,
            path=path or test_model_path,
            n_threads=TEST_THREADS,
            n_gpu_layers=0,
            n_ctx=n_ctx,
            n_batch=512,
        )

    return make


@pytest.fixture
def pool() -> Iterator[ModelPool]:
    """A fresh pool with nothing loaded; its models are closed after the test."""
    pool = ModelPool()
    yield pool
    pool.close()


@pytest.fixture(scope="session")
def shared_pool() -> Iterator[ModelPool]:
    """One pool for the tests that only need answers, so the model loads once per session."""
    pool = ModelPool()
    yield pool
    pool.close()


def plan_of(body: dict) -> Plan:
    return build_plan(parse_request(body))


@pytest.fixture(scope="session")
def sample_plans() -> dict[int, Plan]:
    """Real plans by stop count: the original project's requests (2, 4, 6, 10 stops) and the
    first 30 and 100 Mordovia points with their own windows and categories."""
    plans = {len(body["locations"]): plan_of(body) for body in factories.sample_requests()}
    points = factories.mordovia_250()
    for n in (30, 100):
        plans[n] = plan_of({"locations": points[:n], "constraints": {}})
    return plans
