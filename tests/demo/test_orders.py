"""The demo carries on after it was seeded: last week's orders come again minute by minute, are
picked from stock after the picking delay, and every rule of the seeded history still holds."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
from inventory_invariants import assert_inventory_invariants, frame, scalar
from postgresql_database import BACKENDS, engine_for

from demo import visitors
from demo.orders import HORIZON, PICKING_DELAY, REPLAY_LAG, continue_orders
from demo.seed import seed_database
from queries.inventory import InventoryPolicy, InventorySource
from queries.schema import TABLES, Base, Lot, SalesOrder, SalesOrderLine, StockLevel, StockMovement

SEEDED_AT = dt.datetime(2026, 11, 27, 12, 34)  # a Friday
LATER = SEEDED_AT + dt.timedelta(hours=3, seconds=40)


def copy_of_seeded(tmp_path: Path, name: str, template: Path) -> sa.Engine:
    copy = tmp_path / name
    copy.write_bytes(template.read_bytes())
    return sa.create_engine(f"sqlite:///{copy}")


@pytest.fixture(scope="module")
def seeded_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("demo-orders") / "seeded.sqlite3"
    engine = sa.create_engine(f"sqlite:///{path}")
    seed_database(engine, "demo", seed=7, now=SEEDED_AT)
    engine.dispose()
    return path


@pytest.fixture
def seeded(seeded_file: Path, tmp_path: Path) -> sa.Engine:
    """A fresh copy of the demo seeded at SEEDED_AT, for a test to write to."""
    return copy_of_seeded(tmp_path, "demo.sqlite3", seeded_file)


@pytest.fixture(scope="module", params=BACKENDS)
def carried_on(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[sa.Engine]:
    """The demo seeded at SEEDED_AT and carried on to LATER, once per backend."""
    with engine_for(request, tmp_path_factory, "invdash_feed") as engine:
        seed_database(engine, "demo", seed=7, now=SEEDED_AT)
        assert continue_orders(engine, LATER, seed=7).orders > 0
        yield engine


def new_orders(engine: sa.Engine) -> pd.DataFrame:
    return frame(
        engine,
        sa.select(SalesOrder.id, SalesOrder.warehouse_id, SalesOrder.ordered_at, SalesOrder.status)
        .where(SalesOrder.ordered_at > SEEDED_AT)
        .order_by(SalesOrder.id),
    )


def lines_of(engine: sa.Engine, orders: list[int]) -> pd.DataFrame:
    return frame(
        engine,
        sa.select(
            SalesOrderLine.sales_order_id,
            SalesOrderLine.line_number,
            SalesOrderLine.sku_id,
            SalesOrderLine.quantity,
        ).where(SalesOrderLine.sales_order_id.in_(orders)),
    )


def table_digests(engine: sa.Engine) -> dict[str, str]:
    with engine.connect() as conn:
        return {
            table.name: hashlib.sha256(
                repr(conn.execute(sa.select(table).order_by(*table.primary_key)).all()).encode()
            ).hexdigest()
            for table in TABLES
        }


def test_every_whole_minute_since_the_seed_has_orders_like_last_weeks(
    carried_on: sa.Engine,
) -> None:
    new = new_orders(carried_on)
    assert new["ordered_at"].min() > SEEDED_AT
    # Whole minutes only: the minute LATER is in has not ended yet.
    assert new["ordered_at"].max() < LATER.replace(second=0)
    assert (new["ordered_at"].dt.second == 0).all()
    week_ago = frame(
        carried_on,
        sa.select(SalesOrder.id, SalesOrder.warehouse_id, SalesOrder.ordered_at).where(
            SalesOrder.ordered_at > SEEDED_AT - REPLAY_LAG,
            SalesOrder.ordered_at < LATER.replace(second=0) - REPLAY_LAG,
        ),
    )
    # Each old order comes again a Poisson number of times, of mean 1 outside a checkout
    # outage (12:40 to 13:55 that Friday) and of the outage's success share inside it.
    assert visitors.in_outage(dt.datetime(2026, 11, 27, 13, 0))
    assert not visitors.outage_minutes(
        pd.to_datetime(week_ago["ordered_at"]).map(visitors.minute_of)
    ).any()
    expected = visitors.success_share(
        (pd.to_datetime(week_ago["ordered_at"]) + REPLAY_LAG).map(visitors.minute_of)
    ).sum()
    assert 0.7 * expected <= len(new) <= 1.3 * expected
    assert (new["status"] == "cancelled").mean() < 0.1

    # Every new order repeats an order of a week before: warehouse, minute, SKUs and quantities.
    def basket(lines: pd.DataFrame) -> pd.Series:
        return (
            lines.sort_values("line_number")
            .groupby("sales_order_id")
            .apply(lambda order: tuple(zip(order["sku_id"], order["quantity"], strict=True)))
        )

    new_baskets = basket(lines_of(carried_on, new["id"].tolist()))
    old_baskets = basket(lines_of(carried_on, week_ago["id"].tolist()))
    assert set(new_baskets.index) == set(new["id"])
    old = week_ago.assign(basket=week_ago["id"].map(old_baskets))
    templates = set(
        zip(old["warehouse_id"], old["ordered_at"] + REPLAY_LAG, old["basket"], strict=True)
    )
    for order in new.assign(basket=new["id"].map(new_baskets)).itertuples():
        assert (order.warehouse_id, order.ordered_at, order.basket) in templates, order


def test_a_checkout_outage_books_a_tenth_of_the_orders_and_a_week_later_replays_two_weeks_back(
    seeded: sa.Engine,
) -> None:
    # The Friday's outages: 12:40 to 13:55 (its week's) and none at 16:40 (the week before's,
    # whose minutes the orders loop must not replay).
    outage_start, outage_end = visitors.next_outage(dt.datetime(2026, 11, 27, 12, 0, tzinfo=dt.UTC))
    assert (outage_start.hour, outage_start.minute, outage_end.hour) == (12, 40, 13)
    assert visitors.in_outage(dt.datetime(2026, 11, 20, 16, 50))  # a week before, 16:40 to 17:55
    ends = dt.datetime(2026, 11, 27, 18, 30)
    continue_orders(seeded, ends, seed=7)

    def placed(first: dt.datetime, last: dt.datetime) -> pd.DataFrame:
        return frame(
            seeded,
            sa.select(SalesOrder.id, SalesOrder.ordered_at).where(
                SalesOrder.ordered_at >= first, SalesOrder.ordered_at < last
            ),
        )

    minutes = dt.timedelta(minutes=visitors.OUTAGE_LENGTH)
    week, start = REPLAY_LAG, dt.datetime(2026, 11, 27, 12, 40)
    during, normal = placed(start, start + minutes), placed(start - week, start - week + minutes)
    assert len(normal) > 20
    assert len(during) < 0.3 * len(normal)  # about a tenth get through

    # 16:40 a week before had an outage: that span's orders repeat those of two weeks before.
    later = dt.datetime(2026, 11, 27, 16, 40)
    now, two_weeks = (
        placed(later, later + minutes),
        placed(later - 2 * week, later - 2 * week + minutes),
    )
    assert 0.7 * len(two_weeks) <= len(now) <= 1.3 * len(two_weeks)
    templates = set(pd.to_datetime(two_weeks["ordered_at"]) + 2 * week)
    assert set(pd.to_datetime(now["ordered_at"])) <= templates


def test_the_seeded_rules_still_hold_after_carrying_on(carried_on: sa.Engine) -> None:
    assert_inventory_invariants(carried_on)


def test_orders_older_than_the_picking_delay_wait_only_for_stock(carried_on: sa.Engine) -> None:
    cutoff = LATER.replace(second=0) - PICKING_DELAY
    waiting = frame(
        carried_on,
        sa.select(
            SalesOrderLine.sku_id,
            SalesOrder.warehouse_id,
            SalesOrder.ordered_at,
            (SalesOrderLine.quantity - SalesOrderLine.quantity_shipped).label("remaining"),
        )
        .join(SalesOrder, SalesOrder.id == SalesOrderLine.sales_order_id)
        .where(SalesOrder.status.in_(["open", "partially_shipped"])),
    )
    waiting = waiting[waiting["remaining"] > 0]
    stock = frame(
        carried_on, sa.select(StockLevel.sku_id, StockLevel.warehouse_id, StockLevel.on_hand)
    )
    pickable = waiting[waiting["ordered_at"] <= cutoff].merge(stock, on=["sku_id", "warehouse_id"])
    assert (pickable["on_hand"] == 0).all(), "a pickable line waits although its stock is there"
    # Orders of the last two hours are all still waiting, whatever the stock.
    recent = new_orders(carried_on)
    recent = recent[(recent["ordered_at"] > cutoff) & (recent["status"] != "cancelled")]
    assert len(recent) > 0
    assert (recent["status"] == "open").all()
    # Orders carried on and older than the delay were picked where stock allowed (above).
    older = new_orders(carried_on)
    older = older[(older["ordered_at"] <= cutoff) & (older["status"] != "cancelled")]
    assert (older["status"] == "shipped").any()
    shipments = frame(
        carried_on,
        sa.select(StockMovement.moved_at, StockMovement.quantity).where(
            StockMovement.kind == "shipment", StockMovement.moved_at > SEEDED_AT
        ),
    )
    assert set(shipments["moved_at"]) == {LATER.replace(second=0)}
    assert (shipments["quantity"] < 0).all()


def test_the_order_volume_query_sees_the_new_minutes(carried_on: sa.Engine) -> None:
    volume = InventorySource(carried_on, InventoryPolicy()).order_lines_per_minute(
        (LATER - dt.timedelta(hours=1)).replace(tzinfo=dt.UTC), LATER.replace(tzinfo=dt.UTC)
    )
    busy = volume.loc[volume["order_lines"] > 0, "timestamp"]
    assert len(busy) >= 5
    assert busy.max() >= pd.Timestamp(LATER.replace(second=0) - dt.timedelta(minutes=15), tz="UTC")


def test_carrying_on_again_at_the_same_minute_changes_nothing(seeded: sa.Engine) -> None:
    first = continue_orders(seeded, LATER, seed=7)
    before = table_digests(seeded)
    again = continue_orders(seeded, LATER.replace(second=5), seed=7)
    assert (again.orders, again.lines, again.picked_lines, again.expired_units) == (0, 0, 0, 0)
    assert table_digests(seeded) == before
    assert first.until == again.until == LATER.replace(second=0) - dt.timedelta(minutes=1)


def test_the_same_seed_and_moment_give_the_same_rows(seeded_file: Path, tmp_path: Path) -> None:
    one = copy_of_seeded(tmp_path, "one.sqlite3", seeded_file)
    two = copy_of_seeded(tmp_path, "two.sqlite3", seeded_file)
    continue_orders(one, LATER, seed=7)
    continue_orders(two, LATER, seed=7)
    assert table_digests(one) == table_digests(two)


def test_a_gap_longer_than_the_horizon_is_filled_for_its_last_part_only(
    seeded: sa.Engine,
) -> None:
    much_later = SEEDED_AT + dt.timedelta(days=3)
    report = continue_orders(seeded, much_later, seed=7)
    new = new_orders(seeded)
    assert report.orders == len(new) > 0
    assert new["ordered_at"].min() >= much_later - HORIZON
    assert_inventory_invariants(seeded)


def test_lots_that_expire_meanwhile_are_written_off_at_five_past_midnight(
    seeded: sa.Engine,
) -> None:
    lots = frame(
        seeded,
        sa.select(Lot.id, Lot.lot_code, Lot.quantity, Lot.expires_on).where(Lot.quantity > 0),
    )
    expiring = lots[lots["expires_on"] > SEEDED_AT.date()].sort_values("expires_on").iloc[0]
    moment = dt.datetime.combine(expiring["expires_on"], dt.time(0, 6))
    report = continue_orders(seeded, moment, seed=7)
    assert report.expired_units >= expiring["quantity"]
    assert scalar(seeded, sa.select(Lot.quantity).where(Lot.id == int(expiring["id"]))) == 0
    written_off = frame(
        seeded,
        sa.select(StockMovement.moved_at, StockMovement.quantity, StockMovement.reason).where(
            StockMovement.reference == expiring["lot_code"], StockMovement.kind == "adjustment"
        ),
    )
    assert written_off.to_dict("records") == [
        {
            "moved_at": pd.Timestamp(dt.datetime.combine(expiring["expires_on"], dt.time(0, 5))),
            "quantity": -expiring["quantity"],
            "reason": "expiry",
        }
    ]
    assert_inventory_invariants(seeded)


def test_a_database_without_orders_is_left_alone(tmp_path: Path) -> None:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'empty.sqlite3'}")
    Base.metadata.create_all(engine)
    report = continue_orders(engine, LATER)
    assert report.until is None
    assert str(report) == "no orders to carry on (the database has none)"
    assert scalar(engine, sa.select(sa.func.count()).select_from(StockMovement)) == 0
