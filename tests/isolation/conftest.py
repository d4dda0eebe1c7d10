"""Models in child processes (llm.isolated) on the small real model, with real signals."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import psutil
import pytest

from llm.isolated import IsolatedPool
from llm.models import ModelSlot
from llm.runtime import LocalModel, configure_pool, get_pool


@pytest.fixture(scope="session")
def make_model(test_model_path: Path) -> Callable[..., LocalModel]:
    """A LocalModel of the test file under a slot name, with test-sized settings."""

    def make(name: str = "test", *, n_ctx: int = 2048) -> LocalModel:
        return LocalModel(
            name=name, path=test_model_path, n_threads=2, n_gpu_layers=0, n_ctx=n_ctx, n_batch=512
        )

    return make


@pytest.fixture
def pool() -> Iterator[IsolatedPool]:
    """A fresh isolated pool; its processes are ended after the test."""
    pool = IsolatedPool()
    yield pool
    pool.close()


@pytest.fixture
def isolated_pool() -> Iterator[IsolatedPool]:
    """The process's pool (what the chain uses), isolated whatever the environment says."""
    pool = configure_pool(budget_bytes=None, keep_alive_seconds=None, isolated=True)
    yield pool
    get_pool().close()


@pytest.fixture
def slot_with_model(test_model_path, isolated_pool):
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


def runners() -> list[int]:
    """Pids of this process's live model processes (`python -m llm.runner`)."""
    pids = []
    for child in psutil.Process(os.getpid()).children():
        try:
            if child.status() != psutil.STATUS_ZOMBIE and "llm.runner" in child.cmdline():
                pids.append(child.pid)
        except psutil.NoSuchProcess:
            pass
    return pids


def gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True
