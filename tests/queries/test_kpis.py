"""Executive KPIs on the hand-built database of tests/small_inventory.py, on SQLite and PostgreSQL,
and ``period_kpis`` on a hand-made daily series.

as_of is 2026-11-27 12:00, so a week is 20..26 Nov and the week before it 13..19 Nov. Every
expected number is worked out by hand in the comments from the rows that module inserts.
End-of-day stock from today's stock levels (A@WH1 6, B@WH1 50, A@WH2 0, B@WH2 5) undoing the
movements after each day:
  A@WH1 (cost 10): shipped 3 on the 20th, 5 on the 22nd, 4 on the 26th, 2 on the 27th (today)
    -> 20 to the 19th, 17 on 20..21, 12 on 22..25, 8 on the 26th;
  B@WH2 (cost 2): shipped 1 on the 25th -> 6 to the 24th, 5 on 25..26;
  B@WH1 (cost 2): 50 throughout; A@WH2: 0 throughout.
"""

from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal

import pandas as pd
import pytest
import sqlalchemy as sa
from small_inventory import AS_OF, build_small_inventory
from sqlalchemy.orm import Session

from queries.kpis import ExecutiveKpiSource, period_kpis
from queries.schema import Base, SalesOrder, SalesOrderLine, Sku, StockLevel, StockMovement

RATE = 0.25
DAILY_COLUMNS = [
    "day", "inventory_value", "units_on_hand", "cogs", "revenue", "units_ordered",
    "units_shipped", "order_lines", "orders", "stockout_rows",
]  # fmt: skip
KPIS = [
    "inventory_value", "carrying_cost", "turnover", "days_of_inventory", "gmroi", "fill_rate",
    "stockout_count", "orders_per_day",
]  # fmt: skip
# End-of-day value 13..26 Nov: 200 + 100 + 12 to the 19th; then A@WH1 drops to 170, 120, 80
# and B@WH2 to 10.
WEEK_BEFORE_VALUES = [312.0] * 7
WEEK_VALUES = [282.0, 282.0, 232.0, 232.0, 232.0, 230.0, 190.0]


@pytest.fixture
def source(empty_engine: sa.Engine) -> ExecutiveKpiSource:
    build_small_inventory(empty_engine)
    return ExecutiveKpiSource(empty_engine, holding_cost_rate=RATE)


def _at(day: int, hour: int = 10) -> dt.datetime:
    return dt.datetime(2026, 11, day, hour, 0)


def _add(engine: sa.Engine, *rows: object) -> None:
    with Session(engine) as session:
        for row in rows:
            session.add(row)
            session.flush()
        session.commit()


def kpi(review: pd.DataFrame, name: str) -> pd.Series:
    return review.set_index("kpi").loc[name]


# --- daily_series on the database ---------------------------------------------------------


def test_daily_series_has_the_documented_columns_one_row_per_whole_day_before_as_of(
    source: ExecutiveKpiSource,
) -> None:
    daily = source.daily_series(AS_OF, 14)
    assert list(daily.columns) == DAILY_COLUMNS
    assert list(daily["day"]) == list(pd.date_range("2026-11-13", "2026-11-26", freq="D"))
    assert daily["day"].dtype == "datetime64[ns]"
    assert (daily.dtypes.iloc[1:7] == "float64").all()
    assert (daily.dtypes.iloc[7:] == "int64").all()


def test_inventory_value_is_todays_stock_less_the_movements_after_each_day(
    source: ExecutiveKpiSource,
) -> None:
    daily = source.daily_series(AS_OF, 14)
    # Today's 2 shipped units of A count on the 26th: 6 + 2 = 8 A@WH1, 80 + 100 + 10 = 190.
    assert list(daily["inventory_value"]) == WEEK_BEFORE_VALUES + WEEK_VALUES
    # Units: 20 + 50 + 6 = 76 to the 19th, then 73, 68, 67 (B@WH2 ships 1), 63.
    assert list(daily["units_on_hand"]) == [76.0] * 7 + [73, 73, 68, 68, 68, 67, 63]


def test_cogs_and_revenue_are_the_days_shipments_at_unit_cost_and_unit_price(
    source: ExecutiveKpiSource,
) -> None:
    daily = source.daily_series(AS_OF, 14).set_index("day")
    # A: 3, 5, 4 units at cost 10 / price 15 on the 20th, 22nd, 26th; B: 1 at 2 / 5 on the 25th.
    # SO1's 7 units on the 19th have no shipment movement, so no cost of goods that day.
    shipped_days = ["2026-11-20", "2026-11-22", "2026-11-25", "2026-11-26"]
    assert list(daily.loc[shipped_days, "cogs"]) == [30, 50, 2, 40]
    assert list(daily.loc[shipped_days, "revenue"]) == [45, 75, 5, 60]
    assert daily["cogs"].sum() == 122
    assert daily["revenue"].sum() == 185


def test_order_figures_count_lines_placed_each_day_without_cancelled_orders(
    source: ExecutiveKpiSource,
) -> None:
    daily = source.daily_series(AS_OF, 14).set_index("day")
    # 19th SO1 (7/7), 20th SO2 (3/3), 22nd SO4 + SO5 (2/2, 3/3), 25th SO8 (1/1),
    # 26th SO6 (4/4) + SO7 (2 open). SO3 (cancelled, 21st) and SO9 (today) are not counted.
    order_days = ["2026-11-19", "2026-11-20", "2026-11-22", "2026-11-25", "2026-11-26"]
    assert list(daily.loc[order_days, "units_ordered"]) == [7, 3, 5, 1, 6]
    assert list(daily.loc[order_days, "units_shipped"]) == [7, 3, 5, 1, 4]
    assert list(daily.loc[order_days, "order_lines"]) == [1, 1, 2, 1, 2]
    assert list(daily.loc[order_days, "orders"]) == [1, 1, 2, 1, 2]
    assert daily.loc["2026-11-21", "order_lines"] == 0
    assert daily["orders"].sum() == 7


def test_empty_pairs_without_demand_are_not_stockouts(source: ExecutiveKpiSource) -> None:
    # A@WH2 holds 0 all fortnight, but nobody ordered A there; the pairs with orders
    # (A@WH1, B@WH2) never ran out.
    assert list(source.daily_series(AS_OF, 14)["stockout_rows"]) == [0] * 14


def test_stockout_rows_follow_a_demanded_pair_in_and_out_of_stock(
    empty_engine: sa.Engine,
) -> None:
    build_small_inventory(empty_engine)
    # A@WH2 receives 4 on the 23rd and ships them on the 25th to an order placed that day;
    # its stock level stays 0. End-of-day on hand: 0 to the 22nd, 4 on 23..24, 0 on 25..26.
    with Session(empty_engine) as session:
        order = SalesOrder(number="SO10", warehouse_id=2, ordered_at=_at(25), status="shipped")
        session.add_all(
            [
                order,
                StockMovement(
                    sku_id=1, warehouse_id=2, moved_at=_at(23), kind="receipt", quantity=4
                ),
                StockMovement(
                    sku_id=1, warehouse_id=2, moved_at=_at(25, 18), kind="shipment", quantity=-4
                ),
            ]
        )
        session.flush()
        session.add(
            SalesOrderLine(
                sales_order_id=order.id, line_number=1, sku_id=1, quantity=4, quantity_shipped=4
            )
        )
        session.commit()
    source = ExecutiveKpiSource(empty_engine, holding_cost_rate=RATE)
    assert list(source.daily_series(AS_OF, 14)["stockout_rows"]) == [1] * 10 + [0, 0, 1, 1]
    # From the 23rd: the receipt that day is in every day's end, so 4 on hand until the 25th.
    assert list(source.daily_series(AS_OF, 4)["stockout_rows"]) == [0, 0, 1, 1]
    # The week of the 30th: A@WH2 had no order then, so it is no stock-out there.
    later = source.daily_series(dt.datetime(2026, 12, 7), 7)
    assert list(later["stockout_rows"]) == [0] * 7
    # The week review: out on 20..22 and 25..26 -> 5 / 7 a day; all 7 days the week before.
    review = source.period_review(AS_OF, "week")
    assert kpi(review, "stockout_count")["current"] == pytest.approx(5 / 7)
    assert kpi(review, "stockout_count")["previous"] == 1
    assert kpi(review, "stockout_count")["sparkline"] == [1.0] * 10 + [0, 0, 1, 1]


def test_timezone_aware_as_of_is_read_as_utc(source: ExecutiveKpiSource) -> None:
    eastern = dt.timezone(dt.timedelta(hours=-5))
    aware = AS_OF.replace(tzinfo=dt.UTC).astimezone(eastern)  # 07:00 the same day in New York
    pd.testing.assert_frame_equal(source.daily_series(aware, 14), source.daily_series(AS_OF, 14))


def test_an_empty_database_gives_a_zero_series_and_empty_classes(
    empty_engine: sa.Engine,
) -> None:
    Base.metadata.create_all(empty_engine)
    source = ExecutiveKpiSource(empty_engine, holding_cost_rate=RATE)
    daily = source.daily_series(AS_OF, 3)
    assert list(daily.columns) == DAILY_COLUMNS
    assert len(daily) == 3
    assert (daily.drop(columns="day") == 0).all().all()
    review = source.period_review(AS_OF, "week")
    assert kpi(review, "inventory_value")["current"] == 0
    assert math.isnan(kpi(review, "turnover")["current"])
    abc = source.abc_breakdown(AS_OF, 7)
    assert list(abc["class"]) == ["A", "B", "C"]
    assert list(abc["skus"]) == [0, 0, 0]
    assert abc["revenue_share"].isna().all()


def test_days_must_be_positive(source: ExecutiveKpiSource) -> None:
    with pytest.raises(ValueError, match="at least 1"):
        source.daily_series(AS_OF, 0)


def test_health_is_the_inventory_databases(source: ExecutiveKpiSource, tmp_path) -> None:
    assert source.check_health().ok
    broken = ExecutiveKpiSource(sa.create_engine(f"sqlite:///{tmp_path}/no/dir/x.sqlite3"), RATE)
    assert broken.check_health().status == "error"


# --- the week review on the database ------------------------------------------------------


def test_week_review_against_the_week_before(source: ExecutiveKpiSource) -> None:
    review = source.period_review(AS_OF, "week")
    assert list(review.columns) == [
        "kpi", "unit", "current", "previous", "delta", "delta_share", "sparkline",
    ]  # fmt: skip
    assert list(review["kpi"]) == KPIS
    assert list(review["unit"]) == [
        "money", "money", "ratio", "days", "ratio", "share", "count", "count",
    ]  # fmt: skip

    value = kpi(review, "inventory_value")
    # End of the 26th against end of the 19th.
    assert (value["current"], value["previous"], value["delta"]) == (190, 312, -122)
    assert value["delta_share"] == pytest.approx(-122 / 312)
    assert value["sparkline"] == WEEK_BEFORE_VALUES + WEEK_VALUES

    # Mean value this week: (282 * 2 + 232 * 3 + 230 + 190) / 7 = 1680 / 7 = 240; before: 312.
    carrying = kpi(review, "carrying_cost")
    assert carrying["current"] == pytest.approx(240 * 0.25 * 7 / 365)
    assert carrying["previous"] == pytest.approx(312 * 0.25 * 7 / 365)
    # delta / previous = (240 - 312) / 312 = -3/13.
    assert carrying["delta_share"] == pytest.approx(-3 / 13)
    assert sum(carrying["sparkline"][7:]) == pytest.approx(carrying["current"])

    # COGS 30 + 50 + 2 + 40 = 122 this week, nothing shipped the week before.
    turnover = kpi(review, "turnover")
    assert turnover["current"] == pytest.approx(122 * 365 / 7 / 240)
    assert turnover["previous"] == 0
    assert math.isnan(turnover["delta_share"])
    assert turnover["sparkline"] is None

    days = kpi(review, "days_of_inventory")
    assert days["current"] == pytest.approx(240 * 7 / 122)
    assert math.isnan(days["previous"])  # nothing shipped: no finite cover
    assert math.isnan(days["delta"])

    # Revenue 45 + 75 + 5 + 60 = 185: gross margin 63 on a mean value of 240.
    gmroi = kpi(review, "gmroi")
    assert gmroi["current"] == pytest.approx(63 * 365 / 7 / 240)
    assert gmroi["previous"] == 0

    # 13 of 15 units on this week's lines shipped (SO7's 2 open); 7 of 7 the week before.
    fill = kpi(review, "fill_rate")
    assert fill["current"] == pytest.approx(13 / 15)
    assert fill["previous"] == 1
    assert fill["delta_share"] == pytest.approx(-2 / 15)

    stockouts = kpi(review, "stockout_count")
    assert (stockouts["current"], stockouts["previous"], stockouts["delta"]) == (0, 0, 0)
    assert math.isnan(stockouts["delta_share"])

    # Orders SO2, SO4, SO5, SO8, SO6, SO7 this week; SO1 the week before.
    orders = kpi(review, "orders_per_day")
    assert orders["current"] == pytest.approx(6 / 7)
    assert orders["previous"] == pytest.approx(1 / 7)
    assert orders["delta_share"] == pytest.approx(5)
    assert orders["sparkline"] == [0, 0, 0, 0, 0, 0, 1, 1, 0, 2, 0, 0, 1, 2]


# --- ABC classes on the database ----------------------------------------------------------


def test_abc_classes_of_the_week(source: ExecutiveKpiSource) -> None:
    abc = source.abc_breakdown(AS_OF, 7)
    assert list(abc.columns) == ["class", "skus", "revenue", "revenue_share", "inventory_value"]
    assert abc["skus"].dtype == "int64"
    # Revenue A: (3 + 5 + 4) * 15 = 180, B: 1 * 5 = 5, of 185. A alone passes 80%: class A;
    # B starts at 180/185 = 97% cumulative, past 95%: class C. Nothing is left for B.
    # Value at the end of the 26th: A 8 * 10 (today's 2 shipped units still there), B 55 * 2.
    assert list(abc["class"]) == ["A", "B", "C"]
    assert list(abc["skus"]) == [1, 0, 1]
    assert list(abc["revenue"]) == [180, 0, 5]
    assert list(abc["revenue_share"]) == pytest.approx([180 / 185, 0, 5 / 185])
    assert list(abc["inventory_value"]) == [80, 0, 110]


def test_abc_classes_with_a_middle_sku_and_one_without_revenue(empty_engine: sa.Engine) -> None:
    build_small_inventory(empty_engine)
    # C (cost 3, price 5): 10 received at WH2 on 1 Nov, 3 shipped on the 24th -> 7 on hand.
    # D: never stocked, never sold.
    _add(
        empty_engine,
        Sku(id=3, code="C", name="Clamp", category="Tools", unit_cost=3, unit_price=5,
            supplier_id=1),
        Sku(id=4, code="D", name="Drill", category="Tools", unit_cost=1, unit_price=1,
            supplier_id=1),
        StockLevel(sku_id=3, warehouse_id=2, on_hand=Decimal(7), reserved=Decimal(0)),
        StockMovement(sku_id=3, warehouse_id=2, moved_at=dt.datetime(2026, 11, 1), kind="receipt",
                      quantity=10),
        StockMovement(sku_id=3, warehouse_id=2, moved_at=_at(24, 18), kind="shipment",
                      quantity=-3),
    )  # fmt: skip
    abc = ExecutiveKpiSource(empty_engine, RATE).abc_breakdown(AS_OF, 7)
    # Revenue A 180, C 15, B 5 of 200: A reaches 90% (class A); C starts at 90% < 95% (class B);
    # B starts at 97.5% (class C), with D (no revenue).
    assert list(abc["skus"]) == [1, 1, 2]
    assert list(abc["revenue"]) == [180, 15, 5]
    assert list(abc["revenue_share"]) == pytest.approx([0.9, 0.075, 0.025])
    assert list(abc["inventory_value"]) == [80, 21, 110]


# --- period_kpis on a hand-made series ----------------------------------------------------


def daily_frame(**columns: list[float]) -> pd.DataFrame:
    days = len(columns["inventory_value"])
    defaults = {name: [0.0] * days for name in DAILY_COLUMNS[1:]}
    frame = pd.DataFrame({**defaults, **columns})
    frame.insert(
        0, "day", pd.date_range("2026-01-01", periods=days, freq="D").astype("datetime64[ns]")
    )
    return frame


def test_period_kpis_of_a_hand_made_week_against_the_week_before() -> None:
    def days(week_before: list[float], week: list[float]) -> list[float]:
        # Two leading days with absurd figures: only the last 14 days are read.
        return [9e9, 9e9, *week_before, *week]

    daily = daily_frame(
        inventory_value=days([100.0] * 7, [150, 150, 150, 150, 250, 250, 300]),
        cogs=days([1.0] * 7, [2.0] * 7),
        revenue=days([0.5] * 7, [6.0] * 7),
        units_ordered=days([2, 2, 2, 1, 1, 1, 1], [4, 4, 4, 2, 2, 2, 2]),
        units_shipped=days([2, 2, 1, 1, 1, 1, 0], [4, 4, 4, 2, 2, 2, 1]),
        orders=days([1] * 7, [2] * 7),
        stockout_rows=days([0] * 7, [0, 1, 1, 2, 0, 0, 3]),
    )
    review = period_kpis(daily, "week", 0.25).set_index("kpi")
    assert list(review.index) == KPIS

    def figures(name: str) -> list[float]:
        return list(review.loc[name, ["current", "previous", "delta", "delta_share"]])

    # End of week 300 against 100.
    assert figures("inventory_value") == [300, 100, 200, 2]
    # Mean value 1400 / 7 = 200 against 100: 200 * 0.25 * 7 / 365 = 70/73 against 35/73.
    assert figures("carrying_cost") == pytest.approx([70 / 73, 35 / 73, 35 / 73, 1])
    # COGS 14 a week on 200, 7 on 100: 14 * 365 / 7 / 200 = 3.65 = 7 * 365 / 7 / 100.
    assert figures("turnover") == pytest.approx([3.65, 3.65, 0, 0])
    assert figures("days_of_inventory") == pytest.approx([100, 100, 0, 0])
    # Margin 42 - 14 = 28 on 200: 28 * 365 / 7 / 200 = 7.3; before 3.5 - 7 = -3.5 on 100:
    # -1.825. The change 9.125 is 5 times the size of the (negative) previous figure.
    assert figures("gmroi") == pytest.approx([7.3, -1.825, 9.125, 5])
    # 19 of 20 units shipped against 8 of 10.
    assert figures("fill_rate") == pytest.approx([0.95, 0.8, 0.15, 0.1875])
    # Stock-outs 7 pair-days in 7 days against none: no share of a change from zero.
    assert figures("stockout_count")[:3] == [1, 0, 1]
    assert math.isnan(figures("stockout_count")[3])
    assert figures("orders_per_day") == [2, 1, 1, 1]

    assert review.loc["inventory_value", "sparkline"] == [100.0] * 7 + [
        150, 150, 150, 150, 250, 250, 300,
    ]  # fmt: skip
    assert review.loc["carrying_cost", "sparkline"][0] == pytest.approx(100 * 0.25 / 365)
    assert review.loc["stockout_count", "sparkline"] == [0.0] * 7 + [0, 1, 1, 2, 0, 0, 3]
    assert review.loc["orders_per_day", "sparkline"] == [1.0] * 7 + [2.0] * 7
    for name in ("turnover", "days_of_inventory", "gmroi", "fill_rate"):
        assert review.loc[name, "sparkline"] is None


def test_a_month_is_30_days_and_ratios_without_stock_or_orders_are_nan() -> None:
    # 30 days without stock, then 30 with 365 of value and 1 of cost shipped a day.
    daily = daily_frame(
        inventory_value=[0.0] * 30 + [365.0] * 30,
        cogs=[0.0] * 30 + [1.0] * 30,
        orders=[0] * 30 + [3] * 30,
    )
    review = period_kpis(daily, "month", 0.1).set_index("kpi")
    # Turnover 30 * 365 / 30 / 365 = 1 a year: 365 days of inventory.
    assert review.loc["turnover", "current"] == pytest.approx(1.0)
    assert review.loc["days_of_inventory", "current"] == pytest.approx(365)
    # Carrying cost over 30 days: 365 * 0.1 * 30 / 365 = 3.
    assert review.loc["carrying_cost", "current"] == pytest.approx(3.0)
    assert review.loc["orders_per_day", "current"] == 3
    for name in ("turnover", "days_of_inventory", "gmroi", "fill_rate"):
        assert math.isnan(review.loc[name, "previous"])
    assert math.isnan(review.loc["fill_rate", "current"])  # no units ordered
    assert len(review.loc["inventory_value", "sparkline"]) == 60


def test_period_kpis_need_two_whole_periods_of_days() -> None:
    with pytest.raises(ValueError, match="quarter review needs 182 days"):
        period_kpis(daily_frame(inventory_value=[1.0] * 181), "quarter", 0.25)


def test_the_data_starts_at_the_first_sales_order(source: ExecutiveKpiSource) -> None:
    # SO1, 19 November at 10:00 (cancelled or not, an order says the data covers that day).
    assert source.first_order_at() == dt.datetime(2026, 11, 19, 10, 0, tzinfo=dt.UTC)


def test_without_orders_there_is_no_start(empty_engine: sa.Engine) -> None:
    Base.metadata.create_all(empty_engine)
    assert ExecutiveKpiSource(empty_engine, holding_cost_rate=RATE).first_order_at() is None
