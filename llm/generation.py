"""One model answer with its timings, the same shape whether the model ran here or on a server.

Shared by the local runtime and the remote client so that the chain records both alike.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Generation:
    text: str
    prompt_tokens: int
    completion_tokens: int
    load_ms: float  # time to load the model for this call; 0.0 when it was already loaded
    prompt_ms: float  # prompt processing; 0.0 when the server does not report it
    generation_ms: float  # token generation
    total_ms: float  # the whole call as the caller waited for it
    tokens_per_second: float  # completion tokens per second of generation
