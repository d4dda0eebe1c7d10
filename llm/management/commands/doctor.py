"""What this machine can run: per slot file, size, quantization and RAM; GPU; seed scenarios."""

from __future__ import annotations

import os
import re

from django.core import checks
from django.core.management.base import BaseCommand

from llm.catalogue import MODELS, SCENARIOS
from llm.files import ModelFileNotFound
from llm.memory import (
    GB,
    available_bytes,
    estimate_bytes,
    format_gb,
    read_gguf_metadata,
    total_bytes,
)
from llm.models import ModelSlot
from llm.runtime import gpu_offload_supported, llama_cpp_version

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
    help = "Check model files, memory, GPU offload and which of the seed's scenarios fit here."

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
        self.stdout.write("")
        for slot in ModelSlot.objects.all():
            self._slot(slot, free, gpu)
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

    def _scenarios(self, total: int) -> None:
        self.stdout.write(self.style.MIGRATE_HEADING("Seed scenarios (guide, section 2):"))
        for letter, title, slots, minimum_gb in SCENARIOS:
            ok = total >= minimum_gb * GB * 0.95  # "24 GB" machines report a little less
            verdict = self.style.SUCCESS("yes") if ok else self.style.ERROR("no")
            self.stdout.write(
                f"  {letter} {title}: needs {minimum_gb} GB RAM ({', '.join(slots)}): {verdict}"
            )

    def _checks(self) -> None:
        messages = [m for m in checks.run_checks() if m.id and m.id.startswith("llm.")]
        if not messages:
            self.stdout.write(self.style.SUCCESS("System checks: no model configuration problems"))
        for message in messages:
            self.stdout.write(
                f"{message.id}: {message.msg}" + (f" ({message.hint})" if message.hint else "")
            )
