"""The chain with its models in child processes: a real crash of one fails that attempt only."""

from __future__ import annotations

import os
import signal

import pytest

from llm.isolated import IsolatedPool
from llm.models import Attempt
from routes.models import RouteRun
from tests.factories import sample_requests
from tests.isolation.conftest import gone

pytestmark = [pytest.mark.llm, pytest.mark.django_db]

SIX_POINTS = sample_requests()[2]


def _attempts(answer):
    return {a["model"]: a for a in answer["attempts"]}


def run_killing(slot: str, signum: int, monkeypatch) -> tuple[RouteRun, int]:
    """Run the chain, sending a real `signum` to `slot`'s llama.cpp process at its 2nd token."""
    import routes.optimize
    from llm.runtime import get_pool
    from routes.optimize import RunProgress, create_run, execute
    from routes.schema import parse_request

    killed: list[int] = []

    class KillAtTwoTokens(RunProgress):
        def tokens(self, name, count, tokens_per_second):
            if name == slot and count == 2 and not killed:
                [pid] = [m["pid"] for m in get_pool().loaded() if m["name"] == slot]
                os.kill(pid, signum)
                killed.append(pid)
            super().tokens(name, count, tokens_per_second)

    monkeypatch.setattr(routes.optimize, "RunProgress", KillAtTwoTokens)
    run = execute(create_run(parse_request(SIX_POINTS), only=None, fallback=True))
    assert killed, f"{slot} never generated"
    return run, killed[0]


def test_a_real_SIGSEGV_of_the_llama_cpp_process_is_an_error_attempt_and_the_chain_goes_on_to_greedy(
    slot_with_model, isolated_pool, monkeypatch, post_json
):
    assert isinstance(isolated_pool, IsolatedPool)
    slot_with_model("qwen")

    run, pid = run_killing("qwen", signal.SIGSEGV, monkeypatch)

    assert run.status == "done" and run.model_used == "greedy"
    attempt = run.attempts.get(slot="qwen")
    assert attempt.status == "error"
    assert attempt.reason.startswith(
        "the llama.cpp process for qwen died with SIGSEGV (segmentation fault inside llama.cpp) "
        "while generating"
    )
    assert gone(pid)

    # The next request starts the model again and it answers.
    answer = post_json("/optimize", SIX_POINTS).json()
    assert answer["model_used"] == "qwen"
    assert _attempts(answer)["qwen"]["load_ms"] > 0
    assert Attempt.objects.filter(slot="qwen", status="ok").count() == 1


def test_a_real_SIGKILL_of_one_models_process_leaves_the_next_models_process_to_answer(
    slot_with_model, isolated_pool, monkeypatch
):
    slot_with_model("qwen")
    slot_with_model("llama")

    run, pid = run_killing("qwen", signal.SIGKILL, monkeypatch)

    assert run.status == "done" and run.model_used == "llama"
    qwen = run.attempts.get(slot="qwen")
    assert qwen.status == "error" and "died with SIGKILL" in qwen.reason
    assert run.attempts.get(slot="llama").status == "ok"
    [llama] = isolated_pool.loaded()
    assert llama["name"] == "llama" and llama["pid"] not in (pid, os.getpid())


def test_the_worker_state_lists_each_model_with_its_process(slot_with_model, post_json):
    from routes.management.commands.worker import worker_state

    slot_with_model("qwen", max_tokens=1)  # loads, then its answer is cut: the chain goes on
    slot_with_model("llama")
    post_json("/optimize", SIX_POINTS)

    loaded = {m["name"]: m for m in worker_state()["loaded"]}
    assert set(loaded) == {"qwen", "llama"}
    assert loaded["qwen"]["pid"] != loaded["llama"]["pid"]
    assert os.getpid() not in (loaded["qwen"]["pid"], loaded["llama"]["pid"])
