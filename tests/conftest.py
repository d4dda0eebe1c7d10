from __future__ import annotations

import json

import pytest


@pytest.fixture
def post_json(client):
    """POST a JSON body (or raw text) and return the response."""

    def post(url: str, data, **extra):
        payload = data if isinstance(data, str | bytes) else json.dumps(data)
        return client.post(url, payload, content_type="application/json", **extra)

    return post
