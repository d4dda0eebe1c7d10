"""Two `manage.py worker` processes take runs from one queue: each run is executed exactly once,
and when one worker is killed (SIGKILL, as the OOM killer does) no run is left behind."""

from __future__ import annotations

import os
import signal
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.factories import body
from tests.multiworker.conftest import wait_until

pytestmark = pytest.mark.processes

RUNS = 12
CHAIN = ["qwen", "tpro", "llama", "greedy"]


def _submit_all(service, count: int):
    pool = ThreadPoolExecutor(max_workers=count)
    return pool, [pool.submit(service.post, "/optimize", body(5 + i % 4)) for i in range(count)]


def _assert_ran_once(answer: dict) -> None:
    """One attempt per link of the chain: a run executed twice would list its links twice."""
    assert [a["model"] for a in answer["attempts"]] == CHAIN, answer["attempts"]
    assert answer["attempts"][0]["status"] == "error"  # the slow server's "no"
    assert answer["model_used"] == "greedy"


def _attempts_per_run(service) -> set[int]:
    counts = service.rows("SELECT run_id, COUNT(*) FROM llm_attempt GROUP BY run_id")
    return {count for _, count in counts}


def test_two_workers_share_one_queue_and_run_each_run_exactly_once(service, slow_model):
    workers = [service.worker(), service.worker()]
    service.web()

    pool, calls = _submit_all(service, RUNS)
    answers = [call.result(timeout=180) for call in calls]
    pool.shutdown()

    assert [status for status, _ in answers] == [200] * RUNS, [a for _, a in answers]
    for _, answer in answers:
        _assert_ran_once(service.get(f"/api/runs/{answer['id']}"))
    assert slow_model.asked == RUNS
    assert {run["status"] for run in service.all_runs()} == {"done"}
    took = dict(service.rows("SELECT worker, COUNT(*) FROM routes_routerun GROUP BY worker"))
    assert {name.rsplit(":", 1)[1] for name in took} == {str(w.pid) for w in workers}, took
    assert _attempts_per_run(service) == {len(CHAIN)}


def test_killing_one_worker_mid_way_loses_no_run(service, slow_model):
    doomed, survivor = service.worker(), service.worker()
    service.web()

    pool, calls = _submit_all(service, RUNS)
    # Both workers are busy once a few runs have reached the model.
    wait_until(lambda: slow_model.asked >= 3, 60, "runs reach the model")
    killed_at = time.monotonic()
    os.killpg(doomed.pid, signal.SIGKILL)
    doomed.wait(timeout=10)
    answers = [call.result(timeout=180) for call in calls]
    answered_in = time.monotonic() - killed_at
    pool.shutdown()

    lost = [(status, a) for status, a in answers if status != 200]
    # The run the killed worker held (at most one: a worker runs one at a time) is failed with
    # the reason, and its caller is told within seconds; every other run is done, once.
    assert len(lost) <= 1, lost
    for status, answer in lost:
        assert status == 500
        assert "the worker running it stopped (killed or crashed)" in answer["error"]
    for status, answer in answers:
        if status == 200:
            _assert_ran_once(service.get(f"/api/runs/{answer['id']}"))
    runs = service.all_runs()
    assert len(runs) == RUNS
    assert not [r for r in runs if r["status"] in {"queued", "running"}], runs
    assert sum(r["status"] == "done" for r in runs) == RUNS - len(lost)
    assert max(_attempts_per_run(service)) == len(CHAIN)  # none twice, the lost one's so far
    assert survivor.poll() is None
    # 12 runs of ~0.4 s on the survivor, plus the heartbeat's staleness limit (3 s).
    assert answered_in < 30, service.tail()
