"""Load on the production shape: gunicorn and the task worker as `scripts/run` starts them
(scripts/supervise.py), on loopback, with client threads for a bounded time.

    .venv/bin/python bench/load.py                 # 32 clients, 60 s per phase
    .venv/bin/python bench/load.py --quick         # 8 clients, 5 s per phase (CI smoke run)
    .venv/bin/python bench/load.py --workers 2     # a second task worker beside the supervised one
    .venv/bin/python bench/load.py --threads 4     # gunicorn threads per process (scripts/run: 32)
    .venv/bin/python bench/load.py --queue-algorithm  # algorithm-only runs through the worker too
    .venv/bin/python bench/load.py --only optimize-15  # one kind of request instead of the mix
    .venv/bin/python bench/load.py --solves-at-once 99  # no turns: the GIL shares the CPU
    .venv/bin/python bench/load.py --phases model --only optimize-15 --clients 4 --readers 8
                                                   # reads while the model is kept busy

Phase "algorithm": no model file is present, so every optimization is the algorithm's (the
chain's slots answer "not found" at once). Phase "model": the qwen slot runs the small real test
model (SmolLM2-135M, fetched by scripts/test) and answers in the chain.

Each client loops over a weighted mix: optimizations of 15 and 50 stops (routes.samples),
history and single-run reads (/api/runs, /api/runs/<id>) with an API token, and the pages
(/sets/, /runs/) with a logged-in session. Reported per kind: count, throughput, p50/p95/p99
latency and errors; per phase: model loads (Attempt rows with load_ms > 0, per slot) and the
peak and settled RSS of every process (psutil). "database is locked" is counted wherever it
shows: in an answer or in the service's log.

Before the clock starts, each reading kind is requested a few times on new connections (a
gunicorn process loads templates and catalogues on its first page: not the service in use);
then the clients start one after another over `--ramp` seconds (2 by default; `--ramp 0`
starts them all in one instant, a spike: its first second is another test).

A phase is bounded in time: clients start no request after its end, and no answer is waited
for longer than a grace period after it ("cut off"); runs still queued then are cancelled so
that the next phase starts with an idle worker.

Plain threads and http.client: no load-testing dependency.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from routes.samples import point_set_bodies  # noqa: E402

BIN = Path(sys.executable).parent
TEST_MODEL = "SmolLM2-135M-Instruct.Q4_1.gguf"

# kind -> weight in the mix
MIX = {
    "optimize-15": 3,
    "optimize-50": 1,
    "history": 3,
    "run": 3,
    "page-sets": 1,
    "page-runs": 1,
}
# --readers: clients that only read, beside the mix (reads while the others keep the CPU busy)
READS = {"history": 1, "run": 1}
JSON_TYPE = {"Content-Type": "application/json"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_model_path() -> Path:
    cache = Path(os.environ.get("T2_TEST_MODEL_DIR") or Path.home() / ".cache" / "t2routes")
    return cache / TEST_MODEL


def bodies() -> dict[str, bytes]:
    sets = point_set_bodies()
    fifty = {"locations": sets["mordovia-250"]["locations"][:50], "constraints": {}}
    return {
        "optimize-15": json.dumps(sets["moscow-15"]).encode(),
        "optimize-50": json.dumps(fifty).encode(),
    }


# --- The service --------------------------------------------------------------------------------

SETUP = """
import json
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model
from django.contrib.sessions.backends.db import SessionStore
from accounts.models import ApiToken
from routes.models import Location, LocationSet
from routes.samples import point_set_bodies

user = get_user_model().objects.create_user("loadtest", password="load-test-password-1")
_, secret = ApiToken.objects.issue(user, "load")
for key, body in point_set_bodies().items():
    if key == "mordovia-250":
        continue
    location_set = LocationSet.objects.create(owner=user, name=key)
    Location.objects.bulk_create(
        Location.from_request(row, location_set=location_set, position=i)
        for i, row in enumerate(body["locations"])
    )
session = SessionStore()
session[SESSION_KEY] = str(user.pk)
session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
session[HASH_SESSION_KEY] = user.get_session_auth_hash()
session.create()
print(json.dumps({"token": secret, "session": session.session_key}))
"""

COUNTS = """
import json
from django.db.models import Count
from llm.models import Attempt
from routes.models import RouteRun
loads = dict(Attempt.objects.filter(load_ms__gt=0).values_list("slot").annotate(n=Count("id")))
ok = dict(Attempt.objects.filter(status="ok").values_list("slot").annotate(n=Count("id")))
rows = Attempt.objects.exclude(slot="greedy").values_list("slot", "status").annotate(n=Count("id"))
outcomes = {f"{slot} {status}": n for slot, status, n in rows}
runs = dict(RouteRun.objects.values_list("status").annotate(n=Count("id")))
print(json.dumps({"loads": loads, "ok": ok, "outcomes": outcomes, "runs": runs}))
"""

CANCEL = """
import json, time
from routes.models import RouteRun
cancelled = [run.pk for run in RouteRun.objects.unfinished() if run.request_cancel()]
deadline = time.monotonic() + 120
while RouteRun.objects.unfinished().exists() and time.monotonic() < deadline:
    time.sleep(0.2)
print(json.dumps(len(cancelled)))
"""

POINT_QWEN = """
from llm.models import ModelSlot
ModelSlot.objects.filter(name="qwen").update(
    model_file=MODEL, n_ctx=2048, n_threads=2, n_gpu_layers=0, timeout=120, max_tokens=256
)
"""


class Service:
    """scripts/run's processes (supervisor, gunicorn, worker) on a database of its own."""

    def __init__(
        self,
        directory: Path,
        *,
        web_workers: int,
        threads: int,
        extra_workers: int,
        database: str,
        queue_algorithm: bool = False,
        solves_at_once: int = 1,
        model_nice: int = 10,
    ):
        self.dir = directory
        self.port = free_port()
        (directory / "models").mkdir()
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("T2_", "DJANGO_"))}
        self.env.update(
            DATABASE_URL=database or f"sqlite:///{directory / 'db.sqlite3'}",
            T2_MODELS_DIR=str(directory / "models"),
            T2_STATIC_ROOT=str(directory / "static"),
            DEBUG="0",
            LOG_LEVEL="WARNING",
            T2_ALGORITHM_IN_WEB="0" if queue_algorithm else "1",
            T2_SOLVES_AT_ONCE=str(solves_at_once),
            T2_MODEL_NICE=str(model_nice),
        )
        self.log_path = directory / "service.log"
        self.log = open(self.log_path, "ab")
        self.web_workers = web_workers
        self.threads = threads
        self.extra_workers = extra_workers
        self.processes: list[subprocess.Popen] = []

    def manage(self, *args: str, code: str | None = None) -> str:
        command = [sys.executable, "manage.py", *args]
        if code is not None:
            command = [sys.executable, "manage.py", "shell", "-v", "0", "-c", code]
        done = subprocess.run(
            command, cwd=ROOT, env=self.env, capture_output=True, text=True, check=False
        )
        if done.returncode:
            raise RuntimeError(f"{' '.join(command[:4])} failed:\n{done.stderr[-3000:]}")
        return done.stdout

    def shell_json(self, code: str):
        return json.loads(self.manage(code=code).strip().splitlines()[-1])

    def prepare(self) -> dict:
        self.manage("migrate", "--noinput", "-v", "0")
        self.manage("collectstatic", "--noinput", "-v", "0")
        return self.shell_json(SETUP)

    def start(self) -> None:
        worker = f"{sys.executable} manage.py worker --no-reload --interval 0.2"
        web = [str(BIN / "gunicorn"), "t2site.wsgi", "--bind", f"127.0.0.1:{self.port}"]
        web += ["--workers", str(self.web_workers), "--threads", str(self.threads)]
        web += ["--timeout", "900"]
        self._popen([sys.executable, "scripts/supervise.py", "--worker", worker, "--", *web])
        for _ in range(self.extra_workers):
            self._popen([sys.executable, "manage.py", "worker", "--no-reload", "--interval", "0.2"])
        deadline = time.monotonic() + 60
        while True:
            try:
                connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                connection.request("GET", "/openapi.json")
                if connection.getresponse().status == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"the service did not start:\n{self.tail()}")
            time.sleep(0.2)

    def _popen(self, command: list[str]) -> None:
        self.processes.append(
            subprocess.Popen(
                command,
                cwd=ROOT,
                env=self.env,
                stdout=self.log,
                stderr=subprocess.STDOUT,
                process_group=0,
            )
        )

    def all_processes(self) -> list[psutil.Process]:
        found = []
        for popen in self.processes:
            try:
                top = psutil.Process(popen.pid)
                found += [top, *top.children(recursive=True)]
            except psutil.NoSuchProcess:
                pass
        return found

    def tail(self, chars: int = 3000) -> str:
        self.log.flush()
        return self.log_path.read_text(errors="replace")[-chars:]

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        self.log.close()


def label(process: psutil.Process) -> str:
    try:
        command = " ".join(process.cmdline())
        parent = process.parent()
        parent_command = " ".join(parent.cmdline()) if parent else ""
    except psutil.Error:
        return f"pid {process.pid}"
    if "supervise.py" in command:
        return "supervisor"
    if "gunicorn" in command:
        master = "gunicorn" not in parent_command or "supervise.py" in parent_command
        return "gunicorn master" if master else "gunicorn worker"
    if "manage.py worker" in command:
        return "task worker"
    if "manage.py worker" in parent_command:
        return "model runner"
    return command[-30:] or f"pid {process.pid}"


class MemoryWatch(threading.Thread):
    """Samples the RSS of every process of the service twice a second."""

    def __init__(self, service: Service):
        super().__init__(daemon=True)
        self.service = service
        self.stop = threading.Event()
        self.samples: dict[int, list[tuple[float, int]]] = defaultdict(list)
        self.labels: dict[int, str] = {}

    def run(self) -> None:
        while not self.stop.wait(0.5):
            now = time.monotonic()
            for process in self.service.all_processes():
                try:
                    rss = process.memory_info().rss
                except psutil.Error:
                    continue
                self.samples[process.pid].append((now, rss))
                if process.pid not in self.labels:
                    self.labels[process.pid] = label(process)

    def report(self, since: float, warm: float) -> list[dict]:
        rows = []
        for pid, samples in sorted(self.samples.items()):
            phase = [rss for at, rss in samples if at >= since]
            settled = [rss for at, rss in samples if at >= since + warm]
            if not phase:
                continue
            rows.append(
                {
                    "pid": pid,
                    "process": self.labels.get(pid, "?"),
                    "peak_mb": round(max(phase) / 2**20),
                    "after_warmup_mb": round(settled[0] / 2**20) if settled else None,
                    "end_mb": round(phase[-1] / 2**20),
                }
            )
        return rows


# --- The clients --------------------------------------------------------------------------------


@dataclass
class Tally:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    # Requests still unanswered at the phase's hard stop (its end plus the grace period).
    cut_off: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    locked: int = 0
    run_ids: list[int] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


class Client(threading.Thread):
    """One caller: a keep-alive connection, requests back to back until the phase ends."""

    def __init__(
        self,
        port: int,
        auth: dict,
        tally: Tally,
        until: float,
        grace: float,
        seed: int,
        mix: dict[str, int] | None = None,
        start_at: float = 0.0,
    ):
        super().__init__(daemon=True)
        self.start_at = start_at  # time.monotonic() of its first request
        self.mix = MIX if mix is None else mix
        self.port = port
        self.tally = tally
        self.until = until
        self.hard_stop = until + grace
        self.random = random.Random(seed)
        self.bodies = bodies()
        self.token = {"Authorization": f"Bearer {auth['token']}"}
        self.cookie = {"Cookie": f"sessionid={auth['session']}"}
        self.connection: http.client.HTTPConnection | None = None

    def request(self, method: str, path: str, body: bytes | None, headers: dict):
        # No answer is waited for past the hard stop: the phase is bounded in time.
        timeout = max(0.5, self.hard_stop - time.monotonic())
        for attempt in (1, 2):  # gunicorn closes idle keep-alive connections: reconnect once
            if self.connection is None:
                self.connection = http.client.HTTPConnection("127.0.0.1", self.port)
            self.connection.timeout = timeout
            if self.connection.sock is not None:
                self.connection.sock.settimeout(timeout)
            try:
                self.connection.request(method, path, body, headers)
                response = self.connection.getresponse()
                return response.status, response.read()
            except TimeoutError:
                self.connection.close()
                self.connection = None
                raise
            except (http.client.HTTPException, ConnectionError):
                self.connection.close()
                self.connection = None
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def pick(self) -> tuple[str, tuple]:
        kind = self.random.choices(list(self.mix), list(self.mix.values()))[0]
        if kind == "run" and not self.tally.run_ids:
            kind = "history"
        return kind, self.request_of(kind)

    def request_of(self, kind: str) -> tuple:
        """Method, path, body and headers of a request of this kind."""
        if kind.startswith("optimize"):
            return ("POST", "/optimize", self.bodies[kind], {**self.token, **JSON_TYPE})
        if kind == "history":
            return ("GET", "/api/runs?page=1", None, self.token)
        if kind == "run":
            return ("GET", f"/api/runs/{self.random.choice(self.tally.run_ids)}", None, self.token)  # fmt: skip
        return ("GET", "/sets/" if kind == "page-sets" else "/runs/", None, self.cookie)

    def run(self) -> None:
        time.sleep(max(0.0, self.start_at - time.monotonic()))
        while time.monotonic() < self.until:
            kind, args = self.pick()
            started = time.perf_counter()
            try:
                status, raw = self.request(*args)
            except TimeoutError:
                with self.tally.lock:
                    self.tally.cut_off[kind] += 1
                continue
            except OSError as exc:
                status, raw = -1, repr(exc).encode()
            elapsed = time.perf_counter() - started
            with self.tally.lock:
                self.tally.latencies[kind].append(elapsed)
                if b"database is locked" in raw:
                    self.tally.locked += 1
                if status != 200:
                    self.tally.errors[kind].append(f"{status} {raw[:160]!r}")
                elif kind.startswith("optimize"):
                    self.tally.run_ids.append(json.loads(raw)["id"])


WARM_UP = 4  # requests of each reading kind before the clock starts, on new connections


def warm_up(client: Client) -> None:
    """Load what a web process loads on its first page or read (templates, translation
    catalogues, URL patterns) before the clients start: not counted, so that the phase
    measures a service in use rather than the first second of every gunicorn process.
    New connections, so that each gunicorn process likely gets some."""
    for kind in [k for k in {**MIX, **READS} if not k.startswith("optimize")]:
        if kind == "run" and not client.tally.run_ids:
            continue
        for _ in range(WARM_UP):
            client.connection = None
            client.request(*client.request_of(kind))


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]


def run_phase(
    name: str,
    service: Service,
    auth: dict,
    clients: int,
    seconds: float,
    watch: MemoryWatch,
    readers: int = 0,
    ramp: float = 0.0,
) -> dict:
    before = service.shell_json(COUNTS)
    service.log.flush()
    log_before = service.log_path.stat().st_size
    tally = Tally()
    grace = min(30.0, seconds)
    # One run before the clients start, so that "run" reads have something to fetch.
    first = Client(service.port, auth, tally, time.monotonic() + seconds, grace, seed=0)
    try:
        status, raw = first.request("POST", "/optimize", first.bodies["optimize-15"], {**first.token, **JSON_TYPE})  # fmt: skip
        if status == 200:
            tally.run_ids.append(json.loads(raw)["id"])
    except TimeoutError:
        tally.cut_off["optimize-15"] += 1
    warm_up(first)
    started = time.monotonic()
    until = started + seconds
    # Clients start one after another over the ramp's seconds, as callers do, not in one
    # instant (a spike of 32 requests in a millisecond is another test).
    step = ramp / max(1, clients + readers)
    threads = [
        Client(service.port, auth, tally, until, grace, seed=i, start_at=started + i * step)
        for i in range(clients)
    ]
    threads += [
        Client(
            service.port,
            auth,
            tally,
            until,
            grace,
            seed=clients + i,
            mix=READS,
            start_at=started + (clients + i) * step,
        )
        for i in range(readers)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.monotonic() - started
    cancelled = service.shell_json(CANCEL)
    after = service.shell_json(COUNTS)
    service.log.flush()
    with open(service.log_path, "rb") as fh:
        fh.seek(log_before)
        log_locked = fh.read().count(b"database is locked")
    kinds = {}
    for kind in {**MIX, **(READS if readers else {})}:
        values = tally.latencies.get(kind, [])
        if not values and not tally.cut_off.get(kind):
            continue
        kinds[kind] = {
            "count": len(values),
            "per_second": round(len(values) / seconds, 2),
            "p50_ms": round(percentile(values, 50) * 1000) if values else None,
            "p95_ms": round(percentile(values, 95) * 1000) if values else None,
            "p99_ms": round(percentile(values, 99) * 1000) if values else None,
            "errors": len(tally.errors.get(kind, [])),
            "cut_off": tally.cut_off.get(kind, 0),
            "first_error": (tally.errors.get(kind) or [None])[0],
        }

    def difference(key: str) -> dict:
        return {
            slot: count - before[key].get(slot, 0)
            for slot, count in after[key].items()
            if count - before[key].get(slot, 0)
        }

    return {
        "phase": name,
        "clients": clients,
        "readers": readers,
        "ramp_seconds": ramp,
        "seconds": seconds,
        "wall_seconds": round(wall, 1),
        "requests_per_second": round(sum(len(v) for v in tally.latencies.values()) / seconds, 1),
        "kinds": kinds,
        "model_loads": difference("loads"),
        "answers_by_slot": difference("ok"),
        "model_attempts": difference("outcomes"),
        "runs_by_status": after["runs"],
        "cancelled_at_end": cancelled,
        "database_locked": {"in_answers": tally.locked, "in_log": log_locked},
        "memory": watch.report(started, warm=min(10.0, seconds / 3)),
        "load_average": round(os.getloadavg()[0], 1),
    }


def print_phase(result: dict) -> None:
    print(
        f"\n== {result['phase']}: {result['clients']} clients"
        + (f" + {result['readers']} readers" if result.get("readers") else "")
        + f", {result['seconds']} s (started over {result['ramp_seconds']:g} s) "
        f"(+{result['wall_seconds'] - result['seconds']:.0f} s for answers in flight), "
        f"{result['requests_per_second']} requests/s, load average {result['load_average']}"
    )
    print(
        f"{'kind':<13}{'count':>7}{'per s':>8}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}"
        f"{'errors':>8}{'cut off':>9}"
    )
    for kind, row in result["kinds"].items():
        print(
            f"{kind:<13}{row['count']:>7}{row['per_second']:>8}{row['p50_ms'] or '-':>9}"
            f"{row['p95_ms'] or '-':>9}{row['p99_ms'] or '-':>9}{row['errors']:>8}"
            f"{row['cut_off']:>9}"
        )
        if row["first_error"]:
            print(f"    first error: {row['first_error']}")
    print(f"model loads (attempts with load_ms > 0): {result['model_loads'] or 'none'}")
    print(
        f"answers by slot: {result['answers_by_slot']}; runs so far: {result['runs_by_status']} "
        f"(unfinished at the end, cancelled: {result['cancelled_at_end']})"
    )
    print(f"model attempts by outcome: {result['model_attempts'] or 'none'}")
    print(f"'database is locked': {result['database_locked']}")
    print("memory (RSS MB): process, peak, after warm-up, end")
    for row in result["memory"]:
        settled = row["after_warmup_mb"] if row["after_warmup_mb"] is not None else "-"
        print(
            f"    {row['process']:<16} pid {row['pid']:<8} {row['peak_mb']:>5} {settled:>5} "
            f"{row['end_mb']:>5}"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=60, help="per phase")
    parser.add_argument("--quick", action="store_true", help="8 clients, 5 s per phase")
    parser.add_argument("--phases", default="algorithm,model", help="algorithm,model")
    parser.add_argument("--web-workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--threads", type=int, default=32, help="threads per gunicorn worker")
    parser.add_argument("--workers", type=int, default=1, help="task worker processes")
    parser.add_argument("--database-url", default="", help="default: a new SQLite file")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument(
        "--queue-algorithm",
        action="store_true",
        help="algorithm-only runs through the worker's queue too (T2_ALGORITHM_IN_WEB=0), as "
        "before they were planned in the web process",
    )
    parser.add_argument(
        "--solves-at-once",
        type=int,
        default=1,
        help="algorithm-only runs planned at once in one web process (T2_SOLVES_AT_ONCE); "
        "a large number lets the GIL share the CPU among all of them, as before",
    )
    parser.add_argument(
        "--readers",
        type=int,
        default=0,
        help="clients that only read (history, one run) beside the --clients mix",
    )
    parser.add_argument(
        "--model-nice",
        type=int,
        default=10,
        help="the model process's CPU priority below the web server's (T2_MODEL_NICE)",
    )
    parser.add_argument(
        "--ramp",
        type=float,
        default=2.0,
        help="seconds over which the clients start, one after another (0: all at once)",
    )
    parser.add_argument(
        "--only",
        default="",
        help=f"comma-separated kinds to send (default: the whole mix: {', '.join(MIX)})",
    )
    args = parser.parse_args(argv)
    if args.only:
        wanted = {kind.strip() for kind in args.only.split(",") if kind.strip()}
        if unknown := wanted - set(MIX):
            parser.error(f"unknown kinds: {', '.join(sorted(unknown))}")
        for kind in list(MIX):
            if kind not in wanted:
                del MIX[kind]
    if args.quick:
        args.clients, args.seconds = 8, 5
    phases = [p.strip() for p in args.phases.split(",") if p.strip()]
    if "model" in phases and not test_model_path().exists():
        print(
            f"load: {test_model_path()} is missing (scripts/fetch_test_model.py); "
            "skipping the model phase",
            file=sys.stderr,
        )
        phases.remove("model")

    directory = Path(tempfile.mkdtemp(prefix="t2-load-"))
    service = Service(
        directory,
        web_workers=args.web_workers,
        threads=args.threads,
        extra_workers=args.workers - 1,
        database=args.database_url,
        queue_algorithm=args.queue_algorithm,
        solves_at_once=args.solves_at_once,
        model_nice=args.model_nice,
    )
    results = []
    try:
        auth = service.prepare()
        service.start()
        watch = MemoryWatch(service)
        watch.start()
        print(
            f"load: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} before; "
            f"gunicorn {args.web_workers} x {args.threads} threads, {args.workers} task worker(s), "
            f"{service.env['DATABASE_URL'].split(':')[0]}, algorithm-only runs "
            + (
                "queued for the worker"
                if args.queue_algorithm
                else f"planned in the web process, {args.solves_at_once} at once"
            )
            + f"; model process nice {args.model_nice}"
        )
        for phase in phases:
            if phase == "model":
                service.manage(code=POINT_QWEN.replace("MODEL", repr(str(test_model_path()))))
            result = run_phase(
                phase,
                service,
                auth,
                args.clients,
                args.seconds,
                watch,
                readers=args.readers,
                ramp=args.ramp,
            )
            print_phase(result)
            results.append(result)
        watch.stop.set()
    finally:
        service.stop()
        shutil.rmtree(directory, ignore_errors=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
