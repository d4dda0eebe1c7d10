"""How a model slot proposes a route: ask the model, check its answer, make it count.

Backends are a small registry (name → class). Each turns a prompt into a Generation; the shared
`propose_route` parses it, repairs and improves the order with the route engine, and applies
the quality gate against the algorithm's own route.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from llm.config import SlotConfig
from llm.files import ModelFileNotFound, find_model_file
from llm.generation import Generation
from llm.progress import NO_PROGRESS, Progress
from llm.prompt import Prompt, answer_json_schema, build_prompt, parse_answer
from llm.remote import RemoteError, chat
from llm.runtime import LocalModel, ModelError, get_pool
from routes.engine import Problem, Route, evaluate, improve
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


@dataclass(frozen=True)
class ChainOptions:
    models_dir: Path
    project_dir: Path
    tolerance: float = 0.10


@dataclass
class Proposal:
    route: Route
    stats: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)


class Backend:
    """Contract: `generate` returns the model's text for the prompt or raises BackendError."""

    def __init__(self, config: SlotConfig, options: ChainOptions):
        self.config = config
        self.options = options

    def generate(self, prompt: Prompt, progress: Progress = NO_PROGRESS) -> Generation:
        raise NotImplementedError


class LocalBackend(Backend):
    """A GGUF file run in this process by llama.cpp (see llm.runtime)."""

    def model(self) -> LocalModel:
        try:
            path = find_model_file(
                self.config.model_file,
                models_dir=self.options.models_dir,
                project_dir=self.options.project_dir,
            )
        except ModelFileNotFound as exc:
            raise BackendError("not_found", str(exc)) from None
        return LocalModel.from_config(self.config, path)

    def generate(self, prompt: Prompt, progress: Progress = NO_PROGRESS) -> Generation:
        model = self.model()
        try:
            return get_pool().generate(
                model,
                prompt.messages,
                grammar=prompt.grammar,
                max_tokens=self.config.max_tokens,
                temperature=self.config.temperature,
                timeout=self.config.timeout,
                # The prompt must leave room for the longest answer the grammar admits.
                answer_tokens=min(prompt.max_answer_tokens, self.config.max_tokens),
                progress=progress,
            )
        except ModelError as exc:
            raise BackendError(exc.status, exc.reason) from None


class RemoteBackend(Backend):
    """An OpenAI-compatible server (llama.cpp, llama-cpp-python, vLLM, Ollama) at endpoint_url."""

    def generate(self, prompt: Prompt, progress: Progress = NO_PROGRESS) -> Generation:
        if not self.config.endpoint_url:
            raise BackendError("error", "remote slot has no endpoint URL")
        # A remote server reports nothing until its answer is complete.
        progress.step(self.config.name, "generating", remote=True)
        try:
            return chat(
                self.config.endpoint_url,
                self.config.remote_model or self.config.model_file,
                prompt.messages,
                grammar=prompt.grammar,
                json_schema=answer_json_schema(len(prompt.listing)),
                max_tokens=self.config.max_tokens,
                temperature=self.config.temperature,
                timeout=self.config.timeout,
            )
        except RemoteError as exc:
            raise BackendError(exc.status, exc.reason) from None


BACKENDS: dict[str, type[Backend]] = {"local": LocalBackend, "remote": RemoteBackend}


def route_metrics(problem: Problem, route: Route, km_per_minute: float) -> dict[str, Any]:
    return {
        "travel_minutes": round(route.travel_minutes, 1),
        # Travel is road km at a constant speed, so km follow from the minutes.
        "km": round(route.travel_minutes * km_per_minute, 2),
        "violations": route.violations,
        "visited": len(route.visits),
        "dropped_by_rank": dropped_by_rank(problem, route),
    }


def dropped_by_rank(problem: Problem, route: Route, ranks: int = 4) -> list[int]:
    """How many stops the route leaves out per priority (A, B, C, D)."""
    counts = [0] * ranks
    for skip in route.skipped:
        counts[min(problem.stops[skip.stop].rank, ranks - 1)] += 1
    return counts


def quality_gate(problem: Problem, route: Route, baseline: Route, tolerance: float) -> str | None:
    """None when the model's route is acceptable, else the reason with the numbers."""
    if route.violations > baseline.violations:
        return f"{route.violations} violations against the algorithm's {baseline.violations}"
    ours, theirs = dropped_by_rank(problem, route), dropped_by_rank(problem, baseline)
    # Lexicographic: one more dropped A-stop is worse than any number of dropped B-stops.
    if ours > theirs:
        return f"drops more important stops (per priority A–D: {ours} against the algorithm's {theirs})"
    limit = baseline.travel_minutes * (1 + tolerance)
    if route.travel_minutes > limit + 1e-6:
        return (
            f"travel {route.travel_minutes:.0f} min is over {tolerance:.0%} more than the "
            f"algorithm's {baseline.travel_minutes:.0f} min"
        )
    return None


def generation_stats(generation: Generation) -> dict[str, Any]:
    return {
        "load_ms": generation.load_ms,
        "prompt_tokens": generation.prompt_tokens,
        "completion_tokens": generation.completion_tokens,
        "prompt_ms": generation.prompt_ms,
        "generation_ms": generation.generation_ms,
        "tokens_per_second": generation.tokens_per_second,
    }


def propose_route(
    config: SlotConfig,
    plan: Plan,
    baseline: Route,
    options: ChainOptions,
    progress: Progress = NO_PROGRESS,
) -> Proposal:
    backend_class = BACKENDS.get(config.backend)
    if backend_class is None:
        raise BackendError(
            "error", f"unknown backend {config.backend!r}; known: {sorted(BACKENDS)}"
        )
    prompt = build_prompt(plan)
    generation = backend_class(config, options).generate(prompt, progress)
    stats = generation_stats(generation)
    progress.step(config.name, "checking", **stats)
    try:
        order = parse_answer(generation.text, prompt)
    except ValueError as exc:
        raise BackendError("error", f"unusable answer: {exc}", stats=stats) from None

    raw = evaluate(plan.problem, order)
    final = improve(plan.problem, order)
    problem = plan.problem
    km_per_minute = plan.request.constraints.speed_kmh / 60
    metrics = {
        "proposal": {**route_metrics(problem, raw, km_per_minute), "order_length": len(order)},
        "final": route_metrics(problem, final, km_per_minute),
        "algorithm": route_metrics(problem, baseline, km_per_minute),
    }
    if reason := quality_gate(problem, final, baseline, options.tolerance):
        raise BackendError("rejected", reason, stats=stats, metrics=metrics)
    return Proposal(route=final, stats=stats, metrics=metrics)
