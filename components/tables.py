"""Tables (dash-ag-grid): the stockout-risk list and the expiring lots.

AG Grid renders cell values as text, so names holding HTML show as typed. The two inventory
grids hold no rows of their own: they ask the server for blocks (``server_rows``), which a
callback answers with ``stockout_risk_response`` / ``expiring_lot_response``.
"""

from __future__ import annotations

from typing import Any

import dash_ag_grid as dag
import numpy as np
import pandas as pd
from dash.development.base_component import Component

from components import theme
from queries.row_blocks import DEFAULT_BLOCK_ROWS, RowBlock

GRID_THEME = theme.GRID_THEME


def d3_formatter(spec: str, suffix: str = "", empty: str = "") -> dict[str, str]:
    """An AG Grid valueFormatter: the value in d3-format ``spec`` followed by ``suffix``, and
    ``empty`` for no value (both plain text, no quotes)."""
    tail = f" + '{suffix}'" if suffix else ""
    return {
        "function": f"params.value == null ? '{empty}' : d3.format('{spec}')(params.value){tail}"
    }


NUMBER = d3_formatter(",.0f")
DECIMAL = d3_formatter(",.2f")
COVER = d3_formatter(",.1f", empty="∞ (no demand)")
SHARE = d3_formatter(".1%")
# A KPI table's value in the unit its row names (components.executive units): shares as
# percentages, days whole, money and the rest with two decimals.
BY_UNIT = {
    "function": (
        "params.value == null || !isFinite(params.value) ? 'n/a' : "
        "params.data.unit == 'share' ? d3.format('.1%')(params.value) : "
        "params.data.unit == 'days' ? d3.format(',.0f')(params.value) + ' d' : "
        "d3.format(',.2f')(params.value)"
    )
}

RISK_COLUMNS = [
    "sku_code", "sku_name", "category", "warehouse_code", "available", "on_order",
    "planned_daily_demand", "demand_basis", "days_of_cover", "stockout_probability",
    "expected_stockout_date", "reorder_point", "suggested_order_quantity", "inventory_value",
]  # fmt: skip

LOT_COLUMNS = [
    "sku_code", "sku_name", "warehouse_code", "lot_code", "expires_on", "days_to_expiry",
    "quantity", "value",
]  # fmt: skip


# Blocks a server-side grid keeps: refreshing the grid asks for each again, so few, but enough to
# page back and forth without asking.
CACHED_BLOCKS = 4


def column(field: str, header: str, **options: Any) -> dict[str, Any]:
    """An AG Grid column: ``field`` under ``header``, with AG Grid's ``options`` (minWidth,
    valueFormatter, cellClassRules, sort, pinned, ...)."""
    return {"field": field, "headerName": header, **options}


def number_column(
    field: str, header: str, formatter: dict[str, str], **options: Any
) -> dict[str, Any]:
    """A numeric ``column``, shown by ``formatter`` (NUMBER, DECIMAL, SHARE, ...) and filtered as
    numbers."""
    return column(field, header, valueFormatter=formatter, filter="agNumberColumnFilter", **options)


def data_grid(
    grid_id: str,
    column_defs: list[dict[str, Any]],
    height: str,
    csv_file: str | None = None,
    row_id: str | None = None,
    server_rows: bool = False,
) -> Component:
    """A paginated, sortable, filterable grid. With ``server_rows`` it sorts, filters and pages
    over rows it never holds: AG Grid's infinite row model asks for blocks of DEFAULT_BLOCK_ROWS
    through the ``getRowsRequest`` prop, one at a time (dash-ag-grid answers the latest request
    with ``getRowsResponse``, so two at once could swap), and a callback answers each."""
    rows: dict[str, Any] = {"rowData": []}
    server_options: dict[str, Any] = {}
    if server_rows:
        rows = {"rowModelType": "infinite"}
        server_options = {
            "cacheBlockSize": DEFAULT_BLOCK_ROWS,
            "maxBlocksInCache": CACHED_BLOCKS,
            "maxConcurrentDatasourceRequests": 1,
            "infiniteInitialRowCount": 1,
        }
    return dag.AgGrid(
        id=grid_id,
        columnDefs=column_defs,
        **rows,
        defaultColDef={
            "sortable": True,
            "filter": True,
            "floatingFilter": True,
            "resizable": True,
            "wrapHeaderText": True,
            "autoHeaderHeight": True,
        },
        columnSize="responsiveSizeToFit",
        dashGridOptions={
            "theme": GRID_THEME,
            "animateRows": False,
            "pagination": True,
            "paginationAutoPageSize": True,
            **server_options,
        },
        style={"height": height, "width": "100%"},
        className="grid",
        csvExportParams={"fileName": csv_file} if csv_file else None,
        getRowId=row_id,
    )


def stockout_risk_grid(grid_id: str) -> Component:
    at_risk = "params.data && params.data.at_risk"
    grid = data_grid(
        grid_id,
        [
            column("sku_code", "SKU", pinned="left", minWidth=140),
            column("sku_name", "Name", minWidth=200),
            column("category", "Category"),
            column("warehouse_code", "Warehouse"),
            number_column(
                "stockout_probability",
                "Stockout risk",
                {
                    "function": (
                        f"params.value == null ? '' : ({at_risk} ? '⚠ ' : '') + "
                        "d3.format('.1%')(params.value)"
                    )
                },
                cellClassRules={"risk-high": at_risk},
                sort="desc",
            ),
            number_column("days_of_cover", "Days of cover", COVER),
            column("expected_stockout_date", "Runs out", minWidth=140),
            number_column("available", "Available", NUMBER),
            number_column("on_order", "On order", NUMBER),
            number_column(
                "planned_daily_demand",
                "Demand / day",
                DECIMAL,
                # What the risk, cover and reorder point plan for: in the forecast's colour
                # where the SKU's forecast beats the baseline.
                headerTooltip=(
                    "The demand the risk, cover and reorder point are planned for: the "
                    "forecast's (violet) where it beats the seasonal naive baseline, else the "
                    "demand window's mean"
                ),
                cellClassRules={
                    "from-forecast": "params.data && params.data.demand_basis == 'forecast'"
                },
            ),
            number_column("reorder_point", "Reorder point", NUMBER),
            number_column("suggested_order_quantity", "Suggested order", NUMBER),
            number_column("inventory_value", "Stock value", NUMBER),
        ],
        height="520px",
        # Rows are known by SKU and warehouse, so a click names the SKU (the drill-down).
        row_id="params.data.sku_code + '@' + params.data.warehouse_code",
        server_rows=True,
    )
    return grid


def expiring_lots_grid(grid_id: str) -> Component:
    expired = "params.data && params.data.days_to_expiry < 0"
    return data_grid(
        grid_id,
        [
            column("sku_code", "SKU", minWidth=100),
            column("sku_name", "Name", minWidth=160),
            column("warehouse_code", "Warehouse"),
            column("lot_code", "Lot"),
            column("expires_on", "Expires", sort="asc"),
            number_column(
                "days_to_expiry",
                "Days left",
                {
                    "function": (
                        f"params.value == null ? '' : {expired} ? "
                        "'expired ' + (-params.value) + ' d ago' : params.value + ' d'"
                    )
                },
                cellClassRules={"risk-high": expired},
            ),
            number_column("quantity", "Units", NUMBER),
            number_column("value", "Value", NUMBER),
        ],
        height="420px",
        server_rows=True,
    )


def json_records(frame: pd.DataFrame, columns: list[str]) -> list[dict[str, Any]]:
    """JSON-safe rows: dates as ISO days, infinities and NaN as null."""
    out = frame[columns].copy()
    for column in columns:
        if pd.api.types.is_datetime64_any_dtype(out[column]):
            out[column] = (
                out[column].dt.strftime("%Y-%m-%d").astype(object).where(out[column].notna(), None)
            )
        elif pd.api.types.is_float_dtype(out[column]):
            values = out[column].replace([np.inf, -np.inf], np.nan)
            out[column] = values.astype(object).where(values.notna(), None)
    return [{str(key): value for key, value in record.items()} for record in out.to_dict("records")]


def stockout_risk_rows(risks: pd.DataFrame) -> list[dict[str, Any]]:
    return json_records(risks, [*RISK_COLUMNS, "at_risk"])


def expiring_lot_rows(lots: pd.DataFrame) -> list[dict[str, Any]]:
    return json_records(lots, LOT_COLUMNS)


def grid_rows_response(rows: list[dict[str, Any]], row_count: int) -> dict[str, Any]:
    """A server-side grid's ``getRowsResponse``: the block's rows and how many rows there are."""
    return {"rowData": rows, "rowCount": row_count}


def stockout_risk_response(block: RowBlock) -> dict[str, Any]:
    return grid_rows_response(stockout_risk_rows(block.rows), block.row_count)


def expiring_lot_response(block: RowBlock) -> dict[str, Any]:
    return grid_rows_response(expiring_lot_rows(block.rows), block.row_count)
