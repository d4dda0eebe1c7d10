"""How a run in progress reports its steps, and how it learns it was cancelled.

The chain, the backends and the model pool call a `Progress` as they go; the base class does
nothing, so plain calls (benchmarks, tests, warm-up) pass none. `routes.optimize` passes one
that writes the run's current step to the database and reads its cancel flag, each at most a
few times a second.
"""

from __future__ import annotations

from typing import Any

#: The steps of one link of the chain, in order.
PHASES = ("waiting", "loading", "prompt", "generating", "checking")


class Progress:
    def step(self, slot: str, phase: str, **details: Any) -> None:
        """A link entered a phase (one of PHASES); details such as load_ms or prompt_tokens."""

    def tokens(self, slot: str, count: int, tokens_per_second: float) -> None:
        """Generation has produced `count` tokens so far. Called once per token: keep it cheap."""

    def attempt(self, record: Any) -> None:
        """A link ended (an `llm.chain.AttemptRecord`)."""

    def cancelled(self) -> bool:
        """Whether the run should stop now. Called once per token: keep it cheap."""
        return False


NO_PROGRESS = Progress()
