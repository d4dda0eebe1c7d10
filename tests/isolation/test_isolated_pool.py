"""IsolatedPool on the small real model: each loaded model in a child process that answers as
the in-process pool does, and whose real crashes, timeouts and cancels stay in that process."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from llm import isolated, memory
from llm.isolated import IsolatedPool
from llm.progress import Progress
from llm.runtime import LocalModel, ModelError, ModelPool, configure_pool, get_pool
from tests.isolation.conftest import gone, runners

pytestmark = pytest.mark.llm

ROOT = Path(__file__).resolve().parents[2]
MESSAGES = [
    {"role": "system", "content": "Reply only with a JSON array of stop numbers."},
    {"role": "user", "content": "Visit stops 1, 2 and 3 in the best order."},
]
ANSWER = 'root ::= "[" num ("," " "? num){2} "]"\nnum ::= [1-3]\n'
# An answer that never ends by itself: only a deadline, a cancel or a signal stops it.
ENDLESS = "root ::= [0-9]{500}\n"


def ask(pool, model: LocalModel, **overrides):
    options = {"grammar": ANSWER, "max_tokens": 32, "temperature": 0.0, "timeout": 60.0}
    return pool.generate(model, MESSAGES, **(options | overrides))


def pid_of(pool: IsolatedPool, name: str) -> int:
    [pid] = [entry["pid"] for entry in pool.loaded() if entry["name"] == name]
    return pid


class AtToken(Progress):
    """Does `action` when the child reports its `at`-th token; records what it heard."""

    def __init__(self, at: int, action):
        self.at, self.action = at, action
        self.phases: list[str] = []
        self.counts: list[int] = []
        self.acted_at: float | None = None

    def step(self, slot, phase, **details):
        self.phases.append(phase)

    def tokens(self, slot, count, tokens_per_second):
        self.counts.append(count)
        if count == self.at and self.acted_at is None:
            self.acted_at = time.perf_counter()
            self.action()


def test_the_child_answers_exactly_as_the_in_process_pool_at_temperature_0(pool, make_model):
    from llm.prompt import build_prompt
    from routes.planning import build_plan
    from routes.schema import parse_request
    from tests.factories import body

    prompt = build_prompt(build_plan(parse_request(body(10))))
    options = {
        "grammar": prompt.grammar,
        "max_tokens": prompt.max_answer_tokens,
        "temperature": 0.0,
        "timeout": 120.0,
    }
    here = ModelPool()
    try:
        expected = here.generate(make_model(), prompt.messages, **options)
    finally:
        here.close()

    answer = pool.generate(make_model(), prompt.messages, **options)

    assert answer.text == expected.text
    assert answer.prompt_tokens == expected.prompt_tokens
    assert answer.completion_tokens == expected.completion_tokens
    assert answer.load_ms > 0 and answer.tokens_per_second > 0
    assert answer.total_ms >= answer.prompt_ms + answer.generation_ms
    [pid] = runners()
    assert pid_of(pool, "test") == pid != os.getpid()
    assert pool.count_prompt_tokens(make_model(), prompt.messages) == expected.prompt_tokens


def test_it_starts_the_process_on_the_first_request_and_reuses_it(pool, make_model):
    model = make_model()
    assert pool.loaded() == [] and runners() == []

    first = ask(pool, model)
    pid = pid_of(pool, "test")
    second = ask(pool, model)

    assert first.load_ms > 0 and second.load_ms == 0.0
    assert second.text.startswith("[") and second.text.endswith("]")
    assert pid_of(pool, "test") == pid
    [entry] = pool.loaded()
    assert entry["busy"] is False and entry["est_bytes"] > model.path.stat().st_size
    assert entry["n_threads"] == 2


def test_progress_comes_from_the_child_in_order_and_per_token(pool, make_model):
    progress = AtToken(at=-1, action=lambda: None)

    generation = ask(pool, make_model(), progress=progress)

    assert progress.phases == ["waiting", "loading", "prompt", "generating"]
    assert progress.counts == list(range(1, len(progress.counts) + 1))
    assert len(progress.counts) >= generation.completion_tokens - 1


def test_a_real_SIGKILL_of_the_llama_cpp_process_while_generating_is_an_error_naming_it_and_the_next_request_starts_it_again(
    pool, make_model
):
    model = make_model()
    ask(pool, model)
    pid = pid_of(pool, "test")
    kill = AtToken(at=3, action=lambda: os.kill(pid, signal.SIGKILL))

    with pytest.raises(ModelError) as caught:
        ask(pool, model, grammar=ENDLESS, max_tokens=400, progress=kill)

    assert caught.value.status == "error"
    assert re.fullmatch(
        r"the llama.cpp process for test died with SIGKILL \(killed, usually by the kernel's "
        r"out-of-memory killer\) while generating \(\d+ tokens generated\); the next request "
        r"starts it again",
        caught.value.reason,
    ), caught.value.reason
    assert time.perf_counter() - kill.acted_at < 2
    assert gone(pid) and pool.loaded() == []

    after = ask(pool, model)

    assert after.load_ms > 0 and after.text.startswith("[")
    assert pid_of(pool, "test") != pid


def test_a_real_SIGSEGV_of_the_llama_cpp_process_while_generating_is_named_as_a_segmentation_fault(
    pool, make_model
):
    model = make_model()
    ask(pool, model)
    pid = pid_of(pool, "test")

    with pytest.raises(ModelError) as caught:
        ask(
            pool,
            model,
            grammar=ENDLESS,
            max_tokens=400,
            progress=AtToken(at=3, action=lambda: os.kill(pid, signal.SIGSEGV)),
        )

    assert caught.value.status == "error"
    assert "died with SIGSEGV (segmentation fault inside llama.cpp) while generating" in (
        caught.value.reason
    )
    assert ask(pool, model).text.startswith("[")


def test_a_process_killed_while_idle_is_started_again_by_the_next_request(pool, make_model):
    model = make_model()
    pool.load(model)
    pid = pid_of(pool, "test")
    os.kill(pid, signal.SIGKILL)
    # Until every thread of the killed process has exited it cannot be reaped: wait for that.
    deadline = time.monotonic() + 10
    while pool.loaded() and time.monotonic() < deadline:
        time.sleep(0.01)

    assert pool.loaded() == [] and gone(pid)
    after = ask(pool, model)
    assert after.load_ms > 0 and after.text.startswith("[")


def test_the_deadline_holds_in_the_child_and_the_process_lives_on(pool, make_model):
    model = make_model()
    ask(pool, model)
    pid = pid_of(pool, "test")

    started = time.perf_counter()
    with pytest.raises(ModelError) as caught:
        ask(pool, model, grammar=ENDLESS, max_tokens=1000, timeout=1.0)
    waited = time.perf_counter() - started

    assert caught.value.status == "timeout"
    assert re.fullmatch(r"timed out after 1 s \(\d+ tokens generated\)", caught.value.reason)
    assert waited < 1.0 + 0.5
    after = ask(pool, model)
    assert after.load_ms == 0.0 and pid_of(pool, "test") == pid


def test_a_child_that_does_not_answer_past_the_deadline_is_killed_by_the_parent(
    pool, make_model, monkeypatch
):
    monkeypatch.setattr(isolated, "GRACE_SECONDS", 0.5)
    model = make_model()
    ask(pool, model)
    pid = pid_of(pool, "test")
    # SIGSTOP freezes the real process mid-answer: it cannot honour its own deadline.
    freeze = AtToken(at=2, action=lambda: os.kill(pid, signal.SIGSTOP))

    started = time.perf_counter()
    with pytest.raises(ModelError) as caught:
        ask(pool, model, grammar=ENDLESS, max_tokens=1000, timeout=1.5, progress=freeze)
    waited = time.perf_counter() - started

    assert caught.value.status == "timeout"
    assert caught.value.reason.startswith(
        "timed out after 1.5 s: the llama.cpp process for test did not stop within 0.5 s of "
        "the deadline and was killed ("
    )
    assert 1.5 + 0.5 <= waited < 1.5 + 0.5 + 1.5
    assert gone(pid) and pool.loaded() == []
    assert ask(pool, model).load_ms > 0


def test_cancelling_stops_the_child_within_a_second_and_keeps_the_model(pool, make_model):
    model = make_model()
    ask(pool, model)
    pid = pid_of(pool, "test")

    class CancelAtThree(AtToken):
        def cancelled(self):
            return self.acted_at is not None

    cancel = CancelAtThree(at=3, action=lambda: None)
    with pytest.raises(ModelError) as caught:
        ask(pool, model, grammar=ENDLESS, max_tokens=1000, progress=cancel)

    assert caught.value.status == "cancelled"
    assert re.fullmatch(r"cancelled while generating \(\d+ tokens generated\)", caught.value.reason)
    assert time.perf_counter() - cancel.acted_at < 1.0
    assert ask(pool, model).load_ms == 0.0 and pid_of(pool, "test") == pid


def test_two_models_run_in_two_processes_and_unloading_ends_the_process(pool, make_model):
    pool.load(make_model("first"))
    pool.load(make_model("second"))
    first, second = pid_of(pool, "first"), pid_of(pool, "second")

    assert first != second and sorted(runners()) == sorted([first, second])
    assert ask(pool, make_model("second")).load_ms == 0.0

    assert pool.unload("first") is True
    assert gone(first) and runners() == [second]
    assert [entry["name"] for entry in pool.loaded()] == ["second"]
    assert pool.unload("first") is False

    pool.unload_all()
    assert gone(second) and runners() == []


def test_idle_processes_end_after_the_keep_alive(make_model):
    pool = IsolatedPool(keep_alive_seconds=0.5)
    try:
        pool.load(make_model())
        pid = pid_of(pool, "test")
        deadline = time.monotonic() + 10
        # The pool forgets the slot once its process has exited (not before: a second copy
        # must not start while the first is still ending), so wait for both.
        while not (gone(pid) and pool.loaded() == []) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert gone(pid) and pool.loaded() == []
    finally:
        pool.close()


def budget_for_one(model: LocalModel) -> int:
    return int(
        (memory.estimate_bytes(model.path, model.n_ctx, model.n_batch) + isolated.PROCESS_BYTES)
        * 1.5
    )


def test_the_parent_guards_memory_ending_the_least_recently_used_process(make_model):
    first, second = make_model("first"), make_model("second")
    pool = IsolatedPool(budget_bytes=budget_for_one(first))
    try:
        pool.load(first)
        pid = pid_of(pool, "first")

        assert ask(pool, second).load_ms > 0

        assert gone(pid) and [entry["name"] for entry in pool.loaded()] == ["second"]
    finally:
        pool.close()


def test_a_budget_too_small_refuses_before_any_process_starts(make_model):
    pool = IsolatedPool(budget_bytes=50 * 1024**2)
    try:
        with pytest.raises(ModelError) as caught:
            ask(pool, make_model())
        assert caught.value.status == "refused_memory"
        assert "GB free of the 0.05 GB model budget" in caught.value.reason
        assert runners() == [] and pool.loaded() == []
    finally:
        pool.close()


def test_a_missing_file_is_not_found_without_starting_a_process(pool, make_model, tmp_path):
    model = LocalModel("test", tmp_path / "nope.gguf", 2, 0, 2048, 512)
    with pytest.raises(ModelError) as caught:
        ask(pool, model)
    assert caught.value.status == "not_found"
    assert runners() == []


def test_the_model_process_runs_at_a_lower_cpu_priority_than_the_web_server(
    pool, make_model, settings
):
    """Pages and API reads get the cores first while a model generates (T2_MODEL_NICE)."""
    settings.T2_MODEL_NICE = 7
    ask(pool, make_model())

    child = os.getpriority(os.PRIO_PROCESS, pid_of(pool, "test"))
    assert child == min(19, os.getpriority(os.PRIO_PROCESS, 0) + 7)


def test_the_setting_chooses_the_process_pool(settings):
    try:
        settings.T2_ISOLATE_MODELS = True
        assert type(configure_pool()) is IsolatedPool
        settings.T2_ISOLATE_MODELS = False
        assert type(configure_pool()) is ModelPool
        assert type(configure_pool(isolated=True)) is IsolatedPool
    finally:
        get_pool().close()


def test_the_parent_never_loads_llama_cpp(test_model_path):
    code = f"""
import sys
from pathlib import Path
from llm.isolated import IsolatedPool
from llm.runtime import LocalModel
pool = IsolatedPool()
model = LocalModel("test", Path({str(test_model_path)!r}), 2, 0, 2048, 512)
answer = pool.generate(model, {MESSAGES!r}, grammar={ANSWER!r}, max_tokens=32,
                       temperature=0.0, timeout=60)
pool.close()
print(answer.text, "llama_cpp" in sys.modules)
"""
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    text, imported = out.stdout.strip().rsplit(" ", 1)
    assert text.startswith("[") and imported == "False"


def test_ctrl_c_in_the_terminal_does_not_stop_the_model_process(pool, make_model):
    # The worker decides when to stop (it finishes the run in hand first); SIGINT reaches the
    # whole foreground process group, the model's process included.
    model = make_model()
    pool.load(model)
    pid = pid_of(pool, "test")

    os.kill(pid, signal.SIGINT)

    assert ask(pool, model).load_ms == 0.0 and pid_of(pool, "test") == pid


def test_a_model_process_does_not_outlive_a_worker_killed_with_SIGKILL(test_model_path):
    code = f"""
import sys, time
from pathlib import Path
from llm.isolated import IsolatedPool
from llm.runtime import LocalModel
pool = IsolatedPool()
pool.load(LocalModel("test", Path({str(test_model_path)!r}), 2, 0, 2048, 512))
print(pool.loaded()[0]["pid"], flush=True)
time.sleep(600)
"""
    worker = subprocess.Popen(
        [sys.executable, "-c", code], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    try:
        child = int(worker.stdout.readline())
        assert not gone(child)

        worker.kill()
        worker.wait()

        deadline = time.monotonic() + 10
        while not gone(child) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert gone(child)
    finally:
        worker.kill()
        worker.wait()
