"""The fallback chain with real inference on the small test model (SmolLM2-135M)."""

from __future__ import annotations

import pytest

from llm.models import Attempt, ModelSlot
from routes.models import RouteRun
from tests.factories import body, sample_requests, seed_example

pytestmark = [pytest.mark.llm, pytest.mark.django_db]

SIX_POINTS = sample_requests()[2]


def _attempts(answer):
    return {a["model"]: a for a in answer["attempts"]}


def test_a_working_first_slot_answers_and_the_rest_are_not_tried(post_json, slot_with_model):
    slot_with_model("qwen")

    answer = post_json("/optimize", SIX_POINTS).json()

    assert answer["model_used"] == "qwen"
    assert [a["model"] for a in answer["attempts"]] == ["qwen"]
    assert answer["fallback_reason"] is None
    assert answer["violations"] == 0
    attempt = Attempt.objects.get(slot="qwen")
    assert attempt.status == "ok"
    assert attempt.prompt_tokens > 0 and attempt.completion_tokens > 0
    assert attempt.load_ms > 0
    assert attempt.tokens_per_second > 0
    assert set(attempt.metrics) == {"proposal", "final", "algorithm"}
    assert attempt.metrics["final"]["violations"] == 0


def test_the_model_loads_once_and_stays_loaded(post_json, slot_with_model, fresh_pool):
    slot_with_model("qwen")

    post_json("/optimize", SIX_POINTS)
    post_json("/optimize", SIX_POINTS)

    first, second = Attempt.objects.filter(slot="qwen").order_by("created_at", "id")
    assert first.load_ms > 0
    assert not second.load_ms
    assert [m["name"] for m in fresh_pool.loaded()] == ["qwen"]


def test_it_falls_back_when_model_file_is_missing(post_json, slot_with_model):
    slot_with_model("llama")  # qwen and tpro keep the seed's files, which are not here

    answer = post_json("/optimize", SIX_POINTS).json()

    assert answer["model_used"] == "llama"
    attempts = _attempts(answer)
    assert attempts["qwen"]["status"] == "not_found"
    assert (
        "GGUF model file not found: qwen2-0_5b-instruct-q4_k_m.gguf" in attempts["qwen"]["reason"]
    )
    assert attempts["tpro"]["status"] == "not_found"
    assert answer["fallback_reason"].startswith("qwen: GGUF model file not found")


def test_a_corrupt_gguf_is_an_error_and_the_chain_goes_on(post_json, slot_with_model, tmp_path):
    broken = tmp_path / "broken.gguf"
    broken.write_bytes(b"GGUF" + b"\x03\x00\x00\x00" + b"\xde\xad\xbe\xef" * 1000)
    slot_with_model("qwen", model_file=str(broken))
    slot_with_model("llama")

    answer = post_json("/optimize", SIX_POINTS).json()

    assert _attempts(answer)["qwen"]["status"] == "error"
    assert "broken.gguf" in _attempts(answer)["qwen"]["reason"]
    assert answer["model_used"] == "llama"


def test_a_tiny_timeout_is_recorded_as_a_timeout(post_json, slot_with_model):
    slot_with_model("qwen", timeout=0.05)

    answer = post_json("/optimize", body(30)).json()

    assert _attempts(answer)["qwen"]["status"] == "timeout"
    assert answer["model_used"] == "greedy"


def test_a_prompt_over_n_ctx_fails_fast_with_the_numbers(post_json, slot_with_model):
    slot_with_model("qwen", n_ctx=256)

    answer = post_json("/optimize", body(40)).json()

    qwen = _attempts(answer)["qwen"]
    assert qwen["status"] == "context_overflow"
    assert "n_ctx is 256" in qwen["reason"]
    assert qwen["duration_ms"] < 2000


def test_a_memory_budget_too_small_refuses_the_load(post_json, slot_with_model, fresh_pool):
    slot_with_model("qwen")
    fresh_pool.budget_bytes = 10 * 1024 * 1024

    answer = post_json("/optimize", SIX_POINTS).json()

    qwen = _attempts(answer)["qwen"]
    assert qwen["status"] == "refused_memory"
    assert "GB" in qwen["reason"]
    assert fresh_pool.loaded() == []


def test_the_quality_gate_rejects_a_route_it_cannot_accept(post_json, slot_with_model, settings):
    # A tolerance below zero asks the model to beat the algorithm by 50%: it cannot.
    settings.T2_QUALITY_TOLERANCE = -0.5
    slot_with_model("qwen")

    answer = post_json("/optimize", SIX_POINTS).json()

    qwen = _attempts(answer)["qwen"]
    assert qwen["status"] == "rejected"
    assert "algorithm's" in qwen["reason"]
    assert answer["model_used"] == "greedy"
    assert Attempt.objects.get(slot="qwen").metrics["final"]["travel_minutes"] > 0


def test_the_seed_endpoint_runs_that_model_alone(post_json, slot_with_model):
    slot_with_model("llama")

    response = post_json("/llama/optimize", seed_example())

    assert response.status_code == 200
    assert response.json()["model_used"] == "llama"
    assert RouteRun.objects.get().requested_model == "llama"


def test_a_slot_on_a_remote_server_answers_through_it(post_json, llama_server, monkeypatch):
    monkeypatch.setenv("QWEN_API_ENDPOINT", llama_server.url)
    monkeypatch.setenv("QWEN_MODEL_ID", llama_server.model)
    ModelSlot.objects.filter(name="qwen").update(timeout=60, max_tokens=256)

    answer = post_json("/qwen/optimize", SIX_POINTS).json()

    assert answer["model_used"] == "qwen"
    assert Attempt.objects.get(slot="qwen").completion_tokens > 0


def test_a_remote_server_that_is_down_is_an_error_naming_it(post_json, monkeypatch):
    monkeypatch.setenv("QWEN_API_ENDPOINT", "http://127.0.0.1:9/v1")

    response = post_json("/qwen/optimize", seed_example())

    assert response.status_code == 503
    assert "127.0.0.1:9" in response.json()["error"]


def test_the_answer_carries_each_attempts_timings_and_what_the_model_contributed(
    post_json, slot_with_model
):
    slot_with_model("qwen")

    attempt = _attempts(post_json("/optimize", SIX_POINTS).json())["qwen"]

    assert attempt["load_ms"] > 0 and attempt["prompt_ms"] > 0
    assert attempt["prompt_tokens"] > 0 and attempt["completion_tokens"] > 0
    assert attempt["tokens_per_second"] > 0
    km = attempt["route_km"]
    assert km["proposal"] > 0 and km["algorithm"] > 0
    assert km["final"] <= km["proposal"] + 1e-6  # repair and improvement never lengthen it


def test_a_run_writes_its_progress_as_it_goes_and_ends_with_none(slot_with_model, monkeypatch):
    import routes.optimize
    from routes.optimize import RunProgress, create_run, execute
    from routes.schema import parse_request

    slot_with_model("qwen")
    run = create_run(parse_request(SIX_POINTS), only=None, fallback=True)
    steps = []

    class Recording(RunProgress):
        def step(self, slot, phase, **details):
            steps.append((slot, phase))
            super().step(slot, phase, **details)

    monkeypatch.setattr(routes.optimize, "RunProgress", Recording)
    run = execute(run)

    phases = [phase for slot, phase in steps if slot == "qwen"]
    assert phases[:2] == ["starting", "waiting"]
    assert {"prompt", "generating", "checking"} <= set(phases)
    assert run.progress == {} and run.status == "done"
    assert run.attempts.get().slot == "qwen"


def test_cancelling_while_the_model_generates_stops_it_and_keeps_what_was_done(
    slot_with_model, monkeypatch
):
    import routes.optimize
    from routes.optimize import RunProgress, create_run, execute
    from routes.schema import parse_request

    slot_with_model("qwen")
    run = create_run(parse_request(SIX_POINTS), only=None, fallback=True)

    class CancelAfterTwoTokens(RunProgress):
        def tokens(self, slot, count, tokens_per_second):
            if count == 2:  # the user presses Cancel while the answer is being written
                RouteRun.objects.filter(pk=self.run.pk).update(cancel_requested=True)
                self._checked = 0.0
            super().tokens(slot, count, tokens_per_second)

    monkeypatch.setattr(routes.optimize, "RunProgress", CancelAfterTwoTokens)
    run = execute(run)

    assert run.status == "cancelled"
    attempt = run.attempts.get()
    assert attempt.slot == "qwen" and attempt.status == "cancelled"
    assert "cancelled while generating" in attempt.reason
