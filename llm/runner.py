"""One local model in a process of its own: the child side of `llm.isolated`.

    python -m llm.runner FD [--nice N]

FD is this process's end of a socket pair made by the parent (`llm.isolated.ModelProcess`).
The child holds one slot's model in an in-process `llm.runtime.ModelPool` and answers one
request at a time. A crash inside llama.cpp (SIGSEGV, SIGILL, the kernel's OOM killer) then
ends this process only; the parent reports it by its signal and starts a new one when asked.

Messages are JSON documents, framed by `multiprocessing.connection` (a length, then the bytes).

Parent → child, each with an "id":
    {"op": "load", "model": {...}}              → done {"load_ms"}
    {"op": "generate", "model", "messages", "grammar", "max_tokens", "temperature",
     "timeout", "deadline", "answer_tokens"}    → step…, tokens…, then done {"generation"}
    {"op": "count", "model", "messages"}        → done {"tokens"}
    {"op": "ping"}                              → done {"pid"}
    {"op": "cancel"}    the generation with this id stops at its next token
    {"op": "exit"}      unload and exit
Child → parent: {"id", "event": "step", "slot", "phase", "details"},
    {"id", "event": "tokens", "slot", "count", "rate"}, {"id", "event": "done", ...} or
    {"id", "event": "failed", "status", "reason"} (a ModelError).

`deadline` is a `time.monotonic()` instant: CLOCK_MONOTONIC is one clock for every process on
the machine, so the parent's deadline (waiting and loading counted) holds here unchanged.

A thread reads the socket, so a cancel arrives while the main thread is inside llama.cpp; when
the socket closes (the parent exited or was killed) that thread ends this process at once.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import queue
import resource
import signal
import sys
import threading
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from llm.progress import Progress
from llm.runtime import LocalModel, ModelError, ModelPool

logger = logging.getLogger(__name__)


def model_to_message(model: LocalModel) -> dict[str, Any]:
    return {**dataclasses.asdict(model), "path": str(model.path)}


def model_from_message(data: dict[str, Any]) -> LocalModel:
    return LocalModel(**{**data, "path": Path(data["path"])})


class _Relay(Progress):
    """The child's Progress for one generation: steps and token counts go to the parent;
    `cancelled()` turns true once the parent's cancel for this request has arrived."""

    def __init__(self, runner: Runner, request_id: int):
        self.runner = runner
        self.request_id = request_id

    def step(self, slot: str, phase: str, **details: Any) -> None:
        if phase in ("waiting", "loading"):
            return  # the parent reported these: it waits for the slot and starts this process
        self.runner.send(
            {
                "id": self.request_id,
                "event": "step",
                "slot": slot,
                "phase": phase,
                "details": details,
            }
        )

    def tokens(self, slot: str, count: int, tokens_per_second: float) -> None:
        self.runner.send(
            {
                "id": self.request_id,
                "event": "tokens",
                "slot": slot,
                "count": count,
                "rate": tokens_per_second,
            }
        )

    def cancelled(self) -> bool:
        return self.runner.cancelled_id == self.request_id


class Runner:
    """Serves the parent's requests with one in-process pool (no budget, no keep-alive: the
    parent decides about memory and idleness, and ends this process to unload)."""

    def __init__(self, connection: Connection):
        self.connection = connection
        self.pool = ModelPool()
        self.requests: queue.SimpleQueue[dict[str, Any]] = queue.SimpleQueue()
        self.cancelled_id: int | None = None

    def send(self, message: dict[str, Any]) -> None:
        self.connection.send_bytes(json.dumps(message).encode())

    def read(self) -> None:
        """The reader thread: cancels take effect at once, other requests queue for serve()."""
        while True:
            try:
                message = json.loads(self.connection.recv_bytes())
            except (EOFError, OSError):
                # The parent is gone: nobody will read an answer, and the model's memory
                # should not outlive the worker that held it.
                os._exit(0)
            if message.get("op") == "cancel":
                self.cancelled_id = message["id"]
            else:
                self.requests.put(message)

    def serve(self) -> None:
        threading.Thread(target=self.read, name="runner-reader", daemon=True).start()
        try:
            while (message := self.requests.get())["op"] != "exit":
                self.answer(message)
        finally:
            self.pool.close()

    def answer(self, message: dict[str, Any]) -> None:
        request_id = message["id"]
        handler = getattr(self, f"do_{message['op']}", None)
        try:
            if handler is None:
                raise ModelError("error", f"the model process has no request {message['op']!r}")
            result = handler(message)
        except ModelError as exc:
            reply = {"event": "failed", "status": exc.status, "reason": exc.reason}
        except Exception as exc:  # a bug here must reach the parent as an answer, not a hang
            logger.exception("model process request %s failed", message["op"])
            reply = {
                "event": "failed",
                "status": "error",
                "reason": f"the model process failed: {exc}",
            }
        else:
            reply = {"event": "done", **result}
        self.send({"id": request_id, **reply})

    def do_ping(self, message: dict[str, Any]) -> dict[str, Any]:
        return {"pid": os.getpid()}

    def do_load(self, message: dict[str, Any]) -> dict[str, Any]:
        return {"load_ms": self.pool.load(model_from_message(message["model"]))}

    def do_count(self, message: dict[str, Any]) -> dict[str, Any]:
        model = model_from_message(message["model"])
        return {"tokens": self.pool.count_prompt_tokens(model, message["messages"])}

    def do_generate(self, message: dict[str, Any]) -> dict[str, Any]:
        timeout = message["timeout"]
        remaining = message["deadline"] - time.monotonic()
        if remaining <= 0:
            raise ModelError(
                "timeout", f"timed out after {timeout:g} s before generating (0 tokens generated)"
            )
        try:
            generation = self.pool.generate(
                model_from_message(message["model"]),
                message["messages"],
                grammar=message["grammar"],
                max_tokens=message["max_tokens"],
                temperature=message["temperature"],
                timeout=remaining,
                answer_tokens=message["answer_tokens"],
                progress=_Relay(self, message["id"]),
            )
        except ModelError as exc:
            if exc.status == "timeout":
                # The pool counts from its own call; the caller's timeout began in the parent.
                exc.reason = exc.reason.replace(f"after {remaining:g} s", f"after {timeout:g} s")
            raise
        return {"generation": dataclasses.asdict(generation)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m llm.runner", description=__doc__)
    parser.add_argument("fd", type=int, help="this end of the parent's socket pair")
    parser.add_argument(
        "--nice", type=int, default=0, help="lower this process's CPU priority by this much"
    )
    args = parser.parse_args(argv)
    if args.nice:
        # Generation takes every core it is given for seconds; pages and API reads on the
        # same machine need a few milliseconds each and should get them first.
        os.nice(args.nice)
    logging.basicConfig(level=logging.WARNING, format="llm.runner[%(process)d] %(message)s")
    # A crash is reported by its signal; a core file of a model-sized process helps nobody.
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    # Ctrl-C in a terminal reaches the whole process group; the parent decides when to stop
    # (the worker finishes the run in hand first), and ends this process by message or by EOF.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    Runner(Connection(args.fd)).serve()
    return 0


if __name__ == "__main__":
    sys.exit(main())
