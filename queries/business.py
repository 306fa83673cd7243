"""The business figures invdash exports for Prometheus to alert on: few series, bounded labels.

Per warehouse (a company has tens of them, never one series per SKU): the inventory value and
the SKUs at stockout risk; for the whole company: the value of the lots expiring within 30, 60
and 90 days, the orders a minute, and (queries.correlation) the order lines per 1,000 requests of the order services.
Each is computed from the frames the panels show, so an alert and a screen never disagree.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from queries.rollups import expiring_soon

EXPIRY_HORIZONS = (30, 60, 90)
# Orders a minute: the mean of the newest whole minutes, so one quiet minute is not an outage.
ORDER_RATE_MINUTES = 5


@dataclass(frozen=True)
class WarehouseGauges:
    warehouse_code: str
    inventory_value: float  # at unit cost
    skus_at_risk: int  # SKUs whose position in the warehouse is above the risk threshold


def warehouse_gauges(positions: pd.DataFrame, warehouses: pd.DataFrame) -> list[WarehouseGauges]:
    """One per warehouse of ``warehouses`` (a warehouse without stock levels reads 0), from
    ``stock_positions`` rows; in warehouse code order."""
    by_warehouse = positions.groupby("warehouse_code", sort=False).agg(
        inventory_value=("inventory_value", "sum"), skus_at_risk=("at_risk", "sum")
    )
    codes = sorted(str(code) for code in warehouses["warehouse_code"])
    # Warehouses without stock levels read 0.
    values = by_warehouse["inventory_value"].reindex(codes, fill_value=0.0).astype("float64")
    at_risk = by_warehouse["skus_at_risk"].reindex(codes, fill_value=0).astype("int64")
    return [
        WarehouseGauges(code, float(value), int(risky))
        for code, value, risky in zip(codes, values.to_numpy(), at_risk.to_numpy(), strict=True)
    ]


def expiring_values(lots: pd.DataFrame) -> dict[int, float]:
    """The value (at unit cost) of the stock in lots expiring within each of EXPIRY_HORIZONS
    days from today, inclusive, as the /ops tile counts it (expired lots are not among them):
    ``expiring_lots`` rows read for at least the longest horizon."""
    return {days: expiring_soon(lots, days).value for days in EXPIRY_HORIZONS}


def orders_per_minute(volume: pd.DataFrame, minutes: int = ORDER_RATE_MINUTES) -> float:
    """The mean orders a minute over the newest ``minutes`` minutes of an
    ``order_lines_per_minute`` frame of whole minutes; NaN for an empty one."""
    if volume.empty:
        return math.nan
    newest = volume.sort_values("timestamp").tail(minutes)
    return float(newest["orders"].mean())
