"""The demo wiring (dashboard/demo.py): the demo-orders round, once a minute just after it
turns, never fatal."""

from __future__ import annotations

import datetime as dt
import logging
import threading
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

from dashboard.cli import demo_rollups
from dashboard.demo import carry_on, carry_on_once, seconds_to_next_round
from dashboard.settings import load_settings
from demo.seed import seed_database
from queries.rollup_store import RollupStore


@pytest.mark.parametrize(
    ("seconds_past_the_minute", "wait"), [(0.0, 2.0), (1.5, 0.5), (2.0, 60.0), (10.0, 52.0)]
)
def test_rounds_start_two_seconds_past_each_minute(
    seconds_past_the_minute: float, wait: float
) -> None:
    assert seconds_to_next_round(1_800_000_000 + seconds_past_the_minute) == pytest.approx(wait)


def test_a_failed_round_is_one_warning_and_no_exception(caplog: pytest.LogCaptureFixture) -> None:
    engine = sa.create_engine("postgresql+psycopg://invdash@127.0.0.1:1/inventory")
    with caplog.at_level(logging.WARNING, logger="invdash.demo_orders"):
        assert carry_on_once(engine) is None
    assert len(caplog.records) == 1
    assert "next minute tries again" in caplog.records[0].getMessage()


def test_the_loop_books_a_round_at_once_and_ends_when_its_parent_is_gone(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'demo.sqlite3'}"
    # 23 hours back (the catch-up reaches 24): the demo's nights are quiet, so a couple of
    # hours after midnight UTC can hold no order at all; a whole day always does.
    seeded_at = (dt.datetime.now(dt.UTC) - dt.timedelta(hours=23)).replace(tzinfo=None)
    seed_database(sa.create_engine(url), scale="demo", now=seeded_at)
    settings = load_settings(database_url=url, rollup_database_url=url)
    rounds: list[bool] = []

    def parent_alive() -> bool:  # alive for the first round and one check after it
        rounds.append(True)
        return len(rounds) <= 2

    finished = threading.Event()
    worker = threading.Thread(
        target=lambda: (
            carry_on(settings, threading.Event(), parent_alive, demo_rollups(settings)),
            finished.set(),
        )
    )
    worker.start()
    worker.join(timeout=30)
    assert finished.is_set(), "the loop kept going without its parent"
    with sa.create_engine(url).connect() as conn:
        newest = conn.exec_driver_sql("SELECT MAX(ordered_at) FROM sales_orders").scalar()
    assert str(newest) > str(seeded_at)
    # The round's roll-ups follow it: up to the minute just booked.
    coverage = RollupStore(sa.create_engine(url)).coverage()
    assert coverage.end_minute is not None
    assert coverage.end_minute >= pd.Timestamp(newest).to_pydatetime().replace(second=0)
