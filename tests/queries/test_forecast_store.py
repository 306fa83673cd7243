"""The forecasts in the roll-up store: made once a day from the rolled-up demand, on SQLite and
PostgreSQL, read back by SKU and over time."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pandas as pd
import pytest
import sqlalchemy as sa
from postgresql_database import BACKENDS, engine_for

from demo.seed import Scale, seed_database
from queries.days import day_of, naive_utc
from queries.forecast import HORIZON_DAYS, MODEL, forecast_all
from queries.forecast_store import (
    accuracy_over_time,
    refresh_forecasts,
    sku_forecast,
    stored_accuracy,
    stored_daily_demand,
)
from queries.inventory import InventoryPolicy, InventorySource
from queries.rollup_store import RollupStore, refresh_rollups
from queries.schema import Sku

NOW = dt.datetime(2026, 11, 27, 12, 0, tzinfo=dt.UTC)
# Few SKUs with steady demand: a few seconds of fits, most SKUs worth a model.
SMALL = Scale(skus=24, warehouses=2, days=120, lines_per_series_day=3.0)


@pytest.fixture(scope="module", params=BACKENDS)
def forecast_store(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[sa.Engine, RollupStore]]:
    """A small seeded database, its roll-ups in the same database, forecast once."""
    with engine_for(request, tmp_path_factory, "invdash_forecast") as engine:
        seed_database(engine, SMALL, seed=7, now=NOW)
        store = RollupStore(engine)
        refresh_rollups(engine, store, NOW)
        yield engine, store


def test_a_run_forecasts_every_sku_once_a_day(
    forecast_store: tuple[sa.Engine, RollupStore],
) -> None:
    engine, store = forecast_store
    run = refresh_forecasts(store, NOW)
    assert run is not None
    yesterday = day_of(naive_utc(NOW)) - 1
    assert run.as_of_day == yesterday
    assert run.skus == SMALL.skus
    assert run.model_skus > 0
    assert refresh_forecasts(store, NOW + dt.timedelta(hours=1)) is None  # the same day

    with engine.connect() as conn:
        daily = stored_daily_demand(conn, yesterday)
        # What was stored is what the forecast makes of the stored days.
        expected = forecast_all(daily, yesterday, first_day=0)  # the store holds every day
        accuracy = stored_accuracy(conn)
        history = accuracy_over_time(conn)
        sku_id = int(conn.execute(sa.select(Sku.id).order_by(Sku.id)).scalars().first())
    assert set(accuracy["as_of_day"]) == {yesterday}
    pd.testing.assert_series_equal(
        accuracy["wape"].reset_index(drop=True),
        expected.accuracy.sort_values("sku_id")["wape"].reset_index(drop=True),
        check_names=False,
    )
    assert list(history["as_of_day"]) == [yesterday]
    assert history["skus"].iloc[0] == SMALL.skus
    assert 0 < history["model_share"].iloc[0] <= 1
    assert history["wape"].iloc[0] > 0

    with engine.connect() as conn:
        shown = sku_forecast(conn, sku_id)
    assert shown is not None
    assert len(shown.days) == HORIZON_DAYS
    assert shown.days["day"].iloc[0] == pd.Timestamp(NOW.date())  # today is the first day ahead
    assert (shown.days["lower"] <= shown.days["upper"]).all()
    assert shown.method in (MODEL, "seasonal naive")


def test_the_inventory_source_hands_a_sku_its_forecast_and_none_without_one(
    forecast_store: tuple[sa.Engine, RollupStore],
) -> None:
    engine, store = forecast_store
    refresh_forecasts(store, NOW)
    with engine.connect() as conn:
        code = str(conn.execute(sa.select(Sku.code).order_by(Sku.id)).scalars().first())
    source = InventorySource(engine, InventoryPolicy(), store)
    found = source.sku_forecast(code)
    assert found is not None
    assert len(found.days) == HORIZON_DAYS
    assert source.sku_forecast("NO-SUCH-SKU") is None
    assert InventorySource(engine, InventoryPolicy()).sku_forecast(code) is None  # no store


def test_an_empty_store_has_no_forecast() -> None:
    engine = sa.create_engine("sqlite://")
    store = RollupStore(engine)
    assert refresh_forecasts(store, NOW) is None
    with engine.connect() as conn:
        assert sku_forecast(conn, 1) is None
        assert accuracy_over_time(conn).empty
