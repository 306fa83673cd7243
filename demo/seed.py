"""A simulated trading history for the inventory schema: demos, benchmarks and tests.

``seed_database`` fills every table of ``queries.schema`` with the history of a distribution
business over the ``days`` before ``now``, so that every panel of the dashboard has something
true to show, including the situations it exists to catch:

* a catalogue in six categories (Pharmacy, Electronics, Grocery, Apparel, Home, Tools) with
  readable names, unit prices above unit costs and one supplier each; suppliers differ in lead
  time (mean 2-30 days, with a spread) and ordering cost;
* warehouses WH1..WHn, one of them nearly full (90-97 % of capacity), the others 40-75 %;
* demand per SKU x warehouse series with a weekly rhythm (weekends differ by category), a
  holiday peak of a few days, promotions lifting some SKUs for a week or so, many
  intermittent slow movers, and one family (Electronics) whose demand shifts mid-history: it
  climbs steadily from the middle of the history to twice its level at ``now``, so a forecast
  fitted without a trend falls behind it, as a model going stale does; the demo shop's
  visitors come in hourly bursts and its checkout breaks now and then (``demo.visitors``):
  the orders follow both; orders carry 1-4 lines, arrive all day (busier in daytime) right up
  to ``now``, and those of the last two hours are still waiting to be picked (reserved stock);
* replenishment by reorder point and order quantity from the supplier's lead time: received,
  partly received, open and late purchase orders; some series run out inside the last eight
  weeks because their supplier is late, and their orders wait as backorders;
* shrinkage, damage and cycle-count adjustments, transfers between warehouses, and for
  Pharmacy, lots with expiry dates consumed first-in first-out and written off when they expire.

The simulation runs day by day, each day vectorised across every SKU x warehouse series, so the
largest scale stays a matter of minutes. The same seed, ``now`` and scale give the same rows.
Invariants the tests hold it to: on hand is the sum of the movements and never negative; a
Pharmacy series' lots add up to its on hand; reserved is min(on hand, unshipped open quantity).
"""

from __future__ import annotations

import datetime as dt
import itertools
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import numpy as np
import numpy.typing as npt
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.schema import CreateIndex, DropIndex
from sqlalchemy.sql.compiler import SQLCompiler

from demo import visitors
from queries.schema import (
    ADJUSTMENT_REASONS,
    MOVEMENT_KINDS,
    SALES_ORDER_STATUSES,
    TABLES,
    Base,
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

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


def as_floats(values: npt.ArrayLike) -> FloatArray:
    return np.asarray(values, dtype=np.float64)


def as_ints(values: npt.ArrayLike) -> IntArray:
    return np.asarray(values, dtype=np.int64)


# --- Scales, errors, report ---------------------------------------------------------------------


@dataclass(frozen=True)
class Scale:
    """How much history to make: SKUs x warehouses series, over ``days`` days ending today."""

    skus: int
    warehouses: int
    days: int
    # Sales order lines per SKU x warehouse and day, on average.
    lines_per_series_day: float = 0.17  # LINES_PER_SERIES_DAY, below


SCALES: dict[str, Scale] = {
    # The demo's shop is busier per series than the large ones, so its wall screen's order
    # chart is never mostly empty: about 2,500 lines (1,300 orders) a day, 80 orders an hour by
    # day, and the orders per minute follow the visitors' hourly bursts (demo.visitors).
    "demo": Scale(skus=500, warehouses=5, days=120, lines_per_series_day=1.0),
    "m": Scale(skus=10_000, warehouses=10, days=120),  # about 2 million sales order lines
    "l": Scale(skus=50_000, warehouses=20, days=120),  # about 20 million: meant for PostgreSQL
}


class DatabaseNotEmptyError(RuntimeError):
    """The database already holds inventory rows, and replacing them was not asked for."""

    def __init__(self, table: str) -> None:
        super().__init__(
            f"table {table!r} already holds rows; pass --force to drop every inventory table "
            "and seed afresh"
        )
        self.table = table


@dataclass(frozen=True)
class SeedReport:
    """What ``seed_database`` wrote: rows per table (schema order) and the wall-clock time."""

    scale: Scale
    seed: int
    now: dt.datetime
    window_start: dt.datetime
    row_counts: dict[str, int]
    elapsed_seconds: float

    @property
    def total_rows(self) -> int:
        return sum(self.row_counts.values())

    def __str__(self) -> str:
        scale = self.scale
        name = next((name for name, known in SCALES.items() if known == scale), "custom")
        tables = ", ".join(f"{table} {count:,}" for table, count in self.row_counts.items())
        return (
            f"seeded scale {name} ({scale.skus:,} SKUs x {scale.warehouses} warehouses x "
            f"{scale.days} days, seed {self.seed}) up to {self.now:%Y-%m-%d %H:%M} UTC: "
            f"{self.total_rows:,} rows in {self.elapsed_seconds:.1f} s ({tables})"
        )


# --- Tunables: each is a modelling choice, named so the docstring's claims can be traced -------

MINUTES_PER_DAY = 1440
MIN_DAYS = 14
# Orders younger than this are not picked yet: their lines are open and their stock reserved.
PICKING_DELAY_MINUTES = 120
# Calibrated so that scale "m" gives about 2 million sales order lines over 120 days.
LINES_PER_SERIES_DAY = 0.17
LINES_PER_ORDER_PROBABILITIES = (0.45, 0.30, 0.15, 0.10)
MEAN_LINES_PER_ORDER = float(np.dot(np.arange(1, 5), LINES_PER_ORDER_PROBABILITIES))
CANCELLED_ORDER_SHARE = 0.015
# Demand relative to an average weekday, Monday first; categories scale the weekend further.
WEEKDAY_FACTORS = (1.05, 1.0, 0.98, 1.0, 1.08, 0.72, 0.58)
HOLIDAY_FACTORS = (2.0, 3.4, 2.9, 1.9)
# Hourly order intensity (UTC), midnight first: quiet nights, a long busy day.
HOURLY_PROFILE = (
    0.15, 0.10, 0.08, 0.08, 0.10, 0.20, 0.45, 0.80, 1.10, 1.30, 1.40, 1.45,
    1.40, 1.35, 1.30, 1.25, 1.20, 1.15, 1.20, 1.30, 1.20, 0.90, 0.55, 0.30,
)  # fmt: skip
PROMOTED_SKU_SHARE = 0.06
SERVICE_FACTOR = 1.65  # z of a 95 % cycle service level
PARTIAL_DELIVERY_SHARE = 0.15
OVERSTOCKED_SERIES_SHARE = 0.04
SHRINKAGE_PROBABILITY = 0.004  # per stocked series and day
DAMAGE_PROBABILITY = 0.001
CYCLE_COUNT_PROBABILITY = 0.01
TRANSFERS_PER_SERIES_DAY = 1 / 4000
# Minutes after midnight of the daily events, so that within a day inbound stock is booked
# before anything leaves and a day's balance never dips below zero between movements.
EXPIRY_MINUTE = 5
DELIVERY_MINUTE = 4 * 60  # plus up to two hours
TRANSFER_MINUTE = 19 * 60
ADJUSTMENT_MINUTE = 20 * 60  # plus up to three hours
PURCHASE_MINUTE = 23 * 60  # plus up to an hour: tonight's planning run
# Late suppliers: series picked on a few days 50 to 22 days before today lose their deliveries
# until after their stock has run out.
LATE_SUPPLY_FIRST_DAY, LATE_SUPPLY_LAST_DAY = 50, 22
LATE_SUPPLY_MIN_SERIES, LATE_SUPPLY_SERIES_PER = 10, 250

REF_NONE, REF_OPENING, REF_PURCHASE, REF_TRANSFER, REF_LOT = range(5)
RECEIPT, SHIPMENT, TRANSFER, ADJUSTMENT = (
    MOVEMENT_KINDS.index(k) for k in ("receipt", "shipment", "transfer", "adjustment")
)
CYCLE_COUNT, SHRINKAGE, DAMAGE, EXPIRY = (
    ADJUSTMENT_REASONS.index(r) for r in ("cycle_count", "shrinkage", "damage", "expiry")
)
NO_REASON = -1


# --- Catalogue -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Category:
    name: str
    code_prefix: str
    share: float
    median_unit_cost: float
    markup: tuple[float, float]
    units_per_line: tuple[float, float]
    weekend: tuple[float, float]  # Saturday and Sunday, on top of WEEKDAY_FACTORS
    slow_mover_share: float
    shelf_life_days: tuple[int, int]  # (0, 0): not lot-tracked
    supplier_word: str
    nouns: tuple[str, ...]
    variants: tuple[str, ...]


PHARMACY = "Pharmacy"
SHORT_SHELF_LIFE_SHARE = 0.3
SHORT_SHELF_LIFE_DAYS = (60, 120)

CATEGORIES: tuple[Category, ...] = (
    Category(
        name=PHARMACY, code_prefix="PHA", share=0.15, median_unit_cost=6.0, markup=(1.4, 2.2),
        units_per_line=(1.0, 3.0), weekend=(0.85, 0.7), slow_mover_share=0.3,
        shelf_life_days=(180, 720), supplier_word="Pharma",
        nouns=("Ibuprofen 200 mg Tablets", "Paracetamol 500 mg Tablets", "Vitamin D3 Capsules",
               "Saline Nasal Spray", "Antiseptic Cream", "Cough Syrup", "Allergy Relief Tablets",
               "Insulin Pen Needles", "Lubricating Eye Drops", "Probiotic Capsules",
               "Amoxicillin 500 mg Capsules", "Hydrocortisone Cream 1%",
               "Oral Rehydration Salts"),
        variants=("12 pack", "24 pack", "48 pack", "100 ml", "30 g", "60 count"),
    ),
    Category(
        name="Electronics", code_prefix="ELE", share=0.17, median_unit_cost=35.0,
        markup=(1.25, 1.8), units_per_line=(1.0, 1.6), weekend=(1.15, 1.0),
        slow_mover_share=0.35, shelf_life_days=(0, 0), supplier_word="Electronics",
        nouns=("USB-C Cable", "Wireless Mouse", "Bluetooth Speaker", "Power Bank",
               "HDMI Adapter", "27in Monitor", "Mechanical Keyboard", "HD Webcam", "Smart Plug",
               "Earbuds", "Wi-Fi Router", "Phone Charger"),
        variants=("Black", "White", "Pro", "Mini", "2 m", "Travel Edition"),
    ),
    Category(
        name="Grocery", code_prefix="GRO", share=0.22, median_unit_cost=2.5, markup=(1.2, 1.5),
        units_per_line=(2.0, 6.0), weekend=(1.3, 1.1), slow_mover_share=0.15,
        shelf_life_days=(0, 0), supplier_word="Foods",
        nouns=("Arabica Coffee Beans", "Basmati Rice", "Extra Virgin Olive Oil",
               "Sparkling Water", "Oat Flakes", "Dark Chocolate", "Fusilli Pasta", "Green Tea",
               "Peanut Butter", "Tomato Passata", "Wildflower Honey"),
        variants=("250 g", "500 g", "1 kg", "6-pack", "750 ml", "Organic 500 g"),
    ),
    Category(
        name="Apparel", code_prefix="APP", share=0.17, median_unit_cost=12.0, markup=(1.8, 2.8),
        units_per_line=(1.0, 2.0), weekend=(1.35, 1.2), slow_mover_share=0.4,
        shelf_life_days=(0, 0), supplier_word="Textiles",
        nouns=("Cotton T-Shirt", "Rain Jacket", "Wool Socks", "Denim Jeans", "Running Shorts",
               "Fleece Hoodie", "Baseball Cap", "Leather Belt"),
        variants=tuple(
            f"{colour}, size {size}"
            for colour, size in itertools.product(
                ("Black", "Navy", "Olive", "Grey"), ("S", "M", "L", "XL")
            )
        ),
    ),
    Category(
        name="Home", code_prefix="HOM", share=0.15, median_unit_cost=14.0, markup=(1.5, 2.2),
        units_per_line=(1.0, 2.0), weekend=(1.2, 1.0), slow_mover_share=0.3,
        shelf_life_days=(0, 0), supplier_word="Homeware",
        nouns=("Ceramic Mug", "Bath Towel", "LED Bulb", "Storage Box", "Scented Candle",
               "Frying Pan", "Cushion Cover", "Glass Jar", "Doormat"),
        variants=("Small", "Large", "Set of 2", "Set of 4", "Warm White", "Sage"),
    ),
    Category(
        # Trade customers: quiet weekends.
        name="Tools", code_prefix="TOO", share=0.14, median_unit_cost=18.0, markup=(1.4, 2.0),
        units_per_line=(1.0, 1.8), weekend=(0.6, 0.45), slow_mover_share=0.35,
        shelf_life_days=(0, 0), supplier_word="Tool Works",
        nouns=("Cordless Drill", "Claw Hammer", "Tape Measure", "Screwdriver Set",
               "Adjustable Wrench", "Utility Knife", "Spirit Level", "Wood Screws 4x40",
               "Safety Gloves"),
        variants=("Standard", "Heavy Duty", "Compact", "18 V", "5 m", "Pack of 100"),
    ),
)  # fmt: skip
# The family whose demand shifts mid-history (its index in CATEGORIES), and by how much.
SHIFT_CATEGORY = next(i for i, c in enumerate(CATEGORIES) if c.name == "Electronics")
SHIFT_GROWTH = 1.0

BRANDS = ("Acme", "Northwind", "Contoso", "Fabrikam", "Lumen", "Vertex", "Orchid", "Kestrel",
          "Polar", "Sable", "Tidewater", "Juniper")  # fmt: skip
SUPPLIER_NAMES = ("Northwind", "Apex", "Bluewater", "Cedar", "Summit", "Harbor", "Ironwood",
                  "Meridian", "Pioneer", "Redwood", "Silverline", "Trident", "Vantage",
                  "Keystone", "Granite", "Aurora")  # fmt: skip
SUPPLIER_SUFFIXES = ("Ltd", "Inc", "Supply Co", "GmbH", "Trading", "Wholesale")
WAREHOUSE_SITES = (
    ("Newark", "Northeast"), ("Atlanta", "Southeast"), ("Chicago", "Midwest"),
    ("Dallas", "South Central"), ("Reno", "West"), ("Seattle", "Pacific Northwest"),
    ("Denver", "Mountain"), ("Columbus", "Midwest"), ("Memphis", "Southeast"),
    ("Phoenix", "Southwest"), ("Allentown", "Northeast"), ("Indianapolis", "Midwest"),
    ("Ontario", "West"), ("Jacksonville", "Southeast"), ("Kansas City", "Central"),
    ("Salt Lake City", "Mountain"), ("Charlotte", "Southeast"), ("Houston", "South Central"),
    ("Portland", "Pacific Northwest"), ("Harrisburg", "Northeast"),
)  # fmt: skip


@dataclass(frozen=True)
class Catalogue:
    supplier_names: list[str]
    lead_time_mean_days: FloatArray
    lead_time_sd_days: FloatArray
    order_cost: FloatArray
    sku_codes: list[str]
    sku_names: list[str]
    sku_category: IntArray
    unit_cost: FloatArray
    unit_price: FloatArray
    sku_supplier: IntArray
    shelf_life_days: IntArray  # 0 for SKUs without lots
    warehouse_names: list[str]
    warehouse_regions: list[str]

    @property
    def skus(self) -> int:
        return len(self.sku_codes)

    @property
    def warehouses(self) -> int:
        return len(self.warehouse_names)

    @property
    def series(self) -> int:
        # Series n is SKU n % skus in warehouse n // skus: each warehouse's series are adjacent.
        return self.skus * self.warehouses

    def lot_tracked_series(self) -> BoolArray:
        return np.tile(self.shelf_life_days > 0, self.warehouses)


def build_catalogue(rng: np.random.Generator, scale: Scale) -> Catalogue:
    supplier_category = _supplier_categories(rng, scale.skus)
    sku_category = _sku_categories(rng, scale.skus)
    sku_supplier = _sku_suppliers(rng, sku_category, supplier_category)
    lead_mean = np.round(rng.uniform(2.0, 30.0, supplier_category.size), 1)
    unit_cost, unit_price = _unit_costs_and_prices(rng, sku_category)
    sites = [WAREHOUSE_SITES[w % len(WAREHOUSE_SITES)] for w in range(scale.warehouses)]
    return Catalogue(
        supplier_names=_supplier_names(rng, supplier_category),
        lead_time_mean_days=lead_mean,
        lead_time_sd_days=np.round(lead_mean * rng.uniform(0.1, 0.35, lead_mean.size), 1),
        order_cost=np.round(rng.uniform(25.0, 400.0, lead_mean.size), 2),
        sku_codes=[
            f"{CATEGORIES[c].code_prefix}-{i + 1:06d}" for i, c in enumerate(sku_category.tolist())
        ],
        sku_names=_sku_names(rng, sku_category),
        sku_category=sku_category,
        unit_cost=unit_cost,
        unit_price=unit_price,
        sku_supplier=sku_supplier,
        shelf_life_days=_shelf_lives(rng, sku_category),
        warehouse_names=[
            f"{city} Distribution Center"
            + (f" {w // len(WAREHOUSE_SITES) + 1}" if w >= len(WAREHOUSE_SITES) else "")
            for w, (city, _) in enumerate(sites)
        ],
        warehouse_regions=[region for _, region in sites],
    )


def _category_shares() -> FloatArray:
    shares = np.array([c.share for c in CATEGORIES])
    return as_floats(shares / shares.sum())


def _sku_categories(rng: np.random.Generator, skus: int) -> IntArray:
    # Every category is present even in a tiny catalogue.
    rest = rng.choice(len(CATEGORIES), size=skus - len(CATEGORIES), p=_category_shares())
    return np.concatenate([np.arange(len(CATEGORIES)), rest]).astype(np.int64)


def _supplier_categories(rng: np.random.Generator, skus: int) -> IntArray:
    count = int(np.clip(skus // 20, len(CATEGORIES), 40))
    rest = rng.choice(len(CATEGORIES), size=count - len(CATEGORIES), p=_category_shares())
    return np.concatenate([np.arange(len(CATEGORIES)), rest]).astype(np.int64)


def _sku_suppliers(
    rng: np.random.Generator, sku_category: IntArray, supplier_category: IntArray
) -> IntArray:
    supplier = np.empty(sku_category.size, dtype=np.int64)
    for category in range(len(CATEGORIES)):
        skus = np.flatnonzero(sku_category == category)
        candidates = np.flatnonzero(supplier_category == category)
        supplier[skus] = rng.choice(candidates, size=skus.size)
    return supplier


def _supplier_names(rng: np.random.Generator, supplier_category: IntArray) -> list[str]:
    first = rng.integers(0, len(SUPPLIER_NAMES), supplier_category.size)
    suffix = rng.integers(0, len(SUPPLIER_SUFFIXES), supplier_category.size)
    return [
        f"{SUPPLIER_NAMES[f]} {CATEGORIES[c].supplier_word} {SUPPLIER_SUFFIXES[s]}"
        for f, c, s in zip(first.tolist(), supplier_category.tolist(), suffix.tolist(), strict=True)
    ]


def _sku_names(rng: np.random.Generator, sku_category: IntArray) -> list[str]:
    brand = rng.integers(0, len(BRANDS), sku_category.size).tolist()
    noun = rng.integers(0, 1 << 30, sku_category.size).tolist()
    variant = rng.integers(0, 1 << 30, sku_category.size).tolist()
    names = []
    for c, b, n, v in zip(sku_category.tolist(), brand, noun, variant, strict=True):
        category = CATEGORIES[c]
        noun_text = category.nouns[n % len(category.nouns)]
        variant_text = category.variants[v % len(category.variants)]
        names.append(f"{BRANDS[b]} {noun_text}, {variant_text}")
    return names


def _unit_costs_and_prices(
    rng: np.random.Generator, sku_category: IntArray
) -> tuple[FloatArray, FloatArray]:
    median = np.array([c.median_unit_cost for c in CATEGORIES])[sku_category]
    low, high = (np.array([c.markup[i] for c in CATEGORIES])[sku_category] for i in (0, 1))
    cost = np.round(np.maximum(median * rng.lognormal(0.0, 0.6, sku_category.size), 0.25), 2)
    price = np.round(cost * rng.uniform(low, high), 2)
    return as_floats(cost), as_floats(np.maximum(price, cost + 0.01))


def _shelf_lives(rng: np.random.Generator, sku_category: IntArray) -> IntArray:
    low, high = (np.array([c.shelf_life_days[i] for c in CATEGORIES])[sku_category] for i in (0, 1))
    life = rng.integers(low, high + 1)
    short = rng.random(sku_category.size) < SHORT_SHELF_LIFE_SHARE
    short_life = rng.integers(SHORT_SHELF_LIFE_DAYS[0], SHORT_SHELF_LIFE_DAYS[1] + 1, life.size)
    return np.where(high > 0, np.where(short, short_life, life), 0).astype(np.int64)


# --- Demand and replenishment policy -----------------------------------------------------------


@dataclass(frozen=True)
class Calendar:
    start: dt.datetime  # midnight of day 0
    days: int
    now_minute: int  # minutes from start to now; now lies on the last day

    @property
    def today(self) -> int:
        return self.days - 1

    def weekday(self, day: int) -> int:
        return (self.start.weekday() + day) % 7


def calendar_ending_at(now: dt.datetime, days: int) -> Calendar:
    start = dt.datetime.combine(now.date() - dt.timedelta(days=days - 1), dt.time())
    return Calendar(start, days, int((now - start).total_seconds()) // 60)


@dataclass(frozen=True)
class DemandModel:
    line_rate: FloatArray  # expected order lines per series on an average day, (series,)
    units_per_line: FloatArray  # mean units on a line, (skus,)
    category_weekday: FloatArray  # (categories, 7): WEEKDAY_FACTORS with category weekends
    holiday: FloatArray  # (days,)
    promo_first_day: IntArray  # (skus,); a day after the window when not promoted
    promo_last_day: IntArray
    promo_uplift: FloatArray
    minute_cdf: FloatArray  # (1440,): share of a day's orders placed up to each minute
    # The shifting family's demand factor per day, (days,): 1 to the middle, then up to
    # 1 + SHIFT_GROWTH on the last day.
    shift: FloatArray

    def line_weights(self, day: int, weekday: int, sku_category: IntArray) -> FloatArray:
        """Expected lines of every series on ``day`` (a whole day), series order."""
        promoted = (self.promo_first_day <= day) & (day <= self.promo_last_day)
        sku_factor = self.category_weekday[sku_category, weekday] * np.where(
            promoted, self.promo_uplift, 1.0
        )
        sku_factor = sku_factor * np.where(sku_category == SHIFT_CATEGORY, self.shift[day], 1.0)
        skus = sku_factor.size
        rates = self.line_rate.reshape(-1, skus) * sku_factor * self.holiday[day]
        return as_floats(rates.ravel())


def build_demand(
    rng: np.random.Generator,
    catalogue: Catalogue,
    days: int,
    lines_per_series_day: float = LINES_PER_SERIES_DAY,
) -> DemandModel:
    skus, warehouses = catalogue.skus, catalogue.warehouses
    category = catalogue.sku_category
    slow_share = np.array([c.slow_mover_share for c in CATEGORIES])[category]
    popularity = rng.lognormal(0.0, 1.1, skus) * np.where(rng.random(skus) < slow_share, 0.05, 1.0)
    warehouse_share = rng.lognormal(0.0, 0.35, warehouses)
    raw_rate = (warehouse_share[:, None] * popularity[None, :]).ravel() * rng.lognormal(
        0.0, 0.35, skus * warehouses
    )
    category_weekday = np.tile(np.array(WEEKDAY_FACTORS), (len(CATEGORIES), 1))
    category_weekday[:, 5:] *= np.array([c.weekend for c in CATEGORIES])
    # Scale to lines_per_series_day: each rate is multiplied by its category's weekday mean.
    category_mean = category_weekday.mean(axis=1)
    raw_mean = float(np.mean(raw_rate * np.tile(category_mean[category], warehouses)))
    line_rate = raw_rate * (lines_per_series_day / raw_mean)

    low, high = (np.array([c.units_per_line[i] for c in CATEGORIES])[category] for i in (0, 1))
    promoted = rng.random(skus) < PROMOTED_SKU_SHARE
    promo_first = rng.integers(0, days, skus)
    return DemandModel(
        line_rate=line_rate,
        units_per_line=rng.uniform(low, high),
        category_weekday=category_weekday,
        holiday=_holiday_factors(rng, days),
        promo_first_day=np.where(promoted, promo_first, days).astype(np.int64),
        promo_last_day=np.where(promoted, promo_first + rng.integers(4, 11, skus), days).astype(
            np.int64
        ),
        promo_uplift=rng.uniform(1.8, 3.0, skus),
        minute_cdf=_minute_cdf(),
        shift=1.0 + SHIFT_GROWTH * np.clip((np.arange(days) - days / 2) / (days / 2), 0.0, 1.0),
    )


def _holiday_factors(rng: np.random.Generator, days: int) -> FloatArray:
    # Inside the window and well before today, so it is history rather than this week's news.
    first = int(rng.integers(int(days * 0.35), max(int(days * 0.75) - len(HOLIDAY_FACTORS), 1) + 1))
    factors = np.ones(days)
    span = factors[first : first + len(HOLIDAY_FACTORS)]
    span[:] = HOLIDAY_FACTORS[: span.size]
    return factors


def _minute_cdf() -> FloatArray:
    # The day's profile, with the visitors' bursts of every hour (demo.visitors).
    per_minute = np.repeat(np.array(HOURLY_PROFILE), 60) * visitors.visitor_factor(np.arange(1440))
    return as_floats(np.cumsum(per_minute) / per_minute.sum())


@dataclass(frozen=True)
class ReplenishmentPolicy:
    daily_demand: FloatArray  # forecast units per day, (series,)
    reorder_point: IntArray
    order_quantity: IntArray


def build_policy(
    rng: np.random.Generator, catalogue: Catalogue, demand: DemandModel
) -> ReplenishmentPolicy:
    """(R, Q) per series from an ordinary week's demand: the planner does not foresee peaks."""
    warehouses = catalogue.warehouses
    sku = np.tile(np.arange(catalogue.skus), warehouses)
    weekly_mean = demand.category_weekday.mean(axis=1)[catalogue.sku_category][sku]
    lines = demand.line_rate * weekly_mean
    units = demand.units_per_line[sku]
    daily = lines * units
    # Units per line are 1 + Poisson(units - 1): E[q^2] = (units - 1) + units^2.
    daily_sd = np.sqrt(lines * ((units - 1.0) + units**2)) * 1.25
    supplier = catalogue.sku_supplier[sku]
    lead = catalogue.lead_time_mean_days[supplier]
    lead_sd = catalogue.lead_time_sd_days[supplier]
    safety = SERVICE_FACTOR * np.sqrt(lead * daily_sd**2 + daily**2 * lead_sd**2)
    cover_days = rng.uniform(10.0, 28.0, daily.size)
    return ReplenishmentPolicy(
        daily_demand=daily,
        reorder_point=np.ceil(daily * lead + safety).astype(np.int64),
        order_quantity=np.maximum(np.ceil(daily * cover_days), 2).astype(np.int64),
    )


# --- Simulation helpers ------------------------------------------------------------------------


def fifo_allocate(group: IntArray, size: IntArray, budget: IntArray) -> IntArray:
    """How much of each element's ``size`` its group's ``budget`` covers, first come first served.

    ``group`` must be sorted with each group's elements in priority order; ``budget`` is indexed
    by group. Used for order lines against stock and for lots against consumption.
    """
    if group.size == 0:
        return np.zeros(0, dtype=np.int64)
    ahead = np.cumsum(size) - size
    first = np.ones(group.size, dtype=np.bool_)
    first[1:] = group[1:] != group[:-1]
    group_start = np.maximum.accumulate(np.where(first, np.arange(group.size), 0))
    ahead -= ahead[group_start]
    return np.clip(budget[group] - ahead, 0, size).astype(np.int64)


def sum_by(index: IntArray, values: IntArray, length: int) -> IntArray:
    return np.bincount(index, weights=values, minlength=length).round().astype(np.int64)


def empty_columns(*names: str) -> dict[str, IntArray]:
    return {name: np.zeros(0, dtype=np.int64) for name in names}


class ColumnLog:
    """Integer columns appended in pieces during the simulation and joined once at the end."""

    def __init__(self, *names: str) -> None:
        self._parts: dict[str, list[IntArray]] = {name: [] for name in names}

    def append(self, **columns: npt.ArrayLike) -> None:
        arrays = np.broadcast_arrays(*(np.asarray(columns[n], dtype=np.int64) for n in self._parts))
        for name, array in zip(self._parts, arrays, strict=True):
            self._parts[name].append(np.array(array, dtype=np.int64))

    def joined(self) -> dict[str, IntArray]:
        joined = empty_columns(*self._parts)
        joined.update({name: np.concatenate(parts) for name, parts in self._parts.items() if parts})
        return joined


class LotBook:
    """Lots of the lot-tracked series: received, consumed oldest first, written off on expiry."""

    def __init__(self) -> None:
        self.series = np.zeros(0, dtype=np.int64)
        self.received_minute = np.zeros(0, dtype=np.int64)
        self.expires_day = np.zeros(0, dtype=np.int64)
        self.remaining = np.zeros(0, dtype=np.int64)

    def receive(
        self, series: IntArray, minute: IntArray, expires_day: IntArray, quantity: IntArray
    ) -> None:
        self.series = np.concatenate([self.series, series])
        self.received_minute = np.concatenate([self.received_minute, minute])
        self.expires_day = np.concatenate([self.expires_day, expires_day])
        self.remaining = np.concatenate([self.remaining, quantity])

    def consume(self, used: IntArray) -> None:
        """Take ``used`` units (per series) from each series' oldest lots."""
        active = np.flatnonzero(self.remaining > 0)
        active = active[used[self.series[active]] > 0]
        # Lots are appended in receipt order, so a stable sort by series keeps them FIFO.
        ordered = active[np.argsort(self.series[active], kind="stable")]
        self.remaining[ordered] -= fifo_allocate(
            self.series[ordered], self.remaining[ordered], used
        )

    def expire(self, day: int) -> tuple[IntArray, IntArray, IntArray]:
        """Lots expiring on ``day`` that still hold stock: (lot index, series, quantity)."""
        lots = np.flatnonzero((self.expires_day == day) & (self.remaining > 0))
        quantity = self.remaining[lots].copy()
        self.remaining[lots] = 0
        return lots, self.series[lots], quantity


@dataclass(frozen=True)
class History:
    """Everything the simulation produced, as arrays; series index SKU and warehouse."""

    on_hand: IntArray
    reserved: IntArray
    movements: dict[str, IntArray]
    lots: LotBook
    orders: dict[str, IntArray]  # warehouse, minute, cancelled, status
    lines: dict[str, IntArray]  # order, line_number, series, quantity, shipped
    purchase_orders: dict[str, IntArray]  # supplier, warehouse, minute, expected_day, open
    purchase_lines: dict[str, IntArray]  # purchase_order, series, quantity, received


# --- Simulation ----------------------------------------------------------------------------------


class Simulation:
    """The day-by-day history of every series at once; ``run`` returns the ``History``."""

    def __init__(
        self,
        rng: np.random.Generator,
        catalogue: Catalogue,
        demand: DemandModel,
        policy: ReplenishmentPolicy,
        calendar: Calendar,
    ) -> None:
        self.rng, self.catalogue, self.demand = rng, catalogue, demand
        self.policy, self.calendar = policy, calendar
        n = catalogue.series
        self.sku_of_series = np.tile(np.arange(catalogue.skus), catalogue.warehouses)
        self.lot_tracked = catalogue.lot_tracked_series()
        self.on_hand = np.zeros(n, dtype=np.int64)
        self.on_order = np.zeros(n, dtype=np.int64)
        self.backorder = np.zeros(n, dtype=np.int64)  # unshipped quantity of pickable lines
        self.awaiting_pick = np.zeros(n, dtype=np.int64)  # open quantity of the newest orders
        self.supply_blocked_until = np.full(n, -1, dtype=np.int64)
        self.arrived_at = np.full(n, -1, dtype=np.int64)  # today's latest receipt minute
        self.movements = ColumnLog(
            "series", "minute", "quantity", "kind", "reason", "ref", "ref_id"
        )
        self.lots = LotBook()
        self.orders = ColumnLog("warehouse", "minute", "cancelled")
        self.lines = ColumnLog("order", "line_number", "series", "quantity")
        self.shipped = ColumnLog("line", "quantity")
        self.backlog = empty_columns("line", "series", "minute", "remaining")
        self.purchase_orders = ColumnLog("supplier", "warehouse", "minute", "expected_day")
        self.purchase_lines = ColumnLog("purchase_order", "series", "quantity")
        self.received = ColumnLog("line", "quantity")
        self.deliveries = empty_columns(
            "purchase_order", "line", "series", "quantity", "day", "offset"
        )
        self.order_count = self.line_count = self.purchase_count = self.purchase_line_count = 0
        self.transfer_count = 0
        self.late_supply_plan = self._plan_late_supply()

    def run(self) -> History:
        self._open_balances()
        for day in range(self.calendar.days):
            self._write_off_expired(day)
            self._receive_deliveries(day)
            self._ship(day, self._take_orders(day))
            if day < self.calendar.today:  # the evening's events of today have not happened yet
                self._transfer_between_warehouses(day)
                self._adjust_stock(day)
                self._make_supply_late(day)
                self._place_purchase_orders(day)
        return self._history()

    # The day's events, in the order they happen.

    def _open_balances(self) -> None:
        policy, rng, n = self.policy, self.rng, self.catalogue.series
        opening = policy.reorder_point + np.rint(
            rng.uniform(0.2, 1.0, n) * policy.order_quantity
        ).astype(np.int64)
        overstocked = rng.random(n) < OVERSTOCKED_SERIES_SHARE
        opening = np.where(overstocked, opening * rng.integers(3, 7, n), opening)
        series = np.flatnonzero(opening > 0)
        self.on_hand[series] = opening[series]
        self.movements.append(
            series=series, minute=0, quantity=opening[series], kind=RECEIPT, reason=NO_REASON,
            ref=REF_OPENING, ref_id=0,
        )  # fmt: skip
        self._receive_lots(series, np.zeros(series.size, dtype=np.int64), opening[series])

    def _receive_lots(self, series: IntArray, minute: IntArray, quantity: IntArray) -> None:
        tracked = self.lot_tracked[series]
        series, minute, quantity = series[tracked], minute[tracked], quantity[tracked]
        shelf_life = self.catalogue.shelf_life_days[self.sku_of_series[series]]
        self.lots.receive(series, minute, minute // MINUTES_PER_DAY + shelf_life, quantity)

    def _write_off_expired(self, day: int) -> None:
        minute = day * MINUTES_PER_DAY + EXPIRY_MINUTE
        if minute > self.calendar.now_minute:
            return
        lots, series, quantity = self.lots.expire(day)
        np.subtract.at(self.on_hand, series, quantity)
        self.movements.append(
            series=series, minute=minute, quantity=-quantity, kind=ADJUSTMENT, reason=EXPIRY,
            ref=REF_LOT, ref_id=lots,
        )  # fmt: skip

    def _receive_deliveries(self, day: int) -> None:
        pending = self.deliveries
        minute = day * MINUTES_PER_DAY + DELIVERY_MINUTE + pending["offset"]
        arrives = (pending["day"] == day) & (minute <= self.calendar.now_minute)
        self.deliveries = {name: column[~arrives] for name, column in pending.items()}
        series, quantity, minute = (
            pending["series"][arrives],
            pending["quantity"][arrives],
            minute[arrives],
        )
        np.add.at(self.on_hand, series, quantity)
        np.subtract.at(self.on_order, series, quantity)
        self.arrived_at.fill(-1)
        np.maximum.at(self.arrived_at, series, minute)
        self.received.append(line=pending["line"][arrives], quantity=quantity)
        self.movements.append(
            series=series, minute=minute, quantity=quantity, kind=RECEIPT, reason=NO_REASON,
            ref=REF_PURCHASE, ref_id=pending["purchase_order"][arrives],
        )  # fmt: skip
        self._receive_lots(series, minute, quantity)

    def _take_orders(self, day: int) -> dict[str, IntArray]:
        """Today's orders and lines; returns the new lines (line, series, minute, quantity, open)."""
        rng, catalogue, demand = self.rng, self.catalogue, self.demand
        skus, warehouses = catalogue.skus, catalogue.warehouses
        day_start = day * MINUTES_PER_DAY
        last_minute = min(MINUTES_PER_DAY - 1, self.calendar.now_minute - day_start)
        weights = demand.line_weights(day, self.calendar.weekday(day), catalogue.sku_category)
        cumulative = np.cumsum(weights)
        warehouse_end = cumulative[skus - 1 :: skus]
        warehouse_begin = np.concatenate([[0.0], warehouse_end[:-1]])
        warehouse_total = warehouse_end - warehouse_begin
        share_of_day = demand.minute_cdf[last_minute]  # today is not over yet
        order_counts = rng.poisson(warehouse_total * share_of_day / MEAN_LINES_PER_ORDER)

        warehouse = np.repeat(np.arange(warehouses), order_counts)
        minute = day_start + np.searchsorted(
            demand.minute_cdf, rng.random(warehouse.size) * share_of_day, side="right"
        )
        # In the demo shop's checkout outages only a share of the orders go through.
        epoch_minute = int(self.calendar.start.replace(tzinfo=dt.UTC).timestamp()) // 60
        through = rng.random(warehouse.size) < visitors.success_share(epoch_minute + minute)
        warehouse, minute = warehouse[through], minute[through]
        by_time = np.lexsort((warehouse, minute))  # order numbers follow the clock
        warehouse, minute = warehouse[by_time], minute[by_time]
        cancelled = rng.random(warehouse.size) < CANCELLED_ORDER_SHARE
        order_ids = self.order_count + np.arange(warehouse.size)
        self.order_count += warehouse.size
        self.orders.append(warehouse=warehouse, minute=minute, cancelled=cancelled)

        sizes = rng.choice(4, size=warehouse.size, p=LINES_PER_ORDER_PROBABILITIES) + 1
        order = np.repeat(np.arange(warehouse.size), sizes)
        line_warehouse = warehouse[order]
        drawn = (
            warehouse_begin[line_warehouse]
            + rng.random(order.size) * warehouse_total[line_warehouse]
        )
        series = np.clip(
            np.searchsorted(cumulative, drawn, side="right"),
            line_warehouse * skus,
            line_warehouse * skus + skus - 1,
        )
        # Popular SKUs can be drawn twice for one order: keep the first line of each.
        _, first = np.unique(order * catalogue.series + series, return_index=True)
        kept = np.sort(first)
        order, series = order[kept], series[kept]
        per_order = np.bincount(order, minlength=warehouse.size)
        line_number = np.arange(order.size) - (np.cumsum(per_order) - per_order)[order] + 1
        quantity = 1 + rng.poisson(demand.units_per_line[series % skus] - 1.0)
        line_ids = self.line_count + np.arange(order.size)
        self.line_count += order.size
        self.lines.append(
            order=order_ids[order], line_number=line_number, series=series, quantity=quantity
        )
        return {
            "line": line_ids,
            "series": series.astype(np.int64),
            "minute": minute[order],
            "quantity": quantity.astype(np.int64),
            "open": (~cancelled[order]).astype(np.int64),
        }

    def _ship(self, day: int, new_lines: dict[str, IntArray]) -> None:
        """Pick backorders and today's pickable lines in order time against stock on hand."""
        pick_cutoff = self.calendar.now_minute - PICKING_DELAY_MINUTES
        is_open = new_lines["open"] == 1
        pickable = is_open & (new_lines["minute"] <= pick_cutoff)
        waiting = is_open & ~pickable
        self.awaiting_pick += sum_by(
            new_lines["series"][waiting], new_lines["quantity"][waiting], self.catalogue.series
        )
        queue = {
            "line": np.concatenate([self.backlog["line"], new_lines["line"][pickable]]),
            "series": np.concatenate([self.backlog["series"], new_lines["series"][pickable]]),
            "minute": np.concatenate([self.backlog["minute"], new_lines["minute"][pickable]]),
            "remaining": np.concatenate(
                [self.backlog["remaining"], new_lines["quantity"][pickable]]
            ),
        }
        fifo = np.lexsort((queue["line"], queue["minute"], queue["series"]))
        queue = {name: column[fifo] for name, column in queue.items()}
        take = fifo_allocate(queue["series"], queue["remaining"], self.on_hand)
        shipped = sum_by(queue["series"], take, self.catalogue.series)
        self.on_hand -= shipped
        picked = take > 0
        self.shipped.append(line=queue["line"][picked], quantity=take[picked])
        left = queue["remaining"] - take
        self.backlog = {name: column[left > 0] for name, column in queue.items()}
        self.backlog["remaining"] = left[left > 0]
        self.backorder = sum_by(self.backlog["series"], self.backlog["remaining"], shipped.size)

        # One shipment movement per series and day, booked with the day's last picked order but
        # never before today's receipts (so the running balance never dips below zero).
        last_pick = np.full(shipped.size, -1, dtype=np.int64)
        np.maximum.at(last_pick, queue["series"][picked], queue["minute"][picked])
        series = np.flatnonzero(shipped > 0)
        day_start = day * MINUTES_PER_DAY
        minute = np.maximum(last_pick[series], np.maximum(self.arrived_at[series] + 1, day_start))
        minute = np.minimum(minute, self.calendar.now_minute)
        self.movements.append(
            series=series, minute=minute, quantity=-shipped[series], kind=SHIPMENT,
            reason=NO_REASON, ref=REF_NONE, ref_id=0,
        )  # fmt: skip
        self.lots.consume(np.where(self.lot_tracked, shipped, 0))

    def _transfer_between_warehouses(self, day: int) -> None:
        """A few rebalancing moves: from the warehouse with most surplus to the one most short."""
        catalogue, rng, policy = self.catalogue, self.rng, self.policy
        skus, warehouses = catalogue.skus, catalogue.warehouses
        count = int(rng.poisson(max(0.5, catalogue.series * TRANSFERS_PER_SERIES_DAY)))
        if warehouses < 2 or count == 0:
            return
        # Lots stay where they were received, so lot-tracked SKUs are not transferred.
        candidates = np.flatnonzero(catalogue.shelf_life_days == 0)
        sku = rng.choice(candidates, size=min(count, candidates.size), replace=False)
        reorder = policy.reorder_point.reshape(warehouses, skus)[:, sku]
        surplus = self.on_hand.reshape(warehouses, skus)[:, sku] - reorder
        position = (self.on_hand + self.on_order - self.backorder).reshape(warehouses, skus)
        need = (reorder + policy.order_quantity.reshape(warehouses, skus)[:, sku]) - position[
            :, sku
        ]
        source, target = surplus.argmax(axis=0), need.argmax(axis=0)
        columns = np.arange(sku.size)
        quantity = np.minimum(surplus[source, columns], need[target, columns] // 2)
        from_series, to_series = source * skus + sku, target * skus + sku
        # A series waiting for a late supplier stays short: that is the story it tells.
        moves = (source != target) & (quantity >= 1) & (self.supply_blocked_until[to_series] <= day)
        from_series, to_series, quantity = from_series[moves], to_series[moves], quantity[moves]
        self.on_hand[from_series] -= quantity
        self.on_hand[to_series] += quantity
        reference = self.transfer_count + np.arange(quantity.size)
        self.transfer_count += quantity.size
        minute = day * MINUTES_PER_DAY + TRANSFER_MINUTE + rng.integers(0, 60, quantity.size)
        for series, signed in ((from_series, -quantity), (to_series, quantity)):
            self.movements.append(
                series=series, minute=minute, quantity=signed, kind=TRANSFER, reason=NO_REASON,
                ref=REF_TRANSFER, ref_id=reference,
            )  # fmt: skip

    def _adjust_stock(self, day: int) -> None:
        rng, n = self.rng, self.catalogue.series
        for reason, probability, most in (
            (SHRINKAGE, SHRINKAGE_PROBABILITY, 3),
            (DAMAGE, DAMAGE_PROBABILITY, 2),
        ):
            hit = np.flatnonzero((self.on_hand > 0) & (rng.random(n) < probability))
            quantity = np.minimum(rng.integers(1, most + 1, hit.size), self.on_hand[hit])
            self._book_adjustment(day, hit, -quantity, reason)
        counted = np.flatnonzero(rng.random(n) < CYCLE_COUNT_PROBABILITY)
        found = rng.choice(np.array([-2, -1, 1, 2]), size=counted.size)
        # A surplus of lot-tracked stock would need a lot to belong to: counts only find losses.
        found = np.where(self.lot_tracked[counted], -np.abs(found), found)
        found = np.maximum(found, -self.on_hand[counted])
        self._book_adjustment(day, counted[found != 0], found[found != 0], CYCLE_COUNT)

    def _book_adjustment(self, day: int, series: IntArray, quantity: IntArray, reason: int) -> None:
        self.on_hand[series] += quantity
        used = np.zeros(self.catalogue.series, dtype=np.int64)
        used[series] = np.maximum(-quantity, 0)
        self.lots.consume(np.where(self.lot_tracked, used, 0))
        minute = day * MINUTES_PER_DAY + ADJUSTMENT_MINUTE + self.rng.integers(0, 180, series.size)
        self.movements.append(
            series=series, minute=minute, quantity=quantity, kind=ADJUSTMENT, reason=reason,
            ref=REF_NONE, ref_id=0,
        )  # fmt: skip

    def _plan_late_supply(self) -> dict[int, int]:
        """How many series lose their supplier on which days (days counted from day 0)."""
        days = self.calendar.days
        total = max(LATE_SUPPLY_MIN_SERIES, self.catalogue.series // LATE_SUPPLY_SERIES_PER)
        first = max(1, days - LATE_SUPPLY_FIRST_DAY)
        last = max(first, days - LATE_SUPPLY_LAST_DAY)
        picked = self.rng.integers(first, last + 1, total)
        return {
            int(day): int(count)
            for day, count in zip(*np.unique(picked, return_counts=True), strict=True)
        }

    def _make_supply_late(self, day: int) -> None:
        """Late suppliers: the picked series get nothing until well after their stock runs out."""
        count = self.late_supply_plan.get(day, 0)
        if count == 0:
            return
        daily = self.policy.daily_demand  # never zero: every rate is lognormal
        cover = self.on_hand / daily
        eligible = np.flatnonzero(
            (self.supply_blocked_until < 0) & (daily >= 0.5) & (cover >= 2) & (cover <= 20)
        )
        series = self.rng.choice(eligible, size=min(count, eligible.size), replace=False)
        outage = self.rng.integers(4, 13, series.size)
        self.supply_blocked_until[series] = (
            day + np.ceil(cover[series] * 1.2).astype(np.int64) + outage
        )
        self.deliveries["day"] = self._delayed(
            self.deliveries["purchase_order"], self.deliveries["series"], self.deliveries["day"]
        )

    def _delayed(self, purchase_order: IntArray, series: IntArray, day: IntArray) -> IntArray:
        # A purchase order arrives as one shipment: the latest block among its lines holds it all.
        if purchase_order.size == 0:
            return day
        first = int(purchase_order.min())
        block = np.full(int(purchase_order.max()) - first + 1, -1, dtype=np.int64)
        np.maximum.at(block, purchase_order - first, self.supply_blocked_until[series])
        return np.maximum(day, block[purchase_order - first])

    def _place_purchase_orders(self, day: int) -> None:
        """Tonight's planning run: one purchase order per supplier and warehouse with lines due."""
        rng, catalogue, policy = self.rng, self.catalogue, self.policy
        position = self.on_hand + self.on_order - self.backorder
        due = np.flatnonzero(position <= policy.reorder_point)
        if due.size == 0:
            return
        q = policy.order_quantity[due]
        quantity = q * ((policy.reorder_point[due] - position[due]) // q + 1)
        supplier = catalogue.sku_supplier[self.sku_of_series[due]]
        keys, po_of_line = np.unique(
            supplier * catalogue.warehouses + due // catalogue.skus, return_inverse=True
        )
        po_supplier, po_warehouse = keys // catalogue.warehouses, keys % catalogue.warehouses
        po_ids = self.purchase_count + np.arange(keys.size)
        self.purchase_count += keys.size
        mean = catalogue.lead_time_mean_days[po_supplier]
        lead = np.maximum(1, np.rint(rng.normal(mean, catalogue.lead_time_sd_days[po_supplier])))
        self.purchase_orders.append(
            supplier=po_supplier,
            warehouse=po_warehouse,
            minute=day * MINUTES_PER_DAY + PURCHASE_MINUTE + rng.integers(0, 60, keys.size),
            expected_day=day + np.maximum(1, np.rint(mean)),
        )

        by_order = np.lexsort((due, po_of_line))
        due, quantity, po_of_line = due[by_order], quantity[by_order], po_of_line[by_order]
        line_ids = self.purchase_line_count + np.arange(due.size)
        self.purchase_line_count += due.size
        self.purchase_lines.append(purchase_order=po_ids[po_of_line], series=due, quantity=quantity)
        self.on_order[due] += quantity

        # Some suppliers ship part of an order first and the rest a few days later.
        arrival = self._delayed(po_ids[po_of_line], due, day + lead.astype(np.int64)[po_of_line])
        split = rng.random(keys.size) < PARTIAL_DELIVERY_SHARE
        first_share = np.where(split, rng.uniform(0.4, 0.7, keys.size), 1.0)[po_of_line]
        first_quantity = np.floor(quantity * first_share).astype(np.int64)
        rest_arrival = arrival + rng.integers(2, 11, keys.size)[po_of_line]
        offset = rng.integers(0, 120, keys.size)[po_of_line]
        new = {
            "purchase_order": np.concatenate([po_ids[po_of_line]] * 2),
            "line": np.concatenate([line_ids] * 2),
            "series": np.concatenate([due] * 2),
            "quantity": np.concatenate([first_quantity, quantity - first_quantity]),
            "day": np.concatenate([arrival, rest_arrival]),
            "offset": np.concatenate([offset] * 2),
        }
        real = new["quantity"] > 0
        self.deliveries = {
            name: np.concatenate([self.deliveries[name], column[real]])
            for name, column in new.items()
        }

    def _history(self) -> History:
        movements = self.movements.joined()
        # Movement ids follow the clock; within a minute, the order of booking.
        by_time = np.lexsort((np.arange(movements["minute"].size), movements["minute"]))
        movements = {name: column[by_time] for name, column in movements.items()}
        orders, lines = self.orders.joined(), self.lines.joined()
        shipped = self.shipped.joined()
        lines["shipped"] = sum_by(shipped["line"], shipped["quantity"], lines["order"].size)
        orders["status"] = _sales_order_status(orders, lines)
        purchase_orders, purchase_lines = (
            self.purchase_orders.joined(),
            self.purchase_lines.joined(),
        )
        received = self.received.joined()
        purchase_lines["received"] = sum_by(
            received["line"], received["quantity"], purchase_lines["series"].size
        )
        short = sum_by(
            purchase_lines["purchase_order"],
            (purchase_lines["received"] < purchase_lines["quantity"]).astype(np.int64),
            purchase_orders["supplier"].size,
        )
        purchase_orders["open"] = (short > 0).astype(np.int64)
        unshipped = self.backorder + self.awaiting_pick
        return History(
            on_hand=self.on_hand,
            reserved=np.minimum(self.on_hand, unshipped),
            movements=movements,
            lots=self.lots,
            orders=orders,
            lines=lines,
            purchase_orders=purchase_orders,
            purchase_lines=purchase_lines,
        )


def _sales_order_status(orders: dict[str, IntArray], lines: dict[str, IntArray]) -> IntArray:
    """Index into SALES_ORDER_STATUSES of every order, from its lines' shipped quantities."""
    count = orders["warehouse"].size
    ordered = sum_by(lines["order"], lines["quantity"], count)
    shipped = sum_by(lines["order"], lines["shipped"], count)
    status = np.select(
        [orders["cancelled"] == 1, shipped == ordered, shipped > 0],
        [SALES_ORDER_STATUSES.index(s) for s in ("cancelled", "shipped", "partially_shipped")],
        default=SALES_ORDER_STATUSES.index("open"),
    )
    return status.astype(np.int64)


# --- Rows ---------------------------------------------------------------------------------------

ColumnSource = Callable[[int, int], list[Any]]
PURCHASE_STATUS_BY_OPEN_FLAG = ("received", "open")


@dataclass(frozen=True)
class TableRows:
    """A table's rows as columns, each produced a chunk at a time to bound memory."""

    table: sa.Table
    count: int
    columns: dict[str, ColumnSource]


def _values(values: npt.NDArray[Any] | list[Any]) -> ColumnSource:
    def chunk(start: int, stop: int) -> list[Any]:
        part = values[start:stop]
        return part if isinstance(part, list) else part.tolist()

    return chunk


def _ids() -> ColumnSource:
    return lambda start, stop: list(range(start + 1, stop + 1))


def _numbered(prefix: str, width: int) -> ColumnSource:
    return lambda start, stop: [f"{prefix}{i:0{width}d}" for i in range(start + 1, stop + 1)]


def _decimals(values: FloatArray) -> ColumnSource:
    return lambda start, stop: [Decimal(f"{v:.2f}") for v in values[start:stop].tolist()]


def _moments(origin: dt.datetime, minutes: IntArray) -> ColumnSource:
    base = np.datetime64(origin, "m")

    def chunk(start: int, stop: int) -> list[Any]:
        moments = base + minutes[start:stop].astype("timedelta64[m]")
        return moments.astype("datetime64[us]").tolist()  # type: ignore[no-any-return]

    return chunk


def _dates(origin: dt.date, days: IntArray) -> ColumnSource:
    base = np.datetime64(origin, "D")
    return lambda start, stop: (base + days[start:stop].astype("timedelta64[D]")).tolist()


def _labels(names: tuple[str, ...], codes: IntArray) -> ColumnSource:
    return lambda start, stop: [names[c] for c in codes[start:stop].tolist()]


def build_rows(
    catalogue: Catalogue, history: History, calendar: Calendar, warehouse_capacity: IntArray
) -> list[TableRows]:
    """The rows of every table, in ``TABLES`` (foreign-key) order."""
    sku_of, warehouse_of = _series_keys(catalogue)
    origin = calendar.start
    movements, lots = history.movements, history.lots
    orders, lines = history.orders, history.lines
    purchases, purchase_lines = history.purchase_orders, history.purchase_lines
    rows = {
        Supplier.__tablename__: {
            "id": _ids(),
            "code": _numbered("SUP", 3),
            "name": _values(catalogue.supplier_names),
            "lead_time_mean_days": _decimals(catalogue.lead_time_mean_days),
            "lead_time_sd_days": _decimals(catalogue.lead_time_sd_days),
            "order_cost": _decimals(catalogue.order_cost),
        },
        Sku.__tablename__: {
            "id": _ids(),
            "code": _values(catalogue.sku_codes),
            "name": _values(catalogue.sku_names),
            "category": _labels(tuple(c.name for c in CATEGORIES), catalogue.sku_category),
            "unit_cost": _decimals(catalogue.unit_cost),
            "unit_price": _decimals(catalogue.unit_price),
            "supplier_id": _values(catalogue.sku_supplier + 1),
        },
        Warehouse.__tablename__: {
            "id": _ids(),
            "code": _numbered("WH", 1),
            "name": _values(catalogue.warehouse_names),
            "region": _values(catalogue.warehouse_regions),
            "capacity_units": _values(warehouse_capacity),
        },
        StockLevel.__tablename__: {
            "sku_id": _values(sku_of + 1),
            "warehouse_id": _values(warehouse_of + 1),
            "on_hand": _values(history.on_hand),
            "reserved": _values(history.reserved),
        },
        Lot.__tablename__: {
            "id": _ids(),
            "sku_id": _values(sku_of[lots.series] + 1),
            "warehouse_id": _values(warehouse_of[lots.series] + 1),
            "lot_code": _lot_codes(origin, lots.received_minute),
            "quantity": _values(lots.remaining),
            "received_at": _moments(origin, lots.received_minute),
            "expires_on": _dates(origin.date(), lots.expires_day),
        },
        StockMovement.__tablename__: {
            "id": _ids(),
            "sku_id": _values(sku_of[movements["series"]] + 1),
            "warehouse_id": _values(warehouse_of[movements["series"]] + 1),
            "moved_at": _moments(origin, movements["minute"]),
            "kind": _labels(MOVEMENT_KINDS, movements["kind"]),
            "quantity": _values(movements["quantity"]),
            "reason": _reasons(movements["reason"]),
            "reference": _references(origin, movements, lots.received_minute),
        },
        PurchaseOrder.__tablename__: {
            "id": _ids(),
            "number": _numbered("PO", 7),
            "supplier_id": _values(purchases["supplier"] + 1),
            "warehouse_id": _values(purchases["warehouse"] + 1),
            "ordered_at": _moments(origin, purchases["minute"]),
            "expected_on": _dates(origin.date(), purchases["expected_day"]),
            "status": _labels(PURCHASE_STATUS_BY_OPEN_FLAG, purchases["open"]),
        },
        PurchaseOrderLine.__tablename__: {
            "id": _ids(),
            "purchase_order_id": _values(purchase_lines["purchase_order"] + 1),
            "sku_id": _values(sku_of[purchase_lines["series"]] + 1),
            "quantity_ordered": _values(purchase_lines["quantity"]),
            "quantity_received": _values(purchase_lines["received"]),
        },
        SalesOrder.__tablename__: {
            "id": _ids(),
            "number": _numbered("SO", 9),
            "warehouse_id": _values(orders["warehouse"] + 1),
            "ordered_at": _moments(origin, orders["minute"]),
            "status": _labels(SALES_ORDER_STATUSES, orders["status"]),
        },
        SalesOrderLine.__tablename__: {
            "id": _ids(),
            "sales_order_id": _values(lines["order"] + 1),
            "line_number": _values(lines["line_number"]),
            "sku_id": _values(sku_of[lines["series"]] + 1),
            "quantity": _values(lines["quantity"]),
            "quantity_shipped": _values(lines["shipped"]),
        },
    }
    counts = {
        Supplier.__tablename__: len(catalogue.supplier_names),
        Sku.__tablename__: catalogue.skus,
        Warehouse.__tablename__: catalogue.warehouses,
        StockLevel.__tablename__: catalogue.series,
        Lot.__tablename__: lots.series.size,
        StockMovement.__tablename__: movements["series"].size,
        PurchaseOrder.__tablename__: purchases["supplier"].size,
        PurchaseOrderLine.__tablename__: purchase_lines["series"].size,
        SalesOrder.__tablename__: orders["warehouse"].size,
        SalesOrderLine.__tablename__: lines["order"].size,
    }
    return [TableRows(table, counts[table.name], rows[table.name]) for table in TABLES]


def _series_keys(catalogue: Catalogue) -> tuple[IntArray, IntArray]:
    series = np.arange(catalogue.series)
    return series % catalogue.skus, series // catalogue.skus


def _lot_codes(origin: dt.datetime, received_minute: IntArray) -> ColumnSource:
    received = _dates(origin.date(), received_minute // MINUTES_PER_DAY)

    def chunk(start: int, stop: int) -> list[Any]:
        return [
            f"L{day:%y%m%d}-{lot:06d}"
            for lot, day in enumerate(received(start, stop), start=start + 1)
        ]

    return chunk


def _reasons(codes: IntArray) -> ColumnSource:
    return lambda start, stop: [
        ADJUSTMENT_REASONS[c] if c >= 0 else None for c in codes[start:stop].tolist()
    ]


def _references(
    origin: dt.datetime, movements: dict[str, IntArray], lot_received_minute: IntArray
) -> ColumnSource:
    lot_code = _lot_codes(origin, lot_received_minute)

    def reference(kind: int, ref_id: int) -> str | None:
        if kind == REF_OPENING:
            return "OPENING"
        if kind == REF_PURCHASE:
            return f"PO{ref_id + 1:07d}"
        if kind == REF_TRANSFER:
            return f"TR{ref_id + 1:07d}"
        if kind == REF_LOT:
            return str(lot_code(ref_id, ref_id + 1)[0])
        return None

    return lambda start, stop: [
        reference(k, i)
        for k, i in zip(
            movements["ref"][start:stop].tolist(),
            movements["ref_id"][start:stop].tolist(),
            strict=True,
        )
    ]


def warehouse_capacities(rng: np.random.Generator, on_hand: IntArray, warehouses: int) -> IntArray:
    """Capacity per warehouse: one 90-97 % full, the others 40-75 % (rounding keeps them inside)."""
    stock = on_hand.reshape(warehouses, -1).sum(axis=1)
    utilisation = rng.uniform(0.45, 0.72, warehouses)
    utilisation[rng.integers(0, warehouses)] = rng.uniform(0.91, 0.96)
    return as_ints(np.maximum(np.ceil(stock / utilisation), 1))


# --- Writing ------------------------------------------------------------------------------------

CHUNK_ROWS = 50_000


def write_rows(conn: Connection, tables: Sequence[TableRows]) -> dict[str, int]:
    """Insert every table's rows in chunks: COPY on PostgreSQL/psycopg, executemany elsewhere."""
    counts: dict[str, int] = {}
    postgresql = conn.dialect.name == "postgresql"
    copy = postgresql and conn.dialect.driver == "psycopg"
    schema = [rows.table for rows in tables]
    foreign_keys = _foreign_keys_added_after(conn, schema) if postgresql else nullcontext()
    with _indexes_built_after(conn, schema), foreign_keys:
        for rows in tables:
            for start in range(0, rows.count, CHUNK_ROWS):
                stop = min(start + CHUNK_ROWS, rows.count)
                columns = {name: source(start, stop) for name, source in rows.columns.items()}
                if copy:
                    _copy_chunk(conn, rows.table, columns)
                else:
                    _insert_chunk(conn, rows.table, columns)
            counts[rows.table.name] = rows.count
    if postgresql:
        _after_bulk_load_postgresql(conn, schema)
    return counts


@contextmanager
def _indexes_built_after(conn: Connection, tables: Sequence[sa.Table]) -> Iterator[None]:
    # A database maintains every index row by row during a load; building each once afterwards
    # is several times faster (the indexes backing primary keys and unique constraints stay).
    indexes = [index for table in tables for index in table.indexes]
    for index in indexes:
        conn.execute(DropIndex(index))
    yield
    for index in indexes:
        conn.execute(CreateIndex(index))


@contextmanager
def _foreign_keys_added_after(conn: Connection, tables: Sequence[sa.Table]) -> Iterator[None]:
    # PostgreSQL checks foreign keys row by row; adding them afterwards checks each in one pass.
    quote = conn.dialect.identifier_preparer.quote
    foreign_keys = conn.execute(
        sa.text(
            "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) "
            "FROM pg_constraint WHERE contype = 'f' "
            "AND conrelid = ANY(CAST(:tables AS regclass[]))"
        ),
        {"tables": [table.name for table in tables]},
    ).all()
    for table, name, _ in foreign_keys:
        conn.exec_driver_sql(f"ALTER TABLE {table} DROP CONSTRAINT {quote(name)}")
    yield
    for table, name, definition in foreign_keys:
        conn.exec_driver_sql(f"ALTER TABLE {table} ADD CONSTRAINT {quote(name)} {definition}")


def _copy_chunk(conn: Connection, table: sa.Table, columns: dict[str, list[Any]]) -> None:
    driver_connection: Any = conn.connection.driver_connection
    quote = conn.dialect.identifier_preparer.quote
    names = ", ".join(quote(name) for name in columns)
    with (
        driver_connection.cursor() as cursor,
        cursor.copy(f"COPY {quote(table.name)} ({names}) FROM STDIN") as copy,
    ):
        for row in zip(*columns.values(), strict=True):
            copy.write_row(row)


def _insert_chunk(conn: Connection, table: sa.Table, columns: dict[str, list[Any]]) -> None:
    # Straight to the driver's executemany for speed, but with the statement and the values
    # SQLAlchemy itself would send (SQLite keeps datetimes as text in SQLAlchemy's format, and
    # the queries compare against that text).
    dialect = conn.dialect
    compiled = table.insert().compile(dialect=dialect, column_keys=list(columns))
    bound = {}
    for name, values in columns.items():
        process = table.c[name].type.dialect_impl(dialect).bind_processor(dialect)
        bound[name] = values if process is None else [process(v) for v in values]
    rows: list[Any]
    if isinstance(compiled, SQLCompiler) and compiled.positiontup is not None:
        rows = list(zip(*(bound[name] for name in compiled.positiontup), strict=True))
    else:
        names = list(bound)
        rows = [dict(zip(names, row, strict=True)) for row in zip(*bound.values(), strict=True)]
    conn.exec_driver_sql(compiled.string, rows)


def move_id_sequences_past_data(conn: Connection, tables: Sequence[sa.Table]) -> None:
    """On PostgreSQL, move the tables' serial id sequences past their rows: explicit ids leave
    them behind, and a later insert without an id would collide. Nothing to do on SQLite."""
    if conn.dialect.name != "postgresql":
        return
    for table in tables:
        if "id" in table.c and table.c.id.primary_key:
            top = sa.func.max(table.c.id)
            sequence = sa.func.pg_get_serial_sequence(table.name, "id")
            conn.execute(
                sa.select(sa.func.setval(sequence, sa.func.coalesce(top, 1), top.is_not(None)))
            )


def _after_bulk_load_postgresql(conn: Connection, tables: list[sa.Table]) -> None:
    move_id_sequences_past_data(conn, tables)
    # Fresh statistics, so the dashboard's first queries get sensible plans.
    conn.exec_driver_sql("ANALYZE")


# --- Entry point --------------------------------------------------------------------------------


def seed_database(
    engine: Engine,
    scale: str | Scale = "demo",
    seed: int = 7,
    now: dt.datetime | None = None,
    force: bool = False,
) -> SeedReport:
    """Create the inventory schema and fill it with a simulated history ending at ``now``.

    ``scale`` is a name of ``SCALES`` or a ``Scale``. ``now`` is naive UTC (an aware datetime is
    converted), truncated to the minute; it defaults to the current time. The same seed, now and
    scale give identical rows. A database whose inventory tables hold rows is refused with
    ``DatabaseNotEmptyError`` unless ``force``, which drops and recreates every table first.
    """
    started = time.perf_counter()
    chosen = resolve_scale(scale)
    moment = _naive_utc_minute(now or dt.datetime.now(dt.UTC))
    if not force:  # refuse before simulating, which takes a while at the larger scales
        with engine.connect() as conn:
            _allow_long_statements(conn)
            table = first_table_with_rows(conn)
        if table is not None:
            raise DatabaseNotEmptyError(table)

    rng = np.random.default_rng(seed)
    calendar = calendar_ending_at(moment, chosen.days)
    catalogue = build_catalogue(rng, chosen)
    demand = build_demand(rng, catalogue, chosen.days, chosen.lines_per_series_day)
    policy = build_policy(rng, catalogue, demand)
    history = Simulation(rng, catalogue, demand, policy, calendar).run()
    capacity = warehouse_capacities(rng, history.on_hand, catalogue.warehouses)
    tables = build_rows(catalogue, history, calendar, capacity)
    # One transaction: a load that fails leaves the database as it was, old data included.
    with engine.begin() as conn:
        _allow_long_statements(conn)
        if force:
            Base.metadata.drop_all(conn)
        Base.metadata.create_all(conn)
        counts = write_rows(conn, tables)
    return SeedReport(
        scale=chosen,
        seed=seed,
        now=moment,
        window_start=calendar.start,
        row_counts=counts,
        elapsed_seconds=time.perf_counter() - started,
    )


def resolve_scale(scale: str | Scale) -> Scale:
    """The named scale, or ``scale`` itself once checked to be large enough to tell the story."""
    if not isinstance(scale, Scale):
        if scale not in SCALES:
            raise ValueError(f"unknown scale {scale!r}; choose one of {', '.join(SCALES)}")
        return SCALES[scale]
    if scale.skus < len(CATEGORIES):
        raise ValueError(f"skus must be at least {len(CATEGORIES)} (one per category)")
    if scale.warehouses < 1:
        raise ValueError("warehouses must be at least 1")
    if scale.days < MIN_DAYS:
        raise ValueError(f"days must be at least {MIN_DAYS}")
    return scale


def _naive_utc_minute(moment: dt.datetime) -> dt.datetime:
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.UTC).replace(tzinfo=None)
    return moment.replace(second=0, microsecond=0)


def _allow_long_statements(conn: Connection) -> None:
    # The dashboard's engine gives up on statements after a few seconds to keep pages
    # responsive; building indexes over millions of rows legitimately takes longer.
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("SET LOCAL statement_timeout = 0")  # until this transaction ends


def first_table_with_rows(conn: Connection) -> str | None:
    """The first table of the schema (in ``TABLES`` order) that exists and holds a row."""
    present = set(sa.inspect(conn).get_table_names())
    for table in TABLES:
        if table.name in present and conn.execute(sa.select(table).limit(1)).first():
            return table.name
    return None
