"""The served app as `scripts/run` starts it: gunicorn + whitenoise in front, the task worker
behind, one SQLite file between them. Real processes on loopback."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.factories import seed_example

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for(url: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


@pytest.fixture
def served(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("T2_", "DJANGO_"))}
    env.update(
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        T2_MODELS_DIR=str(tmp_path / "models"),
        DEBUG="0",
        T2_RUN_WAIT_SECONDS="60",
    )
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
        cwd=ROOT,
        env=env,
        check=True,
    )
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v", "0"],
        cwd=ROOT,
        env={**env, "T2_STATIC_ROOT": str(tmp_path / "static")},
        check=True,
    )
    port = _free_port()
    log = open(tmp_path / "serve.log", "wb")
    worker = subprocess.Popen(
        [sys.executable, "manage.py", "worker", "--no-reload", "--interval", "0.2"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    web = subprocess.Popen(
        [str(BIN / "gunicorn"), "t2site.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", "2"],
        cwd=ROOT,
        env={**env, "T2_STATIC_ROOT": str(tmp_path / "static")},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_for(url + "/openapi.json")
        yield url
    finally:
        for process in (web, worker):
            process.terminate()
        for process in (web, worker):
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
        log.close()


def test_the_served_app_answers_through_the_worker_and_serves_its_static_files(served):
    request = urllib.request.Request(
        served + "/optimize",
        data=json.dumps(seed_example()).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        answer = json.load(response)
    with urllib.request.urlopen(served + "/static/js/swagger-init.js", timeout=10) as response:
        script = response.read()

    assert answer["model_used"] == "greedy"
    assert answer["status"] == "done"
    assert b"SwaggerUIBundle" in script
