"""Faults of the inventory database with real engines: SQLite held locked by a writer, a
PostgreSQL query running past the statement timeout (a table held by another transaction's
lock), and PostgreSQL restarted while the screen refreshes (every session ended at once, as in
a failover). Served over real HTTP and asked as a screen asks: every answer is a 200 within the
database timeout plus 1 s, the inventory panels keep their last good figures and say why they
are stale, the telemetry panels keep updating, and all is fresh again within two refresh
intervals of the database answering."""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa
from postgresql_database import PostgreSQLInstance, fresh_postgresql_database
from refreshing_screen import Screen, fresh, serving, stale_reason
from small_inventory import POLICY, build_small_inventory

from dashboard.app import create_app
from dashboard.settings import load_settings

REFRESH = 2
TIMEOUT = 1.0  # INVDASH_DATABASE_TIMEOUT_SECONDS
CALLBACKS = {
    "stock": "ops-scope.children",  # the inventory snapshot
    "pods": "ops-kpi-pods-value.children",  # the demo cluster: no database
    "trivial": "exec-abc-grid.exportDataAsCsv",
}


@contextmanager
def screen_on(url: str) -> Iterator[Screen]:
    settings = load_settings(
        database_url=url,
        refresh_seconds=REFRESH,
        database_timeout_seconds=TIMEOUT,
        demand_window_days=POLICY.demand_window_days,
        telemetry="demo",
        demo_orders="off",
    )
    with serving(
        create_app(settings), CALLBACKS, REFRESH, TIMEOUT + 1.0, beside=("pods", "trivial")
    ) as screen:
        yield screen


def outlasts_the_fault(screen: Screen, reason_part: str) -> None:
    """Refresh until the stock panel says the inventory database's data is stale and why; it
    still shows the last good figures; the other panels answered all along."""
    text, _ = screen.refresh_until("stock", lambda t: "Stale data" in t, intervals=8)
    reason = stale_reason(text)
    assert reason is not None, text[-2000:]
    assert reason_part in reason.lower(), reason
    assert "kpi-number" in text  # the last good figures, not blanked
    assert '"children":"n/a"' not in text
    _, pods = screen.ask("pods")
    assert fresh(pods)


def test_sqlite_held_locked_by_a_writer(tmp_path: Path) -> None:
    path = tmp_path / "inventory.sqlite3"
    build_small_inventory(sa.create_engine(f"sqlite:///{path}"), as_of=dt.datetime.now(dt.UTC))
    with screen_on(f"sqlite:///{path}") as screen:
        screen.refresh_until("stock", fresh, intervals=10)
        writer = sqlite3.connect(path, isolation_level=None)
        try:
            writer.execute("BEGIN EXCLUSIVE")  # no reader gets in until it ends
            outlasts_the_fault(screen, "locked")
        finally:
            writer.execute("ROLLBACK")
            writer.close()
        _, seconds = screen.refresh_until("stock", fresh, intervals=2 + 2)
        assert seconds <= 2 * REFRESH + 2 * (TIMEOUT + 1)


def test_postgresql_query_past_the_statement_timeout(postgresql_url: str) -> None:
    engine = sa.create_engine(postgresql_url)
    build_small_inventory(engine, as_of=dt.datetime.now(dt.UTC))
    with screen_on(postgresql_url) as screen:
        screen.refresh_until("stock", fresh, intervals=10)
        holder = engine.connect()
        transaction = holder.begin()
        try:
            # Every read of stock_movements now waits, until the statement timeout cancels it
            # (each refresh asks it for the newest movement, to patch what changed).
            holder.exec_driver_sql("LOCK TABLE stock_movements IN ACCESS EXCLUSIVE MODE")
            outlasts_the_fault(screen, "timeout")
        finally:
            transaction.rollback()
            holder.close()
        _, seconds = screen.refresh_until("stock", fresh, intervals=2 + 2)
        assert seconds <= 2 * REFRESH + 2 * (TIMEOUT + 1)
    engine.dispose()


def test_postgresql_restarted_while_screens_refresh() -> None:
    instance = PostgreSQLInstance()  # of its own: the session's server is not to be stopped
    try:
        with fresh_postgresql_database(instance.server) as url:
            engine = sa.create_engine(url)
            build_small_inventory(engine, as_of=dt.datetime.now(dt.UTC))
            engine.dispose()
            with screen_on(url) as screen:
                screen.refresh_until("stock", fresh, intervals=10)
                instance.stop(mode="fast")  # the pooled connections are now dead ones
                try:
                    outlasts_the_fault(screen, "connect")
                finally:
                    instance.start()
                _, seconds = screen.refresh_until("stock", fresh, intervals=2 + 2)
                assert seconds <= 2 * REFRESH + 2 * (TIMEOUT + 1)
    finally:
        instance.close()
