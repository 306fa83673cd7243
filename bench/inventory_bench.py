"""Benchmark: one snapshot of the inventory queries, a screen refresh served from cache, the page
view rendered from a snapshot, and the demo's orders carried on (an hour's catch-up, then one
minute's round). Part of ``make bench`` (bench/run.py), which runs it on its seeded databases.

On its own:  .venv/bin/python -m bench.inventory_bench [--scale demo|m] [--database-url URL]
[--seeded] [--json]. Without ``--seeded`` it seeds the database first (default: a temporary
SQLite file). Prints seconds and, since these machines are noisy, ratios measured in the same
run (a cached refresh against an uncached snapshot; seeding against the 20 s budget).
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import resource
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass

import sqlalchemy as sa
from flask import Flask
from flask_caching import Cache

from dashboard.cache import SharedCache
from dashboard.pages.inventory import inventory_view
from dashboard.settings import load_settings
from demo.orders import continue_orders
from demo.seed import seed_database
from queries.inventory import InventoryPolicy, InventorySource

SEED_BUDGET_SECONDS = 20.0


def timed(action: Callable[[], object], repeat: int) -> float:
    """Median wall-clock seconds of ``repeat`` runs."""
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


@dataclass(frozen=True)
class SnapshotFigures:
    snapshot_seconds: float  # the three inventory queries, uncached (median)
    view_seconds: float  # the Inventory page's view from a snapshot (median)
    cached_seconds: float  # a refresh served from the shared cache (median of 200)
    positions: int
    peak_rss_mib: float  # of this process, which did nothing else

    @property
    def view_share(self) -> float:
        return self.view_seconds / self.snapshot_seconds

    @property
    def cached_share(self) -> float:
        return self.cached_seconds / self.snapshot_seconds


@dataclass(frozen=True)
class DemoOrderFigures:
    hour_seconds: float
    hour_orders: int
    hour_picked_lines: int
    minute_seconds: float

    @property
    def minute_share(self) -> float:
        return self.minute_seconds / 60.0


def measure_snapshot(url: str, repeat: int) -> SnapshotFigures:
    engine = sa.create_engine(url)
    policy = InventoryPolicy()
    now = dt.datetime.now(dt.UTC)
    # A source of its own each time: a source patches its last snapshot, and this times a
    # whole read (a process's first, and one every 10 minutes).
    snapshot_seconds = timed(lambda: InventorySource(engine, policy).snapshot(now), repeat)
    snapshot = InventorySource(engine, policy).snapshot(now)
    settings = load_settings(database_url=url)
    view_seconds = timed(lambda: inventory_view(snapshot, "all", "all", settings), repeat)
    cache = SharedCache(Cache(Flask("bench"), config={"CACHE_TYPE": "SimpleCache"}), 3600)
    cache.fetch("snapshot", lambda: snapshot)
    cached_seconds = timed(lambda: cache.fetch("snapshot", lambda: snapshot), 200)
    engine.dispose()
    return SnapshotFigures(
        snapshot_seconds=snapshot_seconds,
        view_seconds=view_seconds,
        cached_seconds=cached_seconds,
        positions=len(snapshot.positions),
        peak_rss_mib=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    )


def measure_demo_orders(url: str) -> DemoOrderFigures:
    """The demo carrying on (demo.orders): an hour's catch-up (a laptop woken up), then
    a steady minute's round as the server runs one. It writes orders into the next hour: run it
    last on a database."""
    engine = sa.create_engine(url)
    now = dt.datetime.now(dt.UTC)
    started = time.perf_counter()
    hour = continue_orders(engine, now + dt.timedelta(hours=1))
    hour_seconds = time.perf_counter() - started
    started = time.perf_counter()
    continue_orders(engine, now + dt.timedelta(hours=1, minutes=1))
    minute_seconds = time.perf_counter() - started
    engine.dispose()
    return DemoOrderFigures(hour_seconds, hour.orders, hour.picked_lines, minute_seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale", default="demo")
    parser.add_argument("--database-url", help="the database (default: a temporary SQLite file)")
    parser.add_argument("--seeded", action="store_true", help="it is seeded already: read only")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--json", action="store_true", help="print the snapshot figures as JSON")
    args = parser.parse_args()

    url = (
        args.database_url or f"sqlite:///{tempfile.mkdtemp(prefix='invdash-bench-')}/bench.sqlite3"
    )
    seed_seconds = None
    if not args.seeded:
        report = seed_database(sa.create_engine(url), scale=args.scale, force=True)
        seed_seconds = report.elapsed_seconds
    figures = measure_snapshot(url, args.repeat)
    if args.json:
        print(json.dumps(dataclasses.asdict(figures)))
        return
    if seed_seconds is not None:
        print(
            f"seed                      {seed_seconds:8.3f} s   ({seed_seconds / SEED_BUDGET_SECONDS:.2f} of the 20 s budget)"
        )
    print(
        f"snapshot (3 queries)      {figures.snapshot_seconds:8.3f} s   ({figures.positions:,} SKU x warehouse rows)"
    )
    print(
        f"page view from snapshot   {figures.view_seconds:8.3f} s   ({figures.view_share:.2f} x snapshot)"
    )
    print(
        f"refresh from cache        {figures.cached_seconds * 1e6:8.1f} us  (1/{1 / figures.cached_share:,.0f} of a snapshot)"
    )
    print(f"peak RSS                  {figures.peak_rss_mib:8.0f} MiB")
    demo = measure_demo_orders(url)
    print(
        f"demo orders, hour caught up {demo.hour_seconds:6.3f} s   ({demo.hour_orders} orders, {demo.hour_picked_lines} lines picked)"
    )
    print(
        f"demo orders, minute round {demo.minute_seconds:8.3f} s   ({demo.minute_share:.4f} of the minute)"
    )


if __name__ == "__main__":
    main()
