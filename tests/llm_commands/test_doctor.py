"""manage.py doctor: what this machine can run."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from llm.models import ModelSlot

pytestmark = pytest.mark.django_db


def test_doctor_reports_files_memory_gpu_and_scenarios(test_model_path, capsys):
    ModelSlot.objects.filter(name="qwen").update(model_file=str(test_model_path))

    call_command("doctor")

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


def test_doctor_says_when_a_model_does_not_fit_faking_1_mb_free(
    test_model_path, capsys, monkeypatch
):
    ModelSlot.objects.filter(name="qwen").update(model_file=str(test_model_path))
    # A fake: a machine with 1 MB free cannot be produced here for real.
    monkeypatch.setattr("llm.management.commands.doctor.available_bytes", lambda: 1024**2)

    call_command("doctor")

    assert "DOES NOT FIT" in capsys.readouterr().out
