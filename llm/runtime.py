"""Local GGUF models run in this process by llama.cpp: the only module that imports `llama_cpp`.

`get_pool()` gives the process's `ModelPool`. It loads a slot's model on the first `generate()`
for that slot and keeps it for the next ones, one copy per slot, one request at a time per
model (a `Llama` is not thread-safe). Before any load it checks the model fits in free memory
and in the pool's budget, unloading idle models least recently used first; models idle longer
than `keep_alive_seconds` are unloaded.

Every failure is a `ModelError` whose `status` is one of the Attempt statuses and whose
`reason` is a sentence with the numbers.

Settings chosen to avoid llama-cpp-python's known pitfalls:

- `verbose=False` (its default floods stderr), an explicit `n_ctx` (default 512) and explicit
  `n_threads` / `n_threads_batch` (defaults: half the cores / all cores); threads are capped
  at the CPUs this process may use, because oversubscribed llama.cpp threads spin and run
  several times slower (the seed sets 4 or 8 threads, this machine has 2 cores).
- How OpenMP threads wait at llama.cpp's barriers is set by WAIT_POLICY unless the
  environment says (OMP_WAIT_POLICY, GOMP_SPINCOUNT): unbounded spinning slows to a crawl
  when another process wants the cores, sleeping at once costs speed on idle cores.
- `use_mmap=False`: measured on this machine (x86, AVX-512), a Q4_0 model llama.cpp repacks
  for its CPU kernels took +175 MiB RSS with mmap and +119 MiB without, the mapped original
  pages staying resident beside the repacked copy; for Q4_1, which is not repacked, both were
  +125 MiB. Without mmap, loading costs a read of the file (129 → 186 ms for the test model)
  but the memory is taken at load, so `llm.memory`'s estimate and `available_bytes()` agree
  with what the model holds, and `close()` gives it back at once.
- The chat template comes from the file (`tokenizer.chat_template`), applied here so the
  prompt can be tokenized and measured before generation. llama-cpp-python silently falls
  back to the llama-2 format when a file has no template; we fall back to ChatML instead
  (what most small instruct models use) and log a warning saying so.
"""

from __future__ import annotations

import gc
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from llm import memory
from llm.config import SlotConfig
from llm.generation import Generation
from llm.progress import NO_PROGRESS, Progress

logger = logging.getLogger(__name__)

STATUSES = ("not_found", "refused_memory", "timeout", "context_overflow", "error", "cancelled")

#: Tokens that must fit after the prompt when the caller does not say how long the answer is.
MIN_ANSWER_TOKENS = 16

# Sampling settings besides temperature, as llama-cpp-python's create_chat_completion
# defaults them, so that a bare create_chat_completion and this module sample alike.
SAMPLING = {"top_p": 0.95, "top_k": 40, "min_p": 0.05, "repeat_penalty": 1.0}

NOT_INSTALLED = "llama-cpp-python is not installed: pip install llama-cpp-python"

#: How llama.cpp's OpenMP threads wait, put in the environment before llama.cpp's OpenMP runtime
#: starts unless the environment says (any of WAIT_VARIABLES).
#: llama.cpp meets its threads at an OpenMP barrier after every graph node (~450 per token here).
#: A waiting thread that spins is fastest on idle cores, and a disaster when another process
#: wants them (it burns the core the thread it waits for needs); one that sleeps at once
#: (OMP_WAIT_POLICY=PASSIVE) pays a wake-up at every barrier. Bounded spinning keeps both:
#: GNU OpenMP spins GOMP_SPINCOUNT times, then sleeps (its own estimate: 100,000 spins per
#: ms, so 3000 is ~30 us; the idle figures show it outlasts most barrier waits). Measured with
#: bench/llm.py on this 2-core Xeon (SmolLM2, 2 threads, medians of 3 interleaved rounds, mean
#: of 10 and 30 stops; docs/benchmarks.md): idle, 30.9 ms per token against 28.5 for
#: llama-cpp-python's own default (300,000 spins) and 51.6 for PASSIVE; with one busy core,
#: 55 ms against 91 (its default), 80 (ACTIVE) and 59 (PASSIVE). 1000 was a little better
#: busy (53) but 13 % slower idle. Under heavier load from other people's processes (run
#: without priority), the default, ACTIVE and 30,000+ gave no answer within 40 s (over 1 s
#: per token), 1000 gave 58 ms, 10,000 129 ms and PASSIVE 96-134 ms. One thread is best
#: with a busy core (38.5 ms) and 26 % slower idle. Only GNU OpenMP reads GOMP_SPINCOUNT
#: (Linux GCC builds, as ours); an LLVM OpenMP build would need KMP_BLOCKTIME instead.
WAIT_POLICY: dict[str, str] = {"GOMP_SPINCOUNT": "3000"}
#: The variables through which the environment overrides WAIT_POLICY (GNU OpenMP's; an
#: explicit GOMP_SPINCOUNT wins over OMP_WAIT_POLICY there).
WAIT_VARIABLES = ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")


class ModelError(Exception):
    """A local model could not answer; `status` is one of STATUSES, `reason` says why."""

    def __init__(self, status: str, reason: str):
        assert status in STATUSES, status
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass(frozen=True)
class LocalModel:
    """What to load for a slot: the resolved file and the settings that shape the load."""

    name: str
    path: Path
    n_threads: int
    n_gpu_layers: int
    n_ctx: int
    n_batch: int

    @classmethod
    def from_config(cls, config: SlotConfig, path: Path) -> LocalModel:
        return cls(
            name=config.name,
            path=Path(path),
            n_threads=config.n_threads,
            n_gpu_layers=config.n_gpu_layers,
            n_ctx=config.n_ctx,
            n_batch=config.n_batch,
        )


def _import_llama_cpp() -> Any:
    """llama_cpp, or None when it is not installed. Every import goes through here so that the
    OpenMP wait policy is set before llama.cpp's OpenMP runtime starts (see WAIT_POLICY)."""
    apply_wait_policy()
    try:
        import llama_cpp
    except ImportError:
        return None
    return llama_cpp


def apply_wait_policy(environ: dict[str, str] | None = None) -> dict[str, str]:
    """Put WAIT_POLICY into the environment unless it sets any of WAIT_VARIABLES; returns the
    wait variables in force. Too late once llama_cpp is imported: OpenMP reads them once."""
    environ = os.environ if environ is None else environ
    if not any(name in environ for name in WAIT_VARIABLES):
        environ.update(WAIT_POLICY)
    return {name: environ[name] for name in WAIT_VARIABLES if name in environ}


def _llama_cpp() -> Any:
    llama_cpp = _import_llama_cpp()
    if llama_cpp is None:
        raise ModelError("error", NOT_INSTALLED)
    return llama_cpp


def gpu_offload_supported() -> bool:
    llama_cpp = _import_llama_cpp()
    return bool(llama_cpp and llama_cpp.llama_supports_gpu_offload())


def llama_cpp_version() -> str:
    llama_cpp = _import_llama_cpp()
    return str(llama_cpp.__version__) if llama_cpp else ""


def llama_build_info() -> str:
    """llama.cpp's own account of its build: the backends and the CPU features it was compiled
    for, e.g. "CPU : SSE3 = 1 | AVX2 = 1 | AVX512 = 1 | AMX_INT8 = 0 | ...". Empty when
    llama-cpp-python is not installed."""
    llama_cpp = _import_llama_cpp()
    if llama_cpp is None:
        return ""
    info = llama_cpp.llama_print_system_info()
    return (info.decode() if isinstance(info, bytes) else str(info)).strip()


def usable_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def effective_threads(n_threads: int) -> int:
    """The slot's thread count capped at the usable CPUs (0 or less: all of them)."""
    cpus = usable_cpus()
    return min(n_threads, cpus) if n_threads > 0 else cpus


@lru_cache(maxsize=64)
def _grammar(text: str) -> Any:
    """The LlamaGrammar for a GBNF text. In 0.3.36 the object only holds the text and llama.cpp
    parses it per request (so grammar size costs time on every call); caching spares the
    wrapper and keeps one object per distinct grammar."""
    return _llama_cpp().LlamaGrammar.from_string(text, verbose=False)


def _chat_formatter(llama: Any, model: LocalModel) -> Callable[..., Any]:
    """The file's own chat template as a formatter (messages → prompt text and stop words)."""
    from llama_cpp import llama_chat_format

    template = llama.metadata.get("tokenizer.chat_template")
    if not template:
        logger.warning(
            "%s: %s has no chat template; using the ChatML format", model.name, model.path.name
        )
        return llama_chat_format.format_chatml

    def token_text(token: int) -> str:
        return llama._model.token_get_text(token) if token != -1 else ""

    return llama_chat_format.Jinja2ChatFormatter(
        template=template,
        eos_token=token_text(llama.token_eos()),
        bos_token=token_text(llama.token_bos()),
        stop_token_ids=[llama.token_eos()],
    )


class _Slot:
    """One slot's loaded model and the lock that lets one request at a time use it."""

    def __init__(self, name: str):
        self.name = name
        self.lock = threading.Lock()
        self.model: LocalModel | None = None
        self.llama: Any = None
        self.formatter: Callable[..., Any] | None = None
        self.est_bytes = 0
        self.n_threads = 0  # as loaded: the slot's setting capped at the usable CPUs
        self.loaded_at = 0.0  # time.monotonic()
        self.last_used = 0.0
        self.busy = False
        # The deadline the abort callback compares with while llama.cpp processes a prompt.
        self.deadline = float("inf")
        self.aborted = False
        self.abort_callback: Any = None  # keeps the ctypes callback alive as long as the model
        self.checked_grammars: set[str] = set()

    @property
    def is_loaded(self) -> bool:
        return self.llama is not None

    def close(self) -> None:
        """Free the model now (`del` leaves it to the garbage collector). Caller holds the lock."""
        if self.llama is not None:
            logger.info("unloading %s (%s)", self.name, self.model.path.name if self.model else "")
            self.llama.close()
        self.llama = None
        self.formatter = None
        self.model = None
        self.est_bytes = 0
        self.abort_callback = None
        self.checked_grammars.clear()


@contextmanager
def _in_use(slot: _Slot) -> Iterator[None]:
    """Mark a slot busy while the caller, who has acquired its lock, uses it; release after."""
    slot.busy = True
    try:
        yield
    finally:
        slot.busy = False
        slot.last_used = time.monotonic()
        slot.lock.release()


def _wall(monotonic: float) -> datetime:
    return datetime.fromtimestamp(time.time() - (time.monotonic() - monotonic), tz=UTC)


class _TokenClock:
    """A stopping criterion called by llama-cpp-python once per sampled token: notes when the
    first token came (the end of prompt processing) and stops generation at the deadline."""

    def __init__(
        self,
        deadline: float,
        on_first_token: Callable[[], None],
        on_token: Callable[[int, float], None] | None = None,
        cancelled: Callable[[], bool] | None = None,
    ):
        self.deadline = deadline
        self.on_first_token = on_first_token
        self.on_token = on_token
        self.cancelled = cancelled
        self.was_cancelled = False
        self.calls = 0
        self.first_token_at: float | None = None
        self.fired_at_call: int | None = None

    def __call__(self, input_ids: Any, logits: Any) -> bool:
        now = time.perf_counter()
        self.calls += 1
        if self.first_token_at is None:
            self.first_token_at = now
            self.on_first_token()
        elif self.on_token is not None:
            tokens = self.calls - 1
            elapsed = now - self.first_token_at
            self.on_token(tokens, tokens / elapsed if elapsed > 0 else 0.0)
        if self.cancelled is not None and self.cancelled():
            self.was_cancelled = True
            if self.fired_at_call is None:
                self.fired_at_call = self.calls
            return True
        if time.monotonic() >= self.deadline:
            if self.fired_at_call is None:
                self.fired_at_call = self.calls
            return True
        return False

    def stopped_generation(self, completion_tokens: int) -> bool:
        """Whether the deadline cut the answer short. llama-cpp-python calls the criterion once
        per sampled token (completion_tokens + 1 calls when the answer ends with EOS or is
        stopped here) and once more after the loop; firing only on that last call means the
        answer was already complete when the deadline passed."""
        return self.fired_at_call is not None and self.fired_at_call <= completion_tokens + 1


class ModelPool:
    """Loaded models by slot name, loaded lazily, guarded for memory, unloaded when idle.

    budget_bytes: the most the loaded models together may take by their estimates (None: only
    free RAM limits). keep_alive_seconds: unload a model idle this long (None: keep it).
    """

    def __init__(self, *, budget_bytes: int | None = None, keep_alive_seconds: float | None = None):
        self.budget_bytes = budget_bytes
        self.keep_alive_seconds = keep_alive_seconds
        self._slots: dict[str, _Slot] = {}
        self._lock = threading.Lock()  # guards _slots; held briefly, never while waiting
        self._load_lock = threading.Lock()  # one load (and its memory check) at a time
        self._reaper: threading.Thread | None = None
        self._closed = threading.Event()

    # -- what is loaded ----------------------------------------------------------------------

    def loaded(self) -> list[dict[str, Any]]:
        with self._lock:
            slots = [s for s in self._slots.values() if s.is_loaded]
        return [
            {
                "name": s.name,
                "path": str(s.model.path) if s.model else "",
                "loaded_at": _wall(s.loaded_at),
                "last_used": _wall(s.last_used),
                "est_bytes": s.est_bytes,
                "n_threads": s.n_threads,
                "busy": s.busy,
            }
            for s in sorted(slots, key=lambda s: s.name)
        ]

    def unload(self, name: str) -> bool:
        """Unload a slot's model, waiting for a request using it to finish. False if not loaded."""
        with self._lock:
            slot = self._slots.get(name)
        if slot is None:
            return False
        with slot.lock:
            was_loaded = slot.is_loaded
            slot.close()
        return was_loaded

    def unload_all(self) -> None:
        with self._lock:
            names = list(self._slots)
        for name in names:
            self.unload(name)

    def close(self) -> None:
        """Unload every model and stop the keep-alive watch."""
        self._closed.set()
        self.unload_all()

    def _watch_keep_alive(self) -> None:
        """Unload idle models even when no request comes: a daemon thread, started with the
        first load, that checks a few times per keep-alive period."""
        if self.keep_alive_seconds is None or self._reaper is not None:
            return
        interval = min(max(self.keep_alive_seconds / 4, 0.05), 30.0)

        def watch() -> None:
            while not self._closed.wait(interval):
                self.unload_idle()

        self._reaper = threading.Thread(target=watch, name="model-keep-alive", daemon=True)
        self._reaper.start()

    def unload_idle(self) -> list[str]:
        """Unload models unused for longer than keep_alive_seconds; returns their names."""
        if self.keep_alive_seconds is None:
            return []
        cutoff = time.monotonic() - self.keep_alive_seconds
        unloaded = []
        for slot in self._loaded_slots():
            if slot.last_used > cutoff or not slot.lock.acquire(blocking=False):
                continue
            try:
                if slot.is_loaded and slot.last_used <= cutoff:
                    slot.close()
                    unloaded.append(slot.name)
            finally:
                slot.lock.release()
        return unloaded

    def _loaded_slots(self) -> list[_Slot]:
        with self._lock:
            return [s for s in self._slots.values() if s.is_loaded]

    def _slot(self, name: str) -> _Slot:
        with self._lock:
            return self._slots.setdefault(name, _Slot(name))

    # -- generation --------------------------------------------------------------------------

    def generate(
        self,
        model: LocalModel,
        messages: list[dict[str, str]],
        *,
        grammar: str,
        max_tokens: int,
        temperature: float,
        timeout: float,
        answer_tokens: int | None = None,
        progress: Progress = NO_PROGRESS,
    ) -> Generation:
        """Answer a chat with the slot's model, its output constrained by a GBNF grammar.

        The timeout runs from this call (waiting for the model and loading it count). The
        prompt must leave room for `answer_tokens` (default: min(max_tokens, 16)) within n_ctx;
        longer answers are cut at n_ctx. `progress` hears each step and may cancel generation.
        """
        started = time.perf_counter()
        deadline = time.monotonic() + timeout
        llama_cpp = _llama_cpp()
        self.unload_idle()
        slot = self._slot(model.name)
        progress.step(model.name, "waiting")
        if not slot.lock.acquire(timeout=max(0.0, deadline - time.monotonic())):
            raise ModelError(
                "timeout",
                f"timed out after {timeout:g} s waiting for {model.name} to be free "
                "(0 tokens generated)",
            )
        with _in_use(slot):
            if not slot.is_loaded or slot.model != model:
                progress.step(model.name, "loading")
            load_ms = self._ensure_loaded(slot, model, llama_cpp)
            if time.monotonic() >= deadline:
                before = (
                    f"loading {model.name} took {load_ms / 1000:.1f} s"
                    if load_ms
                    else f"waiting for {model.name} to be free"
                )
                raise ModelError(
                    "timeout",
                    f"timed out after {timeout:g} s before generating: {before} "
                    "(0 tokens generated)",
                )
            generation = self._complete(
                slot,
                messages,
                llama_cpp=llama_cpp,
                grammar=grammar,
                max_tokens=max_tokens,
                temperature=temperature,
                timeout=timeout,
                deadline=deadline,
                answer_tokens=answer_tokens,
                progress=progress,
                load_ms=load_ms,
            )
        generation.load_ms = load_ms
        generation.total_ms = (time.perf_counter() - started) * 1000
        return generation

    def _complete(
        self,
        slot: _Slot,
        messages: list[dict[str, str]],
        *,
        llama_cpp: Any,
        grammar: str,
        max_tokens: int,
        temperature: float,
        timeout: float,
        deadline: float,
        answer_tokens: int | None,
        progress: Progress = NO_PROGRESS,
        load_ms: float = 0.0,
    ) -> Generation:
        llama, model = slot.llama, slot.model
        assert llama is not None and model is not None
        chat, prompt = self._tokenize(slot, messages)
        reserve = answer_tokens if answer_tokens is not None else min(max_tokens, MIN_ANSWER_TOKENS)
        if len(prompt) + reserve > model.n_ctx:
            raise ModelError(
                "context_overflow",
                f"prompt is {len(prompt)} tokens but n_ctx is {model.n_ctx} "
                f"({reserve} more are needed for the answer)",
            )

        _check_grammar(slot, grammar, llama_cpp)

        def disarm_abort() -> None:
            # Generation is per token from here on and the criterion watches the deadline;
            # the abort callback would cost a Python call per graph node per token.
            llama_cpp.llama_set_abort_callback(llama.ctx, llama_cpp.ggml_abort_callback(), None)

        def first_token() -> None:
            disarm_abort()
            progress.step(model.name, "generating", prompt_tokens=len(prompt))

        if progress.cancelled():
            raise ModelError("cancelled", "cancelled before the prompt was read")
        progress.step(model.name, "prompt", prompt_tokens=len(prompt), load_ms=round(load_ms))
        clock = _TokenClock(
            deadline,
            on_first_token=first_token,
            on_token=lambda count, rate: progress.tokens(model.name, count, rate),
            cancelled=progress.cancelled,
        )
        stopping = [clock]
        if chat.stopping_criteria is not None:
            stopping = [*chat.stopping_criteria, clock]
        slot.deadline, slot.aborted = deadline, False
        llama_cpp.llama_set_abort_callback(llama.ctx, slot.abort_callback, None)
        began = time.perf_counter()
        try:
            result = llama.create_completion(
                prompt=prompt,
                grammar=_grammar(grammar),
                max_tokens=max_tokens,
                temperature=temperature,
                stop=chat.stop,
                stopping_criteria=llama_cpp.StoppingCriteriaList(stopping),
                **SAMPLING,
            )
        except (RuntimeError, ValueError) as exc:
            # llama_decode returns 2 when the abort callback stopped prompt processing; the
            # context then holds a partial prompt, so start the next request afresh.
            llama.reset()
            if slot.aborted:
                raise ModelError(
                    "timeout",
                    f"timed out after {timeout:g} s while processing the {len(prompt)}-token "
                    "prompt (0 tokens generated)",
                ) from None
            raise ModelError("error", f"llama.cpp failed: {exc}") from None
        finally:
            slot.deadline = float("inf")
            disarm_abort()
        ended = time.perf_counter()

        usage = result["usage"]
        completion_tokens = usage["completion_tokens"]
        if clock.was_cancelled:
            raise ModelError(
                "cancelled", f"cancelled while generating ({completion_tokens} tokens generated)"
            )
        if clock.stopped_generation(completion_tokens):
            raise ModelError(
                "timeout",
                f"timed out after {timeout:g} s ({completion_tokens} tokens generated)",
            )
        first = clock.first_token_at if clock.first_token_at is not None else ended
        generation_s = ended - first
        return Generation(
            text=result["choices"][0]["text"],
            prompt_tokens=usage["prompt_tokens"],
            completion_tokens=completion_tokens,
            load_ms=0.0,
            prompt_ms=(first - began) * 1000,
            generation_ms=generation_s * 1000,
            total_ms=0.0,
            tokens_per_second=completion_tokens / generation_s if generation_s > 0 else 0.0,
        )

    def load(self, model: LocalModel) -> float:
        """Load the slot's model ahead of its first request (warm-up), under the same memory
        guard; returns the load time in ms, 0.0 if it was loaded already."""
        llama_cpp = _llama_cpp()
        slot = self._slot(model.name)
        slot.lock.acquire()
        with _in_use(slot):
            return self._ensure_loaded(slot, model, llama_cpp)

    def count_prompt_tokens(self, model: LocalModel, messages: list[dict[str, str]]) -> int:
        """Tokens the chat takes as the model sees it (its template applied), loading the
        model if needed: what `generate` would report as prompt_tokens."""
        llama_cpp = _llama_cpp()
        slot = self._slot(model.name)
        slot.lock.acquire()
        with _in_use(slot):
            self._ensure_loaded(slot, model, llama_cpp)
            return len(self._tokenize(slot, messages)[1])

    @staticmethod
    def _tokenize(slot: _Slot, messages: list[dict[str, str]]) -> tuple[Any, list[int]]:
        """The chat through the model's template (prompt text, stop words) and its tokens."""
        assert slot.llama is not None and slot.formatter is not None
        try:
            chat = slot.formatter(messages=messages)
        except Exception as exc:  # a template's own raise_exception, a bad message shape
            raise ModelError("error", f"could not apply the chat template: {exc}") from None
        tokens = slot.llama.tokenize(
            chat.prompt.encode("utf-8"), add_bos=not chat.added_special, special=True
        )
        return chat, tokens

    # -- loading -----------------------------------------------------------------------------

    def _ensure_loaded(self, slot: _Slot, model: LocalModel, llama_cpp: Any) -> float:
        """Load the slot's model unless it is loaded with these settings; returns load ms.
        The caller holds the slot's lock."""
        if slot.is_loaded and slot.model == model:
            return 0.0
        if slot.is_loaded:
            logger.info("%s: settings or file changed; reloading", model.name)
            slot.close()
        if not model.path.is_file():
            raise ModelError("not_found", f"model file not found: {model.path}")
        if problem := _gguf_problem(model.path):
            # Checked before the memory guard, which would size a broken file by guesswork.
            raise ModelError(
                "error", f"could not load {model.path.name}: not a valid GGUF file: {problem}"
            )
        with self._load_lock:
            need = memory.estimate_bytes(model.path, model.n_ctx, model.n_batch)
            self._make_room(model.name, need)
            threads = effective_threads(model.n_threads)
            started = time.perf_counter()
            llama = self._construct(model, threads, llama_cpp)
            load_ms = (time.perf_counter() - started) * 1000
            try:
                formatter = _chat_formatter(llama, model)
            except Exception as exc:  # a Jinja template that does not compile
                llama.close()
                raise ModelError(
                    "error", f"could not load {model.path.name}: its chat template: {exc}"
                ) from None
            slot.model, slot.llama, slot.est_bytes, slot.n_threads = model, llama, need, threads
            slot.formatter = formatter
            slot.abort_callback = llama_cpp.ggml_abort_callback(
                lambda _data: self._should_abort(slot)
            )
            slot.loaded_at = slot.last_used = time.monotonic()
            self._watch_keep_alive()
        logger.info(
            "loaded %s (%s) in %.0f ms, estimated %s",
            model.name,
            model.path.name,
            load_ms,
            memory.format_gb(need),
        )
        return load_ms

    @staticmethod
    def _should_abort(slot: _Slot) -> bool:
        if time.monotonic() >= slot.deadline:
            slot.aborted = True
            return True
        return False

    @staticmethod
    def _construct(model: LocalModel, threads: int, llama_cpp: Any) -> Any:
        try:
            return llama_cpp.Llama(
                model_path=str(model.path),
                n_ctx=model.n_ctx,
                n_batch=model.n_batch,
                n_threads=threads,
                n_threads_batch=threads,
                n_gpu_layers=model.n_gpu_layers,
                use_mmap=False,
                verbose=False,
            )
        except (ValueError, RuntimeError) as exc:
            failure = str(exc)
        # A Llama whose weights loaded but whose context failed is reachable only from that
        # exception's traceback, inside a reference cycle (its tokenizer points back at it):
        # collect it now, so its weights are freed before we report, not at some later GC.
        gc.collect()
        if problem := _gguf_problem(model.path):
            failure = f"not a valid GGUF file: {problem}"
        raise ModelError("error", f"could not load {model.path.name}: {failure}")

    def _make_room(self, name: str, need: int) -> None:
        """Unload idle models, least recently used first, until `need` bytes fit in free RAM
        and in the budget; else refuse. Never touches a model in use. Holds _load_lock."""
        while True:
            free = memory.available_bytes()
            others = [s for s in self._loaded_slots() if s.name != name]
            held = sum(s.est_bytes for s in others)
            over_budget = self.budget_bytes is not None and held + need > self.budget_bytes
            if need <= free and not over_budget:
                return
            victim = self._take_idle(others)
            if victim is None:
                raise ModelError("refused_memory", self._refusal(name, need, free, held, others))
            try:
                logger.info("unloading idle %s to make room for %s", victim.name, name)
                victim.close()
            finally:
                victim.lock.release()

    @staticmethod
    def _take_idle(slots: list[_Slot]) -> _Slot | None:
        """The least recently used loaded slot nobody is using, locked; None if all are busy."""
        for slot in sorted(slots, key=lambda s: s.last_used):
            if slot.lock.acquire(blocking=False):
                if slot.is_loaded:
                    return slot
                slot.lock.release()
        return None

    def _refusal(self, name: str, need: int, free: int, held: int, others: list[_Slot]) -> str:
        gb = memory.format_gb
        if need > free:
            reason = f"{name} needs ~{gb(need)}, {gb(free)} free"
        else:
            room = max(0, (self.budget_bytes or 0) - held)
            reason = (
                f"{name} needs ~{gb(need)}, {gb(room)} free of the {gb(self.budget_bytes or 0)}"
                " model budget"
            )
        if others:
            names = ", ".join(s.name for s in others)
            reason += f" ({gb(held)} held by models in use: {names})"
        return reason


def _check_grammar(slot: _Slot, grammar: str, llama_cpp: Any) -> None:
    """Refuse a grammar llama.cpp cannot parse: given one, llama-cpp-python 0.3.36 adds a NULL
    sampler to the chain and the process dies of a segmentation fault."""
    if grammar in slot.checked_grammars:
        return
    sampler = llama_cpp.llama_sampler_init_grammar(
        slot.llama._model.vocab, grammar.encode("utf-8"), b"root"
    )
    if not sampler:
        raise ModelError("error", "the answer grammar does not parse (llama.cpp logged why)")
    llama_cpp.llama_sampler_free(sampler)
    if len(slot.checked_grammars) > 64:
        slot.checked_grammars.clear()
    slot.checked_grammars.add(grammar)


def _gguf_problem(path: Path) -> str | None:
    """Why the file is not a readable GGUF file, or None if its header reads fine."""
    try:
        memory.model_shape(path)  # cached per file version
    except (memory.GGUFError, OSError):
        try:
            memory.read_gguf_metadata(path)  # a GGUF file, just not one we can size?
        except (memory.GGUFError, OSError) as exc:
            return str(exc)
    return None


# The process's pool: created on first use, never at import (no model loads before a request).
_pool: ModelPool | None = None
_pool_guard = threading.Lock()


def get_pool() -> ModelPool:
    global _pool
    with _pool_guard:
        if _pool is None:
            _pool = _new_pool()
        return _pool


def configure_pool(
    *,
    budget_bytes: int | None = None,
    keep_alive_seconds: float | None = None,
    isolated: bool | None = None,
) -> ModelPool:
    """Build the process's pool with these settings (Django's AppConfig or a worker calls it
    once at start-up); a pool built before is closed and replaced. `isolated`: each model in
    a child process (`llm.isolated.IsolatedPool`); None follows the T2_ISOLATE_MODELS setting."""
    global _pool
    with _pool_guard:
        old, _pool = (
            _pool,
            _new_pool(
                budget_bytes=budget_bytes,
                keep_alive_seconds=keep_alive_seconds,
                isolated=isolated,
            ),
        )
        new = _pool
    if old is not None:
        old.close()
    return new


def _new_pool(*, isolated: bool | None = None, **limits: Any) -> ModelPool:
    if isolated is None:
        isolated = bool(django_setting("T2_ISOLATE_MODELS", False))
    if isolated:
        from llm.isolated import IsolatedPool

        return IsolatedPool(**limits)
    return ModelPool(**limits)


def django_setting(name: str, default: Any) -> Any:
    """A Django setting, or `default` where no Django settings are configured (scripts and
    benchmarks that build their pools themselves)."""
    if not os.environ.get("DJANGO_SETTINGS_MODULE"):
        return default
    from django.conf import settings

    return getattr(settings, name, default)
