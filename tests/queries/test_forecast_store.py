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
    stored_plan,
)
from queries.inventory import FORECAST_BASIS, WINDOW_BASIS, InventoryPolicy, InventorySource
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


def test_the_skus_on_the_model_plan_their_stock_with_the_forecast(
    forecast_store: tuple[sa.Engine, RollupStore],
) -> None:
    engine, store = forecast_store
    refresh_forecasts(store, NOW)
    today = day_of(naive_utc(NOW))
    with engine.connect() as conn:
        plan = stored_plan(conn, today).set_index("sku_id")
        accuracy = stored_accuracy(conn).set_index("sku_id")
        codes = {code: sku_id for code, sku_id in conn.execute(sa.select(Sku.code, Sku.id))}
    on_model = set(accuracy.index[accuracy["method"] == MODEL])
    assert set(plan.index) == on_model
    assert 0 < len(on_model) < SMALL.skus

    snapshot = InventorySource(engine, InventoryPolicy(), store).snapshot(NOW)
    positions = snapshot.positions.assign(sku_id=snapshot.positions["sku_code"].map(codes))
    for sku_id, rows in positions.groupby("sku_id"):
        if sku_id in on_model:
            assert set(rows["demand_basis"]) == {FORECAST_BASIS}
            # The warehouses' parts add up to the SKU's forecast, their variances to its error's.
            assert rows["planned_daily_demand"].sum() == pytest.approx(
                plan.loc[sku_id, "daily_demand"]
            )
            assert (rows["planned_sd_daily_demand"] ** 2).sum() == pytest.approx(
                plan.loc[sku_id, "sd_daily_demand"] ** 2
            )
        else:
            assert set(rows["demand_basis"]) == {WINDOW_BASIS}
            assert rows["planned_daily_demand"].equals(rows["mean_daily_demand"])
    # A week on, the forecast no longer covers the day: every SKU back on its window.
    with engine.connect() as conn:
        # Made from the days up to yesterday, it forecasts today and the 6 days after.
        assert stored_plan(conn, today + HORIZON_DAYS - 1).shape[0] == len(on_model)
        assert stored_plan(conn, today + HORIZON_DAYS).empty
