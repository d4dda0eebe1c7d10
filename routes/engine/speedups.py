"""The engine's compiled scans (``_scan.c``), when they are built and current.

``scan`` is the compiled module, or None: not built (no compiler, a fresh checkout
before ``python -m routes.engine.build``), built from another version of ``_scan.c``
(a stale module is never used), or turned off with ``T2_ENGINE_PURE=1``. With None the
engine runs the Python references of the same scans; both give the same moves
(tests/engine/test_scan.py).
"""

from __future__ import annotations

import hashlib
import importlib
import os
from pathlib import Path
from types import ModuleType

SOURCE = Path(__file__).with_name("_scan.c")


def source_hash() -> str:
    return hashlib.sha256(SOURCE.read_bytes()).hexdigest()[:16]


def _import() -> ModuleType | None:
    try:
        return importlib.import_module(f"{__package__}._scan")
    except ImportError:
        return None


def built_hash() -> str | None:
    module = _import()
    return getattr(module, "SOURCE_HASH", None) if module is not None else None


def pure_wanted() -> bool:
    return os.environ.get("T2_ENGINE_PURE", "") not in ("", "0")


def load() -> ModuleType | None:
    if pure_wanted() or built_hash() != source_hash():
        return None
    return _import()


scan = load()
