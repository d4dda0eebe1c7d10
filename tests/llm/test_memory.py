"""The memory estimate against what loading the real model takes, and the GGUF header reader."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from llm import memory

ROOT = Path(__file__).resolve().parents[2]
MiB = 1024**2

# Loads the model through the pool in a fresh process, so that nothing a test loaded before
# (or freed into the allocator's cache) blurs the resident-memory difference.
MEASURE = """
import json, sys
from pathlib import Path
import psutil
from llm.runtime import LocalModel, ModelPool
path, n_ctx = Path(sys.argv[1]), int(sys.argv[2])
process = psutil.Process()
before = process.memory_info().rss
pool = ModelPool()
pool.generate(
    LocalModel("measure", path, 2, 0, n_ctx, 512),
    [{"role": "user", "content": "Name three colours. " * 40}],
    grammar='root ::= "[" [1-3] ("," [1-3]){2} "]"', max_tokens=16, temperature=0, timeout=120,
)
print(json.dumps({"rss_increase": process.memory_info().rss - before}))
"""


def measured_rss_increase(path: Path, n_ctx: int) -> int:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run(
        [sys.executable, "-c", MEASURE, str(path), str(n_ctx)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])["rss_increase"]


@pytest.mark.llm
@pytest.mark.parametrize("n_ctx", [512, 4096])
def test_the_estimate_covers_what_loading_the_model_takes_without_overstating_it(
    test_model_path, n_ctx
):
    estimate = memory.estimate_bytes(test_model_path, n_ctx, 512)
    taken = measured_rss_increase(test_model_path, n_ctx)

    assert taken > test_model_path.stat().st_size  # the weights really are in memory
    assert taken <= estimate < 4 * taken


def test_the_header_gives_the_models_shape(test_model_path):
    shape = memory.model_shape(test_model_path)
    assert (shape.architecture, shape.n_layer, shape.n_embd) == ("llama", 30, 576)
    assert (shape.n_head, shape.n_head_kv, shape.head_dim_k, shape.n_vocab) == (9, 3, 64, 49152)


def test_the_kv_cache_is_sized_as_llama_cpp_sizes_it(test_model_path):
    # llama.cpp reports "KV buffer size = 11.25 MiB" at n_ctx 512 and 180 MiB at 8192.
    shape = memory.model_shape(test_model_path)
    assert memory.kv_cache_bytes(shape, 512) == 11.25 * MiB
    assert memory.kv_cache_bytes(shape, 8192) == 180 * MiB


def test_the_header_reader_skips_the_vocabulary_but_keeps_scalars(test_model_path):
    metadata = memory.read_gguf_metadata(test_model_path)
    assert metadata["general.architecture"] == "llama"
    assert metadata["llama.context_length"] == 8192
    assert metadata["tokenizer.ggml.tokens"] == 49152  # an array of strings, only counted
    assert "chat_template" in "".join(metadata)


@pytest.mark.parametrize(
    "content, says",
    [
        (b"PK\x03\x04 a zip file", "no GGUF magic"),
        (b"GGUF\x07\x00\x00\x00", "unsupported GGUF version 7"),
        (b"GGUF\x03\x00\x00\x00\x01", "header ends early"),
    ],
)
def test_a_file_that_is_not_gguf_is_a_gguf_error(tmp_path, content, says):
    path = tmp_path / "model.gguf"
    path.write_bytes(content)
    with pytest.raises(memory.GGUFError, match=says):
        memory.read_gguf_metadata(path)


def test_without_a_readable_header_the_estimate_is_generous(tmp_path):
    path = tmp_path / "model.gguf"
    path.write_bytes(os.urandom(MiB))
    assert memory.estimate_bytes(path, 2048) >= MiB + 2048 * memory.KV_BYTES_PER_TOKEN_FALLBACK


def test_a_longer_context_costs_more_memory(test_model_path):
    assert memory.estimate_bytes(test_model_path, 8192) > memory.estimate_bytes(
        test_model_path, 512
    )


def test_free_memory_is_part_of_total_memory():
    assert 0 < memory.available_bytes() <= memory.total_bytes()


@pytest.mark.parametrize(
    "n_bytes, text",
    [
        (20.4 * memory.GB, "20.4 GB"),
        (7.46 * memory.GB, "7.5 GB"),
        (0.345 * memory.GB, "0.34 GB"),
        (0, "0.00 GB"),
    ],
)
def test_sizes_read_in_gigabytes(n_bytes, text):
    assert memory.format_gb(n_bytes) == text
