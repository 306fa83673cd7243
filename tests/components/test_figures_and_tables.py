"""Panels are pure functions of DataFrames: what goes in is what the figure or grid shows."""

from __future__ import annotations

import math

import pandas as pd

from components import theme
from components.charts import empty_figure, value_and_carrying_cost, warehouse_utilisation
from components.tables import (
    RISK_COLUMNS,
    expiring_lot_rows,
    expiring_lots_grid,
    stockout_risk_grid,
    stockout_risk_response,
    stockout_risk_rows,
)
from queries.row_blocks import MAX_BLOCK_ROWS, RowBlock


def summary() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "key": ["WH1", "WH2"],
            "label": ["North <b>hub</b>", "South"],
            "inventory_value": [160.0, 10.0],
            "annual_carrying_cost": [40.0, 2.5],
            "utilisation": [0.95, 0.025],
        }
    )


def test_value_chart_shows_each_group_with_markup_escaped() -> None:
    figure = value_and_carrying_cost(summary())
    value, cost = figure.data
    assert list(value.y) == ["South", "North &lt;b&gt;hub&lt;/b&gt;"]
    assert list(value.x) == [10.0, 160.0]
    assert list(cost.x) == [2.5, 40.0]


def test_utilisation_marks_warehouses_near_capacity_with_a_symbol_not_only_colour() -> None:
    (bars,) = warehouse_utilisation(summary()).data
    assert list(bars.text) == ["2%", "⚠ 95%"]
    assert bars.marker.color[1] != bars.marker.color[0]


def test_empty_summaries_give_a_figure_that_says_so() -> None:
    figure = value_and_carrying_cost(summary().iloc[0:0])
    assert figure.layout.annotations[0].text == "No stock for this filter"


def test_grid_rows_are_json_safe() -> None:
    risks = pd.DataFrame({column: [1.0] for column in RISK_COLUMNS})
    risks["sku_code"] = "A"
    risks["days_of_cover"] = math.inf
    risks["expected_stockout_date"] = pd.Series([pd.NaT], dtype="datetime64[ns]")
    risks["at_risk"] = True
    (row,) = stockout_risk_rows(risks)
    assert row["days_of_cover"] is None
    assert row["expected_stockout_date"] is None
    assert row["at_risk"] is True
    lots = pd.DataFrame(
        {
            "sku_code": ["B"], "sku_name": ["Saline"], "warehouse_code": ["WH1"], "lot_code": ["L1"],
            "expires_on": pd.to_datetime(["2026-12-10"]), "days_to_expiry": [13], "quantity": [30.0], "value": [60.0],
        }
    )  # fmt: skip
    assert expiring_lot_rows(lots) == [
        {
            "sku_code": "B",
            "sku_name": "Saline",
            "warehouse_code": "WH1",
            "lot_code": "L1",
            "expires_on": "2026-12-10",
            "days_to_expiry": 13,
            "quantity": 30.0,
            "value": 60.0,
        }
    ]


def test_a_block_is_answered_as_json_rows_and_the_count_of_all_rows() -> None:
    risks = pd.DataFrame({column: [2.0, 3.0] for column in RISK_COLUMNS})
    risks["sku_code"] = ["A", "B"]
    risks["days_of_cover"] = [math.inf, 4.0]
    risks["expected_stockout_date"] = pd.to_datetime([None, "2026-12-01 06:00"])
    risks["at_risk"] = [False, True]

    response = stockout_risk_response(RowBlock(rows=risks.iloc[1:], start=1, row_count=9000))

    assert response["rowCount"] == 9000
    (row,) = response["rowData"]
    assert (row["sku_code"], row["days_of_cover"], row["at_risk"]) == ("B", 4.0, True)
    assert row["expected_stockout_date"] == "2026-12-01"
    assert set(row) == {*RISK_COLUMNS, "at_risk"}


def test_the_inventory_grids_ask_the_server_for_blocks_it_answers_whole() -> None:
    for grid in (stockout_risk_grid("risk"), expiring_lots_grid("lots")):
        options = grid.dashGridOptions
        assert grid.rowModelType == "infinite"
        assert "rowData" not in grid.to_plotly_json()["props"]
        # A block larger than the server's cap would leave the grid waiting for missing rows.
        assert options["cacheBlockSize"] <= MAX_BLOCK_ROWS
        # dash-ag-grid answers only the latest request: two at once could swap their rows.
        assert options["maxConcurrentDatasourceRequests"] == 1
    assert stockout_risk_grid("risk").getRowId == (
        "params.data.sku_code + '@' + params.data.warehouse_code"
    )


def test_a_kpi_card_without_a_previous_period_compares_with_nothing() -> None:
    from components.executive import kpi_card

    card = kpi_card(
        {"kpi": "orders_per_day", "unit": "count", "current": 220.0, "previous": float("nan"),
         "delta": float("nan"), "delta_share": float("nan"), "sparkline": []}
    )  # fmt: skip
    change = card.children[2]
    assert change.children == "no previous period in the data to compare with"
    assert "exec-neutral" in change.className


def test_the_orders_tile_compares_with_the_same_hour_a_week_ago_in_few_words() -> None:
    from components.ops import change_text

    assert change_text(30, 24) == "▲ 25% vs 24 a week ago"
    assert change_text(12, 24) == "▼ 50% vs 24 a week ago"
    assert change_text(5, 0) == "none this hour a week ago"
    assert change_text(0, 0) == "none now or a week ago"


def test_figures_are_drawn_with_the_theme_s_template() -> None:
    figure = empty_figure("nothing yet")
    # The surfaces and grid lines come from the template, not set per figure.
    assert figure.layout.paper_bgcolor is None
    assert figure.layout.xaxis.gridcolor is None
    assert figure.layout.template.layout.paper_bgcolor == theme.PANEL
    assert figure.layout.template.layout.xaxis.gridcolor == theme.LINE
    assert list(figure.layout.template.layout.colorway) == list(theme.WORKLOAD_PALETTE)
