"""Two real task workers and gunicorn on one database, with a model server that takes its time.

The database is the one the suite runs on: a fresh database on the same PostgreSQL server when
DATABASE_URL names one (the `.ci/run` second pass), else a fresh SQLite file. The test talks to
the service over HTTP only, so it reads the same whichever database is underneath.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import dj_database_url
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


def wait_until(check, seconds: float, what: str):
    deadline = time.monotonic() + seconds
    while not (value := check()):
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {seconds} s: {what}")
        time.sleep(0.05)
    return value


class SlowModel(ThreadingHTTPServer):
    """An OpenAI-style server that answers every chat with a 500 after `delay` seconds, so that
    each run spends that long in its first slot; `asked` counts the requests."""

    daemon_threads = True

    def __init__(self, delay: float):
        super().__init__(("127.0.0.1", 0), _SlowHandler)
        self.delay = delay
        self.asked = 0
        self.lock = threading.Lock()

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
        with self.server.lock:
            self.server.asked += 1
        time.sleep(self.server.delay)
        body = b'{"error": {"message": "the slow test model says no"}}'
        self.send_response(500)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def slow_model() -> Iterator[SlowModel]:
    server = SlowModel(delay=0.4)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def service_database(tmp_path) -> Iterator[str]:
    """A DATABASE_URL of a new, empty database on the suite's own kind of database."""
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        yield f"sqlite:///{tmp_path / 'db.sqlite3'}"
        return
    import psycopg

    config = dj_database_url.parse(url)
    name = f"t2_multiworker_{uuid.uuid4().hex[:8]}"
    admin = dict(
        host=config["HOST"] or None,
        port=config["PORT"] or None,
        user=config["USER"] or None,
        password=config["PASSWORD"] or None,
        dbname="postgres",
        autocommit=True,
    )
    with psycopg.connect(**admin) as db:
        db.execute(f'CREATE DATABASE "{name}"')
    try:
        yield url.rsplit("/", 1)[0] + "/" + name
    finally:
        with psycopg.connect(**admin) as db:
            db.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class Service:
    """gunicorn and task workers on loopback, each in its own process group."""

    def __init__(self, tmp_path: Path, database_url: str, model_url: str):
        (tmp_path / "models").mkdir()
        self.database_url = database_url
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("T2_", "DJANGO_"))}
        self.env.update(
            DATABASE_URL=database_url,
            T2_MODELS_DIR=str(tmp_path / "models"),
            T2_ALGORITHM_IN_WEB="0",  # every run through the queue, as with a model installed
            DEBUG="0",
            T2_WORKER_HEARTBEAT_SECONDS="0.5",
            T2_WORKER_STALE_SECONDS="3",
            T2_RUN_WAIT_SECONDS="120",
            # The qwen slot asks the slow server; tpro and llama have no files here.
            QWEN_API_ENDPOINT=model_url,
            QWEN_MODEL_ID="slow",
        )
        self.log_path = tmp_path / "service.log"
        self.log = open(self.log_path, "ab")
        self.processes: list[subprocess.Popen] = []
        self.url = ""
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
            cwd=ROOT,
            env=self.env,
            check=True,
        )

    def popen(self, command: list[str]) -> subprocess.Popen:
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=self.env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            process_group=0,
        )
        self.processes.append(process)
        return process

    def worker(self) -> subprocess.Popen:
        return self.popen(
            [sys.executable, "manage.py", "worker", "--no-reload", "--interval", "0.1"]
        )

    def web(self, threads: int = 16) -> None:
        port = free_port()
        self.popen(
            [str(BIN / "gunicorn"), "t2site.wsgi", "--bind", f"127.0.0.1:{port}"]
            + ["--workers", "1", "--threads", str(threads), "--timeout", "300"]
        )
        self.url = f"http://127.0.0.1:{port}"

        def answers() -> bool:
            try:
                urllib.request.urlopen(self.url + "/openapi.json", timeout=2)
                return True
            except OSError:
                return False

        wait_until(answers, 60, f"the web server answers\n{self.tail()}")

    def get(self, path: str) -> dict:
        with urllib.request.urlopen(self.url + path, timeout=30) as response:
            return json.load(response)

    def post(self, path: str, body: dict) -> tuple[int, dict]:
        request = urllib.request.Request(
            self.url + path, json.dumps(body).encode(), {"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=180) as response:
                return response.status, json.load(response)
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read() or b"{}")

    def all_runs(self) -> list[dict]:
        runs, page = [], 1
        while True:
            answer = self.get(f"/api/runs?page={page}")
            runs += answer["results"]
            if page >= answer["pages"]:
                return runs
            page += 1

    def rows(self, sql: str) -> list[tuple]:
        """Read the service's database directly (the test's own connection is elsewhere)."""
        if self.database_url.startswith("sqlite"):
            import sqlite3

            with sqlite3.connect(self.database_url.removeprefix("sqlite:///"), timeout=20) as db:
                return db.execute(sql).fetchall()
        import psycopg

        with psycopg.connect(self.database_url) as db:
            return db.execute(sql).fetchall()

    def tail(self, chars: int = 4000) -> str:
        self.log.flush()
        return self.log_path.read_text(errors="replace")[-chars:]

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
        self.log.close()


@pytest.fixture
def service(tmp_path, service_database, slow_model) -> Iterator[Service]:
    running = Service(tmp_path, service_database, slow_model.url)
    yield running
    running.stop()
