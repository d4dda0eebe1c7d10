"""Real processes for the reliability tests: the task worker, gunicorn and scripts/supervise.py
on one SQLite file, and a model server on loopback that answers as slowly as a test wants.

The test process reads the service's database with sqlite3 (its own Django connection is the
test database); it talks to the service over HTTP.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def pytest_configure(config) -> None:
    config.addinivalue_line(
        "markers", "processes: starts real worker, gunicorn or supervisor processes (seconds)"
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(check: Callable[[], object], seconds: float, what: str) -> object:
    deadline = time.monotonic() + seconds
    while True:
        if value := check():
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {seconds} s: {what}")
        time.sleep(0.05)


def process_group_is_empty(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return True
    return False


# --- A model server that takes its time --------------------------------------------------------


class SlowModel(ThreadingHTTPServer):
    """An OpenAI-style server whose every answer is an HTTP 500 after `release` is set (or after
    `answer_after` seconds); `asked` is set when a request arrives: the worker is in the run."""

    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), _SlowHandler)
        self.asked = threading.Event()
        self.release = threading.Event()
        self.answer_after = 60.0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1"

    def handle_error(self, request, client_address) -> None:
        pass  # a killed worker hangs up on us: that is the point


class _SlowHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args) -> None:
        pass

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.server.asked.set()
        self.server.release.wait(self.server.answer_after)
        body = b'{"error": {"message": "the test model server says no"}}'
        self.send_response(500)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def slow_model() -> Iterator[SlowModel]:
    server = SlowModel()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.release.set()
    server.shutdown()
    server.server_close()


# --- The service -------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def migrated_database(tmp_path_factory) -> Path:
    """A migrated SQLite file, made once; each test works on its own copy."""
    path = tmp_path_factory.mktemp("reliability") / "template.sqlite3"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("T2_", "DJANGO_"))}
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
        cwd=ROOT,
        env={**env, "DATABASE_URL": f"sqlite:///{path}"},
        check=True,
    )
    return path


@dataclass
class Call:
    """An HTTP call made in a thread, so that the test can kill things while it waits."""

    url: str
    body: dict
    status: int | None = None
    answer: dict = field(default_factory=dict)
    headers: dict = field(default_factory=dict)
    done: threading.Event = field(default_factory=threading.Event)

    def start(self) -> Call:
        threading.Thread(target=self._run, daemon=True).start()
        return self

    def _run(self) -> None:
        request = urllib.request.Request(
            self.url, json.dumps(self.body).encode(), {"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=120) as response:
                self.status, raw, self.headers = response.status, response.read(), response.headers
        except urllib.error.HTTPError as exc:
            self.status, raw, self.headers = exc.code, exc.read(), exc.headers
        except OSError as exc:
            self.status, raw = -1, json.dumps({"error": repr(exc)}).encode()
        self.answer = json.loads(raw or b"{}")
        self.done.set()

    def wait(self, seconds: float) -> Call:
        assert self.done.wait(seconds), f"{self.url} did not answer within {seconds} s"
        return self


class Service:
    def __init__(self, tmp_path: Path, database: Path):
        self.dir = tmp_path
        self.database = tmp_path / "db.sqlite3"
        shutil.copy(database, self.database)
        (tmp_path / "models").mkdir()
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("T2_", "DJANGO_"))}
        self.env.update(
            DATABASE_URL=f"sqlite:///{self.database}",
            T2_MODELS_DIR=str(tmp_path / "models"),
            T2_ALGORITHM_IN_WEB="0",  # every run through the queue, as with a model installed
            DEBUG="0",
            T2_WORKER_HEARTBEAT_SECONDS="0.5",
            T2_RUN_WAIT_SECONDS="60",
        )
        self.log_path = tmp_path / "service.log"
        self.log = open(self.log_path, "ab")
        self.processes: list[subprocess.Popen] = []
        self.url = ""

    def popen(self, command: list[str], **env: str) -> subprocess.Popen:
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env={**self.env, **env},
            stdout=self.log,
            stderr=subprocess.STDOUT,
            process_group=0,
        )
        self.processes.append(process)
        return process

    def worker(self, **env: str) -> subprocess.Popen:
        """A task worker; wait_for_worker() tells when it takes runs."""
        return self.popen(
            [sys.executable, "manage.py", "worker", "--no-reload", "--interval", "0.1"], **env
        )

    def web(self, **env: str) -> subprocess.Popen:
        port = free_port()
        process = self.popen(
            [str(BIN / "gunicorn"), "t2site.wsgi", "--bind", f"127.0.0.1:{port}"]
            + ["--workers", "1", "--threads", "4"],
            **env,
        )
        self.url = f"http://127.0.0.1:{port}"
        self.wait_for_web()
        return process

    def wait_for_web(self, seconds: float = 60) -> None:
        def answers() -> bool:
            try:
                urllib.request.urlopen(self.url + "/openapi.json", timeout=2)
                return True
            except OSError:
                return False

        wait_until(answers, seconds, f"the web server at {self.url} answers\n{self.tail()}")

    def wait_for_worker(self, process: subprocess.Popen, seconds: float = 60) -> str:
        name = f"{socket.gethostname()}:{process.pid}"
        wait_until(
            lambda: self.rows("SELECT name FROM routes_worker WHERE name = ?", name),
            seconds,
            f"worker {name} beats\n{self.tail()}",
        )
        return name

    def optimize(self, body: dict) -> Call:
        return Call(self.url + "/optimize", body).start()

    def rows(self, sql: str, *params) -> list[sqlite3.Row]:
        with sqlite3.connect(self.database, timeout=10) as db:
            db.row_factory = sqlite3.Row
            return db.execute(sql, params).fetchall()

    def runs(self) -> list[sqlite3.Row]:
        return self.rows("SELECT id, status, error, worker FROM routes_routerun ORDER BY id")

    def tail(self, chars: int = 4000) -> str:
        self.log.flush()
        return self.log_path.read_text(errors="replace")[-chars:]

    def stop(self) -> None:
        for process in self.processes:
            try:  # the whole group: gunicorn's own workers too
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            process.wait(timeout=10)
        self.log.close()


@pytest.fixture
def service(tmp_path, migrated_database) -> Iterator[Service]:
    running = Service(tmp_path, migrated_database)
    yield running
    running.stop()
