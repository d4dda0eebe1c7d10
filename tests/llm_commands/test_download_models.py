"""manage.py download_models: the seed's files through huggingface-hub."""

from __future__ import annotations

import os

import pytest
from django.core.management import CommandError, call_command

from llm.models import ModelSlot
from tests.hub_standin import serve_hub

pytestmark = pytest.mark.django_db


def test_it_downloads_the_chosen_quantization_and_records_it_on_the_slot(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_DISABLE_XET", "1")
    data = os.urandom(256 * 1024)
    files = {("Qwen/Qwen2-0.5B-Instruct-GGUF", "qwen2-0_5b-instruct-q2_k.gguf"): data}

    with serve_hub(files) as (url, hub):
        call_command(
            "download_models", "qwen", "--quant", "q2_k", "--dir", tmp_path, "--endpoint", url
        )

    saved = tmp_path / "qwen2-0_5b-instruct-q2_k.gguf"
    assert saved.read_bytes() == data
    slot = ModelSlot.objects.get(name="qwen")
    assert slot.model_file == str(saved)
    assert (slot.hf_repo, slot.quantization) == ("Qwen/Qwen2-0.5B-Instruct-GGUF", "Q2_K")
    assert any(r[0] == "GET" and r[1].endswith("q2_k.gguf") for r in hub.requests)


def test_it_names_the_file_the_hub_does_not_have(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_DISABLE_XET", "1")
    with serve_hub({}) as (url, _hub), pytest.raises(CommandError, match="no file"):
        call_command("download_models", "llama", "--dir", tmp_path, "--endpoint", url)

    assert ModelSlot.objects.get(name="llama").model_file == "Llama-3.2-1B-Instruct-Q4_K_M.gguf"


def test_an_unknown_quantization_lists_the_known_ones(tmp_path):
    with pytest.raises(CommandError, match="Q2_K, Q3_K_M, Q4_K_M, Q6_K, Q8_0"):
        call_command("download_models", "tpro", "--quant", "Q5_K_M", "--dir", tmp_path)


def test_an_unknown_slot_is_refused(tmp_path):
    with pytest.raises(CommandError, match="unknown slot 'gpt'"):
        call_command("download_models", "gpt", "--dir", tmp_path)


def test_offline_gives_a_clear_message(tmp_path, monkeypatch):
    # HF_HUB_OFFLINE is read when huggingface_hub is imported; its constants module is patched
    # instead, which is what the variable sets.
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(CommandError, match="unreachable"):
        call_command("download_models", "qwen", "--dir", tmp_path)


def test_the_real_hub_is_unreachable_here_and_the_message_says_so(tmp_path, monkeypatch):
    # A real failure: this machine cannot reach huggingface.co (DNS fails), and the command
    # must say so instead of a traceback. The library retries a few times (about 20 s).
    monkeypatch.setenv("HF_HUB_DOWNLOAD_TIMEOUT", "3")
    with pytest.raises(CommandError, match="could not download"):
        call_command("download_models", "qwen", "--quant", "Q2_K", "--dir", tmp_path)
    assert not (tmp_path / "qwen2-0_5b-instruct-q2_k.gguf").exists()


def test_list_shows_the_seed_table(capsys):
    call_command("download_models", "--list")

    out = capsys.readouterr().out
    assert "t-tech/T-pro-it-1.0-Q4_K_M-GGUF" in out
    assert "VOIDER/T-pro-it-1.0-Q2_K-GGUF" in out
    assert "bartowski/Llama-3.2-1B-Instruct-GGUF" in out
