"""The host-local shared cache, with real processes: forked processes asking for one slot at once
run its loader once, a loader killed mid-load or stuck holds the others no longer than a bound,
entries and the last good value pass between processes, the sweep keeps the directory small,
and an app finds the cache through INVDASH_CACHE_DIR.

Each process builds its own HostSharedCache and SharedCache after the fork, as each gunicorn
worker does in create_app.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import time
from collections.abc import Callable
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Barrier
from pathlib import Path

import pytest
import sqlalchemy as sa
from clock import Clock
from small_inventory import build_small_inventory

from dashboard.app import create_app
from dashboard.cache import SharedCache
from dashboard.context import DashboardContext
from dashboard.host_cache import CACHE_DIR_ENV, SWEEP_STAMP, HostSharedCache
from dashboard.settings import load_settings

INTERVAL = 3600
# The fixed moment every process's SharedCache sees: all of them ask for the same slot.
NOW = 1_000_000.0
FORK = multiprocessing.get_context("fork")


def process_cache(directory: Path, wait_seconds: float = 30) -> SharedCache:
    store = HostSharedCache(directory, interval_seconds=INTERVAL, wait_seconds=wait_seconds)
    return SharedCache(store, INTERVAL, Clock(NOW), flight=store)


def record_load(log: Path, name: str) -> None:
    """One line per load, appended by whichever process loads (O_APPEND: lines never mix)."""
    descriptor = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    try:
        os.write(descriptor, f"{name} {os.getpid()}\n".encode())
    finally:
        os.close(descriptor)


def loads_in(log: Path) -> list[str]:
    return log.read_text().split("\n")[:-1] if log.exists() else []


def ask_at_once(directory: Path, log: Path, barrier: Barrier, answers: Queue[str | None]) -> None:
    cache = process_cache(directory)

    def slow() -> str:
        record_load(log, "orders")
        time.sleep(0.5)
        return "orders"

    barrier.wait()
    answers.put(cache.fetch("orders", slow).value)


def test_processes_asking_for_one_slot_at_once_run_its_loader_once(tmp_path: Path) -> None:
    log = tmp_path / "loads"
    barrier = FORK.Barrier(6)
    answers: Queue[str | None] = FORK.Queue()
    processes = [
        FORK.Process(target=ask_at_once, args=(tmp_path, log, barrier, answers)) for _ in range(6)
    ]
    for process in processes:
        process.start()
    values = [answers.get(timeout=30) for _ in processes]
    for process in processes:
        process.join(timeout=10)
        assert process.exitcode == 0

    assert values == ["orders"] * 6
    assert len(loads_in(log)) == 1


def load_forever(directory: Path, log: Path) -> None:
    cache = process_cache(directory)

    def hangs() -> str:
        record_load(log, "started")
        time.sleep(600)
        return "never"

    cache.fetch("pods", hangs)


def load_quickly(directory: Path, log: Path, answers: Queue[tuple[str | None, float]]) -> None:
    cache = process_cache(directory)

    def quick() -> str:
        record_load(log, "survivor")
        return "from a survivor"

    answers.put((cache.fetch("pods", quick).value, time.monotonic()))


def wait_for(condition: Callable[[], bool], seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_a_loader_killed_mid_load_hands_the_slot_to_one_waiter_at_once(tmp_path: Path) -> None:
    log = tmp_path / "loads"
    loader = FORK.Process(target=load_forever, args=(tmp_path, log))
    loader.start()
    wait_for(lambda: loads_in(log) != [])
    answers: Queue[tuple[str | None, float]] = FORK.Queue()
    waiters = [FORK.Process(target=load_quickly, args=(tmp_path, log, answers)) for _ in range(3)]
    for waiter in waiters:
        waiter.start()
    time.sleep(1.0)
    assert answers.empty()  # they wait for the loader, whose wait bound is 30 s

    assert loader.pid is not None
    os.kill(loader.pid, signal.SIGKILL)
    killed_at = time.monotonic()
    results = [answers.get(timeout=20) for _ in waiters]
    for process in (loader, *waiters):
        process.join(timeout=10)

    assert [value for value, _ in results] == ["from a survivor"] * 3
    # The kernel released the dead loader's lock: far sooner than the 30 s wait bound.
    assert max(answered for _, answered in results) - killed_at < 5
    assert [line.split()[0] for line in loads_in(log)] == ["started", "survivor"]


def test_a_stuck_loader_holds_the_others_no_longer_than_the_wait_bound(tmp_path: Path) -> None:
    log = tmp_path / "loads"
    loader = FORK.Process(target=load_forever, args=(tmp_path, log))
    loader.start()
    try:
        wait_for(lambda: loads_in(log) != [])
        cache = process_cache(tmp_path, wait_seconds=1.0)
        started = time.monotonic()
        value = cache.fetch("pods", lambda: "loaded here").value
        waited = time.monotonic() - started
    finally:
        loader.kill()
        loader.join(timeout=10)

    assert value == "loaded here"
    assert 1.0 <= waited < 4
    assert cache.loads["pods"] == 1


def test_a_failing_process_shows_the_last_good_value_another_process_loaded(
    tmp_path: Path,
) -> None:
    clock = Clock(NOW)
    first_store = HostSharedCache(tmp_path, interval_seconds=10, wait_seconds=5)
    second_store = HostSharedCache(tmp_path, interval_seconds=10, wait_seconds=5)
    first = SharedCache(first_store, 10, clock, flight=first_store)
    second = SharedCache(second_store, 10, clock, flight=second_store)
    assert first.fetch("snapshot", lambda: 41).value == 41
    assert second.fetch("snapshot", lambda: 0).value == 41
    assert second.loads["snapshot"] == 0

    def down() -> int:
        raise ConnectionError("connection refused")

    clock.now += 10
    stale = second.fetch("snapshot", down)
    assert (stale.value, stale.error) == (41, "ConnectionError: connection refused")
    assert first.fetch("snapshot", lambda: 0).error_since == stale.error_since
    assert first.peek("snapshot") == stale


def entry_files(directory: Path) -> list[str]:
    return sorted(path.name for path in (directory / "entries").iterdir())


def test_the_sweep_drops_expired_entries_stale_locks_and_half_written_files_only(
    tmp_path: Path,
) -> None:
    store = HostSharedCache(tmp_path, interval_seconds=10, wait_seconds=5)
    store.set("orders:100", "this interval's", timeout=20)
    store.set("orders:last-good", "kept until replaced", timeout=0)
    with store.turn("orders:100", lambda: None) as found:
        assert found is None
    (tmp_path / "entries" / "dead-writer.__wz_cache").write_bytes(b"half a pickle")
    (lock_file,) = (tmp_path / "locks").iterdir()

    store.sweep(time.time())
    assert len(entry_files(tmp_path)) == 3
    assert lock_file.exists()

    later = time.time() + store.stale_seconds + 1
    store.sweep(later)
    assert store.get("orders:100") is None
    assert store.get("orders:last-good") == "kept until replaced"
    assert len(entry_files(tmp_path)) == 1
    assert not lock_file.exists()


def test_the_sweep_keeps_the_newest_entries_within_the_caps(tmp_path: Path) -> None:
    store = HostSharedCache(
        tmp_path, interval_seconds=10, wait_seconds=5, max_entries=3, max_bytes=10_000
    )
    for number in range(5):
        store.set(f"view:{number}", number, timeout=0)
        time.sleep(0.01)  # distinct modification times
    store.sweep(time.time())
    assert [store.get(f"view:{number}") for number in range(5)] == [None, None, 2, 3, 4]

    store.set("big", "x" * 20_000, timeout=0)
    store.sweep(time.time())
    # Always the newest one, even alone over the byte cap.
    assert [store.get(key) for key in ("view:4", "big")] == [None, "x" * 20_000]


def test_a_host_sweeps_at_most_once_per_interval(tmp_path: Path) -> None:
    store = HostSharedCache(tmp_path, interval_seconds=10, wait_seconds=5)
    store.set("orders:100", "expired soon", timeout=1)
    time.sleep(1.1)
    store.sweep_if_due()  # makes the stamp: the first sweep waits an interval
    assert len(entry_files(tmp_path)) == 1
    an_interval_ago = time.time() - 10
    os.utime(tmp_path / SWEEP_STAMP, (an_interval_ago, an_interval_ago))
    store.sweep_if_due()
    assert entry_files(tmp_path) == []


def context_of(app: object) -> DashboardContext:
    context = app.server.config["INVDASH_CONTEXT"]
    assert isinstance(context, DashboardContext)
    return context


def test_apps_given_one_cache_directory_share_entries_and_apps_without_it_do_not(
    tmp_path: Path, sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    build_small_inventory(sa.create_engine(sqlite_url))
    settings = load_settings(database_url=sqlite_url, telemetry="off", refresh_seconds=3600)
    alone = [context_of(create_app(settings)).cache for _ in range(2)]
    monkeypatch.setenv(CACHE_DIR_ENV, str(tmp_path))
    workers = [context_of(create_app(settings)).cache for _ in range(2)]

    for caches in (alone, workers):
        for cache in caches:
            cache.fetch("orders", lambda: "orders")
    assert [cache.loads["orders"] for cache in alone] == [1, 1]
    assert [cache.loads["orders"] for cache in workers] == [1, 0]
