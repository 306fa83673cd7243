"""The demo wiring, in one place: the only module of the product that imports ``demo``.

* ``invdash seed`` (``seed_command``) and the embedded default's first run
  (``seed_default_database``) write the simulated company;
* the demo cluster stands in for Kubernetes and Prometheus when none is configured
  (``demo_telemetry``);
* the demo's business goes on while invdash serves it: once a minute, ``continue_orders``
  (``invdash demo-orders``, ``demo_orders_command``). The gunicorn master starts it as a child
  process when the settings allow (``Settings.carries_demo_orders_on``); ``invdash serve
  --dev`` runs it on a thread. A failed round is one line in the log and the next minute tries
  again: the dashboard never depends on it, it only has fresher orders to show.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable

import pandas as pd
import sqlalchemy as sa
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from dashboard.settings import Settings, default_database_path
from demo.cluster import DemoCluster, OrderVolume
from demo.orders import HORIZON, ContinuedOrders, continue_orders
from demo.seed import SCALES, DatabaseNotEmptyError, seed_database
from queries.database import create_inventory_engine, database_is_empty
from queries.days import aware_utc
from queries.health import describe_failure
from queries.schema import SalesOrder

__all__ = [
    "SCALES",
    "AfterRound",
    "carry_on",
    "carry_on_once",
    "demo_orders_command",
    "demo_telemetry",
    "seconds_to_next_round",
    "seed_command",
    "seed_default_database",
    "start_thread",
]

log = logging.getLogger("invdash.demo_orders")

# Just after the minute turns, so the minute that ended gets its orders at once.
PAST_THE_MINUTE_SECONDS = 2.0
PARENT_CHECK_SECONDS = 2.0


def carry_on_once(engine: Engine, now: dt.datetime | None = None) -> ContinuedOrders | None:
    """One round: what it booked, or None (and a line in the log) when it failed."""
    try:
        report = continue_orders(engine, now or dt.datetime.now(dt.UTC))
    except Exception as error:
        log.warning(
            "demo orders: this round failed, next minute tries again: %s", describe_failure(error)
        )
        return None
    if report.orders or report.picked_lines or report.expired_units:
        log.info("demo %s", report)
    return report


def seconds_to_next_round(now: float) -> float:
    """Seconds from ``now`` (epoch seconds) to the next minute's round."""
    return (PAST_THE_MINUTE_SECONDS - now % 60.0) % 60.0 or 60.0


# What follows each round of orders (the demo's roll-ups, ``dashboard.rollup_runner``).
AfterRound = Callable[[Engine], object]


def carry_on(
    settings: Settings,
    stop: threading.Event,
    parent_alive: Callable[[], bool] = lambda: True,
    after_round: AfterRound | None = None,
) -> None:
    """Rounds every minute until ``stop`` is set or the parent process is gone, each followed
    by ``after_round`` (the roll-ups: the demo's follow its orders, so its screens read what a
    production one does)."""
    engine = create_inventory_engine(settings.database_url, settings.database_timeout_seconds)
    try:
        while not stop.is_set() and parent_alive():
            carry_on_once(engine)
            if after_round is not None:
                after_round(engine)
            next_round = time.monotonic() + seconds_to_next_round(time.time())
            # Awake every few seconds meanwhile, to notice a parent gone.
            while time.monotonic() < next_round and parent_alive():
                if stop.wait(min(PARENT_CHECK_SECONDS, next_round - time.monotonic())):
                    return
    finally:
        engine.dispose()


def start_thread(settings: Settings, after_round: AfterRound | None) -> threading.Event:
    """Run ``carry_on`` on a daemon thread (the development server); set the event to stop it."""
    stop = threading.Event()
    threading.Thread(
        target=carry_on,
        args=(settings, stop, lambda: True, after_round),
        name="demo-orders",
        daemon=True,
    ).start()
    return stop


def parent_watch() -> Callable[[], bool]:
    """True while the process that started this one lives: a killed gunicorn master leaves no
    orphan writing orders (an orphan is handed to another parent)."""
    parent = os.getppid()
    return lambda: os.getppid() == parent


def demo_orders_command(settings: Settings, after_round: AfterRound | None, once: bool) -> int:
    """``invdash demo-orders``: one round (``once``), or a round every minute until SIGTERM or
    until the process that started this one is gone."""
    if not settings.carries_demo_orders_on:
        print(
            "invdash demo-orders: INVDASH_DEMO_ORDERS is "
            f"{settings.demo_orders} for this database (auto writes only to the embedded demo): "
            "set INVDASH_DEMO_ORDERS=on to write demo orders to it",
            file=sys.stderr,
        )
        return 2
    if once:
        engine = create_inventory_engine(settings.database_url, settings.database_timeout_seconds)
        try:
            report = carry_on_once(engine)
        finally:
            engine.dispose()
        if report is None:
            return 1
        print(f"invdash demo-orders: {report}")
        return 0
    logging.basicConfig(
        level=logging.INFO, format="[%(asctime)s] [demo-orders] %(message)s", stream=sys.stderr
    )
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with contextlib.suppress(KeyboardInterrupt):
        carry_on(settings, stop, parent_watch(), after_round)
    return 0


def seed_command(settings: Settings, scale: str, random_seed: int, force: bool) -> int:
    """``invdash seed``: the schema and the demo company at ``INVDASH_DATABASE_URL``."""
    engine = create_inventory_engine(settings.database_url, settings.database_timeout_seconds)
    try:
        report = seed_database(engine, scale=scale, seed=random_seed, force=force)
    except DatabaseNotEmptyError as error:
        print(f"invdash seed: {error}", file=sys.stderr)
        return 1
    except SQLAlchemyError as error:
        print(
            f"invdash seed: cannot write the database: {describe_failure(error)}", file=sys.stderr
        )
        return 1
    finally:
        engine.dispose()
    print(f"invdash seed: {report}")
    return 0


# Without demo orders carried on, the embedded demo's orders end when it was seeded; older than
# this at start, it is seeded anew. With them, gaps up to HORIZON are filled instead.
DEMO_STALE_AFTER = dt.timedelta(hours=1)


def seed_default_database(settings: Settings) -> None:
    """On the embedded default: create and seed it on the first run, so one command shows a
    dashboard, and seed it anew when its orders have ended too long ago to show any (it is
    invdash's own demo file; a database of yours is never touched)."""
    if not settings.uses_default_database:
        return
    path = default_database_path()
    engine = create_inventory_engine(settings.database_url, settings.database_timeout_seconds)
    try:
        if path.exists() and not database_is_empty(engine):
            with engine.connect() as conn:
                newest = conn.execute(sa.select(sa.func.max(SalesOrder.ordered_at))).scalar()
            now = dt.datetime.now(dt.UTC)
            fills = HORIZON if settings.carries_demo_orders_on else DEMO_STALE_AFTER
            # The schema's times are naive UTC: aware from here on.
            if newest is not None and now - aware_utc(pd.Timestamp(newest).to_pydatetime()) < fills:
                return
            print(f"invdash: demo orders at {path} ended {newest}: seeding anew", file=sys.stderr)
            report = seed_database(engine, scale="demo", force=True)
        else:
            print(f"invdash: creating demo inventory at {path} (first run)", file=sys.stderr)
            report = seed_database(engine, scale="demo")
        print(f"invdash: {report}", file=sys.stderr)
    finally:
        engine.dispose()


def demo_telemetry(order_volume: OrderVolume, slo_objective: float = 0.995) -> DemoCluster:
    """The demo cluster, both the cluster and the metrics source, its order-service traffic
    following ``order_volume`` (``InventorySource.order_lines_per_minute``), its error-budget
    alerts burning against ``slo_objective``."""
    return DemoCluster(order_volume, slo_objective=slo_objective)
