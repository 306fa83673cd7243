"""The shared cache: one load per interval, single flight across threads, last good value kept,
and each process's memo of the interval's entries."""

from __future__ import annotations

import datetime as dt
import threading
import time

import pytest
from at_once import at_once
from clock import Clock
from flask import Flask
from flask_caching import Cache

from dashboard.cache import STALE_INTERVALS, SharedCache


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

    results = at_once([lambda: shared.fetch("slow", slow).value] * 8)
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
    assert good_at is not None
    assert good_at.tzinfo == dt.UTC
    assert first.error_since is not None
    assert first.error_since.tzinfo == dt.UTC
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


def test_a_warm_fetch_hands_out_the_entry_this_process_read_without_unpickling_it_again(
    clock: Clock,
) -> None:
    backend = Cache(Flask("test"), config={"CACHE_TYPE": "SimpleCache"})
    loader = SharedCache(backend, 10, clock)
    reader = SharedCache(backend, 10, clock)
    without_memo = SharedCache(backend, 10, clock, memo_entries=0)
    loaded = loader.fetch("snapshot", lambda: {"rows": [1, 2, 3]})
    # SimpleCache pickles what it stores, as FileSystemCache and Redis do: a read is a copy.
    first = reader.fetch("snapshot", lambda: {"rows": []})
    assert first.value == loaded.value
    assert first.value is not loaded.value
    assert reader.fetch("snapshot", lambda: {"rows": []}).value is first.value
    assert loader.fetch("snapshot", lambda: {"rows": []}).value is loaded.value
    assert reader.peek("snapshot") is first
    assert (
        without_memo.fetch("snapshot", dict).value is not without_memo.fetch("snapshot", dict).value
    )
    assert loader.loads["snapshot"] == 1
    assert reader.loads["snapshot"] == without_memo.loads["snapshot"] == 0


def test_the_memo_keeps_the_most_recently_used_entries_of_the_current_interval_only(
    clock: Clock,
) -> None:
    backend = Cache(Flask("test"), config={"CACHE_TYPE": "SimpleCache"})
    shared = SharedCache(backend, 10, clock, memo_entries=2)
    a = shared.fetch("a", lambda: ["a"])
    b = shared.fetch("b", lambda: ["b"])
    assert shared.fetch("a", lambda: ["not loaded"]) is a  # a is now the most recent
    c = shared.fetch("c", lambda: ["c"])
    assert shared.fetch("a", lambda: ["not loaded"]) is a
    assert shared.fetch("c", lambda: ["not loaded"]) is c
    again = shared.fetch("b", lambda: ["not loaded"])
    assert again.value == ["b"]
    assert again is not b  # forgotten beyond two entries, read from the backend again
    assert sum(shared.loads.values()) == 3

    clock.now += 10
    shared.fetch("d", lambda: ["d"])
    clock.now -= 10  # a request that began before the boundary
    late = shared.fetch("a", lambda: ["not loaded"])
    assert late.value == ["a"]
    assert late is not a  # the past interval's entries were dropped when this one began
    assert shared.fetch("a", lambda: ["not loaded"]) is not late  # and none are kept for it


@pytest.fixture
def revalidating(clock: Clock) -> SharedCache:
    return SharedCache(
        Cache(Flask("test"), config={"CACHE_TYPE": "SimpleCache"}),
        10,
        clock,
        revalidate_in_background=True,
    )


def test_a_new_interval_hands_out_the_last_entry_at_once_and_loads_in_the_background(
    revalidating: SharedCache, clock: Clock
) -> None:
    release = threading.Event()
    calls: list[float] = []

    def load() -> int:
        calls.append(clock.now)
        if len(calls) > 1:
            assert release.wait(10)
        return len(calls)

    assert revalidating.fetch("q", load).value == 1
    clock.now += 10
    started = time.monotonic()
    # Every screen of the new interval gets the last value while the one new load runs.
    answers = [revalidating.fetch("q", load).value for _ in range(20)]
    assert time.monotonic() - started < 1
    assert answers == [1] * 20
    release.set()
    assert revalidating.settle()
    assert revalidating.fetch("q", load).value == 2
    assert revalidating.loads["q"] == 2
    assert calls == [clock.now - 10, clock.now]  # one load in each interval


def test_a_background_load_that_fails_keeps_the_last_good_value_with_the_reason(
    revalidating: SharedCache, clock: Clock
) -> None:
    assert revalidating.fetch("q", lambda: "good").value == "good"
    clock.now += 10

    def broken() -> str:
        raise ConnectionError("database unreachable")

    assert revalidating.fetch("q", broken).error is None  # the last interval's entry, at once
    assert revalidating.settle()
    failed = revalidating.fetch("q", broken)
    assert failed.value == "good"
    assert failed.error is not None
    assert "database unreachable" in failed.error
    assert failed.error_since is not None


def test_an_entry_older_than_the_stale_bound_is_loaded_while_the_request_waits(
    revalidating: SharedCache, clock: Clock
) -> None:
    assert revalidating.fetch("q", lambda: "old").value == "old"
    clock.now += 10 * (STALE_INTERVALS + 1)
    assert revalidating.fetch("q", lambda: "new").value == "new"
    assert revalidating.loads["q"] == 2


def test_derived_values_are_never_handed_out_stale(revalidating: SharedCache, clock: Clock) -> None:
    assert revalidating.fetch("view:a", lambda: 1, keep_last_good=False).value == 1
    clock.now += 10
    assert revalidating.fetch("view:a", lambda: 2, keep_last_good=False).value == 2


def test_another_process_on_the_same_backend_serves_the_stored_entry_without_loading(
    clock: Clock,
) -> None:
    backend = Cache(Flask("test"), config={"CACHE_TYPE": "SimpleCache"})
    first = SharedCache(backend, 10, clock, revalidate_in_background=True)
    second = SharedCache(backend, 10, clock, revalidate_in_background=True)
    assert first.fetch("q", lambda: "first").value == "first"
    clock.now += 10
    # The second process never loaded "q": it finds the first's newest entry in the backend.
    release = threading.Event()

    def slow() -> str:
        assert release.wait(10)
        return "second"

    assert second.fetch("q", slow).value == "first"
    release.set()
    assert second.settle()
    assert second.fetch("q", slow).value == "second"
    assert first.fetch("q", lambda: "never").value == "second"
    assert first.loads["q"] == 1
    assert second.loads["q"] == 1


def test_a_key_fetched_every_few_minutes_loads_once_in_that_time_whatever_the_interval(
    revalidating: SharedCache, clock: Clock
) -> None:
    clock.now = 3_000_000.0  # a multiple of 300: the first load opens a 5-minute slot
    loads: list[float] = []

    def load() -> float:
        loads.append(clock.now)
        return clock.now

    for _ in range(30):  # every refresh interval of 5 minutes
        assert revalidating.fetch("exec:week", load, every_seconds=300).value == 3_000_000.0
        clock.now += 10
    assert loads == [3_000_000.0]
    assert revalidating.peek("exec:week", every_seconds=300) is not None
    # The next 5 minutes: the last figures at once, the new ones loaded behind them.
    assert revalidating.fetch("exec:week", load, every_seconds=300).value == 3_000_000.0
    assert revalidating.settle()
    assert revalidating.fetch("exec:week", load, every_seconds=300).value == 3_000_300.0
    assert revalidating.loads["exec:week"] == 2


class TimedBackend:
    """A backend that expires entries by the test's clock (Flask-Caching's reads the real one)."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.entries: dict[str, tuple[float, object]] = {}

    def get(self, key: str) -> object:
        until, value = self.entries.get(key, (0.0, None))
        return value if until == 0 or self.clock.now < until else None

    def set(self, key: str, value: object, timeout: int | None = None) -> None:
        self.entries[key] = (self.clock.now + timeout if timeout else 0.0, value)

    def delete(self, key: str) -> None:
        self.entries.pop(key, None)


def test_a_lasting_value_is_built_once_across_intervals_until_it_expires(clock: Clock) -> None:
    shared = SharedCache(TimedBackend(clock), 10, clock)
    builds: list[float] = []

    def build() -> str:
        builds.append(clock.now)
        return f"rendering {len(builds)}"

    assert shared.lasting("r", build, seconds=40).value == "rendering 1"
    # Three intervals later (a screen still handed the old snapshot): the same rendering.
    clock.now += 30
    assert shared.lasting("r", build, seconds=40).value == "rendering 1"
    assert len(builds) == 1
    # Past its time: built anew.
    clock.now += 20
    assert shared.lasting("r", build, seconds=40).value == "rendering 2"
    assert shared.loads["r"] == 2
