"""The seed's model table (MODEL_SETUP_GUIDE sections 1–3 and 10), as data.

Plain Python: `download_models`, `doctor`, the default slots and the memory guard read it.
"""

from __future__ import annotations

from dataclasses import dataclass

GB = 1024**3


@dataclass(frozen=True)
class Variant:
    quantization: str
    repo: str
    filename: str
    file_gb: float  # download size
    ram_gb: float  # resident while loaded, as the seed's section 2 gives it


@dataclass(frozen=True)
class ModelInfo:
    slot: str
    display_name: str
    role: str
    position: int
    parameters: str
    default_quantization: str
    variants: tuple[Variant, ...]
    n_threads: int
    n_gpu_layers: int
    n_ctx: int
    n_batch: int
    timeout: int

    def variant(self, quantization: str) -> Variant:
        for variant in self.variants:
            if variant.quantization.lower() == quantization.lower():
                return variant
        known = ", ".join(v.quantization for v in self.variants)
        raise KeyError(f"{self.slot} has no {quantization} file; known: {known}")

    @property
    def default(self) -> Variant:
        return self.variant(self.default_quantization)


QWEN_REPO = "Qwen/Qwen2-0.5B-Instruct-GGUF"
LLAMA_REPO = "bartowski/Llama-3.2-1B-Instruct-GGUF"

MODELS: dict[str, ModelInfo] = {
    "qwen": ModelInfo(
        slot="qwen",
        display_name="Qwen2-0.5B-Instruct",
        role="primary",
        position=1,
        parameters="0.5B",
        default_quantization="Q4_K_M",
        variants=(
            Variant("Q2_K", QWEN_REPO, "qwen2-0_5b-instruct-q2_k.gguf", 0.2, 0.4),
            Variant("Q4_K_M", QWEN_REPO, "qwen2-0_5b-instruct-q4_k_m.gguf", 0.4, 0.6),
            Variant("Q8_0", QWEN_REPO, "qwen2-0_5b-instruct-q8_0.gguf", 0.6, 1.0),
        ),
        n_threads=4,
        n_gpu_layers=0,
        n_ctx=2048,
        n_batch=512,
        timeout=120,
    ),
    "tpro": ModelInfo(
        slot="tpro",
        display_name="T-Pro-it-1.0",
        role="secondary",
        position=2,
        parameters="33B",
        default_quantization="Q4_K_M",
        variants=(
            Variant("Q2_K", "VOIDER/T-pro-it-1.0-Q2_K-GGUF", "t-pro-it-1.0-q2_k.gguf", 12, 14),
            Variant("Q3_K_M", "al-x/T-pro-it-1.0-Q3_K_M-GGUF", "T-pro-it-1.0-Q3_K_M.gguf", 14, 16),
            Variant(
                "Q4_K_M", "t-tech/T-pro-it-1.0-Q4_K_M-GGUF", "t-pro-it-1.0-q4_k_m.gguf", 19.8, 20
            ),
            Variant("Q6_K", "t-tech/T-pro-it-1.0-Q6_K-GGUF", "t-pro-it-1.0-q6_k.gguf", 26.9, 27),
            Variant("Q8_0", "t-tech/T-pro-it-1.0-Q8_0-GGUF", "t-pro-it-1.0-q8_0.gguf", 35, 35),
        ),
        n_threads=4,
        n_gpu_layers=0,
        n_ctx=512,
        n_batch=512,
        timeout=30,
    ),
    "llama": ModelInfo(
        slot="llama",
        display_name="Llama-3.2-1B-Instruct",
        role="fallback",
        position=3,
        parameters="1B",
        default_quantization="Q4_K_M",
        variants=(
            Variant("Q4_K_M", LLAMA_REPO, "Llama-3.2-1B-Instruct-Q4_K_M.gguf", 0.8, 1.2),
            Variant("Q8_0", LLAMA_REPO, "Llama-3.2-1B-Instruct-Q8_0.gguf", 1.3, 2.0),
        ),
        n_threads=8,
        n_gpu_layers=-1,
        n_ctx=4096,
        n_batch=256,
        timeout=120,
    ),
}

#: The seed's launch scenarios (section 2): the slots involved and the minimum RAM in GB.
SCENARIOS: tuple[tuple[str, str, tuple[str, ...], float], ...] = (
    ("A", "Qwen only", ("qwen",), 8),
    ("B", "Qwen + Llama", ("qwen", "llama"), 8),
    ("C", "Qwen + T-Pro (Q4_K_M)", ("qwen", "tpro"), 24),
    ("D", "All three (T-Pro Q4_K_M)", ("qwen", "tpro", "llama"), 32),
    ("E", "All three with T-Pro Q3_K_M / Q2_K", ("qwen", "tpro", "llama"), 20),
)
