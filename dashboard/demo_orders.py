"""Keeps the demo's business going while invdash serves it: once a minute, ``continue_orders``.

The gunicorn master starts it as a child process (``invdash demo-orders``) when the settings
allow (``Settings.carries_demo_orders_on``); ``invdash serve --dev`` runs it on a thread. A
failed round is one line in the log and the next minute tries again: the dashboard never
depends on it, it only has fresher orders to show.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import threading
import time
from collections.abc import Callable

from sqlalchemy import Engine

from dashboard.rollup_runner import try_rollup
from dashboard.settings import Settings
from dashboard.sources import rollup_store
from queries.database import create_inventory_engine
from queries.demo_orders import ContinuedOrders, continue_orders
from queries.health import describe_failure

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


def carry_on(
    settings: Settings, stop: threading.Event, parent_alive: Callable[[], bool] = lambda: True
) -> None:
    """Rounds every minute until ``stop`` is set or the parent process is gone."""
    engine = create_inventory_engine(settings.database_url, settings.database_timeout_seconds)
    # The demo's roll-ups follow its orders, so its screens read what a production one does.
    store = rollup_store(settings)
    try:
        while not stop.is_set() and parent_alive():
            carry_on_once(engine)
            if store is not None:
                try_rollup(settings, engine, store)
            next_round = time.monotonic() + seconds_to_next_round(time.time())
            # Awake every few seconds meanwhile, to notice a parent gone.
            while time.monotonic() < next_round and parent_alive():
                if stop.wait(min(PARENT_CHECK_SECONDS, next_round - time.monotonic())):
                    return
    finally:
        engine.dispose()
        if store is not None:
            store.engine.dispose()


def start_thread(settings: Settings) -> threading.Event:
    """Run ``carry_on`` on a daemon thread (the development server); set the event to stop it."""
    stop = threading.Event()
    threading.Thread(
        target=carry_on, args=(settings, stop), name="demo-orders", daemon=True
    ).start()
    return stop


def parent_watch() -> Callable[[], bool]:
    """True while the process that started this one lives: a killed gunicorn master leaves no
    orphan writing orders (an orphan is handed to another parent)."""
    parent = os.getppid()
    return lambda: os.getppid() == parent
