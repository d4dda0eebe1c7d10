"""How a model slot proposes a route. Filled in by the LLM work; until then every slot says so."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from llm.config import SlotConfig
from routes.engine import Route
from routes.planning import Plan


class BackendError(Exception):
    """A slot could not give an acceptable route; `status` is the Attempt status, `reason` says why."""

    def __init__(
        self,
        status: str,
        reason: str,
        *,
        stats: dict[str, Any] | None = None,
        metrics: dict[str, Any] | None = None,
    ):
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.stats = stats or {}
        self.metrics = metrics or {}


@dataclass
class Proposal:
    route: Route
    stats: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)


def propose_route(config: SlotConfig, plan: Plan, baseline: Route) -> Proposal:
    raise BackendError("unavailable", "LLM inference is not available yet")
