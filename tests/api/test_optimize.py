"""POST /optimize and the seed's per-model endpoints."""

from __future__ import annotations

import pytest

from llm.models import Attempt
from routes.models import RouteRun
from tests.factories import body, sample_requests, seed_example

pytestmark = pytest.mark.django_db


def test_it_answers_the_seed_example_with_a_real_route(post_json):
    response = post_json("/optimize", seed_example())

    assert response.status_code == 200
    answer = response.json()
    assert answer["model_used"] == "greedy"
    assert sorted(answer["locations"]) == ["loc_1", "loc_2"]
    assert [s["ID"] for s in answer["stops"]] == answer["locations"]
    assert answer["violations"] == 0
    assert answer["skipped"] == []
    assert answer["total_distance_km"] > 0
    assert answer["total_cost_rub"] == pytest.approx(answer["total_distance_km"] * 7, abs=0.05)
    for key in ("id", "fallback_reason", "total_time_hours", "attempts", "created_at"):
        assert key in answer


def test_every_visit_starts_inside_its_window(post_json):
    request = body(6)
    request["locations"][2]["time_window_start"] = "13:00"
    request["locations"][2]["time_window_end"] = "13:30"

    answer = post_json("/optimize", request).json()

    windows = {loc["ID"]: loc for loc in request["locations"]}
    for stop in answer["stops"]:
        loc = windows[stop["ID"]]
        assert loc["time_window_start"] <= stop["start"] <= loc["time_window_end"]
        assert stop["arrival"] <= stop["start"] < stop["departure"]
    assert answer["violations"] == 0


def test_it_says_why_each_model_of_the_chain_did_not_answer(post_json):
    answer = post_json("/optimize", seed_example()).json()

    assert [a["model"] for a in answer["attempts"]] == ["qwen", "tpro", "llama", "greedy"]
    assert [a["status"] for a in answer["attempts"][:3]] != ["ok", "ok", "ok"]
    assert answer["attempts"][-1]["status"] == "ok"
    assert "qwen:" in answer["fallback_reason"]
    assert all(a["duration_ms"] >= 0 for a in answer["attempts"])


def test_it_saves_the_run_with_its_attempts(post_json):
    answer = post_json("/optimize", seed_example()).json()

    run = RouteRun.objects.get(pk=answer["id"])
    assert run.status == RouteRun.Status.DONE
    assert run.model_used == "greedy"
    assert run.request["locations"][0]["ID"] == "loc_1"
    assert run.result["locations"] == answer["locations"]
    assert Attempt.objects.filter(run=run).count() == 4


@pytest.mark.parametrize(
    "request_body", sample_requests(), ids=lambda b: f"{len(b['locations'])}pts"
)
def test_it_plans_the_original_projects_sample_requests(post_json, request_body):
    answer = post_json("/optimize", request_body).json()

    assert answer["violations"] == 0
    served = set(answer["locations"]) | {s["ID"] for s in answer["skipped"]}
    assert served == {loc["ID"] for loc in request_body["locations"]}


def test_a_slot_that_cannot_answer_gives_503_naming_it(post_json):
    response = post_json("/tpro/optimize", seed_example())

    assert response.status_code == 503
    answer = response.json()
    assert "tpro" in answer["error"]
    assert answer["attempts"][0]["model"] == "tpro"
    assert RouteRun.objects.get(pk=answer["run_id"]).status == RouteRun.Status.FAILED


def test_a_slot_with_fallback_continues_down_the_chain(post_json):
    response = post_json("/tpro/optimize?fallback=1", seed_example())

    assert response.status_code == 200
    answer = response.json()
    assert [a["model"] for a in answer["attempts"]] == ["tpro", "llama", "greedy"]
    assert answer["model_used"] == "greedy"


def test_an_unknown_slot_is_404(post_json):
    response = post_json("/gpt5/optimize", seed_example())

    assert response.status_code == 404
    assert "gpt5" in response.json()["error"]


def test_optimize_only_accepts_post(client):
    assert client.get("/optimize").status_code == 405


def test_three_hundred_locations_work(post_json):
    request = body(300)

    response = post_json("/optimize", request)

    assert response.status_code == 200
    answer = response.json()
    accounted = set(answer["locations"]) | {s["ID"] for s in answer["skipped"]}
    assert accounted == {loc["ID"] for loc in request["locations"]}
    assert answer["violations"] == 0


def test_a_day_too_short_drops_the_least_important_stops_and_says_why(post_json):
    request = body(
        12,
        constraints={"start_time": "09:00", "end_time": "11:00", "visit_minutes": 30},
    )
    for loc, priority in zip(request["locations"], "ABCD" * 3, strict=True):
        loc["priority"] = priority

    answer = post_json("/optimize", request).json()

    priority = {loc["ID"]: loc["priority"] for loc in request["locations"]}
    kept = {priority[i] for i in answer["locations"]}
    dropped = {priority[s["ID"]] for s in answer["skipped"]}
    assert answer["skipped"] and answer["violations"] == 0
    assert max(kept) <= min(dropped)  # never a more important stop dropped for a lesser one
    assert all("no time left" in s["reason"] for s in answer["skipped"])


def test_a_stop_whose_window_closes_before_the_day_starts_is_reported_unreachable(post_json):
    request = body(3)
    request["locations"][0].update(time_window_start="06:00", time_window_end="07:00")

    answer = post_json("/optimize", request).json()

    (skipped,) = answer["skipped"]
    assert skipped["ID"] == "loc_1"
    assert "cannot be visited inside its window (06:00–07:00)" in skipped["reason"]


def test_the_day_can_start_and_end_at_a_given_point(post_json):
    depot = {"lat": 55.70, "lon": 37.50}
    request = body(4, constraints={"start": depot, "return_to_start": True})

    answer = post_json("/optimize", request).json()

    assert answer["stops"][0]["km_from_previous"] > 0  # the first leg is from the start point
    legs = sum(s["km_from_previous"] for s in answer["stops"])
    assert answer["total_distance_km"] > legs  # plus the way back


def test_a_crash_inside_the_optimization_fails_the_run_instead_of_leaving_it_running_faked(
    post_json, monkeypatch
):
    # A fake: a bug in the engine cannot be produced for real, so solve() is made to raise.
    def broken(problem):
        raise RuntimeError("engine bug")

    monkeypatch.setattr("llm.chain.solve", broken)

    response = post_json("/optimize", seed_example())

    assert response.status_code == 500
    assert "engine bug" in response.json()["error"]
    run = RouteRun.objects.get()
    assert run.status == RouteRun.Status.FAILED
    assert run.error == "internal error: RuntimeError: engine bug"
