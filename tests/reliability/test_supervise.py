"""scripts/supervise.py, which scripts/run starts: the worker is restarted when it dies, and
SIGTERM stops the whole service cleanly (requests and the run in hand finished, no orphans)."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time

import pytest

from tests.factories import seed_example
from tests.reliability.conftest import BIN, ROOT, free_port, process_group_is_empty, wait_until

pytestmark = pytest.mark.processes

SUPERVISE = str(ROOT / "scripts" / "supervise.py")
SLEEP = f"{sys.executable} -c 'import time; time.sleep(120)'"
WEB = [sys.executable, "-c", "import time; time.sleep(120)"]  # stands in for gunicorn


def started_pids(log_path, name: str) -> list[int]:
    return [int(pid) for pid in re.findall(rf"{name} started \(pid (\d+)\)", log_path.read_text())]


def supervise(tmp_path, *args: str, env: dict | None = None) -> tuple[subprocess.Popen, object]:
    log_path = tmp_path / "supervise.log"
    with open(log_path, "ab") as log:
        process = subprocess.Popen(
            [sys.executable, SUPERVISE, *args],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    return process, log_path


def test_it_restarts_a_killed_worker_and_says_so(tmp_path):
    supervisor, log = supervise(tmp_path, "--worker", SLEEP, "--", *WEB)
    try:
        [first] = wait_until(lambda: started_pids(log, "worker"), 10, "the worker starts")
        subprocess.run(["kill", "-KILL", str(first)], check=True)

        pids = wait_until(
            lambda: started_pids(log, "worker")[1:] and started_pids(log, "worker"),
            10,
            "the worker is started again",
        )
        assert "worker exited with status 137 (killed by SIGKILL); restarting in 1 s" in (
            log.read_text()
        )
        assert pids[1] != first
    finally:
        supervisor.send_signal(signal.SIGTERM)
        supervisor.wait(timeout=15)
    for pid in started_pids(log, "worker") + started_pids(log, "web server"):
        assert process_group_is_empty(pid)


def test_a_worker_that_keeps_dying_is_restarted_later_and_later(tmp_path):
    dies = f"{sys.executable} -c 'raise SystemExit(3)'"
    supervisor, log = supervise(tmp_path, "--worker", dies, "--", *WEB)
    try:
        wait_until(lambda: "restarting in 4 s" in log.read_text(), 15, "a third quick death")
    finally:
        supervisor.send_signal(signal.SIGTERM)
        supervisor.wait(timeout=15)
    delays = re.findall(r"worker exited with status 3; restarting in (\d+) s", log.read_text())
    assert delays[:3] == ["1", "2", "4"]


def test_sigterm_stops_the_service_after_the_request_in_flight_and_the_run_in_hand(
    service, slow_model
):
    # scripts/run's shape: the real worker and gunicorn under the supervisor.
    port = free_port()
    service.url = f"http://127.0.0.1:{port}"
    slow_model.answer_after = 2  # the run in hand takes 2 s more after the stop
    env = {**service.env, "QWEN_API_ENDPOINT": slow_model.url}
    worker = f"{sys.executable} manage.py worker --no-reload --interval 0.1"
    web = [str(BIN / "gunicorn"), "t2site.wsgi", "--bind", f"127.0.0.1:{port}"]
    web += ["--workers", "1", "--threads", "4", "--graceful-timeout", "30"]
    supervisor, log = supervise(service.dir, "--worker", worker, "--", *web, env=env)
    try:
        service.wait_for_web()
        call = service.optimize(seed_example())
        assert slow_model.asked.wait(60), log.read_text()

        stopped = time.monotonic()
        supervisor.send_signal(signal.SIGTERM)
        call.wait(30)
        status = supervisor.wait(timeout=40)
        took = time.monotonic() - stopped
    finally:
        if supervisor.poll() is None:
            supervisor.kill()

    # The request in flight got its route; the run in hand was finished, not dropped.
    assert call.status == 200, call.answer
    assert call.answer["status"] == "done" and call.answer["model_used"] == "greedy"
    assert [run["status"] for run in service.runs()] == ["done"]
    assert status == 0, log.read_text()
    assert took < 20
    for pid in started_pids(log, "worker") + started_pids(log, "web server"):
        assert process_group_is_empty(pid), log.read_text()  # gunicorn's own workers too
