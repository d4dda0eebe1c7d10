"""The app served as `scripts/run` serves it: gunicorn (whitenoise for static files) in front,
the task worker (`manage.py worker`) behind, one SQLite file between them, on a free loopback
port. Real processes, so runs go through the worker queue exactly as in production.

Used by the serving tests, the browser tests and scripts/screenshots.py.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(url: str, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


class ServedApp:
    """A running web server and task worker; `url` is where the web server answers."""

    def __init__(self, directory: Path, env: dict[str, str]):
        self.directory = directory
        self.env = env
        self.url = ""
        self.log_path = directory / "serve.log"
        self._log = open(self.log_path, "ab")
        self.web: subprocess.Popen | None = None
        self.worker: subprocess.Popen | None = None

    def manage(self, *args: str, **env: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env={**self.env, **env},
            check=True,
            capture_output=True,
            text=True,
        )

    def prepare(self) -> None:
        """Migrate the database and collect the static files (side by side: both take seconds)."""
        steps = [
            subprocess.Popen(
                [sys.executable, "manage.py", command, "--noinput", "-v", "0"],
                cwd=ROOT,
                env=self.env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
            )
            for command in ("migrate", "collectstatic")
        ]
        for step in steps:
            output, _ = step.communicate(timeout=300)
            if step.returncode:
                raise RuntimeError(f"{step.args[2]} failed:\n{output.decode(errors='replace')}")

    def _spawn(self, argv: list[str]) -> subprocess.Popen:
        return subprocess.Popen(
            argv, cwd=ROOT, env=self.env, stdout=self._log, stderr=subprocess.STDOUT
        )

    def start_worker(self) -> None:
        assert self.worker is None, "the worker is already running"
        self.worker = self._spawn(
            [sys.executable, "manage.py", "worker", "--no-reload", "--interval", "0.2"]
        )

    def stop_worker(self) -> None:
        if self.worker is not None:
            self.worker.terminate()
            _wait_or_kill(self.worker)
            self.worker = None

    def start_web(self, workers: int = 2) -> None:
        port = free_port()
        self.web = self._spawn(
            [
                str(BIN / "gunicorn"),
                "t2site.wsgi",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                str(workers),
            ]
        )
        self.url = f"http://127.0.0.1:{port}"
        try:
            wait_for(self.url + "/openapi.json")
        except OSError as exc:
            raise RuntimeError(f"the web server did not answer:\n{self.log()[-3000:]}") from exc

    def stop(self) -> None:
        if self.web is not None:
            self.web.send_signal(signal.SIGINT)  # gunicorn's quick shutdown (TERM waits ~3 s)
        if self.worker is not None:
            self.worker.terminate()
        for process in (self.web, self.worker):
            if process is not None:
                _wait_or_kill(process)
        self.web = self.worker = None
        self._log.close()

    def log(self) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")


def _wait_or_kill(process: subprocess.Popen) -> None:
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


@contextmanager
def served_app(directory: Path, *, worker: bool = True, **settings: str) -> Iterator[ServedApp]:
    """Migrate a fresh SQLite file in `directory`, collect the static files, start the task
    worker (unless `worker=False`) and gunicorn; stop both on the way out.

    The caller's T2_* and DJANGO_* variables are dropped, so the defaults of a local install
    apply (runs go to the worker: T2_OPTIMIZE_INLINE off; no model files in an empty folder);
    `settings` adds environment variables on top.
    """
    directory.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("T2_", "DJANGO_"))}
    env.update(
        DATABASE_URL=f"sqlite:///{directory / 'db.sqlite3'}",
        T2_MODELS_DIR=str(directory / "models"),
        T2_STATIC_ROOT=str(directory / "static"),
        T2_OPTIMIZE_INLINE="0",
        # Every run through the worker, as when a model is installed: the live progress page.
        T2_ALGORITHM_IN_WEB="0",
        DEBUG="0",
    )
    env.update(settings)
    app = ServedApp(directory, env)
    try:
        app.prepare()
        if worker:
            app.start_worker()
        app.start_web()
        yield app
    finally:
        app.stop()
