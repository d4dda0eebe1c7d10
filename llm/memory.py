"""How much memory a GGUF model will take, and how much the machine has free.

Plain Python (psutil and the file's own header): the model pool asks before every load, and
`doctor`-style checks can ask without loading anything.

The estimate, for a model loaded the way `llm.runtime` loads it (`use_mmap=False`, f16 KV
cache, no flash attention)::

    weights  = file size × WEIGHTS_FACTOR
    kv_cache = 2 (K and V) × n_layer × n_ctx × n_head_kv × head_dim × 2 bytes (f16)
    compute  = 4 bytes × n_ubatch × (n_vocab + n_ctx × n_head)
    total    = weights + kv_cache + compute + OVERHEAD_BYTES

- weights: with `use_mmap=False` the tensors are read into anonymous memory once. Had we
  kept mmap, on x86 the weights llama.cpp repacks for its CPU kernels (Q4_0, Q4_K, IQ4_NL,
  Q8_0…) would stay resident twice, the mapped original pages plus the repacked copy
  (measured: Q4_0 SmolLM2 +175 MiB RSS with mmap, +119 MiB without). The factor leaves room
  for buffers llama.cpp sizes by the weights (token embeddings kept unrepacked, tokenizer).
- kv_cache: exact for llama.cpp's default f16 cache (measured 11.25 MiB at n_ctx 512 and
  180 MiB at 8192 for SmolLM2, as the formula gives).
- compute: llama.cpp reserves its scratch buffer for the worst case of one micro-batch:
  logits for every token of the batch plus the attention scores against the whole context.
  It overstates what becomes resident (98 MiB reserved at n_ctx 512, mostly untouched), which
  is the safe side for a guard.
- The shape numbers come from the GGUF key-value header, which this module parses itself
  (a few milliseconds; `Llama.metadata` exists only after a load). When the header cannot be
  read, KV_BYTES_PER_TOKEN_FALLBACK and the file size stand in.
"""

from __future__ import annotations

import io
import logging
import struct
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, BinaryIO

import psutil

logger = logging.getLogger(__name__)

GB = 1024**3  # as `free -g` and the seed's RAM table count
WEIGHTS_FACTOR = 1.1
OVERHEAD_BYTES = 64 * 1024**2  # llama.cpp context, Python-side arrays, allocator slack
KV_BYTES_PER_TOKEN_FALLBACK = 1024**2  # generous: a 70B model with f16 cache needs ~320 KiB
DEFAULT_N_UBATCH = 512  # llama-cpp-python's n_ubatch; the micro-batch is min(n_batch, this)

GGUF_MAGIC = b"GGUF"


def available_bytes() -> int:
    """Memory a new allocation can take without swapping (free plus reclaimable cache)."""
    return psutil.virtual_memory().available


def total_bytes() -> int:
    return psutil.virtual_memory().total


def format_gb(n_bytes: float) -> str:
    """`20.4 GB`, `0.35 GB`: two decimals below 1 GB so that small models do not read as 0.0."""
    value = n_bytes / GB
    return f"{value:.1f} GB" if abs(value) >= 1 else f"{value:.2f} GB"


@dataclass(frozen=True)
class ModelShape:
    """The few hyper-parameters that size a model's KV cache and scratch buffers."""

    architecture: str
    n_layer: int
    n_embd: int
    n_head: int
    n_head_kv: int
    head_dim_k: int
    head_dim_v: int
    n_vocab: int


class GGUFError(ValueError):
    """The file is not a GGUF file, or its header is damaged."""


# GGUF value types (gguf.h): type id → struct format of a scalar, strings and arrays apart.
_SCALARS = {
    0: "B",
    1: "b",
    2: "H",
    3: "h",
    4: "I",
    5: "i",
    6: "f",
    7: "?",
    10: "Q",
    11: "q",
    12: "d",
}
_STRING, _ARRAY = 8, 9
# Arrays we never need are skipped without decoding (a vocabulary has 150k strings).
_MAX_KEY_BYTES = 1 << 16
_MAX_STRING_BYTES = 1 << 26


def _read(f: BinaryIO, n: int) -> bytes:
    data = f.read(n)
    if len(data) != n:
        raise GGUFError("header ends early")
    return data


def _unpack(f: BinaryIO, fmt: str) -> Any:
    return struct.unpack("<" + fmt, _read(f, struct.calcsize(fmt)))[0]


def _read_string(f: BinaryIO, limit: int = _MAX_STRING_BYTES) -> bytes:
    length = _unpack(f, "Q")
    if length > limit:
        raise GGUFError(f"string of {length} bytes in the header")
    return _read(f, length)


def _read_value(f: BinaryIO, value_type: int, *, keep: bool) -> Any:
    if value_type in _SCALARS:
        return _unpack(f, _SCALARS[value_type])
    if value_type == _STRING:
        return _read_string(f).decode("utf-8", "replace")
    if value_type == _ARRAY:
        item_type, count = _unpack(f, "I"), _unpack(f, "Q")
        if item_type in _SCALARS:
            size = struct.calcsize(_SCALARS[item_type])
            if keep:
                return list(struct.unpack(f"<{count}{_SCALARS[item_type]}", _read(f, size * count)))
            f.seek(size * count, io.SEEK_CUR)
            return count
        if item_type == _STRING:
            for _ in range(count):
                f.seek(_unpack(f, "Q"), io.SEEK_CUR)
            return count
        raise GGUFError(f"unsupported array item type {item_type}")
    raise GGUFError(f"unknown value type {value_type}")


def read_gguf_metadata(path: Path) -> dict[str, Any]:
    """The key-value section of a GGUF file (arrays other than numbers come back as lengths)."""
    with open(path, "rb") as f:
        if f.read(4) != GGUF_MAGIC:
            raise GGUFError("no GGUF magic at the start")
        version = _unpack(f, "I")
        if version not in (2, 3):
            raise GGUFError(f"unsupported GGUF version {version}")
        _tensor_count, kv_count = _unpack(f, "Q"), _unpack(f, "Q")
        if kv_count > 1_000_000:
            raise GGUFError(f"implausible key count {kv_count}")
        metadata: dict[str, Any] = {}
        for _ in range(kv_count):
            key = _read_string(f, _MAX_KEY_BYTES).decode("utf-8", "replace")
            value_type = _unpack(f, "I")
            # Per-layer head counts are numeric arrays worth keeping; token lists are not.
            keep = key.endswith(("head_count", "head_count_kv"))
            metadata[key] = _read_value(f, value_type, keep=keep)
        return metadata


def _as_count(value: Any) -> int:
    """A header count that may be per-layer (an array): the largest layer decides memory."""
    if isinstance(value, list):
        return int(max(value)) if value else 0
    return int(value)


def model_shape(path: Path) -> ModelShape:
    """The model's shape from its header; cached per file version (skipping a 150k-token
    vocabulary costs ~80 ms, and the pool asks before every load)."""
    stat = Path(path).stat()
    return _model_shape(str(path), stat.st_mtime_ns, stat.st_size)


@lru_cache(maxsize=32)
def _model_shape(path: str, _mtime_ns: int, _size: int) -> ModelShape:
    meta = read_gguf_metadata(Path(path))
    arch = meta.get("general.architecture")
    if not isinstance(arch, str):
        raise GGUFError("no general.architecture in the header")

    def get(key: str, default: Any = None) -> Any:
        value = meta.get(f"{arch}.{key}", default)
        if value is None:
            raise GGUFError(f"no {arch}.{key} in the header")
        return value

    n_embd = _as_count(get("embedding_length"))
    n_head = _as_count(get("attention.head_count"))
    n_head_kv = _as_count(get("attention.head_count_kv", n_head)) or n_head
    head_dim = n_embd // max(1, n_head)
    vocab = meta.get(f"{arch}.vocab_size") or meta.get("tokenizer.ggml.tokens") or 0
    return ModelShape(
        architecture=arch,
        n_layer=_as_count(get("block_count")),
        n_embd=n_embd,
        n_head=n_head,
        n_head_kv=n_head_kv,
        head_dim_k=_as_count(get("attention.key_length", head_dim)),
        head_dim_v=_as_count(get("attention.value_length", head_dim)),
        n_vocab=_as_count(vocab),
    )


def kv_cache_bytes(shape: ModelShape, n_ctx: int) -> int:
    return 2 * shape.n_layer * n_ctx * shape.n_head_kv * (shape.head_dim_k + shape.head_dim_v)


def compute_bytes(shape: ModelShape, n_ctx: int, n_batch: int) -> int:
    n_ubatch = min(n_batch, DEFAULT_N_UBATCH)
    return 4 * n_ubatch * (shape.n_vocab + n_ctx * shape.n_head)


def estimate_bytes(path: Path, n_ctx: int, n_batch: int = 512) -> int:
    """Bytes a load of `path` with this context will take (see the module docstring)."""
    file_size = Path(path).stat().st_size
    weights = int(file_size * WEIGHTS_FACTOR)
    try:
        shape = model_shape(path)
    except (GGUFError, OSError, struct.error) as exc:
        logger.info("%s: header unreadable (%s); using the fallback estimate", path, exc)
        return weights + n_ctx * KV_BYTES_PER_TOKEN_FALLBACK + OVERHEAD_BYTES
    return (
        weights
        + kv_cache_bytes(shape, n_ctx)
        + compute_bytes(shape, n_ctx, n_batch)
        + OVERHEAD_BYTES
    )
