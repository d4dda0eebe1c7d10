"""Benchmark of the local LLM path on the small test model (SmolLM2-135M-Instruct Q4_1).

    .venv/bin/python bench/llm.py [--repeats 7] [--speed-rounds 3] [--quick] [--no-docs] [--nice N]
    .venv/bin/python bench/llm.py --smoke        # CI: about a minute, nothing written
    .venv/bin/python bench/llm.py --speed-only [--speed-stops 10,30] [--speed-setups WORDS]

On a shared machine, as root, `--nice -15` runs the benchmark in a session of its own at a
higher priority, so that other people's processes disturb the figures less (the published
figures were taken so).

In one run:

- load: the pool's first request (load_ms) against constructing a bare `llama_cpp.Llama`
  with the same settings;
- overhead: the app path (`ModelPool.generate` with the app's prompt and grammar) against a
  bare llama-cpp-python `create_chat_completion` with the same messages, grammar and sampling
  settings on its own `Llama`, interleaved (app, bare, bare, app, ...) over two plans, medians;
- prompt tokens per stop for n = 4, 10, 30, 100 (with the chat template), the marginal cost
  of a stop, and the most stops that fit T-Pro's n_ctx = 512;
- the answer grammar: time and tokens/s for n = 10, 30, 100, and for n = 10 the grammar
  llama-cpp-python derives from `answer_json_schema` instead (what a server would use);
- token speed: how llama.cpp's OpenMP threads wait at its barriers. The app as shipped
  (llm.runtime.WAIT_POLICY) against bare llama-cpp-python with its defaults (no OpenMP
  variable set by us) and the other settings tried (passive, active, bounded spinning with
  GOMP_SPINCOUNT, one thread), idle and with one busy core, interleaved in one run; ms per
  token and total time for 10 and 30 stops. Each setup runs in a child process of its own:
  OpenMP reads its environment once, when llama.cpp starts;
- quality: over the sample requests and generated days, the share of answers whose route
  after `improve()` passes the app's quality gate against `solve()` (no more violations, no
  more dropped priority, travel within 10%), beside the same for the listing order echoed
  back without a model, so the model's own contribution shows.

The bare path is the one place outside llm.runtime that imports llama_cpp: it is the
yardstick. In the overhead part both paths run in this process under the app's wait settings;
the token-speed part gives the bare path llama-cpp-python's own.
Figures go to stdout and, unless --no-docs, into docs/benchmarks.md under
"## LLM (bench/llm.py)" (that section is replaced; other sections are left alone).
"""

from __future__ import annotations

import argparse
import datetime
import json
import logging
import os
import platform
import random
import resource
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from llm import memory, runtime  # noqa: E402
from llm.backends import quality_gate  # noqa: E402
from llm.prompt import Prompt, answer_json_schema, build_prompt, parse_answer  # noqa: E402
from llm.runtime import SAMPLING, LocalModel, ModelError, ModelPool  # noqa: E402
from routes.engine import improve, solve  # noqa: E402
from routes.planning import Plan, build_plan  # noqa: E402
from routes.samples import point_set_bodies, request_bodies  # noqa: E402
from routes.schema import parse_request  # noqa: E402

MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
DOCS = ROOT / "docs" / "benchmarks.md"
SECTION = "## LLM (bench/llm.py)"
N_CTX = 4096  # room for the 100-stop prompt (~1.7k tokens) and its answer
THREADS = 2
TEMPERATURE = 0.0  # both paths then produce the same tokens, so times compare like for like
TOLERANCE = 0.10
SCHEMA_TIMEOUT = 60.0

logger = logging.getLogger("bench.llm")


def model_path() -> Path:
    cache = Path(os.environ.get("T2_TEST_MODEL_DIR", Path.home() / ".cache" / "t2routes"))
    path = cache / MODEL_FILE
    if not path.exists():
        sys.exit(f"{path} is missing: run `python scripts/fetch_test_model.py` first")
    return path


# ---------------------------------------------------------------- plans


def mordovia_points() -> list[dict[str, Any]]:
    return point_set_bodies()["mordovia-250"]["locations"]


def plan_of(body: dict[str, Any]) -> Plan:
    return build_plan(parse_request(body))


def first_n_plan(points: list[dict[str, Any]], n: int) -> Plan:
    return plan_of({"locations": points[:n], "constraints": {}})


def generated_plans(points: list[dict[str, Any]], count: int) -> list[tuple[str, Plan]]:
    """Seeded days: a random handful of the 250 Mordovia points (their own windows and
    categories), half of them starting from the first point and ending back there."""
    plans = []
    for seed in range(count):
        rng = random.Random(seed)
        n = rng.choice([6, 8, 12, 15, 20])
        chosen = rng.sample(points, n)
        constraints = {"start": chosen[0]["ID"], "return_to_start": True} if seed % 2 else {}
        plans.append(
            (f"generated-{seed} ({n})", plan_of({"locations": chosen, "constraints": constraints}))
        )
    return plans


# ---------------------------------------------------------------- measurements


@dataclass
class Timed:
    ms: float
    prompt_tokens: int
    completion_tokens: int
    text: str


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def app_call(pool: ModelPool, model: LocalModel, prompt: Prompt) -> Timed:
    started = time.perf_counter()
    g = pool.generate(
        model,
        prompt.messages,
        grammar=prompt.grammar,
        max_tokens=prompt.max_answer_tokens,
        temperature=TEMPERATURE,
        timeout=600,
    )
    return Timed(
        (time.perf_counter() - started) * 1000, g.prompt_tokens, g.completion_tokens, g.text
    )


def bare_call(llama: Any, llama_cpp: Any, prompt: Prompt) -> Timed:
    started = time.perf_counter()
    out = llama.create_chat_completion(
        prompt.messages,
        grammar=llama_cpp.LlamaGrammar.from_string(prompt.grammar, verbose=False),
        max_tokens=prompt.max_answer_tokens,
        temperature=TEMPERATURE,
        **SAMPLING,
    )
    usage = out["usage"]
    text = out["choices"][0]["message"]["content"]
    return Timed(
        (time.perf_counter() - started) * 1000,
        usage["prompt_tokens"],
        usage["completion_tokens"],
        text,
    )


def bare_llama(llama_cpp: Any, path: Path, threads: int = THREADS) -> tuple[Any, float]:
    started = time.perf_counter()
    llama = llama_cpp.Llama(
        model_path=str(path),
        n_ctx=N_CTX,
        n_batch=512,
        n_threads=threads,
        n_threads_batch=threads,
        use_mmap=False,
        verbose=False,
    )
    return llama, (time.perf_counter() - started) * 1000


def measure_load(path: Path, llama_cpp: Any, model: LocalModel, times: int) -> dict[str, float]:
    app: list[float] = []
    bare: list[float] = []

    def app_load() -> None:
        pool = ModelPool()
        app.append(pool.load(model))
        pool.close()

    def bare_load() -> None:
        llama, ms = bare_llama(llama_cpp, path)
        llama.close()
        bare.append(ms)

    for round_ in range(times):  # alternate who goes first, so neither always loads cold
        for load in (app_load, bare_load) if round_ % 2 == 0 else (bare_load, app_load):
            load()
    return {"app_ms": median(app), "bare_ms": median(bare)}


def measure_overhead(
    pool: ModelPool,
    model: LocalModel,
    llama: Any,
    llama_cpp: Any,
    prompts: list[Prompt],
    repeats: int,
) -> dict[str, Any]:
    app: list[float] = []
    bare: list[float] = []
    same = True
    for prompt in prompts:  # warm both: first calls pay one-off costs
        a, b = app_call(pool, model, prompt), bare_call(llama, llama_cpp, prompt)
        same &= (a.prompt_tokens, a.text) == (b.prompt_tokens, b.text)
    for r in range(repeats):
        for prompt in prompts:
            calls: list[tuple[list[float], Callable[[], Timed]]] = [
                (app, lambda p=prompt: app_call(pool, model, p)),
                (bare, lambda p=prompt: bare_call(llama, llama_cpp, p)),
            ]
            if r % 2:
                calls.reverse()
            for sink, call in calls:
                sink.append(call().ms)
    app_ms, bare_ms = median(app), median(bare)
    return {
        "app_ms": app_ms,
        "bare_ms": bare_ms,
        "overhead_pct": 100 * (app_ms - bare_ms) / bare_ms,
        "calls": len(app),
        "same_tokens": same,
    }


def measure_tokens(
    pool: ModelPool, model: LocalModel, plans: dict[int, Plan]
) -> list[dict[str, Any]]:
    rows = []
    previous: tuple[int, int] | None = None
    for n, plan in sorted(plans.items()):
        tokens = pool.count_prompt_tokens(model, build_prompt(plan).messages)
        marginal = (tokens - previous[1]) / (n - previous[0]) if previous else None
        rows.append({"n": n, "tokens": tokens, "per_stop": tokens / n, "marginal": marginal})
        previous = (n, tokens)
    return rows


def most_stops_in(
    pool: ModelPool, model: LocalModel, points: list[dict[str, Any]], n_ctx: int
) -> int:
    """The most stops whose prompt and longest answer fit n_ctx (this model's tokenizer)."""
    best = 0
    for n in range(2, 60):
        prompt = build_prompt(first_n_plan(points, n))
        if pool.count_prompt_tokens(model, prompt.messages) + prompt.max_answer_tokens > n_ctx:
            break
        best = n
    return best


def forget_prompt(pool: ModelPool, model: LocalModel) -> None:
    """Answer an unrelated chat, so the next prompt cannot reuse the previous one's KV cache
    beyond the chat template's first tokens: every grammar row then pays its prompt in full."""
    pool.generate(
        model,
        [{"role": "user", "content": "Say 7."}],
        grammar='root ::= "7"',
        max_tokens=4,
        temperature=0,
        timeout=600,
    )


def measure_grammar(
    pool: ModelPool, model: LocalModel, plans: dict[int, Plan], sizes: tuple[int, ...]
) -> list[dict[str, Any]]:
    rows = []
    for n in sizes:
        prompt = build_prompt(plans[n])
        forget_prompt(pool, model)
        g = pool.generate(
            model,
            prompt.messages,
            grammar=prompt.grammar,
            max_tokens=prompt.max_answer_tokens,
            temperature=TEMPERATURE,
            timeout=600,
        )
        rows.append(
            {"n": n, "grammar": "hand-written", "grammar_chars": len(prompt.grammar), **_gen_row(g)}
        )
    return rows


def measure_schema_grammars(
    pool: ModelPool, model: LocalModel, plan: Plan, timeout: float
) -> list[dict[str, Any]]:
    """The grammars llama-cpp-python derives from JSON schemas: ours (integer bounds, exactly
    n items), the same with 1 to n items, and the naive one (an enum, exactly n items)."""
    from llama_cpp.llama_grammar import json_schema_to_gbnf

    prompt = build_prompt(plan)
    n = len(prompt.listing)
    open_count = {**answer_json_schema(n), "minItems": 1}
    enum = {"type": "array", "items": {"enum": list(range(1, n + 1))}, "minItems": n, "maxItems": n}
    rows = []
    for label, schema in (
        ("schema: answer_json_schema (exactly n items)", answer_json_schema(n)),
        ("schema: the same, 1 to n items", open_count),
        ("schema: an enum, exactly n items", enum),
    ):
        grammar = json_schema_to_gbnf(json.dumps(schema))
        row: dict[str, Any] = {"n": n, "grammar": label, "grammar_chars": len(grammar)}
        forget_prompt(pool, model)
        try:
            g = pool.generate(
                model,
                prompt.messages,
                grammar=grammar,
                max_tokens=prompt.max_answer_tokens,
                temperature=TEMPERATURE,
                timeout=timeout,
            )
        except ModelError as exc:
            row["error"] = exc.reason
        else:
            row.update(_gen_row(g))
        rows.append(row)
    return rows


def _gen_row(g: runtime.Generation) -> dict[str, Any]:
    return {
        "total_ms": g.total_ms,
        "prompt_tokens": g.prompt_tokens,
        "prompt_ms": g.prompt_ms,
        "completion_tokens": g.completion_tokens,
        "generation_ms": g.generation_ms,
        "tokens_per_second": g.tokens_per_second,
    }


def measure_quality(
    pool: ModelPool, model: LocalModel, cases: list[tuple[str, Plan]]
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    rows = []
    for name, plan in cases:
        problem = plan.problem
        baseline = solve(problem)
        prompt = build_prompt(plan)
        row: dict[str, Any] = {"case": name, "n": len(problem.stops)}
        try:
            g = pool.generate(
                model,
                prompt.messages,
                grammar=prompt.grammar,
                max_tokens=prompt.max_answer_tokens,
                temperature=TEMPERATURE,
                timeout=600,
            )
            order = parse_answer(g.text, prompt)
        except (ModelError, ValueError) as exc:
            row.update(accepted=False, reason=str(exc))
            rows.append(row)
            continue
        final = improve(problem, order)
        reason = quality_gate(problem, final, baseline, TOLERANCE)
        echo = improve(problem, list(prompt.listing))
        echo_reason = quality_gate(problem, echo, baseline, TOLERANCE)
        numbers = json.loads(g.text)
        row.update(
            accepted=reason is None,
            reason=reason or "",
            echo_accepted=echo_reason is None,
            echoed=numbers == list(range(1, len(numbers) + 1)),
            distinct=len(order),
            travel=final.travel_minutes,
            baseline_travel=baseline.travel_minutes,
        )
        rows.append(row)
    accepted = sum(1 for r in rows if r["accepted"])
    summary = {
        "cases": len(rows),
        "accepted": accepted,
        "echo_accepted": sum(1 for r in rows if r.get("echo_accepted")),
        "echoed": sum(1 for r in rows if r.get("echoed")),
        "coverage": statistics.mean(r.get("distinct", 0) / r["n"] for r in rows),
    }
    return rows, summary


# ---------------------------------------------------------------- token speed: how threads wait

# The variables that decide how OpenMP threads wait; each setup's child starts with none of
# them, so only what the setup (or the app) sets is in force.
OPENMP_PREFIXES = ("OMP_", "GOMP_", "KMP_")
SPEED_STOPS = (10, 30)
# A setup that collapses is stopped after this many seconds and reported as such.
# A smoke run (10 stops only) allows 20 s: an idle machine answers in about 3.
SPEED_CHILD_SECONDS = {10: 40.0, 30: 90.0}
SMOKE_CHILD_SECONDS = 20.0
SPINNER = "while True: pass"


@dataclass(frozen=True)
class SpeedSetup:
    """One way of running the model, measured in a child process of its own (OpenMP reads its
    environment once, when llama.cpp starts). path: "app" (ModelPool.generate, which applies
    runtime.WAIT_POLICY unless the setup's environment says otherwise) or "bare"."""

    label: str
    path: str
    env: tuple[tuple[str, str], ...] = ()
    threads: int = THREADS


#: Bounded spinning tried: GNU OpenMP spins this many times at a barrier, then sleeps.
SPIN_COUNTS = ("300", "1000", "3000", "10000", "30000")


def speed_setups(quick: bool) -> list[SpeedSetup]:
    shipped = runtime.WAIT_POLICY
    default = " ".join(f"{k}={v}" for k, v in shipped.items()) or "nothing set"
    setups = [
        SpeedSetup("bare llama-cpp-python, its defaults (no OpenMP variables)", "bare"),
        SpeedSetup(f"app, as shipped ({default})", "app"),
    ]
    if quick:
        return setups
    tried = [("OMP_WAIT_POLICY", "PASSIVE"), ("OMP_WAIT_POLICY", "ACTIVE")]
    tried += [("GOMP_SPINCOUNT", count) for count in SPIN_COUNTS]
    for name, value in tried:
        if shipped != {name: value}:
            old = " (the old default)" if value == "PASSIVE" else ""
            setups.append(SpeedSetup(f"app, {name}={value}{old}", "app", ((name, value),)))
    setups.append(SpeedSetup(f"app, n_threads=1 ({default})", "app", threads=1))
    return setups


def speed_plans() -> dict[int, Plan]:
    """The warm-up plan (4 stops) and the measured ones, as the rest of this benchmark has them."""
    plans = {len(p.problem.stops): p for p in (plan_of(b) for b in request_bodies())}
    plans[30] = first_n_plan(mordovia_points(), 30)
    return plans


def speed_child(spec: dict[str, Any]) -> int:
    """In the child: load the model one way, warm it up, answer each measured plan once and
    print a JSON line per answer (so what was measured survives a stop at the time limit)."""
    plans = speed_plans()
    path, threads = Path(spec["model"]), spec["threads"]
    if spec["path"] == "app":
        pool = ModelPool()
        model = LocalModel("bench", path, threads, 0, N_CTX, 512)

        def answer(prompt: Prompt) -> dict[str, float]:
            started = time.perf_counter()
            g = pool.generate(
                model,
                prompt.messages,
                grammar=prompt.grammar,
                max_tokens=prompt.max_answer_tokens,
                temperature=TEMPERATURE,
                timeout=3600,
            )
            total = (time.perf_counter() - started) * 1000
            return _speed_row(g.completion_tokens, g.prompt_ms, g.generation_ms, total)

    else:
        import llama_cpp  # the yardstick: llama-cpp-python as it comes, nothing of llm.runtime

        llama, _ = bare_llama(llama_cpp, path, threads)

        def answer(prompt: Prompt) -> dict[str, float]:
            first: list[float] = []

            def note_first_token(input_ids: Any, scores: Any) -> Any:
                # Called before each token is sampled: the first call ends prompt processing.
                if not first:
                    first.append(time.perf_counter())
                return scores

            started = time.perf_counter()
            out = llama.create_chat_completion(
                prompt.messages,
                grammar=llama_cpp.LlamaGrammar.from_string(prompt.grammar, verbose=False),
                max_tokens=prompt.max_answer_tokens,
                temperature=TEMPERATURE,
                logits_processor=llama_cpp.LogitsProcessorList([note_first_token]),
                **SAMPLING,
            )
            ended = time.perf_counter()
            began = first[0] if first else ended
            return _speed_row(
                out["usage"]["completion_tokens"],
                (began - started) * 1000,
                (ended - began) * 1000,
                (ended - started) * 1000,
            )

    answer(build_prompt(plans[4]))  # warm-up: first calls pay one-off costs
    for n in spec["stops"]:
        print(json.dumps({"n": n, **answer(build_prompt(plans[n]))}), flush=True)
    return 0


def _speed_row(
    tokens: int, prompt_ms: float, generation_ms: float, total_ms: float
) -> dict[str, float]:
    return {
        "tokens": tokens,
        "prompt_ms": prompt_ms,
        "ms_per_token": generation_ms / tokens if tokens else float("nan"),
        "total_ms": total_ms,
    }


def busy_cpu_seconds() -> float:
    """CPU seconds the whole machine has spent busy since boot (all processes, /proc/stat)."""
    try:
        fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return float("nan")
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def run_speed_setup(
    setup: SpeedSetup,
    path: Path,
    stops: tuple[int, ...],
    limit: float,
    spinners: int = 0,
) -> tuple[dict[int, dict[str, float]], float]:
    """One child for one setup: ({n: row}, a stop count missing when the child ran out of time;
    the cores other processes kept busy meanwhile, besides the child and our `spinners`)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(OPENMP_PREFIXES)}
    env.update(setup.env)
    spec = {"model": str(path), "path": setup.path, "threads": setup.threads, "stops": list(stops)}
    command = [sys.executable, str(Path(__file__).resolve()), "--speed-child", json.dumps(spec)]
    machine_before, wall_before = busy_cpu_seconds(), time.perf_counter()
    ours_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    try:
        done = subprocess.run(
            command,
            env=env,
            capture_output=True,
            text=True,
            timeout=limit,
        )
        stdout = done.stdout
        if done.returncode != 0:
            logger.warning(
                "%s: child exited with %s: %s", setup.label, done.returncode, done.stderr[-500:]
            )
    except subprocess.TimeoutExpired as exc:
        stdout = exc.stdout.decode() if isinstance(exc.stdout, bytes) else exc.stdout or ""
    wall = time.perf_counter() - wall_before
    ours_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    child_cpu = (ours_after.ru_utime + ours_after.ru_stime) - (
        ours_before.ru_utime + ours_before.ru_stime
    )
    others = (busy_cpu_seconds() - machine_before - child_cpu) / wall - spinners
    rows = {}
    for line in stdout.splitlines():
        if line.startswith("{"):
            row = json.loads(line)
            rows[row.pop("n")] = row
    return rows, max(0.0, others)


def raise_priority(nice: int) -> None:
    """Give this process and the children it starts from now on a priority (a nice value; a
    negative one needs root). The kernel shares the CPU between sessions (autogroups) before it
    looks at nice values, so this process becomes a session of its own and sets that session's
    nice too; without it, other sessions' processes would share the cores with us equally."""
    try:
        os.setsid()
    except PermissionError:  # already a session or group leader: leave the session alone
        logger.warning("not a session of our own: only the processes' nice values are set")
    else:
        try:
            Path("/proc/self/autogroup").write_text(str(nice))
        except OSError as exc:
            logger.warning("could not set the session's nice value: %s", exc)
    os.setpriority(os.PRIO_PROCESS, 0, nice)


class BusyCore:
    """Another process keeping one core busy (a Python loop), for as long as the block runs,
    at the same priority as the measured child (both inherit ours)."""

    def __enter__(self) -> BusyCore:
        self.process = subprocess.Popen([sys.executable, "-c", SPINNER])
        time.sleep(0.2)  # let it start spinning before we measure
        return self

    def __exit__(self, *exc: object) -> None:
        self.process.kill()
        self.process.wait()


def measure_speed(
    path: Path,
    setups: list[SpeedSetup],
    rounds: int,
    stops: tuple[int, ...],
    limit: float | None = None,
) -> dict[str, Any]:
    """Every setup, idle and with one busy core, interleaved: each round runs every setup once
    under each load, in an order that rotates between rounds. Medians per setup, load and n.
    A child still running after `limit` seconds is stopped: that setup collapsed."""
    limit = limit or SPEED_CHILD_SECONDS[max(stops)]
    samples: dict[tuple[int, str, int], list[dict[str, float]]] = {}
    background: list[float] = []  # cores other processes kept busy during each child
    for r in range(rounds):
        order = setups[r % len(setups) :] + setups[: r % len(setups)]
        for load in ("idle", "busy") if r % 2 == 0 else ("busy", "idle"):
            print(f"  round {r + 1}/{rounds}, {load} ...", flush=True)
            for setup in order:
                if load == "busy":
                    with BusyCore():
                        rows, others = run_speed_setup(setup, path, stops, limit, spinners=1)
                else:
                    rows, others = run_speed_setup(setup, path, stops, limit)
                background.append(others)
                print(
                    f"    {setup.label}: {_speed_line(rows)}; others {others:.1f} cores", flush=True
                )
                for n in stops:
                    if n in rows:
                        samples.setdefault((setups.index(setup), load, n), []).append(rows[n])
    table = []
    for i, setup in enumerate(setups):
        row: dict[str, Any] = {"setup": setup.label}
        for load in ("idle", "busy"):
            for n in stops:
                got = samples.get((i, load, n), [])
                row[(load, n)] = (
                    {
                        "ms_per_token": median([g["ms_per_token"] for g in got]),
                        "total_ms": median([g["total_ms"] for g in got]),
                        "runs": len(got),
                    }
                    if len(got) == rounds
                    else {"runs": len(got)}  # some runs did not finish in time: collapsed
                )
        table.append(row)
    return {
        "rows": table,
        "rounds": rounds,
        "stops": stops,
        "limit": limit,
        "nice": os.getpriority(os.PRIO_PROCESS, 0),
        "background": (min(background), median(background), max(background)),
    }


def _speed_line(rows: dict[int, dict[str, float]]) -> str:
    return (
        ", ".join(
            f"{n} stops {r['ms_per_token']:.1f} ms/token {r['total_ms'] / 1000:.2f} s"
            for n, r in rows.items()
        )
        or "no answer in time"
    )


# ---------------------------------------------------------------- report


def machine() -> dict[str, str]:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "date": datetime.date.today().isoformat(),
        "cpu": f"{cpu}, {runtime.usable_cpus()} usable cores",
        "ram": memory.format_gb(memory.total_bytes()),
        "python": platform.python_version(),
        "llama_cpp": runtime.llama_cpp_version(),
        "wait": " ".join(f"{k}={v}" for k, v in runtime.apply_wait_policy().items()) or "none",
    }


def load_average() -> str:
    try:
        return " / ".join(f"{x:.1f}" for x in os.getloadavg())
    except OSError:
        return "?"


def render(results: dict[str, Any]) -> str:
    m = results["machine"]
    load, over = results["load"], results["overhead"]
    lines = [
        SECTION,
        "",
        f"Run {m['date']} on {m['cpu']}, {m['ram']} RAM, Python {m['python']}, llama-cpp-python "
        f"{m['llama_cpp']} (CPU build), {m['wait']}; model SmolLM2-135M-Instruct "
        f"Q4_1 (98 MB), n_threads={THREADS}, n_ctx={N_CTX}, temperature {TEMPERATURE}. Load average "
        f"(1/5/15 min) {results['load_before']} before, {results['load_after']} after: the machine is "
        "shared, so absolute times move between runs; the interleaved comparison does not.",
        "",
        "| what | figure |",
        "| --- | --- |",
        f"| model load, app (`ModelPool.load`) | {load['app_ms']:.0f} ms |",
        f"| model load, bare `Llama(...)` | {load['bare_ms']:.0f} ms |",
        f"| answer, app path (median of {over['calls']}) | {over['app_ms']:.0f} ms |",
        f"| answer, bare `create_chat_completion` (median of {over['calls']}) | {over['bare_ms']:.0f} ms |",
        f"| app overhead | {over['overhead_pct']:+.1f}% (target < 5%) |",
        f"| same prompt tokens and answer on both paths | {'yes' if over['same_tokens'] else 'NO'} |",
        f"| most stops within T-Pro's n_ctx 512 (prompt + longest answer) | {results['fit_512']} |",
        "",
        "Prompt size (system + user message through the model's chat template):",
        "",
        "| stops | prompt tokens | tokens per stop | marginal tokens per added stop |",
        "| ---: | ---: | ---: | ---: |",
    ]
    for row in results["tokens"]:
        marginal = f"{row['marginal']:.1f}" if row["marginal"] is not None else "–"
        lines.append(f"| {row['n']} | {row['tokens']} | {row['per_stop']:.1f} | {marginal} |")
    lines += [
        "",
        "Answer grammar (one request each, model loaded, prompt not cached):",
        "",
        "| stops | grammar | grammar size | prompt | answer | total | tokens/s |",
        "| ---: | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for row in results["grammar"]:
        if "error" in row:
            lines.append(
                f"| {row['n']} | {row['grammar']} | {row['grammar_chars']} chars | – | – | "
                f"{row['error']} | – |"
            )
            continue
        lines.append(
            f"| {row['n']} | {row['grammar']} | {row['grammar_chars']} chars | "
            f"{row['prompt_tokens']} tok, {row['prompt_ms']:.0f} ms | "
            f"{row['completion_tokens']} tok, {row['generation_ms']:.0f} ms | {row['total_ms']:.0f} ms | "
            f"{row['tokens_per_second']:.1f} |"
        )
    lines += render_speed(results["speed"]) if "speed" in results else []
    q = results["quality_summary"]
    lines += [
        "",
        f"Quality gate (route after `improve()` against `solve()`: no more violations, no more dropped "
        f"priority, travel within {TOLERANCE:.0%}) over {q['cases']} plans: the sample requests and "
        "seeded days from the Mordovia points:",
        "",
        f"- model answers accepted: {q['accepted']}/{q['cases']}",
        f"- the listing order alone (no model) after `improve()`: {q['echo_accepted']}/{q['cases']}",
        f"- answers that echo the listing 1, 2, …, n: {q['echoed']}/{q['cases']}; distinct stops "
        f"named: {q['coverage']:.0%} on average (repeats are dropped, `improve()` inserts the rest)",
        "",
        "| plan | stops | accepted | echo | distinct | travel, min (solve) | reason |",
        "| --- | ---: | --- | --- | ---: | ---: | --- |",
    ]
    for row in results["quality"]:
        travel = f"{row['travel']:.0f} ({row['baseline_travel']:.0f})" if "travel" in row else "–"
        lines.append(
            f"| {row['case']} | {row['n']} | {'yes' if row['accepted'] else 'no'} | "
            f"{'yes' if row.get('echoed') else 'no'} | {row.get('distinct', '–')} | {travel} | "
            f"{row.get('reason', '')} |"
        )
    lines += [
        "",
        f"Reading: {q['echoed']} of {q['cases']} answers echo the listing, and the listing order "
        f"alone passes the gate {q['echo_accepted']} times out of {q['cases']}"
        + (
            ": on the 135M test model, what passes is the engine's `improve()` at work more than "
            "the model's ordering."
            if q["echo_accepted"] >= q["accepted"]
            else f", against {q['accepted']} for the model's answers."
        )
        + " The figures that carry over to the real models are the overhead, the prompt size and "
        "the grammar cost.",
        "",
    ]
    return "\n".join(lines)


def _speed_cell(cell: dict[str, Any]) -> str:
    if "ms_per_token" not in cell:
        return "**collapsed** (no answer in time)"
    return f"{cell['ms_per_token']:.1f} ms/token, {cell['total_ms'] / 1000:.2f} s"


def render_speed(speed: dict[str, Any]) -> list[str]:
    stops, rows = speed["stops"], speed["rows"]
    sizes = " and ".join(str(k) for k in stops)

    def per_token(row: dict[str, Any], load: str) -> float | None:
        """The mean over the stop counts of the medians: one figure per setup and load, less
        at the mercy of one noisy cell."""
        values = [row[(load, k)].get("ms_per_token") for k in stops]
        return None if None in values else statistics.mean(values)

    best = {
        load: min((v for r in rows if (v := per_token(r, load)) is not None), default=None)
        for load in ("idle", "busy")
    }
    head = ["setup", *(f"{load}, {k} stops" for load in ("idle", "one busy core") for k in stops)]
    head += ["idle ms/token vs fastest", "busy ms/token vs best"]
    low, mid, high = speed["background"]
    limit = speed["limit"]
    lines = [
        "",
        f"Token speed: how llama.cpp's threads wait (n_threads={THREADS} unless said). Each setup "
        f"runs in a child process of its own; {speed['rounds']} interleaved rounds, medians. "
        "*Idle*: nothing else of ours runs; *one busy core*: a child process spins a Python loop "
        "meanwhile. A cell is ms per generated token (decode with grammar sampling) and the "
        f"answer's total time (prompt processing included); *collapsed*: no answer within {limit:.0f} s "
        f"in at least one round. The last two columns compare the mean over {sizes} stops of "
        f"the ms per token. Other processes on this shared machine kept {mid:.1f} cores busy "
        f"during a median run (from {low:.1f} to {high:.1f})"
        + (
            f"; this benchmark and its children (the busy-core child too) ran at nice "
            f"{speed['nice']} in a session of their own, so those processes took little of the "
            "cores meanwhile."
            if speed["nice"]
            else ", so *idle* is only as idle as that."
        ),
        "",
        "| " + " | ".join(head) + " |",
        "| --- |" + " ---: |" * (len(head) - 1),
    ]
    for row in rows:
        cells = [_speed_cell(row[(load, k)]) for load in ("idle", "busy") for k in stops]
        ratios = []
        for load in ("idle", "busy"):
            value, fastest = per_token(row, load), best[load]
            ratios.append(f"{100 * (value / fastest - 1):+.0f}%" if value and fastest else "–")
        lines.append("| " + " | ".join([row["setup"], *cells, *ratios]) + " |")
    lines.append("")
    # The old default, PASSIVE, was chosen to protect the busy case: a new one must keep that.
    passive = next((r for r in rows if "PASSIVE" in r["setup"]), None)
    if best["idle"] and passive is not None and per_token(passive, "busy") is not None:
        guard = per_token(passive, "busy")
        both = [
            r["setup"]
            for r in rows
            if (idle := per_token(r, "idle")) is not None
            and (busy := per_token(r, "busy")) is not None
            and idle <= 1.10 * best["idle"]
            and busy <= guard
        ]
        lines += [
            f"Fastest idle: {best['idle']:.1f} ms/token (means over {sizes} stops). Within 10 % "
            f"of it idle, and with one busy core no slower than OMP_WAIT_POLICY=PASSIVE "
            f"({guard:.1f} ms/token): {'; '.join(both) or 'none'}.",
            "",
        ]
    return lines


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
    DOCS.parent.mkdir(parents=True, exist_ok=True)
    DOCS.write_text(updated.rstrip("\n") + "\n")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=7, help="interleaved rounds per plan")
    parser.add_argument("--speed-rounds", type=int, default=3, help="rounds of the speed part")
    parser.add_argument("--quick", action="store_true", help="fewer repeats and cases")
    parser.add_argument(
        "--smoke", action="store_true", help="a smoke run for CI (--quick, --no-docs)"
    )
    parser.add_argument("--speed-only", action="store_true", help="only the token-speed part")
    parser.add_argument(
        "--speed-setups",
        help="with --speed-only: only the setups whose label contains one of these "
        "comma-separated words",
    )
    parser.add_argument(
        "--speed-stops", default="10,30", help="stop counts of the speed part (default 10,30)"
    )
    parser.add_argument(
        "--nice",
        type=int,
        default=0,
        help="run at this nice value, in a session of its own (e.g. -15 as root on a shared "
        "machine, so that other people's processes disturb the measurement less)",
    )
    parser.add_argument("--no-docs", action="store_true", help="do not write docs/benchmarks.md")
    parser.add_argument("--speed-child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    if args.speed_child:
        return speed_child(json.loads(args.speed_child))
    # Stopped with SIGTERM, unwind as for Ctrl-C, so the busy-core child and a running setup's
    # child are stopped with us.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    args.quick |= args.smoke
    args.no_docs |= args.smoke or args.speed_only
    repeats = 1 if args.quick else args.repeats
    started = time.perf_counter()

    def stage(name: str) -> None:
        print(f"{name} ... ({time.perf_counter() - started:.0f} s)", flush=True)

    if args.nice:
        raise_priority(args.nice)
    path = model_path()
    if args.speed_only:
        stops = tuple(int(n) for n in args.speed_stops.split(","))
        setups = speed_setups(False)
        if args.speed_setups:
            words = args.speed_setups.split(",")
            setups = [s for s in setups if any(w in s.label for w in words)]
        speed = measure_speed(path, setups, args.speed_rounds, stops)
        print("\n".join(render_speed(speed)))
        return 0

    # The app's OpenMP wait settings for both paths of the overhead part, set before
    # llama.cpp starts; the speed part runs each setup in a child with its own.
    runtime.apply_wait_policy()
    import llama_cpp

    model = LocalModel("bench", path, THREADS, 0, N_CTX, 512)
    points = mordovia_points()
    samples = [plan_of(body) for body in request_bodies()]
    plans = {len(p.problem.stops): p for p in samples}
    for n in (30, 100):
        plans[n] = first_n_plan(points, n)
    results: dict[str, Any] = {"machine": machine(), "load_before": load_average()}

    # A quick run (CI's smoke run: about a minute on an idle 2-core machine) keeps every part
    # but measures each once, on the smaller plans.
    stage("load")
    results["load"] = measure_load(path, llama_cpp, model, 1 if args.quick else 4)

    pool = ModelPool()
    llama, _ = bare_llama(llama_cpp, path)
    stage("overhead")
    overhead_plans = (4,) if args.quick else (4, 10)
    results["overhead"] = measure_overhead(
        pool, model, llama, llama_cpp, [build_prompt(plans[n]) for n in overhead_plans], repeats
    )
    llama.close()

    stage("prompt tokens")
    results["tokens"] = measure_tokens(pool, model, {n: plans[n] for n in (4, 10, 30, 100)})
    results["fit_512"] = most_stops_in(pool, model, points, 512)

    stage("grammar")
    results["grammar"] = measure_grammar(pool, model, plans, (10,) if args.quick else (10, 30, 100))
    # Schema grammars can crawl at 100 stops: the timeout bounds it.
    for n in () if args.quick else (10, 30, 100):
        results["grammar"] += measure_schema_grammars(pool, model, plans[n], timeout=SCHEMA_TIMEOUT)
    results["grammar"].sort(key=lambda row: row["n"])  # stable: the hand-written one first

    stage("token speed")
    results["speed"] = measure_speed(
        path,
        speed_setups(args.quick),
        1 if args.quick else args.speed_rounds,
        (10,) if args.quick else SPEED_STOPS,
        SMOKE_CHILD_SECONDS if args.quick else None,
    )

    stage("quality")
    cases = [(f"sample ({len(p.problem.stops)})", p) for p in samples]
    cases += generated_plans(points, 1 if args.quick else 8)
    results["quality"], results["quality_summary"] = measure_quality(pool, model, cases)
    pool.close()
    results["load_after"] = load_average()

    text = render(results)
    stage("done")
    print()
    print(text)
    if not args.no_docs:
        write_section(text)
        print(f"written to {DOCS.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
