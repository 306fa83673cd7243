"""The shared cache: one load per interval, single flight across threads, last good value kept."""

from __future__ import annotations

import threading
import time

import pytest
from clock import Clock
from flask import Flask
from flask_caching import Cache

from dashboard.cache import SharedCache


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def shared(clock: Clock) -> SharedCache:
    return SharedCache(Cache(Flask("test"), config={"CACHE_TYPE": "SimpleCache"}), 10, clock)


def test_many_screens_in_one_interval_cost_one_load(shared: SharedCache, clock: Clock) -> None:
    calls: list[float] = []
    for _ in range(50):
        fetched = shared.fetch("q", lambda: calls.append(clock.now) or len(calls))
    assert calls == [clock.now]
    assert fetched.value == 1
    assert fetched.error is None
    clock.now += 10
    assert shared.fetch("q", lambda: calls.append(clock.now) or len(calls)).value == 2
    assert shared.loads["q"] == 2


def test_concurrent_requests_wait_for_the_one_load(shared: SharedCache) -> None:
    started = threading.Event()
    loads = 0

    def slow() -> str:
        nonlocal loads
        loads += 1
        started.set()
        time.sleep(0.3)
        return "done"

    results: list[str | None] = []
    threads = [
        threading.Thread(target=lambda: results.append(shared.fetch("slow", slow).value))
        for _ in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert loads == 1
    assert results == ["done"] * 8


def test_failure_keeps_last_good_value_with_reason_and_since_then_recovers(
    shared: SharedCache, clock: Clock
) -> None:
    assert shared.fetch("q", lambda: 41).value == 41
    good_at = shared.fetch("q", lambda: 0).fetched_at

    def down() -> int:
        raise ConnectionError("connection refused\ndetails nobody needs")

    clock.now += 10
    first = shared.fetch("q", down)
    assert (first.value, first.fetched_at) == (41, good_at)
    assert first.error == "ConnectionError: connection refused"
    clock.now += 10
    second = shared.fetch("q", down)
    assert second.error_since == first.error_since  # stale since the first failure, not the latest
    clock.now += 10
    back = shared.fetch("q", lambda: 42)
    assert (back.value, back.error, back.error_since) == (42, None, None)


def test_failure_without_any_good_value_has_no_value(shared: SharedCache) -> None:
    def down() -> int:
        raise TimeoutError("timed out")

    fetched = shared.fetch("never", down)
    assert fetched.value is None
    assert fetched.fetched_at is None
    assert fetched.error == "TimeoutError: timed out"


def test_derived_values_keep_nothing_beyond_their_interval(
    shared: SharedCache, clock: Clock
) -> None:
    assert shared.fetch("view:1", lambda: "v", keep_last_good=False).value == "v"
    clock.now += 30

    def broken() -> str:
        raise ValueError("bad")

    fetched = shared.fetch("view:1", broken, keep_last_good=False)
    assert fetched.value is None
    assert fetched.error == "ValueError: bad"
