"""The OpenAPI document served at /openapi.json and shown by Swagger UI at /docs.

Request schemas come from routes.schema (one source of truth); the answer is described here.
"""

from __future__ import annotations

from typing import Any

from routes.schema import OptimizeRequest

_TIME = {"type": "string", "pattern": "^\\d{2}:\\d{2}$", "example": "09:40"}

ROUTE_RESPONSE: dict[str, Any] = {
    "type": "object",
    "required": ["id", "model_used", "locations", "stops", "skipped", "attempts"],
    "properties": {
        "id": {"type": "integer"},
        "status": {"type": "string", "enum": ["done", "failed", "cancelled"]},
        "model_used": {"type": "string", "enum": ["qwen", "tpro", "llama", "greedy"]},
        "fallback_reason": {
            "type": ["string", "null"],
            "description": "Why the earlier links of the chain did not answer.",
        },
        "requested_model": {"type": ["string", "null"]},
        "locations": {
            "type": "array",
            "items": {"type": "string"},
            "description": "Visit order as location IDs.",
        },
        "stops": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "ID": {"type": "string"},
                    "name": {"type": "string"},
                    "arrival": _TIME,
                    "wait_minutes": {"type": "number"},
                    "start": _TIME,
                    "departure": _TIME,
                    "km_from_previous": {"type": "number"},
                    "late": {"type": "boolean"},
                },
            },
        },
        "skipped": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"ID": {"type": "string"}, "reason": {"type": "string"}},
            },
        },
        "total_distance_km": {"type": "number"},
        "total_travel_minutes": {"type": "number"},
        "total_time_hours": {"type": "number"},
        "total_cost_rub": {"type": "number"},
        "violations": {
            "type": "integer",
            "description": "Window or day-end breaches (0 = feasible).",
        },
        "as_entered": {
            "type": "object",
            "description": "The same day driven in the request's own order, for comparison.",
            "properties": {
                "total_distance_km": {"type": "number"},
                "total_travel_minutes": {"type": "number"},
                "total_time_hours": {"type": "number"},
                "violations": {"type": "integer"},
            },
        },
        "attempts": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "model": {"type": "string"},
                    "status": {
                        "type": "string",
                        "enum": [
                            "ok",
                            "rejected",
                            "timeout",
                            "not_found",
                            "refused_memory",
                            "context_overflow",
                            "error",
                            "unavailable",
                            "skipped",
                            "cancelled",
                        ],
                    },
                    "reason": {"type": ["string", "null"]},
                    "duration_ms": {"type": "number"},
                    "load_ms": {"type": ["number", "null"], "description": "Model load time."},
                    "prompt_ms": {"type": ["number", "null"], "description": "Prompt reading."},
                    "generation_ms": {"type": ["number", "null"]},
                    "prompt_tokens": {"type": ["integer", "null"]},
                    "completion_tokens": {"type": ["integer", "null"]},
                    "tokens_per_second": {"type": ["number", "null"]},
                    "route_km": {
                        "type": ["object", "null"],
                        "description": "What the model contributed: km of its raw order, after "
                        "repair, and of the algorithm's own route.",
                        "properties": {
                            "proposal": {"type": ["number", "null"]},
                            "final": {"type": ["number", "null"]},
                            "algorithm": {"type": ["number", "null"]},
                        },
                    },
                },
            },
        },
        "created_at": {"type": "string", "format": "date-time"},
    },
}

ERROR: dict[str, Any] = {
    "type": "object",
    "properties": {
        "error": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
            },
        },
    },
}

EXAMPLE = {
    "locations": [
        {
            "ID": "loc_1",
            "name": "Красная площадь",
            "address": "Москва",
            "lat": 55.7539,
            "lon": 37.6208,
            "time_window_start": "10:00",
            "time_window_end": "22:00",
            "priority": "high",
        },
        {
            "ID": "loc_2",
            "name": "Парк Горького",
            "address": "Москва",
            "lat": 55.7298,
            "lon": 37.5995,
            "time_window_start": "08:00",
            "time_window_end": "23:00",
            "priority": "medium",
        },
    ],
    "constraints": {},
}


AUTHENTICATION = (
    "Send `Authorization: Bearer <token>` with a token made on the account page (`/account/`); "
    "the runs you make are then yours, and `/api/runs` lists only yours (staff: everyone's). "
    "A logged-in browser session works too (its POSTs need the CSRF token, as a form's do). "
    "Without either, the call is anonymous: allowed on a local install, refused with 401 when "
    "the server turns anonymous calls off (`T2_ANONYMOUS_API`, off in production); anonymous "
    "callers see only anonymous runs. A token that is unknown or revoked is always a 401, "
    "never anonymous."
)

SECURITY_SCHEMES: dict[str, Any] = {
    "bearer": {
        "type": "http",
        "scheme": "bearer",
        "description": "A personal API token from the account page (`/account/`), shown once "
        "when it is made.",
    }
}

UNAUTHORIZED: dict[str, Any] = {
    "description": "The token is unknown or revoked, or anonymous calls are off and none was sent",
    "headers": {"WWW-Authenticate": {"schema": {"type": "string"}}},
    "content": {
        "application/json": {
            "schema": {"$ref": "#/components/schemas/Error"},
            "example": {
                "error": "authentication required: send Authorization: Bearer <token> "
                "(create one on /account/)"
            },
        }
    },
}


def _optimize_operation(summary: str, description: str, *, slot: bool) -> dict[str, Any]:
    responses = {
        "200": {
            "description": "The route",
            "content": _json({"$ref": "#/components/schemas/Route"}),
        },
        "400": {
            "description": "Bad input",
            "content": _json({"$ref": "#/components/schemas/Error"}),
        },
        "401": UNAUTHORIZED,
        "403": {
            "description": "A browser session's POST without a valid CSRF token",
            "content": _json({"$ref": "#/components/schemas/Error"}),
        },
        "405": {
            "description": "A method other than POST (the `Allow` header names it)",
            "headers": {"Allow": {"schema": {"type": "string"}}},
            "content": _json({"$ref": "#/components/schemas/Error"}),
        },
        "413": {
            "description": "Body too large",
            "content": _json({"$ref": "#/components/schemas/Error"}),
        },
        "500": {
            "description": "The run failed for a reason other than the input: a bug, or its "
            "task worker died while planning it (the message names which)",
            "content": _json({"$ref": "#/components/schemas/Error"}),
        },
        "503": {
            "description": "No task worker is running (the message says how to start one), "
            "or the queue is full (`T2_MAX_QUEUED` runs wait already; `Retry-After` says "
            "when to try again)"
            + ("; or this model cannot answer and no fallback was asked" if slot else ""),
            "headers": {
                "Retry-After": {
                    "description": "Seconds, when the queue is full",
                    "schema": {"type": "integer"},
                }
            },
            "content": _json({"$ref": "#/components/schemas/Error"}),
        },
        "504": {
            "description": "The worker did not finish the run within `T2_RUN_WAIT_SECONDS`; "
            "it stays in the history",
            "content": _json({"$ref": "#/components/schemas/Error"}),
        },
    }
    operation: dict[str, Any] = {
        "summary": summary,
        "description": description,
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {"$ref": "#/components/schemas/OptimizeRequest"},
                    "example": EXAMPLE,
                }
            },
        },
        "responses": responses,
    }
    if slot:
        operation["parameters"] = [
            {
                "name": "fallback",
                "in": "query",
                "schema": {"type": "integer", "enum": [0, 1]},
                "description": "1: when this model cannot answer, continue down the chain.",
            }
        ]
    return operation


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"application/json": {"schema": schema}}


def openapi_document(slots: list[str], max_locations: int) -> dict[str, Any]:
    schemas = OptimizeRequest.model_json_schema(ref_template="#/components/schemas/{model}")
    components = schemas.pop("$defs", {})
    components["OptimizeRequest"] = schemas
    components["Route"] = ROUTE_RESPONSE
    components["Error"] = ERROR
    paths: dict[str, Any] = {
        "/optimize": {
            "post": _optimize_operation(
                "Optimize with the whole chain",
                "Tries each enabled model in order (qwen → tpro → llama), then the algorithm "
                f"(`greedy`). Always answers with a route unless the input is bad. At most "
                f"{max_locations} locations.",
                slot=False,
            )
        }
    }
    for name in slots:
        paths[f"/{name}/optimize"] = {
            "post": _optimize_operation(
                f"Optimize with {name} alone",
                f"As in the seed: only the `{name}` model. 503 naming the reason when it cannot "
                "answer, unless `?fallback=1`.",
                slot=True,
            )
        }
    paths["/api/runs"] = {
        "get": {
            "summary": "Stored runs, newest first",
            "description": "The caller's own runs (anonymous callers: the anonymous runs; "
            "staff: all runs).",
            "parameters": [
                {"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1}},
                {"name": "model", "in": "query", "schema": {"type": "string"}},
            ],
            "responses": {
                "200": {"description": "A page of runs with the total count"},
                "401": UNAUTHORIZED,
            },
        }
    }
    paths["/api/runs/{id}"] = {
        "get": {
            "summary": "One stored run",
            "description": "Another caller's run answers 404, as a missing one does.",
            "parameters": [
                {"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}
            ],
            "responses": {
                "200": {
                    "description": "The run",
                    "content": _json({"$ref": "#/components/schemas/Route"}),
                },
                "401": UNAUTHORIZED,
                "404": {"description": "No such run, or not the caller's"},
            },
        }
    }
    paths["/api/models"] = {
        "get": {
            "summary": "Model slots: status and timing summary",
            "description": "Per slot: settings (and which come from the environment), whether "
            "the file is found, the last attempt, and count, success rate, median and 95th "
            "percentile latency, load time and tokens/s over its recent attempts.",
            "responses": {"200": {"description": "The slots"}},
            "security": [],  # open to every caller: it shows no one's data
        }
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "T2 Routes API",
            "version": "1.0",
            "description": "Day routes through retail points with opening windows and "
            "priorities, planned by local LLMs with an algorithmic fallback.\n\n"
            "**Authentication.** " + AUTHENTICATION,
        },
        "paths": paths,
        "components": {"schemas": components, "securitySchemes": SECURITY_SCHEMES},
        # A bearer token, or nothing where the server allows anonymous calls.
        "security": [{"bearer": []}, {}],
    }
