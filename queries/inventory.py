"""The inventory database as a source: per SKU x warehouse positions, lots and warehouses.

Aggregation (demand per day, open purchase quantities, movement sums) runs in the database;
the per-row inventory mathematics runs on the aggregated rows with the kernels of
``queries.risk``. Times are naive UTC; ``as_of`` is the moment the figures describe.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import InstrumentedAttribute

from queries import risk
from queries.database import (
    among,
    by_code_point,
    date_number,
    day_key,
    day_number,
    missing_schema,
    rows_of,
    to_datetimes,
    unparsed,
)
from queries.days import aware_utc, day_of, midnight, naive_utc
from queries.forecast_store import (
    StoredForecast,
    accuracy_over_time,
    sku_forecast,
    stale_skus,
    stored_accuracy,
    stored_plan,
)
from queries.health import Health, describe_failure
from queries.rollup_store import (
    NO_COVERAGE,
    PAIR,
    SUMMED,
    Coverage,
    RollupStore,
    daily_pair_sums,
    merge_pair_sums,
    orders_by_minute,
    stored_minutes,
    stored_window_sums,
    uncovered,
)
from queries.schema import (
    Lot,
    PurchaseOrder,
    PurchaseOrderLine,
    SalesOrder,
    SalesOrderLine,
    Sku,
    StockLevel,
    StockMovement,
    Supplier,
    Warehouse,
)

OUTBOUND_KINDS = ("shipment", "transfer")
# The columns that name a row, first in every per SKU x warehouse frame.
SKU_AND_WAREHOUSE = (
    Sku.code.label("sku_code"),
    Sku.name.label("sku_name"),
    Sku.category,
    Warehouse.code.label("warehouse_code"),
    Warehouse.name.label("warehouse_name"),
)


# Statements a snapshot runs at most (what changed since the last one, stock levels, the
# window's demand and movements, the roll-up store's coverage, sums and demand plan, lots,
# warehouses): each has the database's timeout.
SNAPSHOT_STATEMENTS = 11
# How long a snapshot's positions may be patched from what changed before they are read whole
# again. Changes are found by new ids (stock movements, sales and purchase order lines); the
# ones no new id marks (an order cancelled, a purchase order closed without a receipt, a cost,
# name or lead time edited) show within this.
FULL_READ_SECONDS = 600.0
# More SKUs changed than this since the last snapshot: reading every row is cheaper.
MAX_PATCHED_SKUS = 2000
# What a snapshot keeps of the rows it read, besides the positions, to patch them.
KEPT_ROWS = ["sku_id", "warehouse_id", "last_outbound_at"]

# order_lines_per_minute(start, end): one row per minute (described there).
ORDER_VOLUME_COLUMNS = ["timestamp", "order_lines", "units", "orders"]


@dataclass(frozen=True)
class InventoryPolicy:
    """The business assumptions behind the figures (settings INVDASH_*)."""

    holding_cost_rate: float = 0.25
    service_level: float = 0.95
    demand_window_days: int = 56
    risk_threshold: float = 0.2
    dead_stock_days: int = 90

    def __post_init__(self) -> None:
        if not 0 < self.service_level < 1:
            raise ValueError(
                f"service_level must be strictly between 0 and 1, got {self.service_level}"
            )
        if self.demand_window_days < 2:
            raise ValueError(
                f"demand_window_days must be at least 2, got {self.demand_window_days}"
            )


@dataclass(frozen=True)
class InventorySnapshot:
    """Everything the inventory panels show, fetched together at ``fetched_at`` for ``as_of``
    (both timezone-aware UTC)."""

    as_of: dt.datetime
    fetched_at: dt.datetime
    positions: pd.DataFrame
    lots: pd.DataFrame
    warehouses: pd.DataFrame


@dataclass(frozen=True)
class Watermarks:
    """The newest ids of the rows whose arrival changes a position."""

    movement_id: int
    sales_line_id: int
    purchase_line_id: int


def watermarks(conn: sa.Connection) -> Watermarks:
    def newest(column: InstrumentedAttribute[int]) -> sa.ScalarSelect[int]:
        return sa.select(sa.func.coalesce(sa.func.max(column), 0)).scalar_subquery()

    row = conn.execute(
        sa.select(newest(StockMovement.id), newest(SalesOrderLine.id), newest(PurchaseOrderLine.id))
    ).one()
    return Watermarks(int(row[0]), int(row[1]), int(row[2]))


def changed_skus(
    conn: sa.Connection, since: Watermarks, last_as_of: dt.datetime, as_of: dt.datetime
) -> list[int]:
    """The SKUs with a stock movement, sales order line or purchase order line newer than
    ``since``, or a movement dated in (last_as_of, as_of] (booked before, dated ahead of the
    last snapshot: its outbound counts from now on): the ones whose positions (in any
    warehouse: shelf life is the SKU's) may differ."""
    query = sa.union(
        sa.select(StockMovement.sku_id).where(StockMovement.id > since.movement_id),
        sa.select(StockMovement.sku_id).where(
            StockMovement.moved_at > last_as_of, StockMovement.moved_at <= as_of
        ),
        sa.select(SalesOrderLine.sku_id).where(SalesOrderLine.id > since.sales_line_id),
        sa.select(PurchaseOrderLine.sku_id).where(PurchaseOrderLine.id > since.purchase_line_id),
    )
    return sorted(int(sku) for sku in conn.execute(query).scalars())


@dataclass(frozen=True)
class _Positions:
    """The last snapshot's positions and the rows they came from, to be patched."""

    key: tuple[Any, ...]  # the day and the roll-up store's state they were read for
    marks: Watermarks
    read_at: float  # time.monotonic() of the last whole read
    as_of: dt.datetime
    # Per row of ``positions``: sku_id, warehouse_id and the last outbound read (not yet
    # limited to the dead-stock period, which moves with the clock).
    rows: pd.DataFrame
    positions: pd.DataFrame
    lots: pd.DataFrame  # expiring_lots
    lot_skus: np.ndarray  # the SKU id of each of its rows
    # The LOT_ORDER key of each row of ``lots`` (lot_sort_keys), made by the first patch.
    lot_keys: np.ndarray | None = None


class InventorySource:
    """Reads the inventory schema (queries.schema) through an SQLAlchemy Engine.

    ``snapshot`` reads every position once, then patches the positions of the SKUs that
    changed since (found by new ids) for up to ``full_read_seconds``, the day, and the roll-up
    store's state; ``stock_positions`` always reads every row.
    """

    name = "inventory database"

    def __init__(
        self,
        engine: Engine,
        policy: InventoryPolicy | None = None,
        rollups: RollupStore | None = None,
        full_read_seconds: float = FULL_READ_SECONDS,
    ) -> None:
        self.engine = engine
        self.policy = policy or InventoryPolicy()
        # Where the demand window's and the order volume's aggregates are kept (queries.
        # rollup_store); None: every figure from live queries.
        self.rollups = rollups
        self.full_read_seconds = full_read_seconds
        self._last: _Positions | None = None
        self._last_lock = threading.Lock()
        # Snapshots whose positions were read whole, and patched.
        self.full_reads = 0
        self.patches = 0

    def check_health(self) -> Health:
        """ok when the database answers and holds every table and column invdash reads."""
        backend = self.engine.url.get_backend_name()
        details = {"backend": backend, "url": self.engine.url.render_as_string(hide_password=True)}
        try:
            missing = missing_schema(self.engine)
        except Exception as error:
            return Health(
                "error", f"inventory database unreachable: {describe_failure(error)}", details
            )
        if missing:
            shown = ", ".join(missing[:5]) + (" ..." if len(missing) > 5 else "")
            return Health("error", f"inventory database lacks {shown}", details)
        if self.rollups is None:
            return Health("ok", f"{backend} database answering", details)
        # The figures are right without the roll-ups, only slower: the source stays ok.
        store = self.rollups.check_health()
        details.update({f"rollups_{key}": value for key, value in store.details.items()})
        return Health("ok", f"{backend} database answering; {store.message}", details)

    def snapshot(self, as_of: dt.datetime) -> InventorySnapshot:
        with self.engine.connect() as conn:
            # The warehouses first: their ids name the warehouses of the lots.
            known = self._warehouse_rows(conn)
            positions, lots = self._current_positions(conn, naive_utc(as_of), known)
            warehouses = known.drop(columns="warehouse_id")
        return InventorySnapshot(
            as_of=aware_utc(as_of),
            fetched_at=dt.datetime.now(dt.UTC),
            positions=positions,
            lots=lots,
            warehouses=warehouses,
        )

    def stock_positions(self, as_of: dt.datetime) -> pd.DataFrame:
        """One row per SKU x warehouse holding a stock level, at ``as_of``.

        Columns (units, floats unless said):
          sku_code, sku_name, category, warehouse_code, warehouse_name (str);
          unit_cost, unit_price (money per unit);
          on_hand, reserved, available (= on_hand - reserved), on_order (open purchase lines,
          ordered minus received), inventory_position (= available + on_order) (units);
          mean_daily_demand, sd_daily_demand (units/day over the demand window: the
          ``demand_window_days`` whole UTC days before as_of's day; days without orders count as
          zero; cancelled orders are not demand); units_ordered_window, units_shipped_window
          (units ordered and shipped on the window's order lines);
          demand_basis ("forecast": the SKU's demand forecast plans its stock, where the model
          beats the seasonal naive baseline in its backtest; "window": the demand window's
          mean and deviation do), planned_daily_demand, planned_sd_daily_demand (units/day the
          stock maths below use: the forecast's mean and error deviation shared among the
          SKU's warehouses, ``plan_demand``, or the window's);
          lead_time_days, sd_lead_time_days (the supplier's, days); shelf_life_days (the
          shortest time from receipt to expiry of any lot of the SKU, days; NaN for SKUs
          without lots);
          days_of_cover (available / planned_daily_demand; inf without demand, 0 when nothing is
          available), expected_stockout_date (timezone-aware UTC, NaT without demand);
          stockout_probability (normal lead-time demand, [0, 1]), at_risk (bool, above the risk
          threshold), safety_stock, reorder_point, economic_order_quantity (EOQ, capped
          at what sells at the planned demand within the shelf life, so an order does not expire
          on the shelf),
          suggested_order_quantity (units to order now to reach reorder point + EOQ; 0 when
          the position is above the reorder point);
          inventory_value (on_hand x unit_cost), annual_carrying_cost, daily_carrying_cost
          (money), excess_units (on hand above reorder point + EOQ), excess_value,
          excess_carrying_cost (annual, money); last_outbound_at (timezone-aware UTC, NaT when no
          outbound movement in the dead-stock period), dead_stock (bool: stock on hand and no
          outbound movement for ``dead_stock_days``), dead_stock_value;
          cogs_window (cost of units shipped in the window, money), avg_on_hand_window (mean
          end-of-day on hand over the window, units).
        """
        with self.engine.connect() as conn:
            return self._positions(conn, naive_utc(as_of))

    def expiring_lots(self, as_of: dt.datetime, within_days: int = 90) -> pd.DataFrame:
        """Lots with stock expiring before as_of's day + within_days (expired ones included).

        Columns: sku_code, sku_name, category, warehouse_code, warehouse_name, lot_code (str),
        quantity (units), unit_cost, value (money), expires_on (datetime64, midnight),
        days_to_expiry (int, negative when expired). Sorted by expiry.
        """
        with self.engine.connect() as conn:
            known = self._warehouse_rows(conn)
            return self._lots_and_skus(conn, naive_utc(as_of), known, within_days=within_days)[0]

    def warehouses(self) -> pd.DataFrame:
        """Columns: warehouse_code, warehouse_name, region (str), capacity_units (float)."""
        with self.engine.connect() as conn:
            return self._warehouses(conn)

    def order_lines_per_minute(self, start: dt.datetime, end: dt.datetime) -> pd.DataFrame:
        """Order volume per minute in [start, end), every minute present (zero when quiet).

        Columns ORDER_VOLUME_COLUMNS: timestamp (datetime64[ns, UTC], the minute's start), order_lines (int: sales
        order lines placed that minute, cancelled orders included: they were orders when placed),
        units (float: units on those lines), orders (int: sales orders placed that minute).
        """
        start, end = naive_utc(start), naive_utc(end)
        # Rows, not frames: the query takes a millisecond, a frame's construction as long.
        parts: list[list[Any]] = []
        live: list[tuple[dt.datetime, dt.datetime]] = [(start, end)]
        found = self._coverage()
        covered = found.covered_minutes(start, end)
        if self.rollups is not None and covered is not None:
            with self.rollups.engine.connect() as store:
                parts.append(stored_minutes(store, *covered))
            live = uncovered(start, end, covered)
        with self.engine.connect() as conn:
            parts.extend(
                list(conn.execute(orders_by_minute(low, high)).all()) for low, high in live
            )
        first_minute = pd.Timestamp(start).ceil("min")
        minutes = pd.date_range(first_minute, pd.Timestamp(end), freq="min", inclusive="left")
        # Each found minute put in its place among every minute of the range (numpy, not a
        # pandas reindex: this runs for every screen's refresh and its query takes a millisecond).
        order_lines = np.zeros(len(minutes), dtype="int64")
        units = np.zeros(len(minutes), dtype="float64")
        orders = np.zeros(len(minutes), dtype="int64")
        origin = first_minute.to_datetime64().astype("datetime64[m]")
        for part in parts:
            if not part:
                continue
            minute, lines, amounts, placed = zip(*part, strict=True)
            # The minute arrives as ISO text (a query) or a datetime (the store).
            at = np.array(minute, dtype="datetime64[m]")
            place = (at - origin).astype("int64")
            inside = (place >= 0) & (place < len(minutes))
            order_lines[place[inside]] = np.array(lines, dtype="int64")[inside]
            units[place[inside]] = np.array(amounts, dtype="float64")[inside]
            orders[place[inside]] = np.array(placed, dtype="int64")[inside]
        return pd.DataFrame(
            {
                "timestamp": minutes.tz_localize("UTC").as_unit("ns"),
                "order_lines": order_lines,
                "units": units,
                "orders": orders,
            }
        )

    def sku_forecast(self, sku_code: str) -> StoredForecast | None:
        """The demand forecast ``invdash rollup`` last made for one SKU, with its backtest;
        None without a roll-up store, before its first forecast, or for an unknown SKU."""
        if self.rollups is None:
            return None
        with self.engine.connect() as conn:
            sku_id = conn.execute(sa.select(Sku.id).where(Sku.code == sku_code)).scalar()
        if sku_id is None:
            return None
        with self.rollups.engine.connect() as conn:
            return sku_forecast(conn, int(sku_id))

    def forecast_accuracy(self) -> tuple[pd.DataFrame, pd.DataFrame] | None:
        """The forecasts' accuracy over the kept runs (``accuracy_over_time``) and the newest
        run's stale SKUs (``stale_skus``, with sku_code, sku_name and category); None without a
        roll-up store."""
        if self.rollups is None:
            return None
        with self.rollups.engine.connect() as conn:
            history = accuracy_over_time(conn)
            stale = stale_skus(stored_accuracy(conn))
        names = pd.DataFrame(columns=["sku_id", "sku_code", "sku_name", "category"])
        if not stale.empty:
            query = sa.select(
                Sku.id.label("sku_id"),
                Sku.code.label("sku_code"),
                Sku.name.label("sku_name"),
                Sku.category,
            ).where(Sku.id.in_([int(i) for i in stale["sku_id"]]))
            with self.engine.connect() as conn:
                names = rows_of(conn, query)
        named = stale.merge(names, on="sku_id", how="left")
        return history, named

    def sku_demand_history(self, sku_code: str, as_of: dt.datetime) -> pd.DataFrame:
        """Daily ordered units of one SKU over the demand window, every day present (zero when no
        orders), summed over warehouses. Columns: day (datetime64[ns], naive UTC midnight), units.
        Cancelled orders are not demand, as in ``stock_positions``."""
        as_of = naive_utc(as_of)
        today, window = day_of(as_of), self.policy.demand_window_days
        start, end = midnight(today - window), midnight(today)
        query = (
            sa.select(
                day_number(SalesOrder.ordered_at).label("day"),
                sa.func.sum(SalesOrderLine.quantity).label("units"),
            )
            .join(SalesOrder, SalesOrder.id == SalesOrderLine.sales_order_id)
            .join(Sku, Sku.id == SalesOrderLine.sku_id)
            .where(
                Sku.code == sku_code,
                SalesOrder.ordered_at >= start,
                SalesOrder.ordered_at < end,
                SalesOrder.status != "cancelled",
            )
            .group_by(sa.literal_column("day"))
        )
        with self.engine.connect() as conn:
            found = {int(day): float(units) for day, units in conn.execute(query).all()}
        days = range(today - window, today)
        return pd.DataFrame(
            {
                "day": pd.to_datetime([midnight(d) for d in days]).astype("datetime64[ns]"),
                "units": [found.get(d, 0.0) for d in days],
            }
        )

    def open_purchase_orders(self, sku_code: str, as_of: dt.datetime) -> pd.DataFrame:
        """Open purchase order lines of one SKU. Columns: number, supplier, warehouse_code (str),
        ordered_at (timezone-aware UTC), expected_on (a date: datetime64 midnight), open_units (float:
        ordered - received), days_late (int: days past expected_on at as_of, 0 when not late)."""
        as_of = naive_utc(as_of)
        query = (
            sa.select(
                PurchaseOrder.number,
                Supplier.name.label("supplier"),
                Warehouse.code.label("warehouse_code"),
                PurchaseOrder.ordered_at,
                PurchaseOrder.expected_on,
                (PurchaseOrderLine.quantity_ordered - PurchaseOrderLine.quantity_received).label(
                    "open_units"
                ),
            )
            .join(PurchaseOrder, PurchaseOrder.id == PurchaseOrderLine.purchase_order_id)
            .join(Sku, Sku.id == PurchaseOrderLine.sku_id)
            .join(Supplier, Supplier.id == PurchaseOrder.supplier_id)
            .join(Warehouse, Warehouse.id == PurchaseOrder.warehouse_id)
            .where(Sku.code == sku_code, PurchaseOrder.status == "open")
            .order_by(PurchaseOrder.expected_on, PurchaseOrder.number)
        )
        with self.engine.connect() as conn:
            frame = pd.DataFrame(
                conn.execute(query).all(), columns=list(query.selected_columns.keys())
            )
        frame["ordered_at"] = (
            pd.to_datetime(frame["ordered_at"]).astype("datetime64[ns]").dt.tz_localize("UTC")
        )
        frame["expected_on"] = pd.to_datetime(frame["expected_on"]).astype("datetime64[ns]")
        frame["open_units"] = frame["open_units"].astype("float64")
        late = (pd.Timestamp(as_of.date()) - frame["expected_on"]).dt.days
        frame["days_late"] = late.clip(lower=0).astype("int64")
        return frame

    def _positions(self, conn: sa.Connection, as_of: dt.datetime) -> pd.DataFrame:
        """``stock_positions``: ``position_metrics`` of every ``_position_rows`` row."""
        rows = self._position_rows(conn, as_of, self._coverage())
        return position_metrics(rows[POSITION_INPUTS], as_of, self.policy)

    def _current_positions(
        self, conn: sa.Connection, as_of: dt.datetime, warehouses: pd.DataFrame
    ) -> tuple[pd.DataFrame, pd.DataFrame]:
        """The positions and expiring lots as of ``as_of``: the last snapshot's patched where
        it can be (same day, same roll-ups, read whole less than ``full_read_seconds`` ago,
        as_of not before it), else read whole. ``warehouses``: ``_warehouse_rows``."""
        with self._last_lock:
            found = self._coverage()
            key = (day_of(as_of), found)
            marks = watermarks(conn)
            last = self._last
            if (
                last is not None
                and last.key == key
                and as_of >= last.as_of
                and time.monotonic() - last.read_at < self.full_read_seconds
            ):
                patched = self._patched(conn, last, marks, as_of, found, warehouses)
                if patched is not None:
                    self._last = patched
                    self.patches += 1
                    return patched.positions, patched.lots
            read_at = time.monotonic()
            rows = self._position_rows(conn, as_of, found)
            positions = position_metrics(rows[POSITION_INPUTS], as_of, self.policy)
            lots, lot_skus = self._lots_and_skus(conn, as_of, warehouses)
            self._last = _Positions(
                key, marks, read_at, as_of, rows[KEPT_ROWS], positions, lots, lot_skus
            )
            self.full_reads += 1
            return positions, lots

    def _patched(
        self,
        conn: sa.Connection,
        last: _Positions,
        marks: Watermarks,
        as_of: dt.datetime,
        found: Coverage,
        warehouses: pd.DataFrame,
    ) -> _Positions | None:
        """``last`` with the rows of the SKUs changed since its watermarks read again and
        every position's dates moved to ``as_of``; None when a whole read is due (too many
        SKUs changed, or a stock level came or went)."""
        skus = changed_skus(conn, last.marks, last.as_of, as_of)
        if len(skus) > MAX_PATCHED_SKUS:
            return None
        rows, positions = last.rows, last.positions
        lots, lot_skus, lot_keys = last.lots, last.lot_skus, last.lot_keys
        if skus:
            fresh = self._position_rows(conn, as_of, found, skus)
            at = np.flatnonzero(rows["sku_id"].isin(skus).to_numpy())
            # The same pairs in the same order (both sorted by SKU and warehouse code).
            if not np.array_equal(rows[PAIR].to_numpy()[at], fresh[PAIR].to_numpy()):
                return None
            rows = _rows_replaced(rows, at, fresh[KEPT_ROWS])
            changed = position_metrics(fresh[POSITION_INPUTS], as_of, self.policy)
            positions = _rows_replaced(positions, at, changed, recomputed=DATED_COLUMNS)
            fresh_lots, fresh_skus = self._lots_and_skus(conn, as_of, warehouses, skus)
            lots, lot_skus, lot_keys = _lots_merged(
                lots, lot_skus, lot_keys, ~np.isin(lot_skus, skus), fresh_lots, fresh_skus
            )
        positions = dated_columns(positions, rows["last_outbound_at"], as_of, self.policy)
        return _Positions(
            last.key, marks, last.read_at, as_of, rows, positions, lots, lot_skus, lot_keys
        )

    def _position_rows(
        self,
        conn: sa.Connection,
        as_of: dt.datetime,
        found: Coverage,
        sku_ids: list[int] | None = None,
    ) -> pd.DataFrame:
        """The stock levels (of ``sku_ids``, None: every one) and what they need from the
        database, joined with the demand window's sums per SKU x warehouse (``_pair_sums``):
        sku_id, warehouse_id and POSITION_INPUTS, sorted by SKU and warehouse code; the last
        outbound not yet limited to the dead-stock period."""

        on_order = (
            sa.select(
                PurchaseOrderLine.sku_id,
                PurchaseOrder.warehouse_id,
                sa.func.sum(
                    PurchaseOrderLine.quantity_ordered - PurchaseOrderLine.quantity_received
                ).label("on_order"),
            )
            .join(PurchaseOrder, PurchaseOrder.id == PurchaseOrderLine.purchase_order_id)
            .where(PurchaseOrder.status == "open", among(PurchaseOrderLine.sku_id, sku_ids))
            .group_by(PurchaseOrderLine.sku_id, PurchaseOrder.warehouse_id)
            .subquery("on_order")
        )
        # The shortest time from receipt to expiry of any of the SKU's lots: what an order
        # received now may have left to sell in.
        shelf_life = (
            sa.select(
                Lot.sku_id,
                sa.func.min(day_number(Lot.expires_on) - day_number(Lot.received_at)).label(
                    "shelf_life_days"
                ),
            )
            .where(among(Lot.sku_id, sku_ids))
            .group_by(Lot.sku_id)
            .subquery("shelf_life")
        )
        query = (
            sa.select(
                StockLevel.sku_id,
                StockLevel.warehouse_id,
                *SKU_AND_WAREHOUSE,
                # Floats from the database: position_metrics computes in floats anyway, and a
                # Decimal per value is most of the cost of reading every stock level.
                as_float(Sku.unit_cost, "unit_cost"),
                as_float(Sku.unit_price, "unit_price"),
                as_float(StockLevel.on_hand, "on_hand"),
                as_float(StockLevel.reserved, "reserved"),
                as_float(sa.func.coalesce(on_order.c.on_order, 0), "on_order"),
                as_float(Supplier.lead_time_mean_days, "lead_time_days"),
                as_float(Supplier.lead_time_sd_days, "sd_lead_time_days"),
                shelf_life.c.shelf_life_days,
                as_float(Supplier.order_cost, "order_cost"),
            )
            .select_from(StockLevel)
            .join(Sku, Sku.id == StockLevel.sku_id)
            .join(Warehouse, Warehouse.id == StockLevel.warehouse_id)
            .join(Supplier, Supplier.id == Sku.supplier_id)
            .outerjoin(shelf_life, shelf_life.c.sku_id == StockLevel.sku_id)
            .outerjoin(
                on_order,
                sa.and_(
                    on_order.c.sku_id == StockLevel.sku_id,
                    on_order.c.warehouse_id == StockLevel.warehouse_id,
                ),
            )
            .where(among(StockLevel.sku_id, sku_ids))
            .order_by(Sku.code, Warehouse.code)
        )
        levels = rows_of(conn, query)
        sums = self._pair_sums(conn, as_of, found, sku_ids)
        rows = levels.merge(sums, on=PAIR, how="left", validate="one_to_one")
        rows[SUMMED] = rows[SUMMED].fillna(0.0)
        plan = self._demand_plan(as_of, found, sku_ids)
        rows = rows.merge(plan, on="sku_id", how="left", validate="many_to_one")
        return rows[[*PAIR, *POSITION_INPUTS]]

    def _demand_plan(
        self, as_of: dt.datetime, found: Coverage, sku_ids: list[int] | None
    ) -> pd.DataFrame:
        """The forecasts' stock plan per SKU (sku_id and PLAN_INPUTS; ``stored_plan``), of the
        SKUs on the model; empty without forecasts covering as_of's day."""
        empty = pd.DataFrame({"sku_id": pd.Series(dtype="int64")}).assign(
            **{name: pd.Series(dtype="float64") for name in PLAN_INPUTS}
        )
        if self.rollups is None or found.forecast_day is None:
            return empty
        try:
            with self.rollups.engine.connect() as store:
                plan = stored_plan(store, day_of(as_of), sku_ids)
        except Exception:
            # A store that cannot be read leaves the window's figures (each row says so).
            return empty
        return plan.rename(
            columns={"daily_demand": PLAN_INPUTS[0], "sd_daily_demand": PLAN_INPUTS[1]}
        ).astype({"sku_id": "int64"})

    def _pair_sums(
        self,
        conn: sa.Connection,
        as_of: dt.datetime,
        found: Coverage,
        sku_ids: list[int] | None = None,
    ) -> pd.DataFrame:
        """Per SKU x warehouse (of ``sku_ids``, None: every one), the sums behind the demand
        window (``PAIR_STATS``): from the roll-up store ``found`` describes where it covers the
        days, from the database for the rest (today, days since the last roll-up, or everything
        without a store). The last outbound is the latest in the days read, not yet limited to
        the dead-stock period."""
        policy = self.policy
        today, window = day_of(as_of), policy.demand_window_days
        dead_since = as_of - dt.timedelta(days=policy.dead_stock_days)
        history_start = min(midnight(today - window), dead_since)
        since_midnight: list[tuple[dt.datetime, dt.datetime | None]] = [(midnight(today), None)]
        parts: list[pd.DataFrame] = []
        live: list[tuple[dt.datetime, dt.datetime | None]] = [(history_start, None)]
        if self.rollups is not None and found.computed_at is not None:
            try:
                with self.rollups.engine.connect() as store:
                    if (
                        found.window_day == today
                        and found.window_days == window
                        and found.dead_stock_days == policy.dead_stock_days
                    ):
                        parts.append(stored_window_sums(store, sku_ids))
                        live = since_midnight
                    else:
                        first_day = day_of(history_start)
                        covered = found.covered_days(first_day, today)
                        if covered is not None:
                            parts.append(
                                daily_pair_sums(
                                    store, today, window, policy.dead_stock_days, covered, sku_ids
                                )
                            )
                        live = [
                            (max(history_start, midnight(low)), midnight(high))
                            for low, high in uncovered(first_day, today, covered)
                        ] + since_midnight
            except Exception:
                # A store that fails half-way costs speed, not figures: every day read live.
                parts, live = [], [(history_start, None)]
        parts.append(self._live_pair_sums(conn, as_of, live, sku_ids))
        return merge_pair_sums(parts)

    def _coverage(self) -> Coverage:
        if self.rollups is None:
            return NO_COVERAGE
        try:
            return self.rollups.coverage()
        except Exception:
            # A store that cannot be read costs speed, not figures: every day is read live.
            return NO_COVERAGE

    def _live_pair_sums(
        self,
        conn: sa.Connection,
        as_of: dt.datetime,
        ranges: list[tuple[dt.datetime, dt.datetime | None]],
        sku_ids: list[int] | None = None,
    ) -> pd.DataFrame:
        """``PAIR_STATS`` of the orders and movements in ``ranges`` (an open end: no limit),
        read from the inventory database."""
        policy = self.policy
        window = policy.demand_window_days
        today = day_of(as_of)
        window_start, window_end = midnight(today - window), midnight(today)

        def within(column: InstrumentedAttribute[dt.datetime]) -> sa.ColumnElement[bool]:
            return sa.or_(
                *(
                    sa.and_(column >= low, column < high) if high is not None else column >= low
                    for low, high in ranges
                )
            )

        # Grouped by day, the day's number not needed: the cheapest key a day has.
        day = day_key(SalesOrder.ordered_at)
        daily = (
            sa.select(
                SalesOrderLine.sku_id,
                SalesOrder.warehouse_id,
                sa.func.sum(SalesOrderLine.quantity).label("ordered"),
                sa.func.sum(SalesOrderLine.quantity_shipped).label("shipped"),
            )
            .join(SalesOrder, SalesOrder.id == SalesOrderLine.sales_order_id)
            .where(
                SalesOrder.ordered_at >= window_start,
                SalesOrder.ordered_at < window_end,
                within(SalesOrder.ordered_at),
                SalesOrder.status != "cancelled",
                among(SalesOrderLine.sku_id, sku_ids),
            )
            .group_by(SalesOrderLine.sku_id, SalesOrder.warehouse_id, day)
            .subquery("daily")
        )
        demand = sa.select(
            daily.c.sku_id,
            daily.c.warehouse_id,
            sa.func.sum(daily.c.ordered).label("demand_sum"),
            sa.func.sum(daily.c.ordered * daily.c.ordered).label("demand_sum_squares"),
            sa.func.sum(daily.c.shipped).label("units_shipped_window"),
        ).group_by(daily.c.sku_id, daily.c.warehouse_id)
        in_window = sa.and_(
            StockMovement.moved_at >= window_start, StockMovement.moved_at < window_end
        )
        # Weight of a movement in the mean end-of-day on-hand: the number of window days that
        # ended before it (movements after the window count on every window day; the day's
        # number is computed only for the movements within it).
        days_before = day_number(StockMovement.moved_at) - (today - window)
        movements = (
            sa.select(
                StockMovement.sku_id,
                StockMovement.warehouse_id,
                sa.func.sum(
                    sa.case(
                        (
                            sa.and_(in_window, StockMovement.kind == "shipment"),
                            -StockMovement.quantity,
                        ),
                        else_=0,
                    )
                ).label("shipped_units"),
                sa.func.sum(
                    sa.case(
                        (StockMovement.moved_at < window_start, 0),
                        (StockMovement.moved_at >= window_end, StockMovement.quantity * window),
                        else_=StockMovement.quantity * days_before,
                    )
                ).label("weighted_movement"),
                unparsed(
                    sa.func.max(
                        sa.case(
                            (
                                sa.and_(
                                    StockMovement.quantity < 0,
                                    StockMovement.kind.in_(OUTBOUND_KINDS),
                                    StockMovement.moved_at
                                    >= as_of - dt.timedelta(days=policy.dead_stock_days),
                                    StockMovement.moved_at <= as_of,
                                ),
                                StockMovement.moved_at,
                            ),
                        )
                    ),
                    "last_outbound_at",
                ),
            )
            .where(within(StockMovement.moved_at), among(StockMovement.sku_id, sku_ids))
            .group_by(StockMovement.sku_id, StockMovement.warehouse_id)
        )
        # Ranges that start after the window (today's, beside fresh roll-ups) hold no demand.
        reaches_window = any(low < window_end for low, _high in ranges)
        demand_rows = rows_of(conn, demand) if reaches_window else pd.DataFrame()
        return merge_pair_sums([demand_rows, rows_of(conn, movements)])

    def _lots_and_skus(
        self,
        conn: sa.Connection,
        as_of: dt.datetime,
        warehouses: pd.DataFrame,
        sku_ids: list[int] | None = None,
        within_days: int = 90,
    ) -> tuple[pd.DataFrame, np.ndarray]:
        """``expiring_lots`` (of ``sku_ids``, None: every SKU) and the SKU id of each row; the
        warehouses' codes and names from ``warehouses`` (``_warehouse_rows``)."""
        today = as_of.date()
        # Numbers as floats and the expiry as a day number from the database: no Decimal or
        # date object per row to convert (a third of the time of a few thousand lots). The
        # warehouse of a row comes as its id, its code and name from the warehouses' own few
        # rows (read for the snapshot anyway): two texts a row fewer to sort, send and convert
        # (a sixth of the query's time).
        query = (
            sa.select(
                Sku.code.label("sku_code"),
                Sku.name.label("sku_name"),
                Sku.category,
                Lot.lot_code,
                as_float(Lot.quantity, "quantity"),
                as_float(Sku.unit_cost, "unit_cost"),
                date_number(Lot.expires_on).label("expiry_day"),
                Lot.sku_id,
                Lot.warehouse_id,
            )
            .join(Sku, Sku.id == Lot.sku_id)
            .join(Warehouse, Warehouse.id == Lot.warehouse_id)
            .where(
                Lot.quantity > 0,
                Lot.expires_on < today + dt.timedelta(days=within_days + 1),
                among(Lot.sku_id, sku_ids),
            )
            # LOT_ORDER, sorted by the database (text by code point whatever its collation).
            .order_by(
                Lot.expires_on,
                by_code_point(Sku.code),
                by_code_point(Warehouse.code),
                by_code_point(Lot.lot_code),
            )
        )
        rows = conn.execute(query).all()
        columns: list[Any] = (
            list(zip(*rows, strict=True)) if rows else [() for _ in query.selected_columns]
        )
        sku_code, sku_name, category, lot_code, quantity, unit_cost, expiry, sku, warehouse = (
            columns
        )
        wanted = np.fromiter(warehouse, dtype="int64", count=len(rows))
        at, codes, names = _named(warehouses, wanted)
        if at is None:
            # A warehouse added since its rows were read (two statements, read committed):
            # read them again; the lots' foreign keys name only warehouses that exist.
            at, codes, names = _named(self._warehouse_rows(conn), wanted)
            if at is None:
                raise LookupError("expiring lots name a warehouse the warehouses table lacks")
        amount = np.fromiter(quantity, dtype="float64", count=len(rows))
        cost = np.fromiter(unit_cost, dtype="float64", count=len(rows))
        expiry_day = np.fromiter(expiry, dtype="int64", count=len(rows))
        frame = pd.DataFrame(
            {
                "sku_code": pd.array(sku_code, dtype="str"),
                "sku_name": pd.array(sku_name, dtype="str"),
                "category": pd.array(category, dtype="str"),
                "warehouse_code": pd.array(codes[at], dtype="str"),
                "warehouse_name": pd.array(names[at], dtype="str"),
                "lot_code": pd.array(lot_code, dtype="str"),
                "quantity": amount,
                "unit_cost": cost,
                "value": amount * cost,
                "expires_on": expiry_day.astype("datetime64[D]").astype("datetime64[ns]"),
                "days_to_expiry": expiry_day - day_of(as_of),
            }
        )
        return frame, np.fromiter(sku, dtype="int64", count=len(rows))

    def _warehouses(self, conn: sa.Connection) -> pd.DataFrame:
        return self._warehouse_rows(conn).drop(columns="warehouse_id")

    def _warehouse_rows(self, conn: sa.Connection) -> pd.DataFrame:
        """``warehouses`` with each one's id (warehouse_id, int) first."""
        query = sa.select(
            Warehouse.id.label("warehouse_id"),
            Warehouse.code.label("warehouse_code"),
            Warehouse.name.label("warehouse_name"),
            Warehouse.region,
            as_float(Warehouse.capacity_units, "capacity_units"),
        ).order_by(Warehouse.code)
        frame = rows_of(conn, query)
        frame["capacity_units"] = frame["capacity_units"].to_numpy("float64")
        return frame


def _named(
    warehouses: pd.DataFrame, wanted: np.ndarray
) -> tuple[np.ndarray | None, np.ndarray, np.ndarray]:
    """Where each of the ``wanted`` warehouse ids is among ``warehouses`` (``_warehouse_rows``)
    sorted by id, with their codes and names in that order; None when one is not there."""
    by_id = warehouses.sort_values("warehouse_id")
    ids = by_id["warehouse_id"].to_numpy("int64")
    at = np.searchsorted(ids, wanted)
    known = at < len(ids)
    if not known.all() or not np.array_equal(ids[at], wanted):
        return None, np.array([], dtype=object), np.array([], dtype=object)
    return at, by_id["warehouse_code"].to_numpy(object), by_id["warehouse_name"].to_numpy(object)


def as_float(
    column: sa.ColumnElement[Any] | InstrumentedAttribute[Any], name: str
) -> sa.ColumnElement[float]:
    return sa.cast(column, sa.Float).label(name)


# The SKU's stock plan from its forecast (NaN where the baseline stands): units a day and their
# deviation, summed over the SKU's warehouses (``queries.forecast.PLAN_COLUMNS``).
PLAN_INPUTS = ("plan_daily_demand", "plan_sd_daily_demand")
# What position_metrics reads, in this order: the stock level's row, then the window's sums,
# then the plan (optional: rows without it are planned from the window).
POSITION_INPUTS = [
    "sku_code", "sku_name", "category", "warehouse_code", "warehouse_name", "unit_cost",
    "unit_price", "on_hand", "reserved", "on_order", "demand_sum", "demand_sum_squares",
    "units_shipped_window", "lead_time_days", "sd_lead_time_days", "shelf_life_days",
    "order_cost", "shipped_units", "weighted_movement", "last_outbound_at", *PLAN_INPUTS,
]  # fmt: skip
# demand_basis: what the stock maths of a row planned with.
FORECAST_BASIS, WINDOW_BASIS = "forecast", "window"

NUMERIC_INPUTS = (
    "unit_cost",
    "unit_price",
    "on_hand",
    "reserved",
    "on_order",
    "demand_sum",
    "demand_sum_squares",
    "units_shipped_window",
    "lead_time_days",
    "sd_lead_time_days",
    "shelf_life_days",
    "order_cost",
    "shipped_units",
    "weighted_movement",
)


def position_metrics(
    rows: pd.DataFrame, as_of: dt.datetime, policy: InventoryPolicy
) -> pd.DataFrame:
    """The per SKU x warehouse figures of ``InventorySource.stock_positions`` from its SQL rows."""
    frame = rows.copy()
    for column in NUMERIC_INPUTS:
        frame[column] = frame[column].astype("float64")
    window = float(policy.demand_window_days)
    rate = policy.holding_cost_rate

    frame["available"] = frame["on_hand"] - frame["reserved"]
    frame["inventory_position"] = frame["available"] + frame["on_order"]
    mean = frame["demand_sum"] / window
    variance = (frame["demand_sum_squares"] - window * mean**2) / (window - 1)
    frame["mean_daily_demand"] = mean
    frame["sd_daily_demand"] = np.sqrt(variance.clip(lower=0.0))
    frame["units_ordered_window"] = frame["demand_sum"]
    frame = plan_demand(frame)

    d = frame["planned_daily_demand"].to_numpy()
    lead = frame["lead_time_days"].to_numpy()
    sigma = risk.lead_time_demand_sd(
        d, frame["planned_sd_daily_demand"].to_numpy(), lead, frame["sd_lead_time_days"].to_numpy()
    )
    frame["days_of_cover"] = risk.cover_days(frame["available"].to_numpy(), d)
    frame["expected_stockout_date"] = pd.NaT
    frame["stockout_probability"] = risk.normal_stockout_probability(
        frame["inventory_position"].to_numpy(), d * lead, sigma
    )
    frame["at_risk"] = frame["stockout_probability"] > policy.risk_threshold
    frame["safety_stock"] = risk.service_factor(policy.service_level) * sigma
    frame["reorder_point"] = d * lead + frame["safety_stock"]
    holding = frame["unit_cost"] * rate
    frame["economic_order_quantity"] = risk.shelf_life_capped(
        risk.eoq(d * 365.0, frame["order_cost"].to_numpy(), holding.to_numpy()),
        d,
        frame["shelf_life_days"].to_numpy(),
    )
    target = frame["reorder_point"] + frame["economic_order_quantity"]
    shortfall = np.ceil(target - frame["inventory_position"] - 1e-9).clip(lower=0.0)
    frame["suggested_order_quantity"] = shortfall.where(
        (frame["inventory_position"] <= frame["reorder_point"]) & (d > 0),
        0.0,
    )

    frame["inventory_value"] = frame["on_hand"] * frame["unit_cost"]
    frame["annual_carrying_cost"] = frame["inventory_value"] * rate
    frame["daily_carrying_cost"] = frame["annual_carrying_cost"] / 365.0
    frame["excess_units"] = (frame["on_hand"] - target).clip(lower=0.0)
    frame["excess_value"] = frame["excess_units"] * frame["unit_cost"]
    frame["excess_carrying_cost"] = frame["excess_value"] * rate
    outbound = to_datetimes(frame["last_outbound_at"])
    frame["dead_stock"] = False
    frame["dead_stock_value"] = 0.0
    frame["cogs_window"] = frame["shipped_units"] * frame["unit_cost"]
    frame["avg_on_hand_window"] = frame["on_hand"] - frame["weighted_movement"] / window
    frame = frame.drop(
        columns=[
            "demand_sum",
            "demand_sum_squares",
            "order_cost",
            "shipped_units",
            "weighted_movement",
            *(name for name in PLAN_INPUTS if name in frame.columns),
        ]
    ).reset_index(drop=True)
    return dated_columns(frame, outbound.reset_index(drop=True), as_of, policy)


def plan_demand(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` (the window's mean_daily_demand and sd_daily_demand, demand_sum, and PLAN_INPUTS
    where a SKU has a plan) with demand_basis, planned_daily_demand and planned_sd_daily_demand.

    A SKU's forecast is of its demand summed over its warehouses; each warehouse takes its part
    of the window's demand (share s) of the forecast mean, s x plan, and of its error variance
    (the errors of independent demands add as variances), sqrt(s) x plan deviation. A SKU
    without a plan, or without demand in the window to share it by, keeps the window's figures.
    All of a SKU's rows must be in ``frame`` (a read of some SKUs reads all their warehouses)."""
    mean, sd = frame["mean_daily_demand"], frame["sd_daily_demand"]
    planned_mean, planned_sd = mean.to_numpy(copy=True), sd.to_numpy(copy=True)
    basis = np.full(len(frame), WINDOW_BASIS, dtype=object)
    if all(name in frame.columns for name in PLAN_INPUTS):
        has_plan = frame[PLAN_INPUTS[0]].notna().to_numpy()
        if has_plan.any():
            planned = frame[has_plan]
            sku_sum = (
                planned["demand_sum"].groupby(planned["sku_code"], sort=False).transform("sum")
            )
            share = (planned["demand_sum"] / sku_sum).to_numpy()
            shared = sku_sum.to_numpy() > 0
            at = np.flatnonzero(has_plan)[shared]
            share = share[shared]
            planned_mean[at] = planned[PLAN_INPUTS[0]].to_numpy()[shared] * share
            planned_sd[at] = planned[PLAN_INPUTS[1]].to_numpy()[shared] * np.sqrt(share)
            basis[at] = FORECAST_BASIS
    return frame.assign(
        demand_basis=basis, planned_daily_demand=planned_mean, planned_sd_daily_demand=planned_sd
    )


# What ``dated_columns`` computes: the figures that move with the clock.
DATED_COLUMNS = ("expected_stockout_date", "last_outbound_at", "dead_stock", "dead_stock_value")


def dated_columns(
    positions: pd.DataFrame, last_outbound: pd.Series, as_of: dt.datetime, policy: InventoryPolicy
) -> pd.DataFrame:
    """``positions`` with the figures that move with the clock computed as of ``as_of``:
    expected_stockout_date (as_of + days of cover), and last_outbound_at (``last_outbound``,
    the latest outbound movement read, kept when it falls in the dead-stock period that ends at
    as_of), dead_stock and dead_stock_value. A new frame; ``positions`` is left as it is."""
    cover = positions["days_of_cover"]
    cover = cover.where(np.isfinite(cover) & (positions["planned_daily_demand"] > 0))
    dead_since = as_of - dt.timedelta(days=policy.dead_stock_days)
    outbound = to_datetimes(last_outbound).set_axis(positions.index)
    outbound = outbound.where((outbound >= dead_since) & (outbound <= as_of))
    dead = (positions["on_hand"] > 0) & outbound.isna()
    return positions.assign(
        expected_stockout_date=(
            pd.Timestamp(as_of) + pd.to_timedelta(cover, unit="D")
        ).dt.tz_localize("UTC"),
        last_outbound_at=outbound.dt.tz_localize("UTC"),
        dead_stock=dead,
        dead_stock_value=positions["inventory_value"].where(dead, 0.0),
    )


def _rows_replaced(
    frame: pd.DataFrame, at: np.ndarray, rows: pd.DataFrame, recomputed: Collection[str] = ()
) -> pd.DataFrame:
    """``frame`` with its rows at positions ``at`` replaced by ``rows`` (as many, in that
    order, with the same columns): a new frame sharing every column whose values there are
    unchanged (the names, the costs, and within a day the demand window's figures), ``frame``
    left as it is. A column changed is copied whole: at 50k SKUs x 20 warehouses that is 8 MB
    a column, so only the ones that changed. The ``recomputed`` columns are left as they are:
    the caller computes them anew for every row."""
    replaced: dict[str, Any] = {}
    for column in frame.columns:
        if column in recomputed:
            continue
        old = frame[column]
        # A few rows can come without a value where the whole column has some (a column of
        # None among floats): cast as the whole column is.
        new = rows[column].reset_index(drop=True).astype(old.dtype)
        if old.iloc[at].reset_index(drop=True).equals(new):
            continue
        if old.dtype == object or isinstance(old.dtype, pd.StringDtype | pd.DatetimeTZDtype):
            # Text (a name or category renamed), or instants with their time zone (whose numpy
            # copy would be a Python object a row: seconds at a million rows).
            column_copy = old.copy()
            column_copy.iloc[at] = new.to_numpy()
            replaced[column] = column_copy
            continue
        values = old.to_numpy(copy=True)
        values[at] = new.to_numpy()
        replaced[column] = values
    return frame.assign(**replaced)


# Expiring lots: soonest first, then by SKU, warehouse and lot code (text by code point, so that
# a patched list, merged here, is in the order of a whole read, sorted by the database, whatever
# the database's collation).
LOT_ORDER = ["expires_on", "sku_code", "warehouse_code", "lot_code"]


# Day numbers in lot_sort_keys: offset to be positive and padded, so that text order is theirs.
_KEY_DAY_OFFSET = 10**8


def lot_sort_keys(lots: pd.DataFrame) -> np.ndarray:
    """One text per row whose order (Python's, by code point) is the LOT_ORDER of the rows: the
    fields joined by NUL, which sorts before any other character, as a shorter field does."""
    days = lots["expires_on"].to_numpy("datetime64[D]").astype("int64") + _KEY_DAY_OFFSET
    keys = np.empty(len(lots), dtype=object)
    keys[:] = [
        f"{day:010d}\0{sku}\0{warehouse}\0{lot}"
        for day, sku, warehouse, lot in zip(
            days,
            lots["sku_code"].to_numpy(object),
            lots["warehouse_code"].to_numpy(object),
            lots["lot_code"].to_numpy(object),
            strict=True,
        )
    ]
    return keys


def _lots_merged(
    lots: pd.DataFrame,
    skus: np.ndarray,
    keys: np.ndarray | None,
    kept: np.ndarray,
    fresh: pd.DataFrame,
    fresh_skus: np.ndarray,
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """The rows of ``lots`` (in LOT_ORDER, with their SKU ids and sort keys: None, not made
    yet) where ``kept``, and ``fresh`` (in LOT_ORDER too, as the database sorts them) among
    them: a merge of two sorted lists, not a sort (a sort of text by pandas took 0.13 s for the
    75,000 lots of 50k SKUs)."""
    kept_keys = (lot_sort_keys(lots) if keys is None else keys)[kept]
    kept_lots = lots.loc[kept].reset_index(drop=True)
    if fresh.empty:  # (an empty read has no column types to join)
        return kept_lots, skus[kept], kept_keys
    fresh_keys = lot_sort_keys(fresh)
    # Each fresh row after the kept rows of an equal key, as a stable sort of both would put it.
    at = np.searchsorted(kept_keys, fresh_keys, side="right")
    order = np.insert(np.arange(len(kept_keys)), at, len(kept_keys) + np.arange(len(fresh)))
    merged = pd.concat([kept_lots, fresh], ignore_index=True).take(order)
    return (
        merged.reset_index(drop=True),
        np.concatenate([skus[kept], fresh_skus])[order],
        np.concatenate([kept_keys, fresh_keys])[order],
    )
