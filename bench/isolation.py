"""What running a model in its own process costs: in-process `ModelPool` against `IsolatedPool`.

    .venv/bin/python bench/isolation.py [--rounds 9] [--stops 10,30] [--no-docs]

On the small test model (SmolLM2-135M-Instruct Q4_1), both pools hold the model loaded in one
bench process (the isolated one in its child); each answer is the caller's wall time around
`generate()` with the app's prompt and grammar at temperature 0, so both paths produce the same
tokens. Per stop count and round, the two paths run back to back, in alternating order (A B,
B A, ...), on one of two plans of that size taken in turn (each pool's prompt cache then sees
the same sequence of prompts). Reported: the median answer of each path, the overhead of the
medians, and the median of the per-round overheads (paired, so slow spells of a shared
machine cancel out). Also: the first load (process start, `import llama_cpp` and the load,
against the load alone) and the bare round trip of a message to the child.

Figures go to stdout and, unless --no-docs, into docs/benchmarks.md under
"## Model processes (bench/isolation.py)" (that section is replaced; others are left alone).
"""

from __future__ import annotations

import argparse
import datetime
import logging
import os
import platform
import resource
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from llm import isolated, memory  # noqa: E402
from llm.isolated import IsolatedPool  # noqa: E402
from llm.prompt import Prompt, build_prompt  # noqa: E402
from llm.runtime import LocalModel, ModelPool, effective_threads, llama_cpp_version  # noqa: E402
from routes.planning import build_plan  # noqa: E402
from routes.samples import point_set_bodies  # noqa: E402
from routes.schema import parse_request  # noqa: E402

MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
DOCS = ROOT / "docs" / "benchmarks.md"
SECTION = "## Model processes (bench/isolation.py)"
N_CTX = 4096
THREADS = 2
TARGET = 0.05

logger = logging.getLogger("bench.isolation")


def model_path() -> Path:
    cache = Path(os.environ.get("T2_TEST_MODEL_DIR", Path.home() / ".cache" / "t2routes"))
    path = cache / MODEL_FILE
    if not path.exists():
        sys.exit(f"{path} is missing: run `python scripts/fetch_test_model.py` first")
    return path


def prompts(stops: int) -> list[Prompt]:
    """Two prompts of `stops` Mordovia points: the first n, and the next n."""
    points = point_set_bodies()["mordovia-250"]["locations"]
    return [
        build_prompt(
            build_plan(
                parse_request({"locations": points[i * stops : (i + 1) * stops], "constraints": {}})
            )
        )
        for i in range(2)
    ]


@dataclass
class Answer:
    wall_ms: float  # the caller's wait
    cpu_ms: float  # CPU time of this process and of the model's child process, if any
    text: str


def answer(pool: ModelPool, model: LocalModel, prompt: Prompt) -> Answer:
    child = _child(pool, model.name)
    cpu_before = _cpu_seconds(child)
    started = time.perf_counter()
    generation = pool.generate(
        model,
        prompt.messages,
        grammar=prompt.grammar,
        max_tokens=prompt.max_answer_tokens,
        temperature=0.0,
        timeout=600.0,
        answer_tokens=prompt.max_answer_tokens,
    )
    wall_ms = (time.perf_counter() - started) * 1000
    return Answer(wall_ms, (_cpu_seconds(child) - cpu_before) * 1000, generation.text)


def _child(pool: ModelPool, name: str) -> psutil.Process | None:
    pids = [entry.get("pid") for entry in pool.loaded() if entry["name"] == name]
    return psutil.Process(pids[0]) if pids and pids[0] else None


def _cpu_seconds(child: psutil.Process | None) -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    total = own.ru_utime + own.ru_stime
    if child is not None:
        times = child.cpu_times()
        total += times.user + times.system
    return total


def load_ms(pool: ModelPool, model: LocalModel) -> float:
    pool.unload(model.name)
    started = time.perf_counter()
    pool.load(model)
    return (time.perf_counter() - started) * 1000


def round_trip_ms(pool: IsolatedPool, name: str, count: int = 200) -> float:
    """Median time of a ping to the child and its answer (the fixed cost of a request)."""
    slot = pool._slot(name)
    times = []
    with slot.lock:
        for _ in range(count):
            started = time.perf_counter()
            slot.ask({"op": "ping"}, doing="answering a ping")
            times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def measure(rounds: int, stops: list[int]) -> dict[str, Any]:
    model = LocalModel("bench", model_path(), THREADS, 0, N_CTX, 512)
    here, child = ModelPool(), IsolatedPool()
    paths = {"in-process": here, "isolated": child}
    try:
        loads: dict[str, list[float]] = {name: [] for name in paths}
        for i in range(3):
            for name in list(paths)[:: 1 if i % 2 == 0 else -1]:
                loads[name].append(load_ms(paths[name], model))
        result: dict[str, Any] = {
            "load": {name: statistics.median(values) for name, values in loads.items()},
            "ping_ms": round_trip_ms(child, model.name),
            "sizes": [],
        }
        for n in stops:
            variants = prompts(n)
            for prompt in variants:  # warm both: first answers pay for one-off allocations
                for pool in paths.values():
                    answer(pool, model, prompt)
            runs: dict[str, list[Answer]] = {name: [] for name in paths}
            for r in range(rounds):
                prompt = variants[r % 2]
                order = list(paths) if r % 2 == 0 else list(paths)[::-1]
                for name in order:
                    runs[name].append(answer(paths[name], model, prompt))
                logger.info(
                    "%d stops, round %d: in-process %.0f ms (CPU %.0f ms), isolated %.0f ms "
                    "(CPU %.0f ms), load average %.1f",
                    n,
                    r + 1,
                    runs["in-process"][-1].wall_ms,
                    runs["in-process"][-1].cpu_ms,
                    runs["isolated"][-1].wall_ms,
                    runs["isolated"][-1].cpu_ms,
                    os.getloadavg()[0],
                )
            here_runs, child_runs = runs["in-process"], runs["isolated"]
            size = {
                "stops": n,
                "prompt_tokens": here.count_prompt_tokens(model, variants[0].messages),
                "rounds": rounds,
                "same_answers": all(
                    x.text == y.text for x, y in zip(here_runs, child_runs, strict=True)
                ),
            }
            for kind in ("wall_ms", "cpu_ms"):
                a = [getattr(x, kind) for x in here_runs]
                b = [getattr(y, kind) for y in child_runs]
                ratios = [y / x - 1 for x, y in zip(a, b, strict=True)]
                size[kind] = {
                    "in": statistics.median(a),
                    "iso": statistics.median(b),
                    "overhead": statistics.median(b) / statistics.median(a) - 1,
                    "paired": statistics.median(ratios),
                    "spread": (min(ratios), max(ratios)),
                }
            result["sizes"].append(size)
        return result
    finally:
        here.close()
        child.close()


def conditions(before: tuple[float, ...], after: tuple[float, ...]) -> str:
    path = model_path()
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = " / ".join(f"{x:.1f}" for x in before), " / ".join(f"{x:.1f}" for x in after)
    return (
        f"Run {datetime.date.today().isoformat()} on {cpu}, {effective_threads(0)} usable cores, "
        f"{memory.total_bytes() / memory.GB:.1f} GB RAM, Python {platform.python_version()}, "
        f"llama-cpp-python {llama_cpp_version()}; model {path.name.removesuffix('.gguf')} "
        f"({path.stat().st_size / 1024**2:.0f} MB), n_threads={THREADS}, n_ctx={N_CTX}, "
        f"temperature 0. Load average (1/5/15 min) {load[0]} before, {load[1]} after: the "
        "machine was shared with other engineers' test runs, so absolute times move between "
        "runs; the interleaved, paired comparison is the figure to read."
    )


def report(result: dict[str, Any], setting: str) -> str:
    lines = [
        SECTION,
        "",
        "Each loaded model runs in a child process of its own (`llm.isolated`, "
        "`T2_ISOLATE_MODELS`, on by default), so that a crash in llama.cpp fails one attempt "
        "instead of the worker. What that costs, against the model in the worker's own process:",
        "",
        setting,
        "",
        "| stops | prompt tokens | measure | in-process (median) | isolated (median) "
        "| overhead of the medians | per-round overhead, median (min…max) |",
        "| ---: | ---: | --- | ---: | ---: | ---: | ---: |",
    ]
    labels = {
        "wall_ms": "answer time (the caller's wait)",
        "cpu_ms": "CPU time (both processes)",
    }
    for size in result["sizes"]:
        for kind, label in labels.items():
            m = size[kind]
            low, high = m["spread"]
            lines.append(
                f"| {size['stops']} | {size['prompt_tokens']} | {label} | {m['in']:.0f} ms "
                f"| {m['iso']:.0f} ms | {m['overhead']:+.1%} "
                f"| {m['paired']:+.1%} ({low:+.1%}…{high:+.1%}) |"
            )
    sizes = result["sizes"]
    worst = max(s["wall_ms"]["paired"] for s in sizes)
    same = all(s["same_answers"] for s in sizes)
    load = result["load"]
    lines += [
        "",
        f"{sizes[0]['rounds']} rounds per size, the two paths back to back in alternating "
        f"order; the answers were {'the same' if same else 'NOT the same'} on both paths in "
        f"every round. Target: under 5 % of an answer's time; the paired answer-time overhead "
        f"is at most {worst:+.1%} ({'under' if worst < TARGET else 'over'} the target).",
        "",
        "| other costs | in-process | isolated |",
        "| --- | ---: | ---: |",
        f"| first load (median of 3; isolated: process start, `import llama_cpp`, load) "
        f"| {load['in-process']:.0f} ms | {load['isolated']:.0f} ms |",
        f"| a request's round trip to the child (ping, median of 200) | – "
        f"| {result['ping_ms']:.2f} ms |",
        f"| memory the guard adds per model (interpreter and library) | – "
        f"| {isolated.PROCESS_BYTES / 1024**2:.0f} MiB |",
        "",
        "Where the time goes: a request is one JSON message each way plus one small message per "
        "generated token (the progress the run page shows), a fraction of a millisecond "
        "against tens of milliseconds per token; the model computes the same tokens in either "
        "process. The first load pays for starting Python and importing llama-cpp-python in "
        "the child (once per model and keep-alive period).",
    ]
    return "\n".join(lines) + "\n"


def write_section(text: str) -> None:
    """Replace our section of docs/benchmarks.md (up to the next `## `), or append it."""
    existing = DOCS.read_text() if DOCS.exists() else "# Benchmarks\n"
    start = existing.find(SECTION)
    if start == -1:
        updated = existing.rstrip("\n") + "\n\n" + text
    else:
        end = existing.find("\n## ", start + len(SECTION))
        rest = existing[end + 1 :] if end != -1 else ""
        updated = existing[:start] + text + ("\n" + rest if rest else "")
    DOCS.write_text(updated.rstrip("\n") + "\n")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=9, help="interleaved rounds per size")
    parser.add_argument("--stops", default="10,30", help="stop counts (default 10,30)")
    parser.add_argument("--no-docs", action="store_true", help="print only")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    logging.getLogger("llm").setLevel(logging.WARNING)
    before = os.getloadavg()
    result = measure(args.rounds, [int(n) for n in args.stops.split(",")])
    text = report(result, conditions(before, os.getloadavg()))
    print(text)
    if not args.no_docs:
        write_section(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
