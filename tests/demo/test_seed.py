"""The seeded inventory history: its invariants and the situations the dashboard exists to show.

The demo scale is seeded once per backend for the module, at NOW (a Friday, 12:34 UTC); the
tests that seed again use a small scale of their own.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass

import pandas as pd
import pytest
import sqlalchemy as sa
from inventory_invariants import (
    assert_on_hand_is_the_sum_of_movements,
    assert_pharmacy_lots_add_up_to_on_hand,
    assert_reserved_is_the_open_quantity_capped_at_on_hand,
    assert_status_follows_shipped_quantities,
    assert_stock_never_negative,
    frame,
    orders_with_totals,
    scalar,
    stock_with_movement_totals,
    stock_with_open_quantity,
)
from postgresql_database import BACKENDS, engine_for

from demo.seed import SCALES, DatabaseNotEmptyError, Scale, SeedReport, seed_database
from queries import schema
from queries.database import create_inventory_engine, day_number

NOW = dt.datetime(2026, 11, 27, 12, 34)
TODAY = NOW.date()
EPOCH = dt.date(1970, 1, 1)
TODAY_NUMBER = (TODAY - EPOCH).days
DEMO = SCALES["demo"]
SMALL = Scale(skus=60, warehouses=3, days=30)


@dataclass(frozen=True)
class Seeded:
    engine: sa.Engine
    report: SeedReport


@pytest.fixture(scope="module", params=BACKENDS)
def seeded(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Seeded]:
    """The demo scale seeded at NOW, once per backend (the session's PostgreSQL server)."""
    with engine_for(request, tmp_path_factory, "invdash_seed") as engine:
        yield Seeded(engine, seed_database(engine, "demo", seed=7, now=NOW))


def table_digests(engine: sa.Engine) -> dict[str, str]:
    digests = {}
    with engine.connect() as conn:
        for table in schema.TABLES:
            rows = conn.execute(sa.select(table).order_by(*table.primary_key.columns)).all()
            digests[table.name] = hashlib.sha256(repr(rows).encode()).hexdigest()
    return digests


def daily_units_ordered(engine: sa.Engine) -> pd.Series:
    """Units ordered (cancelled orders excluded) per whole day before today, by date."""
    day = day_number(schema.SalesOrder.ordered_at).label("day")
    query = (
        sa.select(day, sa.func.sum(schema.SalesOrderLine.quantity).label("units"))
        .join(schema.SalesOrder, schema.SalesOrder.id == schema.SalesOrderLine.sales_order_id)
        .where(schema.SalesOrder.status != "cancelled")
        .group_by(sa.literal_column("day"))
    )
    units = frame(engine, query).set_index("day")["units"]
    units = units[units.index < TODAY_NUMBER]
    units.index = pd.to_datetime([EPOCH + dt.timedelta(days=int(d)) for d in units.index])
    return units


# --- Invariants ----------------------------------------------------------------------------------


def test_stock_levels_equal_the_sum_of_movements_for_every_sku_and_warehouse(
    seeded: Seeded,
) -> None:
    assert len(stock_with_movement_totals(seeded.engine)) == DEMO.skus * DEMO.warehouses
    assert_on_hand_is_the_sum_of_movements(seeded.engine)


def test_stock_never_goes_negative_at_any_moment_of_the_history(seeded: Seeded) -> None:
    assert_stock_never_negative(seeded.engine)


def test_quantities_are_whole_units(seeded: Seeded) -> None:
    for column in (
        schema.StockMovement.quantity,
        schema.StockLevel.on_hand,
        schema.Lot.quantity,
        schema.SalesOrderLine.quantity,
        schema.PurchaseOrderLine.quantity_ordered,
    ):
        values = frame(seeded.engine, sa.select(column.label("value")))["value"]
        assert (values == values.round()).all(), column


def test_pharmacy_lots_add_up_to_on_hand_and_other_categories_have_none(seeded: Seeded) -> None:
    assert_pharmacy_lots_add_up_to_on_hand(seeded.engine)


def test_lot_codes_are_unique_and_shelf_lives_are_60_to_720_days(seeded: Seeded) -> None:
    lots = frame(
        seeded.engine,
        sa.select(
            schema.Lot.sku_id, schema.Lot.lot_code, schema.Lot.received_at, schema.Lot.expires_on
        ),
    )
    assert not lots.duplicated(["sku_id", "lot_code"]).any()
    shelf_life = (pd.to_datetime(lots["expires_on"]) - lots["received_at"].dt.normalize()).dt.days
    assert shelf_life.between(60, 720).all()


# --- Determinism and the safety catch -----------------------------------------------------------


def test_the_same_seed_and_now_give_identical_rows_and_another_seed_differs(
    empty_engine: sa.Engine,
) -> None:
    seed_database(empty_engine, SMALL, seed=11, now=NOW)
    first = table_digests(empty_engine)
    seed_database(empty_engine, SMALL, seed=11, now=NOW, force=True)
    assert table_digests(empty_engine) == first
    seed_database(empty_engine, SMALL, seed=12, now=NOW, force=True)
    other = table_digests(empty_engine)
    assert other["sales_orders"] != first["sales_orders"]
    assert other["stock_movements"] != first["stock_movements"]


def test_refuses_a_database_holding_rows_names_the_table_and_leaves_it_alone(
    empty_engine: sa.Engine,
) -> None:
    schema.Base.metadata.create_all(empty_engine)
    with empty_engine.begin() as conn:
        conn.execute(
            sa.insert(schema.Warehouse).values(
                id=1, code="OLD", name="Old", region="North", capacity_units=10
            )
        )
    with pytest.raises(DatabaseNotEmptyError, match=r"'warehouses'.*--force") as refused:
        seed_database(empty_engine, SMALL, now=NOW)
    assert refused.value.table == "warehouses"
    assert scalar(empty_engine, sa.select(schema.Warehouse.code)) == "OLD"


def test_force_replaces_every_table_and_the_report_counts_the_rows(empty_engine: sa.Engine) -> None:
    schema.Base.metadata.create_all(empty_engine)
    with empty_engine.begin() as conn:
        conn.execute(
            sa.insert(schema.Warehouse).values(
                id=1, code="OLD", name="Old", region="North", capacity_units=10
            )
        )
    report = seed_database(empty_engine, SMALL, now=NOW, force=True)
    codes = frame(empty_engine, sa.select(schema.Warehouse.code).order_by(schema.Warehouse.id))[
        "code"
    ].tolist()
    assert codes == ["WH1", "WH2", "WH3"]
    for table in schema.TABLES:
        count = scalar(empty_engine, sa.select(sa.func.count()).select_from(table))
        assert report.row_counts[table.name] == count > 0, table.name


def test_empty_tables_are_seeded_without_force(empty_engine: sa.Engine) -> None:
    schema.Base.metadata.create_all(empty_engine)
    report = seed_database(empty_engine, SMALL, now=NOW)
    assert report.row_counts["skus"] == SMALL.skus


def test_unknown_scale_names_the_known_ones() -> None:
    with pytest.raises(ValueError, match="demo, m, l"):
        seed_database(sa.create_engine("sqlite://"), "huge")


def test_scales_are_demo_m_and_l() -> None:
    assert {name: (s.skus, s.warehouses, s.days) for name, s in SCALES.items()} == {
        "demo": (500, 5, 120),
        "m": (10_000, 10, 120),
        "l": (50_000, 20, 120),
    }


def test_new_rows_get_ids_after_the_seeded_ones(seeded: Seeded) -> None:
    with seeded.engine.connect() as conn, conn.begin() as transaction:
        result = conn.execute(
            sa.insert(schema.StockMovement).values(
                sku_id=1, warehouse_id=1, moved_at=NOW, kind="adjustment", quantity=0
            )
        )
        new_id = result.inserted_primary_key[0]
        transaction.rollback()
    assert new_id == seeded.report.row_counts["stock_movements"] + 1


def test_demo_seeds_well_within_twenty_seconds(seeded: Seeded) -> None:
    assert seeded.report.elapsed_seconds < 20
    assert seeded.report.now == NOW
    assert seeded.report.window_start == dt.datetime(2026, 7, 31)


def test_the_report_reads_as_one_line_for_the_command_line(seeded: Seeded) -> None:
    text = str(seeded.report)
    assert text.startswith(
        "seeded scale demo (500 SKUs x 5 warehouses x 120 days, seed 7) up to 2026-11-27 12:34 UTC: "
    )
    assert f"{seeded.report.total_rows:,} rows in " in text
    assert "sales_order_lines " in text
    assert "\n" not in text


def test_seeding_through_the_dashboard_engine_ignores_its_statement_timeout(
    database_url: str,
) -> None:
    # The dashboard's engine gives up on statements after a few seconds; a load may take longer.
    engine = create_inventory_engine(database_url, timeout_seconds=0.02)
    try:
        with engine.connect() as conn:
            if engine.dialect.name == "postgresql":
                assert conn.exec_driver_sql("SHOW statement_timeout").scalar_one() == "20ms"
        report = seed_database(engine, SMALL, now=NOW)
        seed_database(engine, SMALL, now=NOW, force=True)
        with engine.connect() as conn:
            if engine.dialect.name == "postgresql":  # and the pooled connection keeps its limit
                assert conn.exec_driver_sql("SHOW statement_timeout").scalar_one() == "20ms"
    finally:
        engine.dispose()
    assert report.row_counts["sales_orders"] > 0


# --- Catalogue ----------------------------------------------------------------------------------


def test_catalogue_has_six_categories_and_prices_above_costs(seeded: Seeded) -> None:
    skus = frame(
        seeded.engine,
        sa.select(
            schema.Sku.category, schema.Sku.name, schema.Sku.unit_cost, schema.Sku.unit_price
        ),
    )
    assert set(skus["category"]) == {
        "Pharmacy", "Electronics", "Grocery", "Apparel", "Home", "Tools",
    }  # fmt: skip
    assert (skus["unit_price"] > skus["unit_cost"]).all()
    assert (skus["unit_cost"] == skus["unit_cost"].round(2)).all()
    assert skus["name"].str.len().between(8, 80).all()


def test_suppliers_lead_times_are_two_to_thirty_days(seeded: Seeded) -> None:
    suppliers = frame(
        seeded.engine,
        sa.select(
            schema.Supplier.lead_time_mean_days,
            schema.Supplier.lead_time_sd_days,
            schema.Supplier.order_cost,
        ),
    )
    assert 20 <= len(suppliers) <= 40
    assert suppliers["lead_time_mean_days"].between(2, 30).all()
    assert (suppliers["lead_time_sd_days"] > 0).all()
    assert (suppliers["order_cost"] > 0).all()


def test_one_warehouse_is_nearly_full_and_the_others_are_not(seeded: Seeded) -> None:
    use = frame(
        seeded.engine,
        sa.select(
            schema.Warehouse.code,
            schema.Warehouse.capacity_units,
            sa.func.sum(schema.StockLevel.on_hand).label("on_hand"),
        )
        .join(schema.StockLevel, schema.StockLevel.warehouse_id == schema.Warehouse.id)
        .group_by(schema.Warehouse.code, schema.Warehouse.capacity_units),
    )
    utilisation = (use["on_hand"] / use["capacity_units"]).sort_values()
    assert sorted(use["code"]) == [f"WH{i}" for i in range(1, 6)]
    assert 0.9 <= utilisation.iloc[-1] <= 0.97
    assert utilisation.iloc[:-1].between(0.4, 0.75).all()


# --- Orders -------------------------------------------------------------------------------------


def test_orders_arrive_up_to_now_and_none_after(seeded: Seeded) -> None:
    times = frame(seeded.engine, sa.select(schema.SalesOrder.ordered_at))["ordered_at"]
    assert times.max() <= NOW
    assert (times > NOW - dt.timedelta(hours=1)).sum() >= 5
    assert times.min() < dt.datetime(2026, 8, 1)
    assert (times.dt.second == 0).all()


def test_orders_are_busier_in_daytime_than_at_night(seeded: Seeded) -> None:
    hours = frame(seeded.engine, sa.select(schema.SalesOrder.ordered_at))["ordered_at"].dt.hour
    assert (hours.between(9, 17)).sum() > 4 * (hours.between(0, 5)).sum()


def test_order_lines_are_numbered_from_one_for_distinct_skus(seeded: Seeded) -> None:
    lines = frame(
        seeded.engine,
        sa.select(
            schema.SalesOrderLine.sales_order_id,
            schema.SalesOrderLine.line_number,
            schema.SalesOrderLine.sku_id,
            schema.SalesOrderLine.quantity,
            schema.SalesOrderLine.quantity_shipped,
        ),
    )
    per_order = lines.groupby("sales_order_id").agg(
        count=("line_number", "size"),
        first=("line_number", "min"),
        last=("line_number", "max"),
        skus=("sku_id", "nunique"),
    )
    assert per_order["count"].between(1, 4).all()
    assert (per_order["first"] == 1).all()
    assert (per_order["last"] == per_order["count"]).all()
    assert (per_order["skus"] == per_order["count"]).all()
    assert (per_order["count"] > 1).mean() > 0.3
    assert (lines["quantity"] >= 1).all()
    assert lines["quantity_shipped"].between(0, lines["quantity"]).all()


def test_order_status_follows_the_shipped_quantities(seeded: Seeded) -> None:
    assert_status_follows_shipped_quantities(seeded.engine)
    orders = orders_with_totals(seeded.engine)
    status = orders["status"]
    assert set(status) == {"shipped", "partially_shipped", "open", "cancelled"}
    assert 0 < (status == "cancelled").mean() < 0.05
    recent = orders[orders["ordered_at"] > NOW - dt.timedelta(hours=2)]
    assert len(recent) > 0
    assert recent["status"].isin(["open", "cancelled"]).all()
    # Backorders: open orders older than the picking delay wait for stock.
    assert (orders.loc[status == "open", "ordered_at"] < NOW - dt.timedelta(hours=2)).any()


def test_reserved_is_the_open_unshipped_quantity_capped_at_on_hand(seeded: Seeded) -> None:
    assert_reserved_is_the_open_quantity_capped_at_on_hand(seeded.engine)
    assert (stock_with_open_quantity(seeded.engine)["reserved"] > 0).sum() >= 10


def test_one_shipment_movement_per_sku_warehouse_and_day_never_after_now(seeded: Seeded) -> None:
    shipments = frame(
        seeded.engine,
        sa.select(
            schema.StockMovement.sku_id,
            schema.StockMovement.warehouse_id,
            schema.StockMovement.moved_at,
            schema.StockMovement.quantity,
        ).where(schema.StockMovement.kind == "shipment"),
    )
    assert (shipments["quantity"] < 0).all()
    assert shipments["moved_at"].max() <= NOW
    day = shipments["moved_at"].dt.normalize()
    assert not shipments.assign(day=day).duplicated(["sku_id", "warehouse_id", "day"]).any()
    shipped = frame(
        seeded.engine, sa.select(sa.func.sum(schema.SalesOrderLine.quantity_shipped).label("units"))
    )
    assert -shipments["quantity"].sum() == shipped["units"].iloc[0]


# --- Demand patterns ----------------------------------------------------------------------------


def test_weekend_demand_differs_from_weekday_demand(seeded: Seeded) -> None:
    units = daily_units_ordered(seeded.engine)
    weekend = units.index.day_of_week >= 5
    assert units[weekend].median() < 0.85 * units[~weekend].median()


def test_a_holiday_peak_of_a_few_days_stands_out(seeded: Seeded) -> None:
    units = daily_units_ordered(seeded.engine)
    peak_days = units[units > 2 * units.median()]
    assert 2 <= len(peak_days) <= 5
    assert (peak_days.index.max() - peak_days.index.min()).days <= 4
    assert peak_days.index.max() < pd.Timestamp(TODAY) - pd.Timedelta(days=14)


def test_many_series_are_intermittent_slow_movers(seeded: Seeded) -> None:
    day = day_number(schema.SalesOrder.ordered_at)
    active = frame(
        seeded.engine,
        sa.select(
            schema.SalesOrderLine.sku_id,
            schema.SalesOrder.warehouse_id,
            sa.func.count(sa.distinct(day)).label("days"),
        )
        .join(schema.SalesOrder, schema.SalesOrder.id == schema.SalesOrderLine.sales_order_id)
        .group_by(schema.SalesOrderLine.sku_id, schema.SalesOrder.warehouse_id),
    )
    days_with_orders = active["days"].reindex(range(DEMO.skus * DEMO.warehouses), fill_value=0)
    assert (days_with_orders < 0.2 * DEMO.days).mean() > 0.25
    assert (active["days"] > 0.8 * DEMO.days).sum() > 0  # and some sell nearly every day


def test_at_least_five_series_ran_out_in_the_last_56_days_while_their_supplier_was_late(
    seeded: Seeded,
) -> None:
    day = day_number(schema.StockMovement.moved_at).label("day")
    movements = frame(
        seeded.engine,
        sa.select(
            schema.StockMovement.sku_id,
            schema.StockMovement.warehouse_id,
            day,
            sa.func.sum(schema.StockMovement.quantity).label("quantity"),
        ).group_by(
            schema.StockMovement.sku_id, schema.StockMovement.warehouse_id, sa.literal_column("day")
        ),
    )
    days = range(TODAY_NUMBER - DEMO.days + 1, TODAY_NUMBER + 1)
    end_of_day = (
        movements.pivot_table(
            index="day", columns=["sku_id", "warehouse_id"], values="quantity", aggfunc="sum"
        )
        .reindex(days, fill_value=0.0)
        .fillna(0.0)
        .cumsum()
    )
    order_day = day_number(schema.SalesOrder.ordered_at).label("day")
    ordered = frame(
        seeded.engine,
        sa.select(
            schema.SalesOrderLine.sku_id,
            schema.SalesOrder.warehouse_id,
            order_day,
            sa.func.sum(schema.SalesOrderLine.quantity).label("units"),
        )
        .join(schema.SalesOrder, schema.SalesOrder.id == schema.SalesOrderLine.sales_order_id)
        .where(schema.SalesOrder.status != "cancelled")
        .group_by(
            schema.SalesOrderLine.sku_id, schema.SalesOrder.warehouse_id, sa.literal_column("day")
        ),
    ).pivot_table(index="day", columns=["sku_id", "warehouse_id"], values="units", aggfunc="sum")
    ordered = ordered.reindex(index=days, columns=end_of_day.columns).fillna(0.0)
    recent = end_of_day.index > TODAY_NUMBER - 56
    short = ((end_of_day == 0) & (ordered > 0))[recent]
    short_days = short.stack(["sku_id", "warehouse_id"], future_stack=True)
    short_days = short_days[short_days].reset_index()[["day", "sku_id", "warehouse_id"]]
    # ... while a purchase order for that SKU and warehouse was overdue.
    overdue = overdue_purchase_lines(seeded.engine).merge(short_days, on=["sku_id", "warehouse_id"])
    overdue = overdue[
        (overdue["expected_day"] < overdue["day"]) & (overdue["day"] < overdue["arrived_day"])
    ]
    days_short_while_overdue = overdue.groupby(["sku_id", "warehouse_id"])["day"].nunique()
    assert (days_short_while_overdue >= 3).sum() >= 5


def overdue_purchase_lines(engine: sa.Engine) -> pd.DataFrame:
    """Purchase lines that arrived after their expected day, or are still open past it.

    Columns sku_id, warehouse_id, expected_day, arrived_day (day numbers; tomorrow when open).
    """
    arrivals = (
        sa.select(
            schema.StockMovement.reference,
            schema.StockMovement.sku_id,
            sa.func.max(day_number(schema.StockMovement.moved_at)).label("arrived_day"),
        )
        .where(schema.StockMovement.kind == "receipt")
        .group_by(schema.StockMovement.reference, schema.StockMovement.sku_id)
        .subquery()
    )
    lines = frame(
        engine,
        sa.select(
            schema.PurchaseOrderLine.sku_id,
            schema.PurchaseOrder.warehouse_id,
            schema.PurchaseOrder.status,
            schema.PurchaseOrder.expected_on,
            arrivals.c.arrived_day,
        )
        .join(
            schema.PurchaseOrder,
            schema.PurchaseOrder.id == schema.PurchaseOrderLine.purchase_order_id,
        )
        .outerjoin(
            arrivals,
            sa.and_(
                arrivals.c.reference == schema.PurchaseOrder.number,
                arrivals.c.sku_id == schema.PurchaseOrderLine.sku_id,
            ),
        ),
    )
    lines["expected_day"] = [(day - EPOCH).days for day in lines["expected_on"]]
    still_open = lines["status"] == "open"
    lines["arrived_day"] = lines["arrived_day"].where(~still_open, TODAY_NUMBER + 1)
    late = lines["arrived_day"] > lines["expected_day"]
    return lines.loc[late, ["sku_id", "warehouse_id", "expected_day", "arrived_day"]]


# --- Replenishment, adjustments, transfers, lots ------------------------------------------------


def test_open_purchase_orders_exist_some_late_some_partly_received(seeded: Seeded) -> None:
    lines = frame(
        seeded.engine,
        sa.select(
            schema.PurchaseOrder.number,
            schema.PurchaseOrder.status,
            schema.PurchaseOrder.ordered_at,
            schema.PurchaseOrder.expected_on,
            schema.PurchaseOrderLine.quantity_ordered,
            schema.PurchaseOrderLine.quantity_received,
        ).join(
            schema.PurchaseOrder,
            schema.PurchaseOrder.id == schema.PurchaseOrderLine.purchase_order_id,
        ),
    )
    received = lines[lines["status"] == "received"]
    assert (received["quantity_received"] == received["quantity_ordered"]).all()
    still_open = lines[lines["status"] == "open"]
    assert (still_open.groupby("number")["quantity_received"].sum() == 0).any()
    assert (still_open["quantity_received"] < still_open["quantity_ordered"]).any()
    assert (
        (still_open["quantity_received"] > 0)
        & (still_open["quantity_received"] < still_open["quantity_ordered"])
    ).any()
    assert (still_open["expected_on"] < TODAY).any()  # late
    assert (still_open["expected_on"] >= TODAY).any()
    assert lines["ordered_at"].max() <= NOW
    assert set(lines["status"]) == {"open", "received"}


def test_receipts_book_exactly_what_purchase_lines_received(seeded: Seeded) -> None:
    receipts = frame(
        seeded.engine,
        sa.select(
            schema.StockMovement.reference,
            schema.StockMovement.sku_id,
            sa.func.sum(schema.StockMovement.quantity).label("received"),
        )
        .where(schema.StockMovement.kind == "receipt", schema.StockMovement.reference != "OPENING")
        .group_by(schema.StockMovement.reference, schema.StockMovement.sku_id),
    )
    lines = frame(
        seeded.engine,
        sa.select(
            schema.PurchaseOrder.number.label("reference"),
            schema.PurchaseOrderLine.sku_id,
            schema.PurchaseOrderLine.quantity_received.label("received"),
        )
        .join(
            schema.PurchaseOrder,
            schema.PurchaseOrder.id == schema.PurchaseOrderLine.purchase_order_id,
        )
        .where(schema.PurchaseOrderLine.quantity_received > 0),
    )
    key = ["reference", "sku_id"]
    pd.testing.assert_frame_equal(
        receipts.sort_values(key).reset_index(drop=True),
        lines.sort_values(key).reset_index(drop=True),
    )


def test_history_opens_with_an_opening_receipt_for_every_stocked_series(seeded: Seeded) -> None:
    opening = frame(
        seeded.engine,
        sa.select(
            schema.StockMovement.kind, schema.StockMovement.moved_at, schema.StockMovement.quantity
        ).where(schema.StockMovement.reference == "OPENING"),
    )
    assert len(opening) > 0.9 * DEMO.skus * DEMO.warehouses
    assert (opening["kind"] == "receipt").all()
    assert (opening["moved_at"] == seeded.report.window_start).all()
    assert (opening["quantity"] > 0).all()


def test_adjustments_include_shrinkage_damage_cycle_counts_and_expiry(seeded: Seeded) -> None:
    adjustments = frame(
        seeded.engine,
        sa.select(schema.StockMovement.reason, schema.StockMovement.quantity).where(
            schema.StockMovement.kind == "adjustment"
        ),
    )
    assert set(adjustments["reason"]) == set(schema.ADJUSTMENT_REASONS)
    by_reason = adjustments.groupby("reason")["quantity"]
    assert (by_reason.max()[["shrinkage", "damage", "expiry"]] < 0).all()
    assert by_reason.min()["cycle_count"] < 0 < by_reason.max()["cycle_count"]
    assert by_reason.size()["shrinkage"] >= 100


def test_transfers_are_pairs_that_move_stock_between_two_warehouses(seeded: Seeded) -> None:
    transfers = frame(
        seeded.engine,
        sa.select(
            schema.StockMovement.reference,
            schema.StockMovement.sku_id,
            schema.StockMovement.warehouse_id,
            schema.StockMovement.moved_at,
            schema.StockMovement.quantity,
        ).where(schema.StockMovement.kind == "transfer"),
    )
    pairs = transfers.groupby("reference").agg(
        rows=("quantity", "size"),
        total=("quantity", "sum"),
        skus=("sku_id", "nunique"),
        warehouses=("warehouse_id", "nunique"),
        out=("quantity", "min"),
    )
    assert len(pairs) >= 5
    assert (pairs["rows"] == 2).all()
    assert (pairs["total"] == 0).all()
    assert (pairs["skus"] == 1).all()
    assert (pairs["warehouses"] == 2).all()
    assert (pairs["out"] < 0).all()


def test_pharmacy_lots_expire_within_30_60_and_90_days_and_expired_stock_is_written_off(
    seeded: Seeded,
) -> None:
    stocked = frame(
        seeded.engine,
        sa.select(schema.Lot.expires_on, schema.Lot.quantity).where(schema.Lot.quantity > 0),
    )
    days_left = (pd.to_datetime(stocked["expires_on"]) - pd.Timestamp(TODAY)).dt.days
    assert (days_left > 0).all()  # nothing expired is still on the shelf
    assert (days_left <= 30).sum() >= 3
    assert days_left.between(31, 60).sum() >= 3
    assert days_left.between(61, 90).sum() >= 3
    written_off = frame(
        seeded.engine,
        sa.select(schema.StockMovement.reference, schema.StockMovement.moved_at).where(
            schema.StockMovement.reason == "expiry"
        ),
    )
    expired = frame(
        seeded.engine,
        sa.select(
            schema.Lot.lot_code.label("reference"), schema.Lot.expires_on, schema.Lot.quantity
        ),
    ).merge(written_off, on="reference")
    assert len(expired) > 0
    assert (expired["moved_at"].dt.date == expired["expires_on"]).all()
    assert (expired["quantity"] == 0).all()
