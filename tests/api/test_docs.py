"""The interactive API docs at /docs, from our own static files."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


def test_the_openapi_document_describes_every_endpoint(client):
    document = client.get("/openapi.json").json()

    assert set(document["paths"]) >= {
        "/optimize",
        "/qwen/optimize",
        "/tpro/optimize",
        "/llama/optimize",
        "/api/runs",
        "/api/runs/{id}",
        "/api/models",
    }
    constraints = document["components"]["schemas"]["Constraints"]["properties"]
    assert {"start_time", "end_time", "start", "return_to_start", "speed_kmh"} <= set(constraints)


@pytest.mark.parametrize("path", ["/optimize", "/qwen/optimize"])
def test_every_answer_an_optimize_call_can_get_is_documented(client, path):
    responses = client.get("/openapi.json").json()["paths"][path]["post"]["responses"]

    assert set(responses) == {"200", "400", "401", "403", "405", "413", "500", "503", "504"}
    assert "Retry-After" in responses["503"]["headers"]
    assert ("model cannot answer" in responses["503"]["description"]) == (path != "/optimize")


def test_the_docs_page_loads_swagger_from_our_static_files(client):
    page = client.get("/docs").content.decode()

    assert "/static/vendor/swagger-ui-5.35.0/swagger-ui-bundle.js" in page
    assert "http" not in page.split("<body>")[1].replace('href="/', "").split("data-spec-url")[0]
