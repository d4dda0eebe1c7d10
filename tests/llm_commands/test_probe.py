"""llm.probe: the short inference in a child process, and how its end is reported."""

from __future__ import annotations

import signal
import sys

import pytest

from llm.probe import probe_model, run_child

# Children that end the way a broken llama.cpp build would, made so by the test itself.
SENDS_ITSELF_SIGILL = "import os, signal; os.kill(os.getpid(), signal.SIGILL)"
SENDS_ITSELF_SIGSEGV = "import os, signal; os.kill(os.getpid(), signal.SIGSEGV)"


def test_it_reports_a_child_the_test_kills_with_sigill_by_signal_name_with_the_fix():
    result = run_child([sys.executable, "-c", SENDS_ITSELF_SIGILL])

    assert not result.ok
    assert result.signal == "SIGILL"
    assert result.returncode == -signal.SIGILL
    assert result.reason == (
        "the inference process died of SIGILL (illegal instruction: this llama.cpp build uses "
        "CPU instructions this host does not run)"
    )
    assert "rm .venv/.llama-build && scripts/run" in result.fix
    assert "T2_LLAMA_AMX=0" in result.fix
    assert result.summary == result.reason


def test_it_names_other_signals_the_test_sends_its_child():
    result = run_child([sys.executable, "-c", SENDS_ITSELF_SIGSEGV])

    assert result.signal == "SIGSEGV"
    assert "segmentation fault" in result.reason


def test_it_stops_a_child_that_does_not_answer_in_time():
    result = run_child([sys.executable, "-c", "import time; time.sleep(30)"], timeout=0.5)

    assert not result.ok
    assert result.reason == "no answer within 0.5 s (the child was stopped)"


def test_it_reports_a_file_that_is_not_a_model_with_the_childs_reason(tmp_path):
    fake = tmp_path / "fake.gguf"
    fake.write_bytes(b"not a model at all")

    result = probe_model(fake, timeout=60)

    assert not result.ok and result.signal == ""
    assert result.returncode == 1
    assert "not a valid GGUF file" in result.reason


@pytest.mark.llm
def test_it_answers_with_the_real_model_and_its_numbers(test_model_path):
    result = probe_model(test_model_path, threads=2, timeout=120)

    assert result.ok, result.reason + "\n" + result.output
    numbers = result.numbers
    assert numbers["prompt_tokens"] > 200  # decoded in a batch
    assert numbers["completion_tokens"] > 0 and numbers["tokens_per_second"] > 0
    assert numbers["threads"] == 2
    assert result.summary.startswith("inference ok: ")
