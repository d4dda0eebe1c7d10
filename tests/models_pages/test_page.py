"""The models page: who may see it, what each slot's card says, and its filters."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from llm.models import ModelSlot
from routes.models import Worker
from tests.models_pages.conftest import make_attempt, metrics

pytestmark = pytest.mark.django_db

URL = "/models/"


def test_anonymous_visitors_are_sent_to_log_in(client):
    response = client.get(URL)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_a_signed_in_user_sees_one_card_per_slot_in_chain_order(user_client):
    response = user_client.get(URL)

    assert response.status_code == 200
    html = response.content.decode()
    positions = [html.index(f'id="slot-{name}"') for name in ("qwen", "tpro", "llama")]
    assert positions == sorted(positions)
    assert "Qwen2-0.5B-Instruct" in html and "T-Pro-it-1.0" in html
    assert 'aria-current="page">Models' in html


def test_the_card_says_the_file_is_missing_and_where_it_looked(user_client, settings):
    html = user_client.get(URL).content.decode()

    assert "qwen2-0_5b-instruct-q4_k_m.gguf" in html
    assert str(settings.T2_MODELS_DIR / "qwen2-0_5b-instruct-q4_k_m.gguf") in html
    assert "manage.py download_models qwen" in html


def test_the_card_reads_size_and_quantization_from_the_file_and_the_memory_it_needs(
    user_client, test_model_path
):
    ModelSlot.objects.filter(name="qwen").update(model_file=str(test_model_path), n_ctx=1024)

    html = user_client.get(URL).content.decode()

    assert str(test_model_path) in html
    assert "Q4_1" in html
    assert "needs ~" in html and "at this context" in html


def test_settings_from_the_environment_are_named(user_client, monkeypatch):
    monkeypatch.setenv("LLAMA_MODEL_ID", "placeholder.gguf")

    html = user_client.get(URL).content.decode()

    assert "LLAMA_MODEL_ID" in html
    assert "placeholder.gguf" in html


def test_without_a_worker_the_page_says_so(user_client):
    html = user_client.get(URL).content.decode()

    assert "No task worker is running" in html
    assert "no worker running" in html


def test_a_model_loaded_in_the_worker_shows_since_when_and_the_machine_memory(user_client):
    now = timezone.now()
    Worker.objects.create(
        name="host:1",
        state={
            "loaded": [
                {
                    "name": "llama",
                    "path": "/models/llama.gguf",
                    "loaded_at": (now - timedelta(minutes=30)).isoformat(),
                    "last_used": (now - timedelta(minutes=5)).isoformat(),
                    "est_bytes": 1_300_000_000,
                    "n_threads": 2,
                    "busy": False,
                }
            ],
            "free_bytes": 5 * 1024**3,
            "total_bytes": 16 * 1024**3,
        },
    )

    html = user_client.get(URL).content.decode()

    assert "No task worker is running" not in html
    live = html[html.index('id="slot-llama-live"') :]
    assert "loaded</span>" in live[:2000]
    assert "idle for 5" in live[:2000]
    assert "16.0 GB of RAM, 5.0 GB free" in html


def test_the_live_part_answers_an_htmx_poll_alone(user_client):
    response = user_client.get(URL, headers={"HX-Request": "true", "HX-Target": "slot-tpro-live"})

    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<div id="slot-tpro-live"')
    assert "Timing history" not in html


def test_the_figures_cover_the_slot_s_attempts(user_client):
    for ms in (1000, 2000, 3000):
        make_attempt("qwen", duration_ms=ms, load_ms=500 if ms == 1000 else None)
    make_attempt("qwen", status="timeout", duration_ms=9000, reason="no answer within 120 s")

    html = user_client.get(URL).content.decode()
    card = html[html.index('id="slot-qwen"') : html.index('id="slot-tpro"')]

    assert '<dd data-figure="median">2000' in card
    assert "75<small>%" in card
    assert "no answer within 120 s" in card


def test_contribution_is_said_in_plain_words(user_client):
    for final, algorithm in ((30, 30), (29, 30), (31, 31)):
        make_attempt("qwen", metrics=metrics(final + 5, final, algorithm))
    make_attempt(
        "qwen",
        status="rejected",
        reason="travel 45 min is over 10% more than the algorithm's 40 min",
    )
    make_attempt(
        "qwen",
        status="rejected",
        reason="travel 52 min is over 10% more than the algorithm's 41 min",
    )

    html = user_client.get(URL).content.decode()
    card = html[html.index('id="slot-qwen"') : html.index('id="slot-tpro"')]

    assert "accepted in 3 of 5 attempts" in card
    assert "strictly shorter than the algorithm's in 1 of 3 runs" in card
    assert "the algorithm's own route was as good in 2 of 3 runs" in card
    assert "travel … min is over …% more than the algorithm&#x27;s … min" in card


def test_the_period_filter_leaves_out_older_attempts(user_client):
    make_attempt("tpro", duration_ms=1111, ago=timedelta(days=3))
    make_attempt("tpro", duration_ms=2222)

    week = user_client.get(URL, {"period": "week"}).content.decode()
    day = user_client.get(URL, {"period": "day"}).content.decode()

    assert 'data-x="3"' not in day
    assert ">1111<" in week and ">2222<" in week
    assert ">1111<" not in day and ">2222<" in day


def test_the_stops_filter_keeps_only_that_range(user_client):
    make_attempt("llama", duration_ms=1111, stops=4)
    make_attempt("llama", duration_ms=2222, stops=30)

    html = user_client.get(URL, {"stops": "21-50"}).content.decode()

    assert ">2222<" in html and ">1111<" not in html


def test_a_bad_filter_value_shows_everything_and_the_error(user_client):
    make_attempt("llama", duration_ms=1111)

    response = user_client.get(URL, {"period": "century"})

    assert response.status_code == 200
    assert ">1111<" in response.content.decode()
    assert "Select a valid choice" in response.content.decode()


def test_scenarios_are_judged_by_the_machine_s_ram(user_client):
    Worker.objects.create(
        name="host:1", state={"loaded": [], "free_bytes": 10 * 1024**3, "total_bytes": 24 * 1024**3}
    )

    html = user_client.get(URL).content.decode()
    table = html[html.index('id="scenarios"') :]

    rows = {row.split(".")[0].strip(): row for row in table.split("<tr><td>")[1:]}
    assert "status-ok" in rows["C"] and "status-error" in rows["D"]


def test_a_new_attempt_shows_at_once_although_the_history_is_cached(user_client):
    make_attempt("qwen", duration_ms=1111)
    user_client.get(URL)

    make_attempt("qwen", duration_ms=2222)
    html = user_client.get(URL).content.decode()

    assert ">1111<" in html and ">2222<" in html
    assert 'data-points="2"' in html


def test_the_api_gives_the_same_figures_as_the_page(user_client):
    make_attempt("llama", duration_ms=1000, prompt_tokens=400, prompt_ms=800, tokens_per_second=20)
    make_attempt("llama", duration_ms=3000, prompt_tokens=300, prompt_ms=1000, tokens_per_second=30)

    api = {s["name"]: s for s in user_client.get("/api/models").json()["slots"]}["llama"]

    assert api["summary"]["median_ms"] == 1000
    assert api["summary"]["median_prompt_tokens_per_second"] == 300
    html = user_client.get(URL).content.decode()
    card = html[html.index('id="slot-llama"') : html.index('id="algorithm"')]
    assert '<dd data-figure="median">1000' in card
    assert "300<small>tokens/s" in card


def test_in_russian_statuses_charts_and_tooltips_are_russian_too(user_client):
    make_attempt("qwen", status="not_found", reason="GGUF model file not found: q.gguf", stops=1)
    make_attempt("qwen", status="ok", stops=15)

    english = user_client.get(URL).content.decode()
    html = user_client.get(URL, HTTP_ACCEPT_LANGUAGE="ru").content.decode()

    assert "latency by number of stops" in english  # the English page, cached first
    card = html[html.index('id="slot-qwen"') : html.index('id="slot-tpro"')]
    assert ">не найден<" in card and ">принят<" in card
    assert "время ответа по числу точек" in card and " мс</text>" in card  # axis units
    assert "1 точка" in card and "15 точек" in card  # the points' tooltips
    assert "not_found<" not in card and "latency" not in card
    assert "qwen · основная</span>" in card  # the slot's role
