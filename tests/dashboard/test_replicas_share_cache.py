"""Replicas share one cache: two gunicorn instances (two workers each, the image's configuration
module) and several screens cost one query per source query per refresh interval with Redis;
without it the workers of one instance still share one (the master's cache directory), so each
instance costs one query per source query per interval. Counted through each instance's own
/metrics.

A screen here is what a browser sends on each refresh tick: the SRE page's refresh callback and
the status strip's, as plain HTTP POSTs built from the app's /_dash-dependencies, each with the
screen's cookie, each on a new connection (so gunicorn hands them to either worker).

Intervals: each instance buckets wall-clock time by the refresh interval; a request that spans
a boundary may load in either bucket. So with one load per slot the count of a query lies
between the intervals in which some request started and ended, and all intervals touched.
"""

from __future__ import annotations

import functools
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from at_once import at_once
from dash_requests import UPDATE_PATH, callback_request
from local_service import free_port
from prometheus_client.parser import text_string_to_metric_families
from redis_server import RedisServer
from small_inventory import build_small_inventory

REFRESH_SECONDS = 2
SCREENS = 6
RUN_SECONDS = 5.0
START_TIMEOUT_SECONDS = 60.0
REPO_ROOT = Path(__file__).resolve().parents[2]
# What each of a screen's refresh callbacks asks of the demo configuration's sources.
QUERIES_BY_CALLBACK = {
    "sre-figure.figure": {
        ("inventory database", "order_lines_per_minute"),
        ("demo cluster", "service_traffic"),
        ("demo cluster", "pod_usage"),
        ("demo cluster", "hpa_replicas"),
        ("demo cluster", "events"),
    },
    "source-status.children": {
        ("inventory database", "check_health"),
        ("demo cluster", "check_health"),
    },
}
CALLBACK_OF_QUERY = {
    query: callback for callback, queries in QUERIES_BY_CALLBACK.items() for query in queries
}


@dataclass
class Instance:
    base: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def log_tail(self) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-30:])


@dataclass
class Traffic:
    """Each request's (instance, callback, start, end), wall-clock times, and any failures."""

    requests: list[tuple[int, str, float, float]] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    guard: threading.Lock = field(default_factory=threading.Lock)

    def touched(self, callback: str, instance: int | None = None) -> set[int]:
        """Intervals in which a request of ``callback`` (to ``instance``, or to any) was running."""
        return {
            bucket
            for _, _, start, end in self._of(callback, instance)
            for bucket in range(int(start // REFRESH_SECONDS), int(end // REFRESH_SECONDS) + 1)
        }

    def certain(self, callback: str, instance: int | None = None) -> set[int]:
        """Intervals in which a request of ``callback`` (to ``instance``, or to any) started and
        ended: each of its fetches fell in that interval."""
        return {
            int(start // REFRESH_SECONDS)
            for _, _, start, end in self._of(callback, instance)
            if int(start // REFRESH_SECONDS) == int(end // REFRESH_SECONDS)
        }

    def _of(self, callback: str, instance: int | None) -> list[tuple[int, str, float, float]]:
        return [
            request
            for request in self.requests
            if request[1] == callback and instance in (None, request[0])
        ]


def _get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - 127.0.0.1
        body: bytes = response.read()
        return body


def _post(url: str, body: dict[str, Any], screen: str) -> dict[str, Any]:
    request = urllib.request.Request(  # noqa: S310 - 127.0.0.1
        url,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "Cookie": f"invdash_screen={screen}"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
        answer: dict[str, Any] = json.loads(response.read())
        return answer


def start_instances(
    count: int, env: dict[str, str], tmp_path: Path, flags: tuple[str, ...] = ()
) -> list[Instance]:
    """``count`` gunicorn instances as the image runs them (``flags`` added to its command),
    each with its own metrics directory; returned once every one answers /healthz and both its
    workers have started."""
    instances = []
    for index in range(count):
        metrics_dir = tmp_path / f"metrics-{index}"
        metrics_dir.mkdir()
        port = free_port()
        log_path = tmp_path / f"gunicorn-{index}.log"
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                [
                    sys.executable, "-m", "gunicorn",
                    "--config", "python:dashboard.gunicorn_conf",
                    *flags,
                    "dashboard.wsgi:server",
                ],
                env={
                    **os.environ,
                    **env,
                    "INVDASH_HOST": "127.0.0.1",
                    "INVDASH_PORT": str(port),
                    "INVDASH_WORKERS": "2",
                    "INVDASH_THREADS": "4",
                    "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
                },
                cwd=REPO_ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
            )  # fmt: skip
        instances.append(Instance(f"http://127.0.0.1:{port}", process, log_path))
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    for index, instance in enumerate(instances):
        # Each worker's live gauge file appears when it imports dashboard.metrics.
        while len(list((tmp_path / f"metrics-{index}").glob("gauge_livemax_*.db"))) < 2 or not (
            _answers(f"{instance.base}/healthz")
        ):
            assert instance.process.poll() is None, instance.log_tail()
            assert time.monotonic() < deadline, f"gunicorn did not start:\n{instance.log_tail()}"
            time.sleep(0.1)
    return instances


def _answers(url: str) -> bool:
    try:
        return _get(url) == b"OK"
    except OSError:
        return False


def stop_instances(instances: list[Instance]) -> None:
    for instance in instances:
        # gunicorn's quick shutdown: nothing is in flight, and a graceful one costs seconds.
        instance.process.send_signal(signal.SIGINT)
    for instance in instances:
        instance.process.wait(timeout=30)


def run_screens(instances: list[Instance], seconds: float, screens: int = SCREENS) -> Traffic:
    """``screens`` screens, spread over the instances, refreshing as fast as they are answered."""
    dependencies = json.loads(_get(f"{instances[0].base}/_dash-dependencies"))
    values = {"tick.data": 1, "url.search": ""}
    bodies = {
        callback: callback_request(dependencies, callback, values)
        for callback in QUERIES_BY_CALLBACK
    }
    traffic = Traffic()
    deadline = time.time() + seconds

    def screen(number: int) -> None:
        index = number % len(instances)
        url = f"{instances[index].base}{UPDATE_PATH}"
        while time.time() < deadline:
            for callback, body in bodies.items():
                started = time.time()
                try:
                    _post(url, body, f"screen-{number:04d}")
                except OSError as error:
                    with traffic.guard:
                        traffic.failures.append(f"screen {number}: {error}")
                    return
                with traffic.guard:
                    traffic.requests.append((index, callback, started, time.time()))

    at_once([functools.partial(screen, n) for n in range(screens)])
    return traffic


def source_queries(instances: list[Instance]) -> Counter[tuple[str, str]]:
    """invdash_source_queries_total summed over the instances, by (source, query)."""
    total: Counter[tuple[str, str]] = Counter()
    for instance in instances:
        text = _get(f"{instance.base}/metrics").decode()
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                if sample.name == "invdash_source_queries_total":
                    total[(sample.labels["source"], sample.labels["query"])] += int(sample.value)
    return total


@pytest.fixture(scope="module")
def demo_database(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('replicas')}/inventory.sqlite3"
    build_small_inventory(sa.create_engine(url))
    return url


def demo_settings(database_url: str) -> dict[str, str]:
    return {
        "INVDASH_DATABASE_URL": database_url,
        "INVDASH_TELEMETRY": "demo",
        "INVDASH_REFRESH_SECONDS": str(REFRESH_SECONDS),
    }


@pytest.fixture(scope="module")
def redis_and_instances(
    demo_database: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[RedisServer, list[Instance]]]:
    with RedisServer() as redis_server:
        env = {**demo_settings(demo_database), "INVDASH_CACHE_URL": redis_server.url}
        instances = start_instances(2, env, tmp_path_factory.mktemp("with-redis"))
        try:
            yield redis_server, instances
        finally:
            stop_instances(instances)


def test_two_instances_with_redis_make_one_query_per_source_query_per_interval(
    redis_and_instances: tuple[RedisServer, list[Instance]],
) -> None:
    _, instances = redis_and_instances
    traffic = run_screens(instances, RUN_SECONDS)
    totals = source_queries(instances)

    assert traffic.failures == []
    assert set(totals) == set(CALLBACK_OF_QUERY)
    print(f"\nwith Redis: {len(traffic.requests)} requests; (query, intervals, queries):")
    for query, total in sorted(totals.items()):
        callback = CALLBACK_OF_QUERY[query]
        certain, touched = traffic.certain(callback), traffic.touched(callback)
        print(f"  {query}: {len(certain)}..{len(touched)} intervals, {total} queries")
        assert len(certain) <= total <= len(touched), query


def test_with_redis_down_readyz_and_the_status_strip_say_so_and_pages_still_work(
    redis_and_instances: tuple[RedisServer, list[Instance]],
) -> None:
    redis_server, instances = redis_and_instances
    redis_server.stop()
    for instance in instances:
        ready = json.loads(_get(f"{instance.base}/readyz"))
        shared = {s["name"]: s for s in ready["sources"]}["Shared cache"]
        assert shared["status"] == "error"
        assert shared["message"].startswith("fell back to per-process caches since ")

        dependencies = json.loads(_get(f"{instance.base}/_dash-dependencies"))
        values = {"tick.data": 2, "url.search": ""}
        url = f"{instance.base}{UPDATE_PATH}"
        strip = _post(url, callback_request(dependencies, "source-status", values), "s-1")
        badges = [b["props"]["children"] for b in strip["response"]["source-status"]["children"]]
        assert badges[-1].startswith("✕ Shared cache: fell back to per-process caches")
        page = _post(url, callback_request(dependencies, "sre-figure", values), "s-1")
        assert page["response"]["sre-figure"]["figure"]["data"]


# The worker's pid in each access log line: which worker answered which request.
PID_ACCESS_LOG = ("--access-logformat", 'pid=%(p)s "%(r)s" %(s)s')


def callback_workers(instance: Instance) -> set[str]:
    """The pids of the workers that answered callbacks, from the PID_ACCESS_LOG lines."""
    log = instance.log_path.read_text(errors="replace")
    return set(re.findall(rf'pid=<(\d+)> "POST {re.escape(UPDATE_PATH)} ', log))


def test_without_redis_the_workers_of_one_instance_make_one_query_per_source_query_per_interval(
    demo_database: str, tmp_path: Path
) -> None:
    (instance,) = start_instances(1, demo_settings(demo_database), tmp_path, PID_ACCESS_LOG)
    try:
        # A worker's first refresh takes seconds (imports, first figures): it would span every
        # interval of the run and leave the bound nothing to tell. Counted from the next interval.
        run_screens([instance], 1.0)
        time.sleep(REFRESH_SECONDS - time.time() % REFRESH_SECONDS)
        warm = source_queries([instance])
        traffic = run_screens([instance], RUN_SECONDS)
        totals = source_queries([instance]) - warm
    finally:
        stop_instances([instance])

    assert traffic.failures == []
    # Both workers answered screens, so sharing between them is what keeps the bound.
    assert len(callback_workers(instance)) == 2, instance.log_tail()
    assert set(totals) == set(CALLBACK_OF_QUERY)
    print(
        f"\none instance, no Redis: {len(traffic.requests)} requests; (query, intervals, queries):"
    )
    for query, total in sorted(totals.items()):
        callback = CALLBACK_OF_QUERY[query]
        certain, touched = traffic.certain(callback), traffic.touched(callback)
        print(f"  {query}: {len(certain)}..{len(touched)} intervals, {total} queries")
        assert len(certain) <= total <= len(touched), query


def test_without_redis_each_instance_queries_on_its_own(demo_database: str, tmp_path: Path) -> None:
    instances = start_instances(2, demo_settings(demo_database), tmp_path)
    try:
        traffic = run_screens(instances, RUN_SECONDS)
        totals = [source_queries([instance]) for instance in instances]
    finally:
        stop_instances(instances)

    assert traffic.failures == []
    print(
        f"\nwithout Redis: {len(traffic.requests)} requests; (query, instance, intervals, queries):"
    )
    for query, callback in sorted(CALLBACK_OF_QUERY.items()):
        for index, instance_totals in enumerate(totals):
            certain, touched = traffic.certain(callback, index), traffic.touched(callback, index)
            print(f"  {query} #{index}: {len(certain)}..{len(touched)} intervals, "
                  f"{instance_totals[query]} queries")  # fmt: skip
            # Each instance pays once per interval of its own, whatever the other one loaded.
            assert len(certain) <= instance_totals[query] <= len(touched), (query, index)
