"""Turns at the CPU for searches in one web process: at most N at once, the earliest due
(arrival + stretch x budget) next, so small days overtake big ones without starving them."""

from __future__ import annotations

import threading
import time

import pytest

from routes.turns import Turns


class Clock:
    """A clock the test sets: arrival times decide the order, not the scheduler's luck."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def queue_up(turns: Turns, budget: float, order: list[str], name: str) -> threading.Thread:
    """Start a thread that waits for a turn, notes its name when it gets it, and waits until
    it is in the queue before returning."""

    def take() -> None:
        with turns.take(budget):
            order.append(name)

    before = turns.waiting
    thread = threading.Thread(target=take)
    thread.start()
    deadline = time.monotonic() + 5
    while turns.waiting == before:
        assert time.monotonic() < deadline, "the thread never queued"
        time.sleep(0.001)
    return thread


def test_a_small_day_that_arrives_later_goes_before_a_big_one_waiting():
    clock = Clock()
    turns = Turns(1, stretch=10, clock=clock)
    order: list[str] = []
    with turns.take(0.1):  # someone is searching
        big = queue_up(turns, 0.9, order, "big")  # due at 9.0
        clock.now = 1.0
        small = queue_up(turns, 0.02, order, "small")  # due at 1.2
    big.join(5)
    small.join(5)

    assert order == ["small", "big"]


def test_a_big_day_is_not_overtaken_by_small_ones_that_come_after_its_due_time():
    clock = Clock()
    turns = Turns(1, stretch=10, clock=clock)
    order: list[str] = []
    with turns.take(0.1):
        big = queue_up(turns, 0.3, order, "big")  # due at 3.0
        clock.now = 2.9
        early = queue_up(turns, 0.005, order, "small, due before")  # due at 2.95
        clock.now = 2.99
        late = queue_up(turns, 0.005, order, "small, due after")  # due at 3.04
    for thread in (big, early, late):
        thread.join(5)

    assert order == ["small, due before", "big", "small, due after"]


def test_equal_due_times_keep_their_arrival_order():
    clock = Clock()
    turns = Turns(1, clock=clock)
    order: list[str] = []
    with turns.take(0.1):
        threads = [queue_up(turns, 0.05, order, str(k)) for k in range(5)]
    for thread in threads:
        thread.join(5)

    assert order == ["0", "1", "2", "3", "4"]


def test_no_more_than_the_slots_run_at_once_and_all_get_their_turn():
    turns = Turns(2)
    running = 0
    most = 0
    lock = threading.Lock()

    def search() -> None:
        nonlocal running, most
        with turns.take(0.01):
            with lock:
                running += 1
                most = max(most, running)
            time.sleep(0.005)
            with lock:
                running -= 1

    threads = [threading.Thread(target=search) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)

    assert most == 2
    assert running == 0 and turns.waiting == 0


def test_a_turn_is_given_back_when_the_search_fails():
    turns = Turns(1)
    with pytest.raises(RuntimeError), turns.take(0.01):
        raise RuntimeError("a bug in the search")

    with turns.take(0.01) as waited:
        assert waited < 1.0


def test_it_needs_at_least_one_slot():
    with pytest.raises(ValueError, match="slots"):
        Turns(0)
