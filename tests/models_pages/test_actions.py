"""Staff actions: warm up and unload a slot in the process that holds the models."""

from __future__ import annotations

import re

import pytest
from django_tasks_db.models import DBTaskResult

from llm.models import ModelSlot, SlotAction
from llm.runtime import configure_pool, get_pool
from llm.tasks import perform_slot_action

pytestmark = pytest.mark.django_db


@pytest.fixture
def fresh_pool():
    pool = configure_pool(budget_bytes=None, keep_alive_seconds=None)
    yield pool
    get_pool().close()


def test_anonymous_posts_are_sent_to_log_in(client):
    response = client.post("/models/qwen/warm-up")

    assert response.status_code == 302
    assert not SlotAction.objects.exists()


@pytest.mark.parametrize("action", ["warm-up", "unload"])
def test_a_user_who_is_not_staff_gets_403_and_nothing_is_queued(user_client, action):
    response = user_client.post(f"/models/qwen/{action}")

    assert response.status_code == 403
    assert not SlotAction.objects.exists()
    assert not DBTaskResult.objects.exists()


def test_only_staff_see_the_buttons(user_client, staff):
    html = user_client.get("/models/").content.decode()
    assert "/models/qwen/warm-up" not in html

    user_client.force_login(staff)
    html = user_client.get("/models/").content.decode()
    assert 'action="/models/qwen/warm-up"' in html
    assert 'action="/models/qwen/unload"' in html


def test_a_get_does_not_act(staff_client):
    assert staff_client.get("/models/qwen/warm-up").status_code == 405
    assert not SlotAction.objects.exists()


def test_warming_up_a_slot_without_its_file_shows_the_reason(staff_client, staff, fresh_pool):
    response = staff_client.post("/models/qwen/warm-up")

    assert response.status_code == 302
    action = SlotAction.objects.get()
    assert (action.slot.name, action.kind, action.status) == ("qwen", "warm_up", "failed")
    assert action.requested_by == staff
    assert "GGUF model file not found" in action.reason
    html = staff_client.get("/models/").content.decode()
    assert "GGUF model file not found: qwen2-0_5b-instruct-q4_k_m.gguf" in html
    assert fresh_pool.loaded() == []


@pytest.mark.llm
def test_warm_up_loads_the_model_and_unload_frees_it(staff_client, test_model_path, fresh_pool):
    ModelSlot.objects.filter(name="llama").update(
        model_file=str(test_model_path), n_ctx=512, n_threads=2, n_gpu_layers=0
    )

    staff_client.post("/models/llama/warm-up")

    action = SlotAction.objects.get()
    assert action.status == "done" and action.load_ms > 0
    assert [m["name"] for m in fresh_pool.loaded()] == ["llama"]
    html = staff_client.get("/models/").content.decode()
    shown = re.search(r"loaded in (\d+) ms", html)
    assert shown and abs(int(shown.group(1)) - action.load_ms) <= 0.5  # rounded, half up

    staff_client.post("/models/llama/unload")

    assert fresh_pool.loaded() == []
    assert SlotAction.objects.first().kind == "unload"
    assert SlotAction.objects.first().status == "done"


def test_with_a_worker_the_action_is_queued_and_the_worker_does_it(
    staff_client, settings, fresh_pool
):
    settings.T2_OPTIMIZE_INLINE = False

    response = staff_client.post(
        "/models/tpro/warm-up", headers={"HX-Request": "true", "HX-Target": "slot-tpro-live"}
    )

    html = response.content.decode()
    assert html.lstrip().startswith('<div id="slot-tpro-live"')
    assert "waiting for the worker" in html
    action = SlotAction.objects.get()
    assert action.status == "queued"
    task = DBTaskResult.objects.get()
    assert task.task_path == "llm.tasks.perform_slot_action"
    assert task.args_kwargs["args"] == [action.pk]

    perform_slot_action.call(action.pk)  # what the worker runs

    action.refresh_from_db()
    assert action.status == "failed" and "t-pro-it-1.0-q4_k_m.gguf" in action.reason
    assert action.finished_at is not None


def test_unloading_a_slot_that_is_not_loaded_says_so(staff_client, fresh_pool):
    staff_client.post("/models/qwen/unload")

    action = SlotAction.objects.get()
    assert action.status == "done" and action.reason == "it was not loaded"


def test_an_unknown_slot_is_404(staff_client):
    assert staff_client.post("/models/gpt5/warm-up").status_code == 404
