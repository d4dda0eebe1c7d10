"""manage.py doctor: what this machine can run, and whether this llama.cpp build runs here."""

from __future__ import annotations

import re
import sys

import pytest
from django.core.management import call_command

from llm import probe
from llm.management.commands.doctor import compiled_features, host_amx_flags
from llm.models import ModelSlot

pytestmark = pytest.mark.django_db

INFERENCE_OK = re.compile(
    r"inference ok: (\d+) prompt tokens in \d+ ms, (\d+) tokens at [\d.]+ tokens/s "
    r"\([\d.]+ ms/token\), load \d+ ms, \d+ threads"
)


def test_doctor_reports_files_memory_gpu_build_and_scenarios(test_model_path, capsys):
    ModelSlot.objects.filter(name="qwen").update(model_file=str(test_model_path))

    call_command("doctor", no_inference=True)

    out = capsys.readouterr().out
    assert f"file: {test_model_path}" in out
    assert "Q4_1" in out
    assert "fits" in out
    assert "GPU offload: no" in out
    assert "GGUF model file not found: t-pro-it-1.0-q4_k_m.gguf" in out
    assert "manage.py download_models tpro" in out
    assert "A Qwen only: needs 8 GB RAM" in out
    assert "D All three (T-Pro Q4_K_M): needs 32 GB RAM (qwen, tpro, llama): no" in out
    assert "llm.W001" in out
    build = re.search(
        r"^llama.cpp build: compiled for (.*); this CPU reports AMX: (.*)$", out, re.M
    )
    assert build, out
    assert "AVX2=1" in build.group(1) and "AMX_INT8=0" in build.group(1)
    assert "Inference check" not in out


@pytest.mark.llm
def test_doctor_runs_a_short_real_inference_of_the_first_local_slot_in_a_child_process(
    test_model_path, capsys
):
    ModelSlot.objects.filter(name="qwen").update(model_file=str(test_model_path))

    call_command("doctor")

    out = capsys.readouterr().out
    assert "Inference check (qwen: SmolLM2-135M-Instruct.Q4_1.gguf, in a child process):" in out
    ok = INFERENCE_OK.search(out)
    assert ok, out
    # A prompt of a few hundred tokens: llama.cpp decodes it in a batch, where AMX kernels ran.
    assert int(ok.group(1)) > 200 and int(ok.group(2)) > 0


@pytest.mark.llm
def test_doctor_checks_inference_on_the_file_given_with_model(test_model_path, capsys):
    ModelSlot.objects.update(enabled=False)

    call_command("doctor", model=test_model_path)

    out = capsys.readouterr().out
    assert "Inference check (--model: SmolLM2-135M-Instruct.Q4_1.gguf" in out
    assert INFERENCE_OK.search(out), out


def test_doctor_skips_the_inference_check_when_no_model_file_is_found(capsys):
    call_command("doctor")

    out = capsys.readouterr().out
    assert "Inference check: skipped (no enabled local slot has its model file" in out
    assert "inference ok" not in out


def test_doctor_reports_a_crashing_inference_with_its_signal_and_the_fix(
    test_model_path, capsys, monkeypatch
):
    """The child really dies of SIGILL, but the test sends it: a build that traps cannot be
    produced on demand. What is under test is the doctor's report of a crashed child."""
    ModelSlot.objects.filter(name="qwen").update(model_file=str(test_model_path))

    def child_that_sends_itself_sigill(path, **settings):
        return probe.run_child([sys.executable, "-c", SELF_SIGILL])

    monkeypatch.setattr(
        "llm.management.commands.doctor.probe_model", child_that_sends_itself_sigill
    )

    call_command("doctor")

    out = capsys.readouterr().out
    assert (
        "FAILED: the inference process died of SIGILL (illegal instruction: this llama.cpp "
        "build uses CPU instructions this host does not run)" in out
    )
    assert (
        "fix: rebuild llama-cpp-python for this CPU: `rm .venv/.llama-build && scripts/run`" in out
    )
    assert "T2_LLAMA_AMX=0" in out
    assert "inference ok" not in out


SELF_SIGILL = "import os, signal; os.kill(os.getpid(), signal.SIGILL)"


def test_compiled_features_reads_llama_cpps_system_info_and_names_amx_when_left_out():
    info = "CPU : SSE3 = 1 | AVX2 = 1 | AVX512 = 1 | LLAMAFILE = 1 | OPENMP = 1 | REPACK = 1 | "

    assert compiled_features(info) == (
        "SSE3=1 AVX2=1 AVX512=1 LLAMAFILE=1 OPENMP=1 REPACK=1 AMX_INT8=0"
    )
    assert "AMX_INT8=1" in compiled_features("CPU : AVX512 = 1 | AMX_INT8 = 1 |")


def test_host_amx_flags_reads_cpuinfo(tmp_path):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nflags\t\t: fpu sse avx512f amx_bf16 amx_tile amx_int8\n")

    assert host_amx_flags(cpuinfo) == ["amx_tile", "amx_int8", "amx_bf16"]
    assert host_amx_flags(tmp_path / "missing") == []


def test_doctor_says_when_a_model_does_not_fit_faking_1_mb_free(
    test_model_path, capsys, monkeypatch
):
    ModelSlot.objects.filter(name="qwen").update(model_file=str(test_model_path))
    # A fake: a machine with 1 MB free cannot be produced here for real.
    monkeypatch.setattr("llm.management.commands.doctor.available_bytes", lambda: 1024**2)

    call_command("doctor")

    out = capsys.readouterr().out
    assert "DOES NOT FIT" in out
    assert re.search(r"Inference check: skipped \(SmolLM2.*needs ~.*, more than is free\)", out)
