"""The models page in a real browser: after two runs on the small test model, the slot's
latency is in its table and the chart is drawn (server-side SVG, under the strict CSP)."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from llm.models import Attempt, ModelSlot
from llm.runtime import configure_pool, get_pool
from routes.optimize import optimize
from routes.schema import parse_request
from tests.factories import body

pytestmark = [pytest.mark.browser, pytest.mark.llm, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def two_runs_on_the_test_model(test_model_path):
    configure_pool(budget_bytes=None, keep_alive_seconds=None)
    ModelSlot.objects.filter(name="qwen").update(
        model_file=str(test_model_path),
        n_ctx=2048,
        n_threads=2,
        n_gpu_layers=0,
        timeout=60,
        max_tokens=256,
    )
    user = get_user_model().objects.create_user("planner", password="a-long-test-password")
    for n in (4, 6):
        optimize(parse_request(body(n)), owner=user)
    yield user
    get_pool().close()


def log_in(page, live_server, user) -> None:
    client = Client()
    client.force_login(user)
    page.context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )


def test_the_slot_s_latency_is_in_the_table_and_the_chart_is_drawn(
    page, live_server, two_runs_on_the_test_model
):
    attempts = list(Attempt.objects.for_slot("qwen").order_by("-created_at", "-id"))
    assert len(attempts) == 2 and all(a.prompt_tokens for a in attempts)  # the model really ran
    csp_errors: list[str] = []
    page.on(
        "console",
        lambda msg: csp_errors.append(msg.text) if "Content Security Policy" in msg.text else None,
    )
    log_in(page, live_server, two_runs_on_the_test_model)

    page.goto("/models/")

    rows = page.locator("#slot-qwen-attempts tbody tr")
    assert rows.count() == 2
    latencies = [rows.nth(i).locator("td").nth(3).inner_text() for i in range(2)]
    assert latencies == [f"{a.duration_ms:.0f}" for a in attempts]
    chart = page.locator("#chart-qwen-time")
    box = chart.bounding_box()
    assert box and box["width"] > 200 and box["height"] > 50
    drawn = sorted(float(c.get_attribute("data-y")) for c in chart.locator("circle").all())
    assert drawn == pytest.approx(sorted(a.duration_ms for a in attempts), abs=0.001)
    assert page.locator("#chart-qwen-time path.chart-line").count() == 1
    assert page.locator("#chart-qwen-stops circle").count() == 2

    # The live part polls the same URL for its own block.
    with page.expect_request(
        lambda r: "/models/" in r.url and r.headers.get("hx-target") == "slot-qwen-live",
        timeout=8000,
    ):
        pass
    assert page.outside_requests == []
    assert csp_errors == []
