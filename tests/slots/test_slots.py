"""Model slots: the seed's defaults, its .env names, file lookup and system checks."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from llm.checks import check_model_slots
from llm.files import ModelFileNotFound, find_model_file
from llm.models import ModelSlot

pytestmark = pytest.mark.django_db


def test_a_fresh_database_holds_the_seeds_three_slots_with_its_defaults():
    table = {
        s.name: (
            s.position,
            s.n_threads,
            s.n_gpu_layers,
            s.n_ctx,
            s.n_batch,
            s.timeout,
            s.model_file,
        )
        for s in ModelSlot.objects.all()
    }

    assert table == {
        "qwen": (1, 4, 0, 2048, 512, 120, "qwen2-0_5b-instruct-q4_k_m.gguf"),
        "tpro": (2, 4, 0, 512, 512, 30, "t-pro-it-1.0-q4_k_m.gguf"),
        "llama": (3, 8, -1, 4096, 256, 120, "Llama-3.2-1B-Instruct-Q4_K_M.gguf"),
    }


def test_the_seeds_env_variables_win_over_the_database(monkeypatch):
    monkeypatch.setenv("TPRO_API_ENDPOINT", "local")
    monkeypatch.setenv("TPRO_MODEL_ID", "T-pro-it-1.0-Q3_K_M.gguf")
    monkeypatch.setenv("LLAMA_API_ENDPOINT", "http://127.0.0.1:8081/v1")
    monkeypatch.setenv("LLAMA_MODEL_ID", "llama-3.2-1b")

    tpro = ModelSlot.objects.get(name="tpro").config
    llama = ModelSlot.objects.get(name="llama").config
    qwen = ModelSlot.objects.get(name="qwen").config

    assert (tpro.backend, tpro.model_file) == ("local", "T-pro-it-1.0-Q3_K_M.gguf")
    assert tpro.from_environment == {"backend", "model_file"}
    assert (llama.backend, llama.endpoint_url, llama.remote_model) == (
        "remote",
        "http://127.0.0.1:8081/v1",
        "llama-3.2-1b",
    )
    assert qwen.from_environment == frozenset()


def test_the_admin_shows_what_comes_from_the_environment(admin_client, monkeypatch):
    monkeypatch.setenv("QWEN_MODEL_ID", "placeholder.gguf")
    slot = ModelSlot.objects.get(name="qwen")

    page = admin_client.get(f"/admin/llm/modelslot/{slot.pk}/change/").content.decode()

    assert "placeholder.gguf" in page
    assert "QWEN_MODEL_ID" in page


def test_a_file_is_found_as_a_path_then_in_the_models_folder_then_the_project(
    tmp_path, monkeypatch
):
    models_dir, project_dir, elsewhere = tmp_path / "models", tmp_path / "project", tmp_path / "cwd"
    for folder in (models_dir, project_dir, elsewhere):
        folder.mkdir()
    (project_dir / "a.gguf").write_bytes(b"project")
    (models_dir / "a.gguf").write_bytes(b"models")
    (project_dir / "b.gguf").write_bytes(b"project")
    monkeypatch.chdir(elsewhere)

    found_a = find_model_file("a.gguf", models_dir=models_dir, project_dir=project_dir)
    found_b = find_model_file("b.gguf", models_dir=models_dir, project_dir=project_dir)
    absolute = find_model_file(
        str(project_dir / "a.gguf"), models_dir=models_dir, project_dir=elsewhere
    )

    assert found_a.read_bytes() == b"models"
    assert found_b.read_bytes() == b"project"
    assert absolute == project_dir / "a.gguf"


def test_a_missing_file_says_where_it_looked_once_each(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the current directory is the project root, as usual
    with pytest.raises(ModelFileNotFound) as error:
        find_model_file("placeholder.gguf", models_dir=tmp_path / "m", project_dir=tmp_path)

    message = str(error.value)
    assert message.startswith("GGUF model file not found: placeholder.gguf")
    assert str(tmp_path / "m" / "placeholder.gguf") in message
    assert message.count(str(tmp_path / "placeholder.gguf")) == 1


def test_checks_warn_about_missing_files_and_bad_config():
    ModelSlot.objects.filter(name="llama").update(backend="remote", endpoint_url="")
    ModelSlot.objects.filter(name="tpro").update(n_threads=64)

    ids = {message.id for message in check_model_slots()}

    assert {"llm.W001", "llm.E002", "llm.I003"} <= ids


def test_manage_py_check_reports_the_missing_model_file(capsys):
    call_command("check")

    assert "qwen2-0_5b-instruct-q4_k_m.gguf" in capsys.readouterr().err


def test_api_models_gives_each_slot_with_its_status(client, post_json):
    post_json(
        "/optimize",
        {
            "locations": [
                {
                    "ID": "a",
                    "name": "",
                    "address": "",
                    "lat": 55,
                    "lon": 37,
                    "time_window_start": "09:00",
                    "time_window_end": "18:00",
                    "priority": "A",
                }
            ]
        },
    )

    slots = {s["name"]: s for s in client.get("/api/models").json()["slots"]}

    assert list(slots) == ["qwen", "tpro", "llama"]
    qwen = slots["qwen"]
    assert qwen["file_found"] is False
    assert qwen["settings"]["n_ctx"] == 2048
    assert qwen["last_attempt"]["status"] == "not_found"
    assert qwen["summary"]["count"] == 1
    assert qwen["summary"]["success_rate"] == 0
