"""A model slot's effective settings as plain data (no Django), for the plain LLM modules."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class SlotConfig:
    """A slot's effective settings: the database row with the seed's environment variables on top."""

    name: str
    backend: str  # "local" (a GGUF file run here) or "remote" (an OpenAI-compatible server)
    endpoint_url: str
    model_file: str
    remote_model: str
    n_threads: int
    n_gpu_layers: int
    n_ctx: int
    n_batch: int
    timeout: float
    max_tokens: int
    temperature: float
    from_environment: frozenset[str] = field(default_factory=frozenset)
