"""Real servers on loopback for the remote client's tests.

- `llama_server`: llama-cpp-python's own OpenAI-compatible server on the small test model, one per
  test session, in a subprocess.
- `loopback_server`: a tiny http.server that answers with whatever handler a test gives it, for
  the ways servers misbehave (too slow, HTTP 500, garbage). Each is shut down after its test.
"""

from __future__ import annotations

import logging
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

logger = logging.getLogger(__name__)

MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
SERVED_MODEL_NAME = "smollm2-test"
SERVER_START_LIMIT_S = 60.0


def free_loopback_port() -> int:
    """A port nothing listens on right now (the OS picks it, then we let it go)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass(frozen=True)
class RunningServer:
    url: str  # the OpenAI-style endpoint, http://127.0.0.1:<port>/v1
    model: str
    start_seconds: float


@pytest.fixture(scope="session")
def llama_server(test_model_path: Path, tmp_path_factory) -> Iterator[RunningServer]:
    port = free_loopback_port()
    log_path = tmp_path_factory.mktemp("llama_server") / "server.log"
    command = [
        sys.executable,
        "-m",
        "llama_cpp.server",
        "--model",
        str(test_model_path),
        "--model_alias",
        SERVED_MODEL_NAME,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--n_ctx",
        "2048",
        "--n_threads",
        "2",
        "--verbose",
        "False",
    ]
    url = f"http://127.0.0.1:{port}/v1"
    started = time.monotonic()
    with open(log_path, "wb") as log:
        # The log goes to a file: a pipe nobody reads would fill up and stall the server.
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    try:
        _wait_until_it_lists_models(process, url, log_path)
        start_seconds = time.monotonic() - started
        logger.info("llama-cpp-python server ready at %s in %.1f s", url, start_seconds)
        yield RunningServer(url=url, model=SERVED_MODEL_NAME, start_seconds=start_seconds)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def _wait_until_it_lists_models(process: subprocess.Popen, url: str, log_path: Path) -> None:
    deadline = time.monotonic() + SERVER_START_LIMIT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"llama_cpp.server exited with {process.returncode}:\n{_tail(log_path)}")
        try:
            with urllib.request.urlopen(url + "/models", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass  # not listening yet
        time.sleep(0.1)
    pytest.fail(
        f"llama_cpp.server did not answer within {SERVER_START_LIMIT_S} s:\n{_tail(log_path)}"
    )


def _tail(path: Path, chars: int = 3000) -> str:
    return path.read_text(errors="replace")[-chars:]


class QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address) -> None:
        # The client hanging up on a deliberately slow handler is the point of those tests.
        pass


class LoopbackHandler(BaseHTTPRequestHandler):
    """Base for test handlers: `self.server.release` is set at teardown to end any waiting."""

    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args) -> None:
        pass

    def read_body(self) -> bytes:
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def answer(self, status: int, body: bytes, content_type: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def record(self, body: bytes = b"") -> None:
        self.server.recorded.append(
            Recorded(self.command, self.path, dict(self.headers.items()), body)
        )

    def wait_for_release(self, seconds: float) -> None:
        self.server.release.wait(seconds)


@dataclass
class LoopbackServer:
    url: str  # http://127.0.0.1:<port>/v1
    requests: list[Recorded]  # what its handler recorded, in order


@dataclass(frozen=True)
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@pytest.fixture
def loopback_server() -> Iterator[Callable[[type[LoopbackHandler]], LoopbackServer]]:
    """Start a loopback HTTP server that answers with the given handler class."""
    servers: list[QuietServer] = []

    def start(handler: type[LoopbackHandler]) -> LoopbackServer:
        server = QuietServer(("127.0.0.1", 0), handler)
        server.release = threading.Event()
        server.recorded = []
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return LoopbackServer(f"http://127.0.0.1:{server.server_address[1]}/v1", server.recorded)

    yield start
    for server in servers:
        server.release.set()
        server.shutdown()
        server.server_close()
