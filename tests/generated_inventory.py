"""An inventory snapshot made in memory at the ``m`` scale's size (10k SKUs x 10 warehouses), for
tests of what the page sends at scale without the 30 s seed.

The per SKU x warehouse figures come from ``queries.inventory.position_metrics`` (the computation
``InventorySource`` runs on its SQL rows), fed with random rows of the same columns; the lots and
warehouses have the columns of ``expiring_lots`` and ``warehouses``. Names are as long as the
seed's, so the bytes per row are those of a real database.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from queries.inventory import InventoryPolicy, InventorySnapshot, position_metrics

AS_OF = dt.datetime(2026, 11, 27, 12, 0)
CATEGORIES = ("Apparel", "Electronics", "Grocery", "Hardware", "Pharmacy")
PRODUCTS = ("Cotton T-Shirt", "Antiseptic Cream", "Cordless Drill", "Oat Granola", "USB-C Hub")
BRANDS = ("Fabrikam", "Juniper", "Contoso", "Polar", "Northwind")
COLOURS = ("Black", "Olive", "Navy", "Red", "White")


def generated_snapshot(
    skus: int = 10_000,
    warehouses: int = 10,
    lots: int = 30_000,
    seed: int = 11,
    policy: InventoryPolicy | None = None,
) -> InventorySnapshot:
    """``skus`` x ``warehouses`` positions (every SKU stocked everywhere, most with demand) and
    ``lots`` lots expiring within 90 days of AS_OF, some already expired."""
    policy = policy or InventoryPolicy()
    rng = np.random.default_rng(seed)
    rows = skus * warehouses
    sku_index = np.repeat(np.arange(skus), warehouses)
    warehouse_index = np.tile(np.arange(warehouses), skus)
    category = np.array(CATEGORIES)[np.arange(skus) % len(CATEGORIES)]
    codes = np.array([f"{c[:3].upper()}-{i:06d}" for i, c in enumerate(category)])
    names = np.array(
        [
            f"{BRANDS[i % 5]} {PRODUCTS[(i // 5) % 5]}, {COLOURS[(i // 25) % 5]}, size {i % 7}"
            for i in range(skus)
        ]
    )
    warehouse_codes = np.array([f"WH{w + 1}" for w in range(warehouses)])
    warehouse_names = np.array(
        [f"Warehouse {w + 1} Distribution Center" for w in range(warehouses)]
    )
    unit_cost = rng.uniform(1.0, 80.0, skus).round(2)
    mean_demand = np.where(rng.random(rows) < 0.9, rng.gamma(2.0, 1.5, rows), 0.0)
    window = float(policy.demand_window_days)
    demand_sum = (mean_demand * window).round()
    on_hand = rng.integers(0, 120, rows).astype("float64")
    inputs = pd.DataFrame(
        {
            "sku_code": codes[sku_index],
            "sku_name": names[sku_index],
            "category": category[sku_index],
            "warehouse_code": warehouse_codes[warehouse_index],
            "warehouse_name": warehouse_names[warehouse_index],
            "unit_cost": unit_cost[sku_index],
            "unit_price": (unit_cost * 1.6).round(2)[sku_index],
            "on_hand": on_hand,
            "reserved": np.minimum(on_hand, rng.integers(0, 5, rows)).astype("float64"),
            "on_order": np.where(rng.random(rows) < 0.3, rng.integers(10, 60, rows), 0),
            "demand_sum": demand_sum,
            "demand_sum_squares": demand_sum**2 / window * rng.uniform(1.0, 2.0, rows),
            "units_shipped_window": (demand_sum * 0.95).round(),
            "lead_time_days": rng.uniform(3.0, 14.0, skus)[sku_index],
            "sd_lead_time_days": rng.uniform(0.5, 3.0, skus)[sku_index],
            "shelf_life_days": np.where(category == "Pharmacy", 180.0, np.nan)[sku_index],
            "order_cost": 50.0,
            "shipped_units": (demand_sum * 0.95).round(),
            "weighted_movement": rng.normal(0.0, 5.0, rows),
            "last_outbound_at": pd.Series(
                np.where(demand_sum > 0, np.datetime64(AS_OF - dt.timedelta(days=1)), None),
                dtype="datetime64[ns]",
            ),
        }
    )
    # The order InventorySource reads them in.
    inputs = inputs.sort_values(["sku_code", "warehouse_code"], kind="stable")
    positions = position_metrics(inputs.reset_index(drop=True), AS_OF, policy)

    lot_rows = rng.integers(0, rows, lots)
    expires_on = pd.Timestamp(AS_OF.date()) + pd.to_timedelta(rng.integers(-20, 91, lots), unit="D")
    lot_frame = pd.DataFrame(
        {
            "sku_code": positions["sku_code"].to_numpy()[lot_rows],
            "sku_name": positions["sku_name"].to_numpy()[lot_rows],
            "category": positions["category"].to_numpy()[lot_rows],
            "warehouse_code": positions["warehouse_code"].to_numpy()[lot_rows],
            "warehouse_name": positions["warehouse_name"].to_numpy()[lot_rows],
            "lot_code": [f"L{day:%y%m%d}-{i:06d}" for i, day in enumerate(expires_on)],
            "quantity": rng.integers(1, 40, lots).astype("float64"),
            "unit_cost": positions["unit_cost"].to_numpy()[lot_rows],
            "expires_on": expires_on.astype("datetime64[ns]"),
        }
    )
    lot_frame["value"] = lot_frame["quantity"] * lot_frame["unit_cost"]
    lot_frame["days_to_expiry"] = (
        lot_frame["expires_on"] - pd.Timestamp(AS_OF.date())
    ).dt.days.astype("int64")
    lot_frame = lot_frame.sort_values(
        ["expires_on", "sku_code", "warehouse_code", "lot_code"], kind="stable"
    ).reset_index(drop=True)

    warehouse_frame = pd.DataFrame(
        {
            "warehouse_code": warehouse_codes,
            "warehouse_name": warehouse_names,
            "region": [f"Region {w % 4}" for w in range(warehouses)],
            "capacity_units": on_hand.reshape(skus, warehouses).sum(axis=0) * 1.25,
        }
    )
    return InventorySnapshot(
        as_of=AS_OF,
        fetched_at=dt.datetime.now(dt.UTC).replace(tzinfo=None),
        positions=positions,
        lots=lot_frame,
        warehouses=warehouse_frame,
    )
