"""The demo's business carries on: new orders as the minutes pass, picked and shipped from stock.

``invdash seed`` writes a history that ends when it runs, so a demo left on a wall screen would
show no orders an hour later. ``continue_orders`` brings such a database up to ``now``:

* every whole minute since the newest order (at most ``HORIZON`` back) gets the orders placed in
  the same minute one week earlier, each taken a Poisson(1) number of times: the week's rhythm
  (time of day, weekday, warehouse, SKUs, lines, quantities) carries on, with fresh noise, and
  a share ``CANCELLED_ORDER_SHARE`` of them cancelled; in a checkout outage (``demo.visitors``)
  the Poisson mean is the share of checkouts that go through, and a minute whose week-earlier
  one lay in an outage takes the orders of two weeks earlier;
* lots that expired since are written off (Pharmacy), as the seed does;
* open lines older than the picking delay are picked first come first served against stock on
  hand, one shipment movement per SKU x warehouse, lots consumed oldest first; order statuses and
  reserved stock follow.

It keeps the seed's invariants (on hand is the sum of the movements and never negative; a
Pharmacy series' lots add up to its on hand; reserved is min(on hand, unshipped open quantity);
a status follows the shipped quantities) and, like the seed, receives no purchase orders: their
arrival days are the simulation's secret. Only invdash's own demo database is written to, and
only when ``INVDASH_DEMO_ORDERS`` allows it (``dashboard.settings``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from demo import seed as demo_seed
from demo import visitors
from queries.schema import Base, Lot, SalesOrder, SalesOrderLine, StockLevel, StockMovement

# Never fill further back than this: a longer gap is a demo that was switched off, better
# seeded anew (``invdash serve`` does) than replayed a week at a time.
HORIZON = dt.timedelta(hours=24)
REPLAY_LAG = dt.timedelta(days=7)
PICKING_DELAY = dt.timedelta(minutes=demo_seed.PICKING_DELAY_MINUTES)
# The seed writes lots off this long after midnight of their expiry date.
EXPIRY_TIME = dt.time(0, 5)
OPEN_STATUSES = ("open", "partially_shipped")
SERIES = ["sku_id", "warehouse_id"]


@dataclass(frozen=True)
class ContinuedOrders:
    """What one call of ``continue_orders`` booked."""

    until: dt.datetime | None  # the last whole minute that has orders now (naive UTC)
    orders: int
    lines: int
    picked_lines: int
    shipped_units: int
    expired_units: int

    def __str__(self) -> str:
        if self.until is None:
            return "no orders to carry on (the database has none)"
        return (
            f"orders up to {self.until:%Y-%m-%d %H:%M} UTC: {self.orders} new orders "
            f"({self.lines} lines), {self.picked_lines} lines picked "
            f"({self.shipped_units} units shipped), {self.expired_units} expired units written off"
        )


def continue_orders(engine: Engine, now: dt.datetime, seed: int | None = None) -> ContinuedOrders:
    """Bring the demo's orders, picking and expiries up to ``now`` (aware or naive UTC), in one
    transaction. The random draws depend on ``seed`` and ``now`` alone, so a repeat is exact.
    Calling it again at the same minute changes nothing."""
    moment = _naive_utc_minute(now)
    rng = np.random.default_rng([seed or 0, int(moment.timestamp()) // 60])
    with engine.begin() as conn:
        newest = conn.execute(sa.select(sa.func.max(SalesOrder.ordered_at))).scalar()
        if newest is None:
            return ContinuedOrders(None, 0, 0, 0, 0, 0)
        start = max(
            pd.Timestamp(newest).to_pydatetime() + dt.timedelta(minutes=1), moment - HORIZON
        )
        orders, lines = _place_orders(conn, rng, start, moment)
        expired = _write_off_expired_lots(conn, moment)
        picked, shipped = _pick(conn, moment)
        _reserve(conn)
        until = max(pd.Timestamp(newest).to_pydatetime(), moment - dt.timedelta(minutes=1))
        return ContinuedOrders(until, orders, lines, picked, shipped, expired)


def _naive_utc_minute(moment: dt.datetime) -> dt.datetime:
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.UTC).replace(tzinfo=None)
    return moment.replace(second=0, microsecond=0)


def _rows(conn: Connection, query: sa.Select[*tuple[Any, ...]]) -> pd.DataFrame:
    result = conn.execute(query)
    frame = pd.DataFrame(result.all(), columns=list(result.keys()))
    for column in frame.columns:  # NUMERIC arrives as Decimal: whole units, as integers
        if len(frame) and isinstance(frame[column].iloc[0], Decimal):
            frame[column] = frame[column].astype("int64")
    return frame


def _records(frame: pd.DataFrame, **columns: str) -> list[dict[str, Any]]:
    """The rows as parameter dicts, ``columns`` naming each parameter's column; Python values."""
    renamed = frame[list(columns.values())].set_axis(list(columns), axis=1)
    return [{str(k): v for k, v in row.items()} for row in renamed.to_dict("records")]


def _python_datetimes(moments: pd.Series) -> list[dt.datetime]:
    return [moment.to_pydatetime() for moment in moments.tolist()]


def _book_movements(conn: Connection, rows: pd.DataFrame, kind: str, reason: str | None) -> None:
    """Stock movements of ``kind``: rows hold sku_id, warehouse_id, moved_at, quantity (signed)
    and reference."""
    conn.execute(
        sa.insert(StockMovement).values(kind=kind, reason=reason),
        _records(
            rows, sku_id="sku_id", warehouse_id="warehouse_id", moved_at="moved_at",
            quantity="quantity", reference="reference",
        ),
    )  # fmt: skip


def _place_orders(
    conn: Connection, rng: np.random.Generator, start: dt.datetime, end: dt.datetime
) -> tuple[int, int]:
    """Orders in the whole minutes [start, end): a week earlier's (two weeks earlier's for a
    minute whose week-earlier one had a checkout outage), each taken a Poisson number of times
    whose mean is the share of checkouts that go through in the new minute (``demo.visitors``)."""
    if start >= end:
        return 0, 0
    # The orders of the same minutes one and two weeks earlier (two ranges as long as
    # [start, end), not the week between them).
    replayed = sa.or_(
        *(
            (SalesOrder.ordered_at >= start - weeks * REPLAY_LAG)
            & (SalesOrder.ordered_at < end - weeks * REPLAY_LAG)
            for weeks in (1, 2)
        )
    )
    templates = _rows(
        conn,
        sa.select(SalesOrder.id, SalesOrder.warehouse_id, SalesOrder.ordered_at)
        .where(replayed)
        .order_by(SalesOrder.ordered_at, SalesOrder.id),
    )
    if templates.empty:
        return 0, 0
    lag = pd.Timedelta(REPLAY_LAG)
    placed_at = pd.to_datetime(templates["ordered_at"])
    source_minutes = (placed_at - pd.Timestamp(0)) // pd.Timedelta(minutes=1)
    week = REPLAY_LAG // dt.timedelta(minutes=1)
    first, last = pd.Timestamp(start), pd.Timestamp(end)
    # A template serves the minute a week after it unless it lay in an outage (that minute
    # takes its orders from two weeks earlier), and the minute two weeks after it when the
    # one between lay in one.
    one_week = (~visitors.outage_minutes(source_minutes)) & (placed_at + lag >= first)
    one_week &= placed_at + lag < last
    two_weeks = visitors.outage_minutes(source_minutes + week) & (placed_at + 2 * lag >= first)
    two_weeks &= placed_at + 2 * lag < last
    served = pd.concat(
        [
            templates.loc[one_week].assign(lag=1),
            templates.loc[two_weeks].assign(lag=2),
        ],
        ignore_index=True,
    )
    if served.empty:
        return 0, 0
    served["ordered_at"] = pd.to_datetime(served["ordered_at"]) + served.pop("lag") * lag
    served = served.sort_values(["ordered_at", "id"], kind="stable", ignore_index=True)
    target_minutes = (served["ordered_at"] - pd.Timestamp(0)) // pd.Timedelta(minutes=1)
    copies = rng.poisson(visitors.success_share(target_minutes))
    new = served.loc[served.index.repeat(copies)].reset_index(drop=True)
    if new.empty:
        return 0, 0
    first_id = (
        int(conn.execute(sa.select(sa.func.coalesce(sa.func.max(SalesOrder.id), 0))).scalar_one())
        + 1
    )
    new["template"] = new.pop("id")
    new["id"] = np.arange(first_id, first_id + len(new))
    new["number"] = [f"SO{order:09d}" for order in new["id"].tolist()]
    new["ordered_at"] = _python_datetimes(new["ordered_at"])
    cancelled = rng.random(len(new)) < demo_seed.CANCELLED_ORDER_SHARE
    new["status"] = np.where(cancelled, "cancelled", "open")
    conn.execute(
        sa.insert(SalesOrder),
        _records(
            new, id="id", number="number", warehouse_id="warehouse_id",
            ordered_at="ordered_at", status="status",
        ),
    )  # fmt: skip
    demo_seed.move_id_sequences_past_data(conn, [Base.metadata.tables[SalesOrder.__tablename__]])
    template_lines = _rows(
        conn,
        sa.select(
            SalesOrderLine.sales_order_id.label("template"),
            SalesOrderLine.line_number,
            SalesOrderLine.sku_id,
            SalesOrderLine.quantity,
        )
        .join(SalesOrder, SalesOrder.id == SalesOrderLine.sales_order_id)
        .where(replayed)
        .order_by(SalesOrderLine.sales_order_id, SalesOrderLine.line_number),
    )
    lines = (
        new[["id", "template"]]
        .merge(template_lines, on="template")
        .sort_values(["id", "line_number"])
    )
    conn.execute(
        sa.insert(SalesOrderLine).values(quantity_shipped=0),
        _records(
            lines, sales_order_id="id", line_number="line_number", sku_id="sku_id",
            quantity="quantity",
        ),
    )  # fmt: skip
    return len(new), len(lines)


def _write_off_expired_lots(conn: Connection, moment: dt.datetime) -> int:
    """Lots holding stock whose expiry has passed, written off as the seed does at 00:05."""
    last_expired = moment.date() - dt.timedelta(days=0 if moment.time() >= EXPIRY_TIME else 1)
    lots = _rows(
        conn,
        sa.select(Lot.id, Lot.sku_id, Lot.warehouse_id, Lot.lot_code, Lot.quantity, Lot.expires_on)
        .where(Lot.quantity > 0, Lot.expires_on <= last_expired)
        .order_by(Lot.id),
    )
    if lots.empty:
        return 0
    expiry_moment = [dt.datetime.combine(day, EXPIRY_TIME) for day in lots["expires_on"].tolist()]
    _book_movements(
        conn,
        lots.assign(moved_at=expiry_moment, quantity=-lots["quantity"], reference=lots["lot_code"]),
        kind="adjustment",
        reason="expiry",
    )
    conn.execute(
        sa.update(Lot).where(Lot.id == sa.bindparam("lot")).values(quantity=0),
        _records(lots, lot="id"),
    )
    _take_from_stock(conn, lots.groupby(SERIES)["quantity"].sum().reset_index())
    return int(lots["quantity"].sum())


def _pick(conn: Connection, moment: dt.datetime) -> tuple[int, int]:
    """Open lines ordered at least the picking delay ago, first come first served per series."""
    open_lines = _rows(
        conn,
        sa.select(
            SalesOrderLine.id,
            SalesOrderLine.sales_order_id,
            SalesOrderLine.sku_id,
            SalesOrder.warehouse_id,
            SalesOrder.ordered_at,
            (SalesOrderLine.quantity - SalesOrderLine.quantity_shipped).label("remaining"),
            SalesOrderLine.quantity_shipped,
        )
        .join(SalesOrder, SalesOrder.id == SalesOrderLine.sales_order_id)
        .where(
            SalesOrder.status.in_(OPEN_STATUSES),
            SalesOrder.ordered_at <= moment - PICKING_DELAY,
            SalesOrderLine.quantity_shipped < SalesOrderLine.quantity,
        ),
    )
    if open_lines.empty:
        return 0, 0
    stock = _rows(conn, sa.select(StockLevel.sku_id, StockLevel.warehouse_id, StockLevel.on_hand))
    stock["series"] = np.arange(len(stock))
    queue = open_lines.merge(stock, on=SERIES).sort_values(["series", "ordered_at", "id"])
    take = demo_seed.fifo_allocate(
        queue["series"].to_numpy(np.int64),
        queue["remaining"].to_numpy(np.int64),
        stock["on_hand"].to_numpy(np.int64),
    )
    picked = queue.assign(take=take).loc[take > 0]
    if picked.empty:
        return 0, 0
    conn.execute(
        sa.update(SalesOrderLine)
        .where(SalesOrderLine.id == sa.bindparam("line"))
        .values(quantity_shipped=sa.bindparam("shipped")),
        _records(
            picked.assign(shipped=picked["quantity_shipped"] + picked["take"]),
            line="id",
            shipped="shipped",
        ),
    )
    _update_statuses(conn, picked["sales_order_id"].unique().tolist())
    shipped = picked.groupby(SERIES)["take"].sum().rename("quantity").reset_index()
    _book_movements(
        conn,
        shipped.assign(moved_at=moment, quantity=-shipped["quantity"], reference=None),
        kind="shipment",
        reason=None,
    )
    _take_from_stock(conn, shipped)
    _consume_lots(conn, shipped)
    return len(picked), int(picked["take"].sum())


def _update_statuses(conn: Connection, order_ids: list[int]) -> None:
    totals = _rows(
        conn,
        sa.select(
            SalesOrderLine.sales_order_id.label("order"),
            sa.func.sum(SalesOrderLine.quantity).label("ordered"),
            sa.func.sum(SalesOrderLine.quantity_shipped).label("shipped"),
        )
        .where(SalesOrderLine.sales_order_id.in_(order_ids))
        .group_by(SalesOrderLine.sales_order_id),
    )
    status = np.where(totals["shipped"] >= totals["ordered"], "shipped", "partially_shipped")
    conn.execute(
        sa.update(SalesOrder)
        .where(SalesOrder.id == sa.bindparam("order"))
        .values(status=sa.bindparam("status")),
        _records(totals.assign(status=status), order="order", status="status"),
    )


def _take_from_stock(conn: Connection, taken: pd.DataFrame) -> None:
    """Lower on hand by ``taken`` (sku_id, warehouse_id, quantity)."""
    conn.execute(
        sa.update(StockLevel)
        .where(
            StockLevel.sku_id == sa.bindparam("sku"),
            StockLevel.warehouse_id == sa.bindparam("warehouse"),
        )
        .values(
            on_hand=StockLevel.on_hand - sa.bindparam("quantity", type_=StockLevel.on_hand.type)
        ),
        _records(taken, sku="sku_id", warehouse="warehouse_id", quantity="quantity"),
    )


def _consume_lots(conn: Connection, shipped: pd.DataFrame) -> None:
    """Take shipped units from the lot-tracked series' lots, oldest lot first, as the seed does."""
    lots = _rows(
        conn,
        sa.select(Lot.id, Lot.sku_id, Lot.warehouse_id, Lot.quantity)
        .where(Lot.quantity > 0)
        .order_by(Lot.id),
    ).merge(shipped.rename(columns={"quantity": "used"}), on=SERIES)
    if lots.empty:
        return
    lots = lots.sort_values([*SERIES, "id"], kind="stable")
    series = np.asarray(lots.groupby(SERIES, sort=False).ngroup(), dtype=np.int64)
    budget = lots.groupby(SERIES, sort=False)["used"].first().to_numpy(np.int64)
    used = demo_seed.fifo_allocate(series, lots["quantity"].to_numpy(np.int64), budget)
    consumed = lots.assign(used=used).loc[used > 0]
    conn.execute(
        sa.update(Lot).where(Lot.id == sa.bindparam("lot")).values(quantity=sa.bindparam("left")),
        _records(
            consumed.assign(left=consumed["quantity"] - consumed["used"]), lot="id", left="left"
        ),
    )


def _reserve(conn: Connection) -> None:
    """Reserved = min(on hand, unshipped quantity of open orders), for every series that changed."""
    unshipped = _rows(
        conn,
        sa.select(
            SalesOrderLine.sku_id,
            SalesOrder.warehouse_id,
            sa.func.sum(SalesOrderLine.quantity - SalesOrderLine.quantity_shipped).label("open"),
        )
        .join(SalesOrder, SalesOrder.id == SalesOrderLine.sales_order_id)
        .where(SalesOrder.status.in_(OPEN_STATUSES))
        .group_by(SalesOrderLine.sku_id, SalesOrder.warehouse_id),
    )
    levels = _rows(
        conn,
        sa.select(
            StockLevel.sku_id, StockLevel.warehouse_id, StockLevel.on_hand, StockLevel.reserved
        ),
    ).merge(unshipped, on=SERIES, how="left")
    wanted = np.minimum(levels["open"].fillna(0).astype("int64"), levels["on_hand"])
    changed = levels.assign(wanted=wanted).loc[wanted != levels["reserved"]]
    if changed.empty:
        return
    conn.execute(
        sa.update(StockLevel)
        .where(
            StockLevel.sku_id == sa.bindparam("sku"),
            StockLevel.warehouse_id == sa.bindparam("warehouse"),
        )
        .values(reserved=sa.bindparam("reserved")),
        _records(changed, sku="sku_id", warehouse="warehouse_id", reserved="wanted"),
    )
