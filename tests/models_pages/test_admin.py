"""The admin: model slots grouped and explained, validated, with .env values read-only; runs
and attempts read-only with links between them."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.forms.models import model_to_dict

from llm.admin import tokens_needed
from llm.models import Attempt, ModelSlot
from routes.optimize import optimize
from routes.schema import parse_request
from tests.factories import body
from tests.models_pages.conftest import make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    client.force_login(
        get_user_model().objects.create_superuser("root", password="a-long-test-password")
    )
    return client


def slot_url(name: str) -> str:
    return f"/admin/llm/modelslot/{ModelSlot.objects.get(name=name).pk}/change/"


def form_data(slot: ModelSlot, **changes) -> dict:
    data = {k: v for k, v in model_to_dict(slot).items() if k != "id" and v is not None}
    data.update(changes)
    if not data.get("enabled"):
        data.pop("enabled", None)
    return data


def test_the_slot_page_groups_fields_and_explains_them_with_the_seed_guide(admin_client):
    html = admin_client.get(slot_url("tpro")).content.decode()

    for title in ("File and source", "llama.cpp settings", "Chain position and role"):
        assert title in html
    assert "-1 = every layer" in html
    assert "needs ~20 GB of RAM" in html
    assert "T-pro-it-1.0-Q3_K_M.gguf" in html and "~16 GB" in html


def test_two_enabled_slots_in_one_position_is_an_error(admin_client):
    llama = ModelSlot.objects.get(name="llama")

    response = admin_client.post(slot_url("llama"), form_data(llama, position=1))

    assert response.status_code == 200
    assert "Position 1 is taken by the enabled slot qwen" in response.content.decode()
    assert ModelSlot.objects.get(name="llama").position == 3


def test_a_disabled_slot_may_share_a_position(admin_client):
    llama = ModelSlot.objects.get(name="llama")

    response = admin_client.post(slot_url("llama"), form_data(llama, position=1, enabled=False))

    assert response.status_code == 302
    assert ModelSlot.objects.get(name="llama").position == 1


def test_a_context_too_small_for_20_stops_is_saved_with_a_warning(admin_client):
    qwen = ModelSlot.objects.get(name="qwen")

    response = admin_client.post(slot_url("qwen"), form_data(qwen, n_ctx=300), follow=True)

    assert ModelSlot.objects.get(name="qwen").n_ctx == 300
    assert f"is smaller than a 20-stop request needs (~{tokens_needed(20)} tokens" in (
        response.content.decode()
    )


def test_the_seed_contexts_of_qwen_and_llama_fit_20_stops():
    assert 300 < tokens_needed(20) <= 2048


def test_values_set_in_the_environment_are_read_only_and_name_the_variable(
    admin_client, monkeypatch
):
    monkeypatch.setenv("QWEN_MODEL_ID", "from-env.gguf")
    qwen = ModelSlot.objects.get(name="qwen")

    html = admin_client.get(slot_url("qwen")).content.decode()

    assert "set by <b>QWEN_MODEL_ID</b>" in html and "from-env.gguf" in html
    assert 'name="model_file"' not in html
    data = form_data(qwen, model_file="typed-in.gguf", n_threads=2)
    assert admin_client.post(slot_url("qwen"), data).status_code == 302
    qwen.refresh_from_db()
    assert qwen.model_file == "qwen2-0_5b-instruct-q4_k_m.gguf" and qwen.n_threads == 2


@pytest.fixture
def run():
    owner = make_user("planner")
    return optimize(parse_request(body(4)), owner=owner)


def test_runs_are_read_only_with_links_to_owner_attempts_and_the_page(admin_client, run):
    html = admin_client.get(f"/admin/routes/routerun/{run.pk}/change/").content.decode()

    assert f'href="/runs/{run.pk}/"' in html
    assert f"/admin/auth/user/{run.owner_id}/change/" in html
    assert f"/admin/llm/attempt/?run__id__exact={run.pk}" in html
    assert "greedy" in html  # the inline attempt
    assert 'name="status"' not in html  # nothing editable
    assert admin_client.get("/admin/routes/routerun/add/").status_code == 403


@pytest.mark.parametrize(
    "query",
    [
        "",
        "?q=planner",
        "?status__exact=done",
        "?model_used__exact=greedy",
        "?created_at__year=YEAR",
    ],
)
def test_the_run_list_filters_and_searches(admin_client, run, query):
    query = query.replace("YEAR", str(run.created_at.year))
    response = admin_client.get(f"/admin/routes/routerun/{query}")

    assert response.status_code == 200
    assert f"/admin/routes/routerun/{run.pk}/change/" in response.content.decode()


@pytest.mark.parametrize("query", ["", "?status__exact=ok", "?slot__exact=greedy", "?q=planner"])
def test_attempts_are_listed_read_only_with_a_link_to_their_run(admin_client, run, query):
    attempt = Attempt.objects.get(run=run, slot="greedy")

    listing = admin_client.get(f"/admin/llm/attempt/{query}").content.decode()
    page = admin_client.get(f"/admin/llm/attempt/{attempt.pk}/change/").content.decode()

    assert f"/admin/routes/routerun/{run.pk}/change/" in listing
    assert f'href="/runs/{run.pk}/"' in page
    assert 'name="status"' not in page
    assert admin_client.get("/admin/llm/attempt/add/").status_code == 403
