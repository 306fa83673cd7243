"""Roll-ups of a snapshot's per SKU x warehouse rows: by warehouse, by category, and the KPIs.

Pure functions of the DataFrames ``InventorySource`` returns; the dashboard filters and rolls
up one cached snapshot per refresh instead of querying the database per screen and filter.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

Dimension = Literal["warehouse", "category"]
EXPIRY_HORIZONS_DAYS = (30, 60, 90)
ALL = "all"


@dataclass(frozen=True)
class InventoryKpis:
    """Headline figures of a (filtered) snapshot. Money in the database's currency."""

    inventory_value: float
    annual_carrying_cost: float
    skus_at_risk: int
    sku_count: int
    fill_rate: (
        float | None
    )  # units shipped / units ordered in the demand window; None without orders


def filter_rows(frame: pd.DataFrame, warehouse: str = ALL, category: str = ALL) -> pd.DataFrame:
    """Rows of one warehouse code and/or category; ``"all"`` keeps every value."""
    keep = pd.Series(True, index=frame.index)
    if warehouse != ALL:
        keep &= frame["warehouse_code"] == warehouse
    if category != ALL:
        keep &= frame["category"] == category
    return frame.loc[keep]


def inventory_kpis(positions: pd.DataFrame) -> InventoryKpis:
    """SKUs at risk counts distinct SKU codes with any warehouse above the risk threshold."""
    ordered = float(positions["units_ordered_window"].sum())
    shipped = float(positions["units_shipped_window"].sum())
    return InventoryKpis(
        inventory_value=float(positions["inventory_value"].sum()),
        annual_carrying_cost=float(positions["annual_carrying_cost"].sum()),
        skus_at_risk=int(positions.loc[positions["at_risk"], "sku_code"].nunique()),
        sku_count=int(positions["sku_code"].nunique()),
        fill_rate=shipped / ordered if ordered > 0 else None,
    )


# The columns of a summary_by row that are sums over its positions.
GROUP_SUMS = [
    "inventory_value",
    "annual_carrying_cost",
    "daily_carrying_cost",
    "excess_units",
    "excess_value",
    "excess_carrying_cost",
    "dead_stock_value",
    "skus_at_risk",
    "on_hand",
    "units_ordered",
    "units_shipped",
    "cogs_window",
    "avg_value_window",
]


def summary_by(
    positions: pd.DataFrame,
    lots: pd.DataFrame,
    dimension: Dimension,
    demand_window_days: int,
    warehouses: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """One row per warehouse or category, sorted by inventory value (largest first).

    Columns: key (warehouse code or category), label (warehouse name or category),
    inventory_value, annual_carrying_cost, daily_carrying_cost, excess_units, excess_value,
    excess_carrying_cost (annual), dead_stock_value, expired_value, expiring_30_units,
    expiring_30_value, expiring_60_units, expiring_60_value, expiring_90_units,
    expiring_90_value (lots with stock expiring within N days from today, inclusive; expired
    lots are not in these), skus_at_risk (SKU x warehouse rows above the threshold),
    on_hand (units), fill_rate (units shipped / ordered in the window, NaN without orders),
    turnover (annualised cost of goods shipped / mean inventory value over the window, NaN
    without stock). For warehouses, with ``warehouses`` given: capacity_units and
    utilisation (on hand / capacity; NaN without capacity).
    """
    key = "warehouse_code" if dimension == "warehouse" else "category"
    frame = positions.assign(
        avg_value_window=positions["avg_on_hand_window"] * positions["unit_cost"],
        skus_at_risk=positions["at_risk"].astype("int64"),
        units_ordered=positions["units_ordered_window"],
        units_shipped=positions["units_shipped_window"],
    )
    grouped = frame.groupby(key, sort=False)[GROUP_SUMS].sum()
    ordered = grouped["units_ordered"]
    grouped["fill_rate"] = (grouped["units_shipped"] / ordered).where(ordered > 0)
    annual_cogs = grouped["cogs_window"] * 365.0 / demand_window_days
    average_value = grouped["avg_value_window"]
    grouped["turnover"] = (annual_cogs / average_value).where(average_value > 0)

    expired = lots[lots["days_to_expiry"] < 0].groupby(key)["value"].sum()
    grouped["expired_value"] = expired.reindex(grouped.index, fill_value=0.0)
    for horizon in EXPIRY_HORIZONS_DAYS:
        sums = expiring_within(lots, horizon).groupby(key)[["quantity", "value"]].sum()
        grouped[f"expiring_{horizon}_units"] = sums["quantity"].reindex(
            grouped.index, fill_value=0.0
        )
        grouped[f"expiring_{horizon}_value"] = sums["value"].reindex(grouped.index, fill_value=0.0)

    grouped = grouped.drop(
        columns=["units_ordered", "units_shipped", "cogs_window", "avg_value_window"]
    )
    grouped = grouped.reset_index().rename(columns={key: "key"})
    if dimension == "warehouse":
        names = positions.drop_duplicates("warehouse_code").set_index("warehouse_code")[
            "warehouse_name"
        ]
        grouped.insert(1, "label", grouped["key"].map(names))
        if warehouses is not None:
            capacity = warehouses.set_index("warehouse_code")["capacity_units"]
            grouped["capacity_units"] = grouped["key"].map(capacity).astype("float64")
            grouped["utilisation"] = (grouped["on_hand"] / grouped["capacity_units"]).where(
                grouped["capacity_units"] > 0
            )
    else:
        grouped.insert(1, "label", grouped["key"])
    return grouped.sort_values(["inventory_value", "key"], ascending=[False, True]).reset_index(
        drop=True
    )


def expiring_within(lots: pd.DataFrame, days: int) -> pd.DataFrame:
    """The lots (``expiring_lots`` rows) with stock expiring within ``days`` days from today,
    inclusive; expired lots are not among them."""
    return lots[(lots["days_to_expiry"] >= 0) & (lots["days_to_expiry"] <= days)]


@dataclass(frozen=True)
class ExpiringSoon:
    """The lots expiring within a horizon (``expiring_soon``)."""

    lots: int
    value: float  # at unit cost


def expiring_soon(lots: pd.DataFrame, days: int) -> ExpiringSoon:
    within = expiring_within(lots, days)
    return ExpiringSoon(len(within), float(within["value"].sum()))


def orders_in_last_hour(volume: pd.DataFrame) -> int:
    """Orders in the last 60 minutes of an ``order_lines_per_minute`` frame (its newest minute
    and the 59 before it), 0 for an empty one."""
    if volume.empty:
        return 0
    newest = volume["timestamp"].max()
    return int(volume.loc[volume["timestamp"] >= newest - pd.Timedelta(minutes=59), "orders"].sum())


@dataclass(frozen=True)
class DemandBand:
    """The mean and standard deviation of a daily demand series (``sku_demand_history``)."""

    mean: float
    sd: float  # sample deviation (n - 1), as position_metrics'; 0 for fewer than two days


def demand_band(history: pd.DataFrame) -> DemandBand:
    """The band of the series a SKU detail plots: its days summed over warehouses, so the
    deviation is the series' own (the root of the warehouses' summed variances would assume
    their demand independent, and be narrower when it moves together)."""
    units = history["units"].to_numpy("float64")
    if len(units) == 0:
        return DemandBand(0.0, 0.0)
    sd = float(units.std(ddof=1)) if len(units) > 1 else 0.0
    return DemandBand(float(units.mean()), sd)


def top_stockout_risks(positions: pd.DataFrame, limit: int | None = None) -> pd.DataFrame:
    """Rows with demand, most likely to run out first (probability, then fewest days of cover)."""
    rows = positions[positions["mean_daily_demand"] > 0]
    rows = rows.sort_values(
        ["stockout_probability", "days_of_cover", "sku_code", "warehouse_code"],
        ascending=[False, True, True, True],
    )
    return rows if limit is None else rows.head(limit)


def choices(frame: pd.DataFrame, column: str) -> list[str]:
    """Distinct values of a column, sorted, for a filter's options."""
    return sorted(str(v) for v in frame[column].dropna().unique())


def as_finite(values: pd.Series) -> pd.Series:
    """Infinite values (days of cover without demand) as NaN for JSON and display."""
    return values.replace([np.inf, -np.inf], np.nan)
