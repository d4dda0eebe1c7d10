"""The API docs page in a real browser, offline: Swagger UI from our static files."""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_docs_page_lists_the_endpoints_and_runs_the_seed_example(page):
    page.goto("/docs")

    paths = page.locator(".opblock-summary-path")
    paths.first.wait_for()
    # Swagger UI breaks long paths with zero-width spaces.
    shown = {text.replace("\u200b", "") for text in paths.all_inner_texts()}
    assert {
        "/optimize",
        "/qwen/optimize",
        "/tpro/optimize",
        "/llama/optimize",
        "/api/runs",
    } <= shown

    operation = page.locator("#operations-default-post_optimize")
    operation.locator(".opblock-summary").click()
    operation.get_by_role("button", name="Try it out").click()
    operation.get_by_role("button", name="Execute").click()
    status = operation.locator(".live-responses-table .response .response-col_status").first
    status.wait_for()

    assert status.inner_text().strip().startswith("200")
    body = operation.locator(".live-responses-table .response .microlight").first.inner_text()
    assert '"model_used": "greedy"' in body
    assert '"Красная площадь"' in body
    assert page.outside_requests == []
