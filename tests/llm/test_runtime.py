"""The local model pool, on the real small model: loading, sharing, memory, timeouts, failures."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from llm import memory, runtime
from llm.runtime import LocalModel, ModelError, ModelPool

pytestmark = pytest.mark.llm

ROOT = Path(__file__).resolve().parents[2]
MESSAGES = [
    {"role": "system", "content": "Reply only with a JSON array of stop numbers."},
    {"role": "user", "content": "Visit stops 1, 2 and 3 in the best order."},
]
ANSWER = 'root ::= "[" num ("," " "? num){2} "]"\nnum ::= [1-3]\n'
# An answer that never ends by itself: 500 digits, so only a deadline or max_tokens stops it.
ENDLESS = "root ::= [0-9]{500}\n"


def ask(pool: ModelPool, model: LocalModel, **overrides) -> runtime.Generation:
    options = {"grammar": ANSWER, "max_tokens": 32, "temperature": 0.0, "timeout": 60.0}
    return pool.generate(model, MESSAGES, **(options | overrides))


def long_messages(words: int) -> list[dict[str, str]]:
    return [{"role": "user", "content": "stop " * words}]


def test_importing_the_llm_modules_loads_no_model_and_not_even_llama_cpp():
    code = "import sys, llm.runtime, llm.prompt, llm.memory; print('llama_cpp' in sys.modules)"
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "t2site.settings"}
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "False"


def test_it_loads_a_model_on_the_first_request_and_reuses_it(pool, make_model):
    model = make_model()
    assert pool.loaded() == []

    first = ask(pool, model)
    second = ask(pool, model)

    assert first.load_ms > 0
    assert second.load_ms == 0.0
    assert second.text.startswith("[") and second.text.endswith("]")
    assert second.prompt_tokens > 10 and second.completion_tokens >= 7  # "[1,2,3]" at least
    assert second.total_ms >= second.prompt_ms + second.generation_ms
    assert second.tokens_per_second > 0
    [entry] = pool.loaded()
    assert entry["name"] == "test" and entry["path"] == str(model.path)
    assert entry["busy"] is False and entry["est_bytes"] > model.path.stat().st_size
    assert entry["loaded_at"] <= entry["last_used"]


def test_a_warm_up_load_makes_the_first_request_skip_loading(pool, make_model):
    model = make_model()
    assert pool.load(model) > 0
    assert pool.load(model) == 0.0
    assert ask(pool, model).load_ms == 0.0


def test_concurrent_first_requests_load_the_model_once_and_all_get_answers(pool, make_model):
    model = make_model()
    start = threading.Barrier(3)
    results: list[runtime.Generation] = []
    errors: list[Exception] = []

    def request() -> None:
        start.wait()
        try:
            results.append(ask(pool, model))
        except Exception as exc:  # collected for the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=request) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert len(results) == 3
    assert sum(1 for r in results if r.load_ms > 0) == 1
    assert all(r.text.startswith("[") for r in results)
    assert len(pool.loaded()) == 1


def test_a_missing_file_is_not_found(pool, make_model, tmp_path):
    model = make_model(path=tmp_path / "nowhere.gguf")
    with pytest.raises(ModelError) as caught:
        ask(pool, model)
    assert caught.value.status == "not_found"
    assert "nowhere.gguf" in caught.value.reason
    assert pool.loaded() == []


def write_random_bytes(path: Path, model_path: Path) -> None:
    path.write_bytes(os.urandom(1 << 20))


def write_magic_then_garbage(path: Path, model_path: Path) -> None:
    path.write_bytes(b"GGUF" + os.urandom(1 << 20))


def write_truncated_model(path: Path, model_path: Path) -> None:
    """A real header (it parses) whose tensor data stops halfway: only llama.cpp notices."""
    with open(model_path, "rb") as source, open(path, "wb") as target:
        target.write(source.read(model_path.stat().st_size // 2))


@pytest.mark.parametrize(
    "write, says",
    [
        (write_random_bytes, "not a valid GGUF file: no GGUF magic"),
        (write_magic_then_garbage, "not a valid GGUF file: unsupported GGUF version"),
        (write_truncated_model, "could not load broken.gguf"),
    ],
    ids=["random-bytes", "magic-then-garbage", "truncated-model"],
)
def test_a_corrupt_file_is_an_error_and_the_pool_still_works(
    pool, make_model, tmp_path, test_model_path, write, says
):
    broken = tmp_path / "broken.gguf"
    write(broken, test_model_path)

    with pytest.raises(ModelError) as caught:
        ask(pool, make_model("broken", path=broken))

    assert caught.value.status == "error"
    assert says in caught.value.reason
    assert pool.loaded() == []
    assert ask(pool, make_model()).text.startswith("[")
    assert [entry["name"] for entry in pool.loaded()] == ["test"]


def test_a_grammar_llama_cpp_cannot_parse_is_an_error_not_a_crash(pool, make_model):
    model = make_model()
    with pytest.raises(ModelError) as caught:
        ask(pool, model, grammar="root ::= [1-")
    assert caught.value.status == "error"
    assert "grammar" in caught.value.reason
    assert ask(pool, model).text.startswith("[")


def test_the_deadline_stops_generation_and_the_model_answers_the_next_request(pool, make_model):
    model = make_model()
    ask(pool, model)  # loaded, so the deadline falls in generation

    started = time.perf_counter()
    with pytest.raises(ModelError) as caught:
        ask(pool, model, grammar=ENDLESS, max_tokens=1000, timeout=1.0)
    waited = time.perf_counter() - started

    assert caught.value.status == "timeout"
    generated = re.fullmatch(r"timed out after 1 s \((\d+) tokens generated\)", caught.value.reason)
    assert generated and int(generated.group(1)) > 0
    assert waited < 1.0 + 0.5  # stopped within a token or so, not after 500 digits
    after = ask(pool, model)
    assert after.load_ms == 0.0 and after.text.startswith("[")


def test_the_deadline_stops_prompt_processing_too(pool, make_model):
    model = make_model()
    ask(pool, model)

    started = time.perf_counter()
    with pytest.raises(ModelError) as caught:
        pool.generate(
            model, long_messages(1500), grammar=ANSWER, max_tokens=32, temperature=0, timeout=0.05
        )
    waited = time.perf_counter() - started

    assert caught.value.status == "timeout"
    assert "while processing the" in caught.value.reason
    assert "0 tokens generated" in caught.value.reason
    assert waited < 0.05 + 0.5  # a 1500-token prompt takes seconds here: it was cut short
    after = ask(pool, model)
    assert after.load_ms == 0.0 and after.text.startswith("[")


def test_a_tiny_timeout_with_a_long_answer_times_out_and_the_model_recovers(pool, make_model):
    model = make_model()
    ask(pool, model)
    with pytest.raises(ModelError) as caught:
        ask(pool, model, grammar=ENDLESS, max_tokens=1000, timeout=0.05)
    assert caught.value.status == "timeout"
    assert caught.value.reason.startswith("timed out after 0.05 s")
    assert ask(pool, model).text.startswith("[")


def test_a_prompt_longer_than_the_context_fails_fast_with_the_numbers(pool, make_model):
    model = make_model(n_ctx=256)
    started = time.perf_counter()
    with pytest.raises(ModelError) as caught:
        pool.generate(
            model, long_messages(400), grammar=ANSWER, max_tokens=32, temperature=0, timeout=60
        )
    assert caught.value.status == "context_overflow"
    overflow = re.match(r"prompt is (\d+) tokens but n_ctx is 256", caught.value.reason)
    assert overflow and int(overflow.group(1)) > 400
    assert time.perf_counter() - started < 5  # a load and a tokenize, no generation


def test_the_prompt_must_leave_room_for_the_answer(pool, make_model):
    model = make_model(n_ctx=256)
    prompt_tokens = pool.count_prompt_tokens(model, MESSAGES)
    with pytest.raises(ModelError) as caught:
        ask(pool, model, answer_tokens=256 - prompt_tokens + 1)
    assert caught.value.status == "context_overflow"
    assert ask(pool, model, answer_tokens=256 - prompt_tokens).text.startswith("[")


def test_a_budget_too_small_for_the_model_refuses_with_gigabytes(make_model):
    pool = ModelPool(budget_bytes=50 * 1024**2)
    try:
        with pytest.raises(ModelError) as caught:
            ask(pool, make_model())
        assert caught.value.status == "refused_memory"
        assert re.match(
            r"test needs ~\d+\.\d+ GB, \d+\.\d+ GB free of the 0\.05 GB model budget",
            caught.value.reason,
        )
        assert pool.loaded() == []
    finally:
        pool.close()


def budget_for_one(model: LocalModel) -> int:
    return int(memory.estimate_bytes(model.path, model.n_ctx, model.n_batch) * 1.5)


def test_when_the_budget_fits_one_model_the_least_recently_used_makes_room(make_model):
    first, second = make_model("first"), make_model("second")
    pool = ModelPool(budget_bytes=budget_for_one(first))
    try:
        ask(pool, first)
        assert [e["name"] for e in pool.loaded()] == ["first"]

        assert ask(pool, second).load_ms > 0
        assert [e["name"] for e in pool.loaded()] == ["second"]

        assert ask(pool, first).load_ms > 0
        assert [e["name"] for e in pool.loaded()] == ["first"]
    finally:
        pool.close()


def test_a_model_in_use_is_never_unloaded_and_others_wait_their_turn(make_model):
    busy, waiting = make_model("busy"), make_model("waiting")
    pool = ModelPool(budget_bytes=budget_for_one(busy))
    ask(pool, busy)
    outcome: list[ModelError] = []

    def long_request() -> None:
        try:
            ask(pool, busy, grammar=ENDLESS, max_tokens=1000, timeout=3.0)
        except ModelError as exc:
            outcome.append(exc)

    worker = threading.Thread(target=long_request)
    try:
        worker.start()
        while not any(entry["busy"] for entry in pool.loaded()):
            time.sleep(0.01)

        with pytest.raises(ModelError) as caught:
            ask(pool, waiting)

        assert caught.value.status == "refused_memory"
        assert "held by models in use: busy" in caught.value.reason

        with pytest.raises(ModelError) as caught:
            ask(pool, busy, timeout=0.3)  # the same model: it waits its turn, on its own clock
        assert caught.value.status == "timeout"
        assert caught.value.reason == (
            "timed out after 0.3 s waiting for busy to be free (0 tokens generated)"
        )

        worker.join()
        assert [e.status for e in outcome] == ["timeout"]
        assert [e["name"] for e in pool.loaded()] == ["busy"]
        assert ask(pool, waiting).load_ms > 0  # idle now, so it makes room
        assert [e["name"] for e in pool.loaded()] == ["waiting"]
    finally:
        worker.join()
        pool.close()


def test_models_idle_past_keep_alive_are_unloaded_without_any_request(make_model):
    pool = ModelPool(keep_alive_seconds=0.3)
    try:
        ask(pool, make_model("idle"))
        assert [e["name"] for e in pool.loaded()] == ["idle"]

        deadline = time.monotonic() + 5
        while pool.loaded() and time.monotonic() < deadline:
            time.sleep(0.05)

        assert pool.loaded() == []
        assert ask(pool, make_model("idle")).load_ms > 0  # and it loads again when asked
    finally:
        pool.close()


def test_a_model_used_within_keep_alive_stays_loaded(make_model):
    pool = ModelPool(keep_alive_seconds=1.0)
    try:
        model = make_model("busy-day")
        for _ in range(3):
            ask(pool, model)
            time.sleep(0.4)

        assert [e["name"] for e in pool.loaded()] == ["busy-day"]
    finally:
        pool.close()


def test_changed_slot_settings_replace_the_loaded_copy(pool, make_model):
    ask(pool, make_model(n_ctx=2048))
    [before] = pool.loaded()

    assert ask(pool, make_model(n_ctx=1024)).load_ms > 0

    [after] = pool.loaded()
    assert after["est_bytes"] < before["est_bytes"]


def test_unload_frees_a_model_and_says_whether_it_was_loaded(pool, make_model):
    ask(pool, make_model("a"))
    ask(pool, make_model("b"))

    assert pool.unload("a") is True
    assert pool.unload("a") is False
    assert [e["name"] for e in pool.loaded()] == ["b"]
    pool.unload_all()
    assert pool.loaded() == []


def test_it_reports_the_llama_cpp_build():
    assert runtime.llama_cpp_version() == "0.3.36"
    assert runtime.gpu_offload_supported() is False  # the CPU build


def test_get_pool_is_one_pool_per_process_and_configure_pool_replaces_it(make_model):
    assert runtime.get_pool() is runtime.get_pool()
    configured = runtime.configure_pool(budget_bytes=10**9, keep_alive_seconds=60)
    try:
        assert runtime.get_pool() is configured
        assert configured.budget_bytes == 10**9 and configured.keep_alive_seconds == 60
        assert configured.loaded() == []
    finally:
        runtime.configure_pool()


def test_without_llama_cpp_faked_missing_it_says_how_to_install(monkeypatch, make_model):
    # A fake: uninstalling the package from the test environment is not an option.
    monkeypatch.setitem(sys.modules, "llama_cpp", None)
    pool = ModelPool()
    with pytest.raises(ModelError) as caught:
        ask(pool, make_model())
    assert caught.value.status == "error"
    assert caught.value.reason == "llama-cpp-python is not installed: pip install llama-cpp-python"
    assert runtime.gpu_offload_supported() is False
    assert runtime.llama_cpp_version() == ""


def test_threads_are_capped_at_the_cpus_this_process_may_use(pool, make_model):
    # The seed sets 4 or 8 threads; oversubscribed llama.cpp threads spin and run slower.
    greedy = LocalModel(**{**make_model().__dict__, "n_threads": 64})
    ask(pool, greedy)
    [entry] = pool.loaded()
    assert entry["n_threads"] == runtime.usable_cpus() == len(os.sched_getaffinity(0))
