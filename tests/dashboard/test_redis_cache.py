"""The Redis-backed shared cache, against a real redis-server: processes share entries and the
last good value, one loads while the others wait, a lock left by a dead process expires, and a
Redis that stops is a logged, reported fallback to the process's own cache, not an error page.

Each "process" here is its own client and SharedCache, as each gunicorn worker has.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from at_once import at_once
from clock import Clock
from dash_requests import UPDATE_PATH, callback_request
from redis_server import RedisServer
from small_inventory import build_small_inventory

from dashboard.app import create_app
from dashboard.cache import SharedCache
from dashboard.redis_cache import RedisSharedCache, redis_client
from dashboard.settings import load_settings

INTERVAL = 10


@pytest.fixture(scope="module")
def redis_server() -> Iterator[RedisServer]:
    with RedisServer() as server:
        yield server


def process(
    url: str, prefix: str, clock: Clock | None = None, lock_seconds: float = 5
) -> tuple[SharedCache, RedisSharedCache]:
    """One process's view: its own client, the shared key prefix, its own clock."""
    clock = clock or Clock()
    store = RedisSharedCache(
        redis_client(url), url, prefix, lock_seconds, retry_seconds=INTERVAL, clock=clock
    )
    return SharedCache(store, INTERVAL, clock, flight=store), store


@pytest.fixture
def prefix() -> str:
    return f"invdash-test:{uuid.uuid4().hex[:8]}:"


def test_processes_sharing_redis_run_a_query_once_while_the_others_wait(
    redis_server: RedisServer, prefix: str
) -> None:
    caches = [process(redis_server.url, prefix)[0] for _ in range(3)]
    loads = 0
    guard = threading.Lock()

    def slow() -> str:
        nonlocal loads
        with guard:
            loads += 1
        time.sleep(0.3)
        return "orders"

    results = at_once(
        [
            lambda c=cache: c.fetch("orders:60", slow).value
            for cache in itertools.islice(itertools.cycle(caches), 12)
        ]
    )
    assert loads == 1
    assert results == ["orders"] * 12
    assert sum(cache.loads["orders:60"] for cache in caches) == 1


def test_a_failing_process_shows_the_last_good_value_another_process_loaded(
    redis_server: RedisServer, prefix: str
) -> None:
    clock = Clock()
    first, _ = process(redis_server.url, prefix, clock)
    second, _ = process(redis_server.url, prefix, clock)
    assert first.fetch("snapshot", lambda: 41).value == 41

    def down() -> int:
        raise ConnectionError("connection refused")

    clock.now += INTERVAL
    stale = second.fetch("snapshot", down)
    assert (stale.value, stale.error) == (41, "ConnectionError: connection refused")
    assert first.fetch("snapshot", lambda: 0).error_since == stale.error_since


def test_a_lock_left_by_a_dead_process_expires_and_a_waiter_loads(
    redis_server: RedisServer, prefix: str
) -> None:
    clock = Clock()
    cache, store = process(redis_server.url, prefix, clock, lock_seconds=0.5)
    slot = f"pods:{int(clock.now // INTERVAL)}"
    # A process took the slot's lock and died before storing anything.
    assert store.client.lock(f"{prefix}flight:{slot}", timeout=0.5).acquire(blocking=False)
    started = time.monotonic()
    assert cache.fetch("pods", lambda: "pods").value == "pods"
    assert 0.3 < time.monotonic() - started < 3


def test_redis_stopping_falls_back_to_the_process_cache_logs_once_and_recovers(
    prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    clock = Clock()
    with RedisServer() as server:
        cache, store = process(server.url, prefix, clock)
        assert cache.fetch("orders", lambda: "from redis").value == "from redis"
        assert store.health().ok

        server.stop()
        with caplog.at_level(logging.WARNING, logger="invdash"):
            clock.now += INTERVAL
            values = [cache.fetch("orders", lambda: "local").value for _ in range(5)]
            health = store.health()
        assert values == ["local"] * 5
        assert cache.loads["orders"] == 2  # single flight within the process still holds
        assert health.status == "error"
        assert health.message.startswith("fell back to per-process caches since ")
        assert "ConnectionError" in health.message
        assert [r.getMessage() for r in caplog.records if "unreachable" in r.getMessage()] == [
            f"shared cache: Redis at redis://127.0.0.1:{server.port}/0 unreachable "
            f"({health.details['reason']}); this process uses its own cache and retries every 10 s"
        ]

        assert server.start()
        assert not store.health().ok  # not retried before the retry period
        clock.now += INTERVAL
        assert store.health().ok
        clock.now += INTERVAL
        assert cache.fetch("orders", lambda: "shared again").value == "shared again"
        other, _ = process(server.url, prefix, clock)
        assert other.fetch("orders", lambda: "not loaded twice").value == "shared again"


def test_readyz_and_the_status_strip_say_the_shared_cache_fell_back_and_pages_still_work(
    sqlite_url: str,
) -> None:
    build_small_inventory(sa.create_engine(sqlite_url))
    with RedisServer() as server:
        settings = load_settings(
            database_url=sqlite_url, telemetry="demo", refresh_seconds=60, cache_url=server.url
        )
        client = create_app(settings).server.test_client()
        shared = client.get("/readyz").get_json()["sources"][-1]
        assert (shared["name"], shared["status"]) == ("Shared cache", "ok")
        assert shared["message"] == f"Redis at {server.url}, shared by every replica"
        server.stop()

        response = client.get("/readyz")
        assert response.status_code == 200
        sources = {s["name"]: s for s in response.get_json()["sources"]}
        assert sources["inventory database"]["status"] == "ok"
        assert sources["Shared cache"]["status"] == "error"
        assert sources["Shared cache"]["message"].startswith("fell back to per-process caches")

        dependencies = client.get("/_dash-dependencies").get_json()
        strip = client.post(
            UPDATE_PATH,
            json=callback_request(dependencies, "source-status.children", {"tick.data": 1}),
        )
        badges = strip.get_json()["response"]["source-status"]["children"]
        assert [b["props"]["children"] for b in badges][-1].startswith(
            "✕ Shared cache: fell back to per-process caches since "
        )
        sre = client.post(
            UPDATE_PATH,
            json=callback_request(dependencies, "sre-figure.figure", {"tick.data": 1}),
        )
        assert sre.status_code == 200
        assert sre.get_json()["response"]["sre-figure"]["figure"]["data"]


def test_every_page_refreshes_through_redis_and_a_second_replica_loads_nothing(
    redis_server: RedisServer, sqlite_url: str
) -> None:
    """Every value a page caches goes through pickle into Redis; a replica with the same
    settings then finds all of them (a value that cannot be pickled fails here, not in a pod)."""
    build_small_inventory(sa.create_engine(sqlite_url))
    settings = load_settings(
        database_url=sqlite_url, telemetry="demo", refresh_seconds=3600, cache_url=redis_server.url
    )
    replicas = [create_app(settings) for _ in range(2)]
    for app in replicas:
        client = app.server.test_client()
        dependencies = client.get("/_dash-dependencies").get_json()
        refreshing = [
            d["output"]
            for d in dependencies
            if {"id": "tick", "property": "data"} in d["inputs"] and not d["clientside_function"]
        ]
        assert len(refreshing) >= 5
        for output in refreshing:
            body = callback_request(dependencies, output, {"tick.data": 1, "url.search": ""})
            assert client.post(UPDATE_PATH, json=body).status_code == 200, output
    first, second = (app.server.config["INVDASH_CONTEXT"].cache for app in replicas)
    assert sum(first.loads.values()) > 0
    assert dict(second.loads) == {}
