"""Benchmark: seeding, one snapshot of the inventory queries, a screen refresh served from cache,
and the demo's orders carried on (an hour's catch-up, then one minute's round).

Run on demand, never in the test suite:  .venv/bin/python bench/inventory_bench.py [--scale demo|m]
[--database-url URL]. Prints seconds and, since these machines are noisy, ratios measured in the same
run (a cached refresh against an uncached snapshot; seeding against the 20 s budget).
"""

from __future__ import annotations

import argparse
import datetime as dt
import resource
import statistics
import tempfile
import time
from collections.abc import Callable

import sqlalchemy as sa
from flask import Flask
from flask_caching import Cache

from dashboard.cache import SharedCache
from dashboard.pages.inventory import inventory_view
from dashboard.settings import load_settings
from queries.demo_orders import continue_orders
from queries.inventory import InventoryPolicy, InventorySource
from queries.seed import seed_database


def timed(action: Callable[[], object], repeat: int) -> float:
    """Median wall-clock seconds of ``repeat`` runs."""
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale", default="demo")
    parser.add_argument(
        "--database-url", help="an empty database to seed (default: a temporary SQLite file)"
    )
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    url = (
        args.database_url or f"sqlite:///{tempfile.mkdtemp(prefix='invdash-bench-')}/bench.sqlite3"
    )
    engine = sa.create_engine(url)
    report = seed_database(engine, scale=args.scale, force=True)
    seed_seconds = report.elapsed_seconds

    source = InventorySource(engine, InventoryPolicy())
    now = dt.datetime.now(dt.UTC)
    snapshot_seconds = timed(lambda: source.snapshot(now), args.repeat)
    snapshot = source.snapshot(now)
    settings = load_settings(database_url=url)
    view_seconds = timed(lambda: inventory_view(snapshot, "all", "all", settings), args.repeat)

    cache = SharedCache(Cache(Flask("bench"), config={"CACHE_TYPE": "SimpleCache"}), 3600)
    cache.fetch("snapshot", lambda: snapshot)
    cached_seconds = timed(lambda: cache.fetch("snapshot", lambda: snapshot), 200)
    # The demo carrying on (queries.demo_orders): last, since it writes. An hour's catch-up (a
    # laptop woken up), then a steady minute's round as the server runs one.
    started = time.perf_counter()
    hour = continue_orders(engine, now + dt.timedelta(hours=1))
    catch_up_seconds = time.perf_counter() - started
    started = time.perf_counter()
    continue_orders(engine, now + dt.timedelta(hours=1, minutes=1))
    round_seconds = time.perf_counter() - started
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    rows = report.row_counts
    print(
        f"backend {engine.url.get_backend_name()}, scale {args.scale}: "
        f"{rows['sales_order_lines']:,} order lines, {rows['stock_movements']:,} movements, "
        f"{len(snapshot.positions):,} SKU x warehouse rows"
    )
    print(
        f"seed                      {seed_seconds:8.3f} s   ({seed_seconds / 20:.2f} of the 20 s budget)"
    )
    print(f"snapshot (3 queries)      {snapshot_seconds:8.3f} s")
    print(
        f"page view from snapshot   {view_seconds:8.3f} s   ({view_seconds / snapshot_seconds:.2f} x snapshot)"
    )
    print(
        f"refresh from cache        {cached_seconds * 1e6:8.1f} us  (1/{snapshot_seconds / cached_seconds:,.0f} of a snapshot)"
    )
    print(
        f"demo orders, hour caught up {catch_up_seconds:6.3f} s   ({catch_up_seconds / snapshot_seconds:.2f} x snapshot; {hour.orders} orders, {hour.picked_lines} lines picked)"
    )
    print(
        f"demo orders, minute round {round_seconds:8.3f} s   ({round_seconds / 60:.4f} of the minute)"
    )
    print(f"peak RSS                  {peak_mib:8.0f} MiB")


if __name__ == "__main__":
    main()
