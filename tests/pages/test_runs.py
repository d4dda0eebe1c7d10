"""Optimizing a set, the live run page, the route page, exports and the history."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest
from django.urls import reverse

from routes.models import RouteRun, Worker
from routes.optimize import create_run
from routes.schema import parse_request

from .conftest import make_set


def optimize(client, location_set, **form):
    response = client.post(
        reverse("set-optimize", args=[location_set.pk]), {"fallback": "on", **form}
    )
    assert response.status_code == 302, response.content
    return RouteRun.objects.get(pk=int(response["Location"].rstrip("/").split("/")[-1]))


def queued_run(owner, location_set) -> RouteRun:
    return create_run(
        parse_request(location_set.request_body()),
        only=None,
        fallback=True,
        owner=owner,
        location_set=location_set,
    )


def test_optimizing_a_set_makes_a_run_owned_by_the_user_and_tied_to_the_set(
    owner_client, owner, location_set
):
    run = optimize(owner_client, location_set)
    assert run.owner == owner and run.location_set == location_set
    assert run.status == RouteRun.Status.DONE and run.model_used == "greedy"
    assert [a.slot for a in run.attempts.all()] == ["qwen", "tpro", "llama", "greedy"]
    assert run.set_name == location_set.name


def test_history_keeps_the_request_as_sent_when_the_set_changes_later(owner_client, location_set):
    run = optimize(owner_client, location_set)
    location_set.locations.all().delete()
    run.refresh_from_db()
    assert len(run.request["locations"]) == 3
    assert owner_client.get(reverse("run", args=[run.pk])).status_code == 200


def test_the_route_page_shows_stops_in_order_the_map_data_and_how_it_was_made(
    owner_client, location_set
):
    run = optimize(owner_client, location_set)
    response = owner_client.get(reverse("run", args=[run.pk]))
    html = response.content.decode()
    assert response.status_code == 200
    for stop in run.result["stops"]:
        assert f'id="stop-{stop["ID"]}"' in html
    data = response.context["map_data"]
    assert sorted(p["order"] for p in data["points"]) == [1, 2, 3] and data["route"] is True
    assert 'id="run-map-data"' in html
    assert "GGUF model file not found" in html  # each link's reason in the timeline
    assert response.context["comparison"]["given"]["total_distance_km"] >= run.total_distance_km


def test_a_chosen_slot_without_fallback_fails_with_its_reason(owner_client, location_set):
    run = optimize(owner_client, location_set, model="qwen", fallback="")
    assert run.status == RouteRun.Status.FAILED
    assert "not found" in run.error
    assert owner_client.get(reverse("run", args=[run.pk])).status_code == 200


def test_another_users_run_answers_404(stranger_client, owner, location_set):
    run = queued_run(owner, location_set)
    for url in [
        reverse("run", args=[run.pk]),
        reverse("run-export", args=[run.pk, "gpx"]),
    ]:
        assert stranger_client.get(url).status_code == 404
    assert stranger_client.post(reverse("run-cancel", args=[run.pk])).status_code == 404
    run.refresh_from_db()
    assert run.status == RouteRun.Status.QUEUED


def test_the_live_part_polls_while_queued_and_says_when_no_worker_runs(
    owner_client, owner, location_set, settings
):
    settings.T2_OPTIMIZE_INLINE = False
    run = queued_run(owner, location_set)
    target = f"run-{run.pk}-live"
    response = owner_client.get(
        reverse("run", args=[run.pk]), HTTP_HX_REQUEST="true", HTTP_HX_TARGET=target
    )
    html = response.content.decode()
    assert 'hx-trigger="every 1s"' in html
    assert response.context["worker_missing"] is True
    Worker.objects.create(name="test-worker")
    response = owner_client.get(
        reverse("run", args=[run.pk]), HTTP_HX_REQUEST="true", HTTP_HX_TARGET=target
    )
    assert response.context["worker_missing"] is False


def test_the_live_part_shows_the_current_step(owner_client, owner, location_set):
    run = queued_run(owner, location_set)
    RouteRun.objects.filter(pk=run.pk).update(
        status="running",
        progress={"slot": "qwen", "phase": "generating", "tokens": 12, "tokens_per_second": 48.5},
    )
    response = owner_client.get(
        reverse("run", args=[run.pk]), HTTP_HX_REQUEST="true", HTTP_HX_TARGET=f"run-{run.pk}-live"
    )
    html = response.content.decode()
    assert "qwen" in html and "12" in html and "48" in html


def test_a_finished_run_tells_the_polling_page_to_reload(owner_client, location_set):
    run = optimize(owner_client, location_set)
    response = owner_client.get(
        reverse("run", args=[run.pk]), HTTP_HX_REQUEST="true", HTTP_HX_TARGET=f"run-{run.pk}-live"
    )
    assert response["HX-Refresh"] == "true"


def test_cancelling_a_queued_run_ends_it_at_once(owner_client, owner, location_set):
    run = queued_run(owner, location_set)
    owner_client.post(reverse("run-cancel", args=[run.pk]))
    run.refresh_from_db()
    assert run.status == RouteRun.Status.CANCELLED and run.finished_at is not None


def test_a_cancel_request_stops_a_running_chain_before_its_next_link(owner, location_set):
    from routes.optimize import execute

    run = queued_run(owner, location_set)
    RouteRun.objects.filter(pk=run.pk).update(cancel_requested=True)
    run.refresh_from_db()
    run = execute(run)
    assert run.status == RouteRun.Status.CANCELLED
    assert run.attempts.count() == 0  # nothing after the request


@pytest.mark.parametrize("fmt", ["csv", "json", "gpx"])
def test_exports_of_a_route(owner_client, location_set, fmt):
    run = optimize(owner_client, location_set)
    response = owner_client.get(reverse("run-export", args=[run.pk, fmt]))
    assert response.status_code == 200
    assert f"route-{run.pk}.{fmt}" in response["Content-Disposition"]
    body = response.content.decode("utf-8-sig")
    if fmt == "json":
        assert json.loads(body)["locations"] == run.result["locations"]
    elif fmt == "gpx":
        names = [
            e.text for e in ET.fromstring(body).iter("{http://www.topografix.com/GPX/1/1}name")
        ]
        assert len(names) >= 3
    else:
        assert run.result["stops"][0]["ID"] in body


def test_the_history_lists_only_my_runs_and_filters_them(
    owner_client, owner, stranger, location_set
):
    mine = optimize(owner_client, location_set)
    other = make_set(stranger, n=2)
    queued_run(stranger, other)
    response = owner_client.get(reverse("runs"))
    assert [r.pk for r in response.context["page"].object_list] == [mine.pk]
    failed = owner_client.get(reverse("runs"), {"status": "failed"})
    assert list(failed.context["page"].object_list) == []
    by_model = owner_client.get(reverse("runs"), {"model": "greedy", "set": location_set.pk})
    assert [r.pk for r in by_model.context["page"].object_list] == [mine.pk]


def test_the_history_of_10000_runs_renders_in_a_bounded_number_of_queries(
    owner_client, owner, location_set, django_assert_max_num_queries
):
    request = location_set.request_body()
    RouteRun.objects.bulk_create(
        RouteRun(
            owner=owner,
            location_set=location_set,
            set_name=location_set.name,
            request=request,
            location_count=3,
            status="done",
            model_used="greedy",
            total_distance_km=12.5,
            duration_ms=40,
        )
        for _ in range(10_000)
    )
    with django_assert_max_num_queries(8):
        response = owner_client.get(reverse("runs"))
    assert response.context["page"].paginator.count == 10_000
    more = owner_client.get(
        reverse("runs"), {"page": 2}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="history-more"
    )
    assert more.content.decode().count("<tr") == 51  # 50 rows and the next "load more"


def test_in_russian_counts_take_their_plural_forms_and_statuses_are_words(
    owner_client, location_set
):
    run = optimize(owner_client, location_set)  # three stops

    html = owner_client.get(reverse("run", args=[run.pk]), HTTP_ACCEPT_LANGUAGE="ru")
    html = html.content.decode()

    assert "3 точки" in html
    assert "не найден" in html  # the models' attempts, not "not found"
    assert ">not found<" not in html and ">not_found<" not in html
    assert "файл модели GGUF не найден" in html  # and why, in Russian too
    assert "GGUF model file not found" not in html


def test_the_history_shows_a_runs_time_to_a_tenth_of_a_second(owner_client, location_set):
    run = optimize(owner_client, location_set)
    RouteRun.objects.filter(pk=run.pk).update(duration_ms=450)

    html = owner_client.get(reverse("runs")).content.decode()

    assert ">0.5</td>" in html and ">0</td>" not in html
