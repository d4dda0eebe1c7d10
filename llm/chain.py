"""The fallback chain: each enabled model slot in order, then the algorithm.

Plain data in, plain data out: the caller (routes.optimize) saves the run and its attempts.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from llm.backends import BackendError, ChainOptions, propose_route
from llm.config import SlotConfig
from llm.progress import NO_PROGRESS, Progress
from routes.engine import Route, solve
from routes.planning import Plan

logger = logging.getLogger(__name__)

GREEDY = "greedy"


@dataclass
class AttemptRecord:
    slot: str
    status: str
    reason: str
    duration_ms: float
    model_file: str = ""
    stats: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)


@dataclass
class ChainOutcome:
    route: Route | None
    model_used: str
    attempts: list[AttemptRecord]
    cancelled: bool = False

    @property
    def fallback_reason(self) -> str:
        failed = [a for a in self.attempts if a.status != "ok"]
        return "; ".join(f"{a.slot}: {a.reason}" for a in failed)


def _elapsed_ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000


def run_chain(
    plan: Plan,
    slots: Iterable[SlotConfig],
    options: ChainOptions,
    *,
    fallback: bool = True,
    progress: Progress = NO_PROGRESS,
) -> ChainOutcome:
    """Ask each slot for a route; the first acceptable one wins, else the algorithm's.

    `progress` hears each step and each finished attempt; when it says the run is cancelled,
    the chain stops after the current step and returns no route."""
    progress.step(GREEDY, "baseline")
    started = time.perf_counter()
    baseline = solve(plan.problem)
    baseline_ms = _elapsed_ms(started)

    attempts: list[AttemptRecord] = []
    for config in slots:
        if progress.cancelled():
            return ChainOutcome(route=None, model_used="", attempts=attempts, cancelled=True)
        started = time.perf_counter()
        proposal = None
        progress.step(config.name, "starting")
        try:
            proposal = propose_route(config, plan, baseline, options, progress)
            status, reason, stats, metrics = "ok", "", proposal.stats, proposal.metrics
        except BackendError as exc:
            logger.info("slot %s: %s (%s)", config.name, exc.status, exc.reason)
            status, reason, stats, metrics = exc.status, exc.reason, exc.stats, exc.metrics
        record = AttemptRecord(
            slot=config.name,
            status=status,
            reason=reason,
            duration_ms=_elapsed_ms(started),
            model_file=config.model_file or config.remote_model,
            stats=stats,
            metrics=metrics,
        )
        attempts.append(record)
        progress.attempt(record)
        if proposal is not None:
            return ChainOutcome(route=proposal.route, model_used=config.name, attempts=attempts)
        if status == "cancelled":
            return ChainOutcome(route=None, model_used="", attempts=attempts, cancelled=True)

    if not fallback:
        return ChainOutcome(route=None, model_used="", attempts=attempts)
    record = AttemptRecord(slot=GREEDY, status="ok", reason="", duration_ms=baseline_ms)
    attempts.append(record)
    progress.attempt(record)
    return ChainOutcome(route=baseline, model_used=GREEDY, attempts=attempts)
