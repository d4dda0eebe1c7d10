"""A short real inference in a child process: does this llama.cpp build run on this CPU?

A build compiled for instructions the host does not execute (AMX kernels on a host that shows
AMX in CPUID without enabling it) loads a model and answers a one-token prompt, then dies with
SIGILL at the first batched decode. In the worker that takes every run it holds with it. So
`manage.py doctor` runs a prompt of a few hundred tokens through the app's own path
(`llm.runtime.ModelPool`, the app's prompt and answer grammar) in a child process, and a child
killed by a signal is reported by name with the fix.

Child side:  python -m llm.probe PATH [--threads N] [--n-ctx N] [--n-batch N] [--gpu-layers N]
             prints one JSON line with the numbers, exits 0; any failure exits non-zero.
Parent side: `probe_model(path, ...)` → `ProbeResult` (plain data, nothing printed).
"""

from __future__ import annotations

import argparse
import json
import resource
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]

#: What a build that crashes this way needs; the bootstrap leaves AMX out unless T2_LLAMA_AMX=1.
REBUILD = (
    "rebuild llama-cpp-python for this CPU: `rm .venv/.llama-build && scripts/run` "
    "(the default build, T2_LLAMA_AMX=0, leaves AMX out; unset T2_LLAMA_AMX if it is 1)"
)

#: Signals a llama.cpp child dies of: what it means here, and what to do about it.
SIGNALS: dict[str, tuple[str, str]] = {
    "SIGILL": (
        "illegal instruction: this llama.cpp build uses CPU instructions this host does not run",
        REBUILD,
    ),
    "SIGSEGV": (
        "segmentation fault inside llama.cpp",
        "check the model file (download it again) and that llama-cpp-python is the pinned "
        "version; rebuild with `rm .venv/.llama-build && scripts/run`",
    ),
    "SIGBUS": (
        "bus error: the model file changed or shrank while it was read",
        "download the model file again",
    ),
    "SIGABRT": (
        "llama.cpp aborted (a failed check; its message is in the output above)",
        "check the slot's settings (n_ctx, n_batch, n_gpu_layers) and the model file",
    ),
    "SIGKILL": (
        "killed, usually by the kernel's out-of-memory killer",
        "free memory, lower n_ctx or use a smaller quantization",
    ),
}


@dataclass(frozen=True)
class ProbeResult:
    """What the child did. `ok` with its numbers, or why not: `signal` (e.g. "SIGILL") when a
    signal killed it, a `reason` sentence, and the `fix` when there is a known one."""

    ok: bool
    reason: str = ""
    fix: str = ""
    signal: str = ""
    returncode: int | None = None
    numbers: dict[str, Any] = field(default_factory=dict)
    output: str = ""  # the end of the child's stderr, for what the numbers do not say

    @property
    def summary(self) -> str:
        if not self.ok:
            return self.reason
        n = self.numbers
        return (
            f"inference ok: {n['prompt_tokens']} prompt tokens in {n['prompt_ms']:.0f} ms, "
            f"{n['completion_tokens']} tokens at {n['tokens_per_second']:.1f} tokens/s "
            f"({n['ms_per_token']:.1f} ms/token), load {n['load_ms']:.0f} ms, "
            f"{n['threads']} threads"
        )


def probe_model(
    path: Path | str,
    *,
    threads: int = 0,
    n_ctx: int = 2048,
    n_batch: int = 512,
    gpu_layers: int = 0,
    timeout: float = 180.0,
) -> ProbeResult:
    """Run the short inference on the model at `path` in a child process (see module doc)."""
    command = [
        sys.executable,
        "-m",
        "llm.probe",
        str(path),
        f"--threads={threads}",
        f"--n-ctx={n_ctx}",
        f"--n-batch={n_batch}",
        f"--gpu-layers={gpu_layers}",
    ]
    return run_child(command, timeout=timeout)


def run_child(command: list[str], *, timeout: float = 180.0) -> ProbeResult:
    """Run a probe child and say what became of it. The child prints its numbers as the last
    line of stdout; a negative return code is the signal that killed it."""
    try:
        done = subprocess.run(
            command,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=timeout,
            preexec_fn=_no_core_dump,
        )
    except subprocess.TimeoutExpired:
        return ProbeResult(
            ok=False,
            reason=f"no answer within {timeout:g} s (the child was stopped)",
            fix="a slow machine or a large model: try a smaller one with `doctor --model PATH`",
        )
    output = _tail(done.stderr)
    if done.returncode < 0:
        name = _signal_name(-done.returncode)
        meaning, fix = SIGNALS.get(name, (f"killed by {name}", ""))
        return ProbeResult(
            ok=False,
            reason=f"the inference process died of {name} ({meaning})",
            fix=fix,
            signal=name,
            returncode=done.returncode,
            output=output,
        )
    lines = done.stdout.strip().splitlines()
    try:
        numbers = json.loads(lines[-1]) if lines else None
    except json.JSONDecodeError:
        numbers = None
    if done.returncode != 0 or not isinstance(numbers, dict):
        last = output.splitlines()[-1] if output else "no output"
        return ProbeResult(
            ok=False,
            reason=f"the inference process exited with status {done.returncode}: {last}",
            returncode=done.returncode,
            output=output,
        )
    return ProbeResult(ok=True, returncode=0, numbers=numbers, output=output)


def _no_core_dump() -> None:
    # A crash is reported by its signal; a core file of a model-sized process helps nobody.
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def _tail(text: str, lines: int = 12) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


# ---------------------------------------------------------------- the child


def probe_prompt() -> Any:
    """The app's prompt for the original project's 10-stop request: a few hundred tokens
    (276 with SmolLM2's tokenizer), so the prompt is decoded in a batch."""
    from llm.prompt import build_prompt
    from routes.planning import build_plan
    from routes.samples import request_bodies
    from routes.schema import parse_request

    body = max(request_bodies(), key=lambda b: len(b["locations"]))
    return build_prompt(build_plan(parse_request(body)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m llm.probe", description=__doc__)
    parser.add_argument("path", type=Path)
    parser.add_argument("--threads", type=int, default=0, help="0: every usable core")
    parser.add_argument("--n-ctx", type=int, default=2048)
    parser.add_argument("--n-batch", type=int, default=512)
    parser.add_argument("--gpu-layers", type=int, default=0)
    parser.add_argument("--timeout", type=float, default=600.0)
    args = parser.parse_args(argv)

    from llm.runtime import LocalModel, ModelError, ModelPool, effective_threads

    prompt = probe_prompt()
    model = LocalModel("probe", args.path, args.threads, args.gpu_layers, args.n_ctx, args.n_batch)
    pool = ModelPool()
    try:
        g = pool.generate(
            model,
            prompt.messages,
            grammar=prompt.grammar,
            max_tokens=prompt.max_answer_tokens,
            temperature=0.0,
            timeout=args.timeout,
        )
    except ModelError as exc:
        print(exc.reason, file=sys.stderr)
        return 1
    finally:
        pool.close()
    numbers = {
        "prompt_tokens": g.prompt_tokens,
        "completion_tokens": g.completion_tokens,
        "load_ms": g.load_ms,
        "prompt_ms": g.prompt_ms,
        "generation_ms": g.generation_ms,
        "total_ms": g.total_ms,
        "tokens_per_second": g.tokens_per_second,
        "ms_per_token": g.generation_ms / g.completion_tokens if g.completion_tokens else 0.0,
        "threads": effective_threads(args.threads),
    }
    print(json.dumps(numbers))
    return 0


if __name__ == "__main__":
    sys.exit(main())
