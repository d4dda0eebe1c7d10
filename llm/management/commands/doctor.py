"""What this machine can run: per slot file, size, quantization and RAM; GPU; the llama.cpp
build and a short real inference in a child process; the seed's scenarios."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import NamedTuple

from django.core import checks
from django.core.management.base import BaseCommand

from llm.catalogue import MODELS
from llm.files import ModelFileNotFound
from llm.memory import (
    GGUFError,
    available_bytes,
    estimate_bytes,
    format_gb,
    read_gguf_metadata,
    total_bytes,
)
from llm.models import ModelSlot
from llm.probe import ProbeResult, probe_model
from llm.runtime import gpu_offload_supported, llama_build_info, llama_cpp_version
from llm.stats import fitting_scenarios

QUANT = re.compile(r"(IQ\d_[A-Z]+|Q\d_K_[SML]|Q\d_K|Q\d_\d|F16|BF16|F32)", re.IGNORECASE)
# llama.cpp's general.file_type numbers for the common quantizations.
FILE_TYPES = {
    0: "F32",
    1: "F16",
    2: "Q4_0",
    3: "Q4_1",
    7: "Q8_0",
    8: "Q5_0",
    9: "Q5_1",
    10: "Q2_K",
    11: "Q3_K_S",
    12: "Q3_K_M",
    13: "Q3_K_L",
    14: "Q4_K_S",
    15: "Q4_K_M",
    16: "Q5_K_S",
    17: "Q5_K_M",
    18: "Q6_K",
    32: "BF16",
}


#: /proc/cpuinfo flags of the AMX tile instructions (a build with AMX needs them, and more:
#: a host may list them without enabling them, which only running them tells).
AMX_FLAGS = ("amx_tile", "amx_int8", "amx_bf16")


def compiled_features(info: str) -> str:
    """The CPU part of llama.cpp's system info as "SSE3=1 AVX2=1 ... AMX_INT8=0". llama.cpp
    lists only what was compiled in, so AMX_INT8=0 is added when it is absent."""
    cpu = next((part for part in info.split("\n") if "CPU" in part), info)
    pairs = re.findall(r"([A-Z][A-Z0-9_]*)\s*=\s*(\d+)", cpu)
    if not any(name == "AMX_INT8" for name, _ in pairs):
        pairs.append(("AMX_INT8", "0"))
    return " ".join(f"{name}={value}" for name, value in pairs)


def host_amx_flags(cpuinfo: Path = Path("/proc/cpuinfo")) -> list[str]:
    """The AMX flags this CPU reports ([] when none, or not Linux)."""
    try:
        text = cpuinfo.read_text()
    except OSError:
        return []
    flags = next((line for line in text.splitlines() if line.startswith("flags")), "")
    present = set(flags.partition(":")[2].split())
    return [flag for flag in AMX_FLAGS if flag in present]


class InferenceTarget(NamedTuple):
    """The model the inference check runs, with its slot's settings."""

    name: str
    path: Path
    threads: int = 0
    n_ctx: int = 2048
    n_batch: int = 512
    gpu_layers: int = 0


def quantization_of(path) -> str:
    try:
        file_type = read_gguf_metadata(path).get("general.file_type")
    except Exception:  # an unreadable header is reported by the size/estimate lines
        file_type = None
    if file_type in FILE_TYPES:
        return FILE_TYPES[file_type]
    match = QUANT.search(path.name)
    return match.group(1).upper() if match else "unknown"


class Command(BaseCommand):
    help = (
        "Check model files, memory, GPU offload, the llama.cpp build (with a short real "
        "inference in a child process) and which of the seed's scenarios fit here."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--model",
            type=Path,
            help="GGUF file for the inference check (default: the first enabled local slot's)",
        )
        parser.add_argument("--no-inference", action="store_true", help="skip the inference check")
        parser.add_argument(
            "--inference-timeout",
            type=float,
            default=300.0,
            help="seconds the inference check may take, loading included (default 300)",
        )

    def handle(self, *args, **options):
        total, free = total_bytes(), available_bytes()
        self.stdout.write(
            f"Machine: {os.cpu_count()} cores, {format_gb(total)} RAM, {format_gb(free)} free"
        )
        version = llama_cpp_version()
        gpu = gpu_offload_supported()
        self.stdout.write(
            f"llama-cpp-python: {version or 'NOT INSTALLED (pip install llama-cpp-python)'}; "
            f"GPU offload: {'yes' if gpu else 'no (CPU build: n_gpu_layers is ignored)'}"
        )
        if version:
            self._build()
        self.stdout.write("")
        for slot in ModelSlot.objects.all():
            self._slot(slot, free, gpu)
        self.stdout.write("")
        if version and not options["no_inference"]:
            self._inference(options["model"], options["inference_timeout"])
            self.stdout.write("")
        self._scenarios(total)
        self.stdout.write("")
        self._checks()

    def _slot(self, slot: ModelSlot, free: int, gpu: bool) -> None:
        config = slot.config
        state = "enabled" if slot.enabled else "disabled"
        self.stdout.write(
            self.style.MIGRATE_HEADING(
                f"{slot.name}: {slot.display_name} ({slot.role}, position {slot.position}, {state})"
            )
        )
        if config.from_environment:
            self.stdout.write(
                f"  from the environment: {', '.join(sorted(config.from_environment))}"
            )
        if config.backend == "remote":
            self.stdout.write(
                f"  remote: {config.endpoint_url or 'NO URL'} model {config.remote_model!r}"
            )
            return
        try:
            path = slot.find_model_file()
        except ModelFileNotFound as exc:
            self.stdout.write(self.style.WARNING(f"  {exc}"))
            self.stdout.write(f"  get it: manage.py download_models {slot.name}")
            info = MODELS.get(slot.name)
            if info:
                seed = info.default
                self.stdout.write(
                    f"  the seed's {seed.quantization} file needs ~{seed.ram_gb} GB RAM"
                )
            return
        need = estimate_bytes(path, config.n_ctx, config.n_batch)
        fits = need <= free
        self.stdout.write(
            f"  file: {path} ({format_gb(path.stat().st_size)}, {quantization_of(path)})"
        )
        line = f"  needs ~{format_gb(need)} at n_ctx={config.n_ctx}; {format_gb(free)} free"
        self.stdout.write(
            self.style.SUCCESS(line + ": fits")
            if fits
            else self.style.ERROR(line + ": DOES NOT FIT")
        )
        if config.n_gpu_layers != 0 and not gpu:
            self.stdout.write(f"  n_gpu_layers={config.n_gpu_layers} but this build cannot offload")

    def _build(self) -> None:
        features = compiled_features(llama_build_info())
        amx = host_amx_flags()
        self.stdout.write(
            f"llama.cpp build: compiled for {features}; "
            f"this CPU reports AMX: {' '.join(amx) if amx else 'no'}"
        )
        if "AMX_INT8=1" in features:
            self.stdout.write(
                self.style.WARNING(
                    "  this build runs AMX tile instructions: hosts that list AMX without "
                    "enabling it kill it with SIGILL (the inference check below tells)"
                )
            )

    def _inference(self, model: Path | None, timeout: float) -> None:
        """Run a short real inference in a child process, so a build that dies on this CPU is
        reported here with its signal and the fix instead of killing the worker later."""
        target = self._inference_target(model)
        if isinstance(target, str):
            self.stdout.write(f"Inference check: skipped ({target})")
            return
        self.stdout.write(
            self.style.MIGRATE_HEADING(
                f"Inference check ({target.name}: {target.path.name}, in a child process):"
            )
        )
        result = probe_model(
            target.path,
            threads=target.threads,
            n_ctx=target.n_ctx,
            n_batch=target.n_batch,
            gpu_layers=target.gpu_layers,
            timeout=timeout,
        )
        self._report_probe(result)

    def _inference_target(self, model: Path | None) -> InferenceTarget | str:
        """The model to try (--model, else the first enabled local slot whose file is
        found), or why there is none."""
        if model is not None:
            if not model.is_file():
                return f"{model} is not a file"
            target = InferenceTarget("--model", model.resolve())
        else:
            for slot in ModelSlot.objects.in_chain():
                config = slot.config
                if config.backend != ModelSlot.Backend.LOCAL:
                    continue
                try:
                    path = slot.find_model_file()
                except ModelFileNotFound:
                    continue
                target = InferenceTarget(
                    slot.name,
                    path,
                    config.n_threads,
                    config.n_ctx,
                    config.n_batch,
                    config.n_gpu_layers,
                )
                break
            else:
                return "no enabled local slot has its model file; try --model PATH"
        try:
            need = estimate_bytes(target.path, target.n_ctx, target.n_batch)
        except (GGUFError, OSError):
            return target  # the child says what is wrong with the file
        if need > available_bytes():
            return f"{target.path.name} needs ~{format_gb(need)}, more than is free"
        return target

    def _report_probe(self, result: ProbeResult) -> None:
        if result.ok:
            self.stdout.write(self.style.SUCCESS(f"  {result.summary}"))
            return
        self.stdout.write(self.style.ERROR(f"  FAILED: {result.reason}"))
        if result.fix:
            self.stdout.write(f"  fix: {result.fix}")
        for line in result.output.splitlines():
            self.stdout.write(f"    | {line}")

    def _scenarios(self, total: int) -> None:
        self.stdout.write(self.style.MIGRATE_HEADING("Seed scenarios (guide, section 2):"))
        for scenario in fitting_scenarios(total):  # the models page shows the same verdicts
            verdict = self.style.SUCCESS("yes") if scenario["fits"] else self.style.ERROR("no")
            self.stdout.write(
                f"  {scenario['letter']} {scenario['title']}: needs {scenario['minimum_gb']} GB"
                f" RAM ({', '.join(scenario['slots'])}): {verdict}"
            )

    def _checks(self) -> None:
        messages = [m for m in checks.run_checks() if m.id and m.id.startswith("llm.")]
        if not messages:
            self.stdout.write(self.style.SUCCESS("System checks: no model configuration problems"))
        for message in messages:
            self.stdout.write(
                f"{message.id}: {message.msg}" + (f" ({message.hint})" if message.hint else "")
            )
