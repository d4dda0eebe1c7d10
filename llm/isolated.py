"""Local models each in a supervised child process: a crash in llama.cpp ends that process only.

`IsolatedPool` has `ModelPool`'s interface and most of its logic: it is a ModelPool whose
slots hold a child process (`python -m llm.runner`, which runs the model in its own ModelPool)
instead of a `Llama`. So the per-slot lock, the memory guard (free RAM and the budget, idle
models unloaded least recently used first), keep-alive and `loaded()` are the pool's own code,
decided here in the parent; loading a model starts its process and unloading ends it. This
process never imports llama_cpp.

When a child dies (SIGSEGV, SIGILL, SIGKILL from the kernel's OOM killer) the request in hand
fails with a ModelError("error", …) that names the signal, and the next request starts the
model again. Deadlines hold in the child; should a child not answer within GRACE_SECONDS after
the deadline, it is killed and the request is a timeout. Cancellation is forwarded to the
child, which stops at its next token.

Progress (steps, token counts, the cancel flag) is called in the caller's thread, as the
in-process pool does: `routes.optimize.RunProgress` uses the caller's database connection.
"""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import subprocess
import sys
import threading
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from llm import memory
from llm.generation import Generation
from llm.probe import SIGNALS, _signal_name
from llm.progress import NO_PROGRESS, Progress
from llm.runner import model_to_message
from llm.runtime import (
    LocalModel,
    ModelError,
    ModelPool,
    _gguf_problem,
    _in_use,
    django_setting,
    effective_threads,
)

logger = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[1]

#: How long past its deadline a child may take to answer before it is killed.
GRACE_SECONDS = 5.0
#: How long a child may take to exit when asked before it is killed.
EXIT_SECONDS = 5.0
#: How often a waiting parent looks at the cancel flag when no message comes.
POLL_SECONDS = 0.1
#: What the child process takes besides its model (the interpreter and llama.cpp's library;
#: measured ~47 MiB RSS after `import llama_cpp`), added to the memory guard's estimate.
PROCESS_BYTES = 48 * 1024**2


class _Died(Exception):
    """The child's end of the socket closed: it exited or was killed."""


class _Overdue(Exception):
    """The child did not answer by the deadline plus GRACE_SECONDS."""


def describe_exit(returncode: int | None) -> str:
    """'died with SIGSEGV (segmentation fault inside llama.cpp)', 'exited with status 1'."""
    if returncode is None:
        return "stopped answering"
    if returncode < 0:
        name = _signal_name(-returncode)
        meaning = SIGNALS.get(name, ("", ""))[0]
        return f"died with {name} ({meaning})" if meaning else f"died with {name}"
    return f"exited with status {returncode}"


class ModelProcess:
    """One slot's child process and the model it holds; the pool's slot (see runtime._Slot:
    the same attributes, so the pool's memory guard, keep-alive and loaded() work on it)."""

    def __init__(self, name: str):
        self.name = name
        self.lock = threading.Lock()
        self.model: LocalModel | None = None
        self.process: subprocess.Popen | None = None
        self.connection: Connection | None = None
        self.est_bytes = 0
        self.n_threads = 0
        self.loaded_at = 0.0
        self.last_used = 0.0
        self.busy = False
        self.tokens = 0  # generated so far by the request in hand, as the child reported
        self._next_id = 0

    @property
    def is_loaded(self) -> bool:
        # Read once: the pool asks without the lock, while the holder may be clearing it.
        process = self.process
        return self.model is not None and process is not None and process.poll() is None

    @property
    def pid(self) -> int | None:
        process = self.process
        return process.pid if process is not None else None

    def holds(self, model: LocalModel) -> bool:
        """Whether the process is alive with this model loaded; a process found dead since
        the last request is cleared (and logged) so that the caller starts a new one."""
        if self.process is not None and self.process.poll() is not None:
            logger.warning(
                "the llama.cpp process for %s (pid %s) %s while idle; it starts again on the "
                "next request",
                self.name,
                self.process.pid,
                describe_exit(self.process.returncode),
            )
            self._forget()
        return self.is_loaded and self.model == model

    # -- starting and stopping ------------------------------------------------------------

    def start(self, model: LocalModel, est_bytes: int) -> float:
        """Start the process and load the model in it; returns the ms both took. The caller
        holds the lock and has made room for `est_bytes`."""
        started = time.perf_counter()
        ours, theirs = socket.socketpair()
        try:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "llm.runner",
                    str(theirs.fileno()),
                    "--nice",  # T2_MODEL_NICE: below the web server's CPU priority
                    str(int(django_setting("T2_MODEL_NICE", 0))),
                ],
                cwd=ROOT,
                pass_fds=(theirs.fileno(),),
                stdin=subprocess.DEVNULL,
            )
        except OSError as exc:
            ours.close()
            raise ModelError(
                "error", f"could not start a process for {model.name}: {exc}"
            ) from None
        finally:
            theirs.close()
        self.connection = Connection(ours.detach())
        self.model = model
        try:
            self.ask({"op": "load", "model": model_to_message(model)}, doing="loading")
        except BaseException:
            self.kill()
            raise
        self.est_bytes = est_bytes
        self.n_threads = effective_threads(model.n_threads)
        self.loaded_at = self.last_used = time.monotonic()
        load_ms = (time.perf_counter() - started) * 1000
        logger.info(
            "started %s (%s) in process %s in %.0f ms, estimated %s",
            model.name,
            model.path.name,
            self.process.pid,
            load_ms,
            memory.format_gb(est_bytes),
        )
        return load_ms

    def close(self) -> None:
        """Unload: ask the process to exit, kill it if it does not. Caller holds the lock."""
        if self.process is None:
            return
        logger.info("unloading %s (process %s)", self.name, self.process.pid)
        try:
            self._send({"op": "exit", "id": 0})
            self.process.wait(timeout=EXIT_SECONDS)
        except (_Died, subprocess.TimeoutExpired):
            self.process.kill()
            self.process.wait()
        self._forget()

    def kill(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait()
        self._forget()

    def _forget(self) -> None:
        if self.connection is not None:
            self.connection.close()
        self.process = None
        self.connection = None
        self.model = None
        self.est_bytes = 0

    # -- requests ---------------------------------------------------------------------------

    def _send(self, message: dict[str, Any]) -> None:
        assert self.connection is not None
        try:
            self.connection.send_bytes(json.dumps(message).encode())
        except OSError:  # a broken pipe: the child is gone
            raise _Died from None

    def ask(
        self,
        message: dict[str, Any],
        *,
        doing: str,
        deadline: float | None = None,
        timeout: float = 0.0,
        progress: Progress = NO_PROGRESS,
    ) -> dict[str, Any]:
        """Send a request and relay its progress until the answer; a ModelError when the
        child fails it, dies (named by its signal) or overruns the deadline (it is killed)."""
        self._next_id += 1
        request_id = self._next_id
        self.tokens = 0
        try:
            self._send({**message, "id": request_id})
            reply = self._wait(request_id, deadline, progress)
        except _Died:
            returncode = self._reap()
            self._forget()
            said = f" ({self.tokens} tokens generated)" if doing == "generating" else ""
            raise ModelError(
                "error",
                f"the llama.cpp process for {self.name} {describe_exit(returncode)} while "
                f"{doing}{said}; the next request starts it again",
            ) from None
        except _Overdue:
            self.kill()
            raise ModelError(
                "timeout",
                f"timed out after {timeout:g} s: the llama.cpp process for {self.name} did not "
                f"stop within {GRACE_SECONDS:g} s of the deadline and was killed "
                f"({self.tokens} tokens generated)",
            ) from None
        except BaseException:
            # The caller gave up (its progress raised, the worker is stopping): stop the child
            # at its next token; the next request skips this one's late messages by their id.
            with contextlib.suppress(_Died):
                self._send({"op": "cancel", "id": request_id})
            raise
        if reply["event"] == "failed":
            raise ModelError(reply["status"], reply["reason"])
        return reply

    def _wait(self, request_id: int, deadline: float | None, progress: Progress) -> dict[str, Any]:
        assert self.connection is not None
        cancel_sent = False
        while True:
            wait = POLL_SECONDS
            if deadline is not None:
                left = deadline + GRACE_SECONDS - time.monotonic()
                if left <= 0:
                    raise _Overdue
                wait = min(wait, left)
            try:
                if self.connection.poll(wait):
                    reply = json.loads(self.connection.recv_bytes())
                else:
                    reply = None
            except (EOFError, OSError):
                raise _Died from None
            if reply is not None and reply.get("id") == request_id:
                event = reply["event"]
                if event in ("done", "failed"):
                    return reply
                if event == "step":
                    progress.step(reply["slot"], reply["phase"], **reply["details"])
                elif event == "tokens":
                    self.tokens = reply["count"]
                    progress.tokens(reply["slot"], self.tokens, reply["rate"])
            if not cancel_sent and progress.cancelled():
                self._send({"op": "cancel", "id": request_id})
                cancel_sent = True

    def _reap(self) -> int | None:
        """The dead (or dying) child's return code; a child that closed its end but lives on
        is killed."""
        assert self.process is not None
        try:
            return self.process.wait(timeout=EXIT_SECONDS)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            return None


class IsolatedPool(ModelPool):
    """ModelPool's interface with each loaded model in a child process (see module doc)."""

    def _slot(self, name: str) -> ModelProcess:  # type: ignore[override]
        with self._lock:
            slot = self._slots.get(name)
            if slot is None:
                slot = self._slots[name] = ModelProcess(name)
            return slot

    def loaded(self) -> list[dict[str, Any]]:
        pids = {s.name: s.pid for s in self._loaded_slots()}
        return [{**entry, "pid": pids.get(entry["name"])} for entry in super().loaded()]

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
        """As ModelPool.generate, the model answering in its own process."""
        started = time.perf_counter()
        deadline = time.monotonic() + timeout
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
            load_ms = 0.0
            if not slot.holds(model):
                progress.step(model.name, "loading")
                load_ms = self._start(slot, model)
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
            reply = slot.ask(
                {
                    "op": "generate",
                    "model": model_to_message(model),
                    "messages": messages,
                    "grammar": grammar,
                    "max_tokens": max_tokens,
                    "temperature": temperature,
                    "timeout": timeout,
                    "deadline": deadline,
                    "answer_tokens": answer_tokens,
                },
                doing="generating",
                deadline=deadline,
                timeout=timeout,
                progress=progress,
            )
        generation = Generation(**reply["generation"])
        generation.load_ms = load_ms
        generation.total_ms = (time.perf_counter() - started) * 1000
        return generation

    def load(self, model: LocalModel) -> float:
        slot = self._slot(model.name)
        slot.lock.acquire()
        with _in_use(slot):
            return 0.0 if slot.holds(model) else self._start(slot, model)

    def count_prompt_tokens(self, model: LocalModel, messages: list[dict[str, str]]) -> int:
        slot = self._slot(model.name)
        slot.lock.acquire()
        with _in_use(slot):
            if not slot.holds(model):
                self._start(slot, model)
            reply = slot.ask(
                {"op": "count", "model": model_to_message(model), "messages": messages},
                doing="counting prompt tokens",
            )
            return reply["tokens"]

    def _start(self, slot: ModelProcess, model: LocalModel) -> float:
        """Start the slot's process with this model, under the pool's memory guard; returns
        the ms it took. The caller holds the slot's lock."""
        if slot.process is not None:
            logger.info("%s: settings or file changed; restarting its process", model.name)
            slot.close()
        if not model.path.is_file():
            raise ModelError("not_found", f"model file not found: {model.path}")
        if problem := _gguf_problem(model.path):
            raise ModelError(
                "error", f"could not load {model.path.name}: not a valid GGUF file: {problem}"
            )
        with self._load_lock:
            need = memory.estimate_bytes(model.path, model.n_ctx, model.n_batch) + PROCESS_BYTES
            self._make_room(model.name, need)
            load_ms = slot.start(model, need)
            self._watch_keep_alive()
        return load_ms
