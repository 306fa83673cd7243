"""``invdash rollup``: keeps the roll-up store (``queries.rollup_store``) up to date.

Run once (``--once``, what the CronJob in deploy/ does) or every ``--every`` seconds. The demo's
orders loop (``dashboard.demo``) runs a round after each minute's orders, so the embedded
demo's screens read roll-ups too. A failed round is one line in the log; the dashboard never
depends on it: without fresh roll-ups it reads the days they lack from the database.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading

from sqlalchemy import Engine

from dashboard.settings import Settings
from dashboard.sources import inventory_policy, rollup_store
from queries.database import create_inventory_engine
from queries.forecast_store import refresh_forecasts
from queries.health import describe_failure
from queries.rollup_store import RollupReport, RollupStore, refresh_rollups

log = logging.getLogger("invdash.rollup")
# A run aggregates days of orders (a first one, the whole history): far longer than a
# dashboard's query may take, so its statements get a timeout of their own.
ROLLUP_TIMEOUT_SECONDS = 3600.0


class RollupNotConfiguredError(Exception):
    """No store to write: the message names the setting."""


def configured_store(settings: Settings) -> RollupStore:
    store = rollup_store(settings, ROLLUP_TIMEOUT_SECONDS)
    if store is None:
        raise RollupNotConfiguredError(
            "INVDASH_ROLLUP_DATABASE_URL is not set: name a database (or PostgreSQL schema) "
            "invdash may write its roll-ups to; invdash never writes to the inventory database "
            "of your ERP"
        )
    return store


# One forecast at a time in a process: a day's forecast runs while the next rounds roll up.
_forecasting = threading.Lock()


def _forecast(store: RollupStore, moment: dt.datetime) -> None:
    """Once a day, the demand forecasts from the days rolled up (a failed forecast is logged:
    the roll-ups stand, and the next run forecasts again)."""
    try:
        run = refresh_forecasts(store, moment)
    except Exception as error:
        log.warning(
            "forecasts: this run failed, the next one tries again: %s", describe_failure(error)
        )
    else:
        if run is not None:
            log.info("%s", run)


def _forecast_in_background(store: RollupStore, moment: dt.datetime) -> None:
    if not _forecasting.acquire(blocking=False):
        return  # the day's forecast is still being made

    def run() -> None:
        try:
            _forecast(store, moment)
        finally:
            _forecasting.release()

    try:
        threading.Thread(target=run, name="invdash-forecast", daemon=True).start()
    except BaseException:
        _forecasting.release()
        raise


def rollup_once(
    settings: Settings,
    inventory: Engine,
    store: RollupStore,
    now: dt.datetime | None = None,
    *,
    forecast_in_background: bool = False,
) -> RollupReport:
    """One run for these settings' demand window and recompute period, then the day's demand
    forecasts when they are due (``_forecast``): before returning, or, with
    ``forecast_in_background``, in a thread of their own (a loop's next rounds do not wait)."""
    policy = inventory_policy(settings)
    moment = now or dt.datetime.now(dt.UTC)
    report = refresh_rollups(
        inventory,
        store,
        moment,
        recompute_days=settings.rollup_recompute_days,
        window_days=policy.demand_window_days,
        dead_stock_days=policy.dead_stock_days,
    )
    if forecast_in_background:
        _forecast_in_background(store, moment)
    else:
        _forecast(store, moment)
    return report


def try_rollup(
    settings: Settings, inventory: Engine, store: RollupStore, now: dt.datetime | None = None
) -> RollupReport | None:
    """``rollup_once``, a failure logged instead of raised (the next round tries again)."""
    try:
        report = rollup_once(settings, inventory, store, now, forecast_in_background=True)
    except Exception as error:
        log.warning(
            "roll-ups: this round failed, the next one tries again: %s", describe_failure(error)
        )
        return None
    log.info("%s", report)
    return report


def keep_rolling_up(settings: Settings, stop: threading.Event, every_seconds: float) -> None:
    """Rounds every ``every_seconds`` until ``stop`` is set."""
    store = configured_store(settings)
    inventory = create_inventory_engine(settings.database_url, ROLLUP_TIMEOUT_SECONDS)
    try:
        while not stop.is_set():
            try_rollup(settings, inventory, store)
            stop.wait(every_seconds)
    finally:
        inventory.dispose()
        store.engine.dispose()
