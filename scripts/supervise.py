"""Run the web server and keep the task worker running: what `scripts/run` starts.

    python scripts/supervise.py [--worker "python manage.py worker ..."] -- gunicorn ...

- The worker is restarted whenever it exits ("worker exited with status N; restarting in 1 s"),
  after 1 s, doubling up to 30 s while it keeps dying within 10 s of starting.
- The web server (the command after `--`) is the service: when it exits, the worker is stopped
  and the supervisor exits with the web server's status.
- SIGTERM or Ctrl-C stops both with SIGTERM (gunicorn finishes the requests in flight, the
  worker the run in hand), waits up to --stop-seconds, then kills what is left. A second
  Ctrl-C passes it on (quick shutdown). The children live in their own process groups, so a
  terminal's Ctrl-C reaches them only through here, once; and they are told to stop (Linux
  PR_SET_PDEATHSIG) if the supervisor itself is killed, so nothing is left behind.

Plain Python, no Django: it only starts processes.
"""

from __future__ import annotations

import argparse
import ctypes
import logging
import shlex
import signal
import subprocess
import sys
import time

logger = logging.getLogger("supervise")

FIRST_DELAY = 1.0
MAX_DELAY = 30.0
QUICK_DEATH = 10.0  # a worker that dies sooner than this after starting is "dying in a loop"


def _die_with_parent() -> None:
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass  # not Linux: a killed supervisor leaves its children running


def describe(status: int) -> str:
    if status < 0:
        return f"{128 - status} (killed by {signal.Signals(-status).name})"
    return str(status)


class Child:
    def __init__(self, name: str, command: list[str]):
        self.name = name
        self.command = command
        self.process: subprocess.Popen | None = None
        self.started = 0.0

    def start(self) -> None:
        self.process = subprocess.Popen(self.command, process_group=0, preexec_fn=_die_with_parent)
        self.started = time.monotonic()
        logger.info("%s started (pid %s)", self.name, self.process.pid)

    def poll(self) -> int | None:
        return None if self.process is None else self.process.poll()

    def signal(self, signum: int) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signum)


class Supervisor:
    def __init__(self, web: Child, worker: Child | None, stop_seconds: float):
        self.web = web
        self.worker = worker
        self.stop_seconds = stop_seconds
        self.stopping = 0  # stop signals received
        self.quick_deaths = 0  # in a row
        self.restart_at: float | None = None

    def on_signal(self, signum, frame) -> None:
        self.stopping += 1
        if self.stopping == 1:
            logger.info("%s: stopping (up to %s s)", signal.Signals(signum).name, self.stop_seconds)
            self._children_signal(signal.SIGTERM)
        else:
            self._children_signal(signal.SIGINT)  # gunicorn: quick shutdown; worker: stop now

    def _children(self) -> list[Child]:
        return [child for child in (self.web, self.worker) if child is not None]

    def _children_signal(self, signum: int) -> None:
        for child in self._children():
            child.signal(signum)

    def run(self) -> int:
        signal.signal(signal.SIGTERM, self.on_signal)
        signal.signal(signal.SIGINT, self.on_signal)
        for child in self._children():
            child.start()
        while not self.stopping:
            status = self.web.poll()
            if status is not None:
                logger.info("web server exited with status %s; stopping", describe(status))
                self.stopping = 1
                if self.worker:
                    self.worker.signal(signal.SIGTERM)
                break
            self._keep_worker()
            time.sleep(0.2)
        return self._wait_for_children()

    def _keep_worker(self) -> None:
        if self.worker is None:
            return
        if self.restart_at is not None:
            if time.monotonic() >= self.restart_at:
                self.restart_at = None
                self.worker.start()
            return
        status = self.worker.poll()
        if status is None:
            return
        lived = time.monotonic() - self.worker.started
        if lived >= QUICK_DEATH:
            self.quick_deaths = 0
        delay = min(FIRST_DELAY * 2**self.quick_deaths, MAX_DELAY)
        if lived < QUICK_DEATH:
            self.quick_deaths += 1
        logger.warning("worker exited with status %s; restarting in %g s", describe(status), delay)
        self.restart_at = time.monotonic() + delay

    def _wait_for_children(self) -> int:
        deadline = time.monotonic() + self.stop_seconds
        for child in self._children():
            if child.process is None:
                continue
            try:
                child.process.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                logger.warning("%s did not stop in time: killing it", child.name)
                child.process.kill()
                child.process.wait()
        status = self.web.poll() or 0
        logger.info("stopped")
        return status if status >= 0 else 128 - status


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(
        usage="supervise.py [--worker COMMAND] [--stop-seconds S] -- WEB SERVER COMMAND..."
    )
    parser.add_argument("--worker", help="the worker's command line, kept running")
    parser.add_argument("--stop-seconds", type=float, default=40.0)
    split = argv.index("--") if "--" in argv else len(argv)
    args = parser.parse_args(argv[:split])
    web = argv[split + 1 :]
    if not web:
        parser.error("give the web server's command after --")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s supervise: %(message)s")
    worker = Child("worker", shlex.split(args.worker)) if args.worker else None
    return Supervisor(Child("web server", web), worker, args.stop_seconds).run()


if __name__ == "__main__":
    sys.exit(main())
