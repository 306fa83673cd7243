"""The Inventory page: KPI tiles, stockout risks, value and carrying cost, expiry, utilisation.

The stockout-risk and expiring-lots grids take their rows from the server a block at a time
(``queries.row_blocks``), cut from the cached snapshot every screen shares: the refresh sends
only which snapshot and filter the page shows (``inv-grid-view``), and a change of either makes
the grids ask again for the blocks they show.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import dash_mantine_components as dmc
import numpy as np
import plotly.graph_objects as go
from dash import Dash, Input, Output, State, dcc, html, no_update
from dash.development.base_component import Component

from components import charts, tables
from components.formatting import count, money, percent
from components.kpi import kpi_row, kpi_value
from components.panels import Freshness, freshness_line, panel
from components.sku_detail import sku_detail
from dashboard import fetches
from dashboard.context import DashboardContext
from dashboard.outputs import by_id, kpi_outputs, kpi_values
from dashboard.settings import Settings
from dashboard.ticks import TICK, while_refreshing
from dashboard.url_sync import FILTER_ALL, keep_in_url, url_select
from dashboard.urlstate import ViewState, parse_view
from queries.inventory import InventorySnapshot
from queries.rollups import (
    ALL,
    EXPIRY_HORIZONS_DAYS,
    choices,
    demand_band,
    filter_rows,
    inventory_kpis,
    summary_by,
    top_stockout_risks,
)
from queries.row_blocks import row_block

GridName = Literal["risk", "lots"]
GRID_IDS: dict[GridName, str] = {"risk": "inv-risk-grid", "lots": "inv-lots-grid"}

# On a new snapshot the grids ask again for the blocks they hold and stay where they are; on a new
# filter they drop them and start at the first page. ``shown`` is what they last asked for, and
# which grids were then still waiting for a block: a grid asks one block at a time, so one answer
# lost (a dropped connection, a restarted server) would leave it waiting for ever. One still
# waiting a snapshot later asks again; Dash applies only the latest answer to a request.
_REFETCH_GRIDS = """
function (view, shown, ...requests) {
    const same = (key) => (view || {})[key] === (shown || {})[key];
    if (!view || (same("fetched_at") && same("warehouse") && same("category"))) {
        return window.dash_clientside.no_update;
    }
    const refiltered = !(same("warehouse") && same("category"));
    const waitedBefore = (shown || {}).waiting || [];
    const waiting = [];
    GRID_IDS.forEach((id, index) => {
        let api;
        try {
            api = window.dash_ag_grid.getApi(id);
        } catch (notReady) {
            return;  // a grid not ready yet asks for its first block by itself
        }
        const blocks = Object.values(api.getCacheBlockState() || {});
        if (blocks.some((block) => block.pageStatus !== "loaded")) {
            if (waitedBefore.includes(id) && requests[index]) {
                window.dash_clientside.set_props(
                    id, {getRowsRequest: {...requests[index], askedAgain: view.fetched_at}}
                );
            }
            waiting.push(id);
        }
        if (refiltered) {
            api.purgeInfiniteCache();
            api.paginationGoToFirstPage();
        } else {
            api.refreshInfiniteCache();
        }
    });
    return {...view, waiting: waiting};
}
""".replace("GRID_IDS", json.dumps(list(GRID_IDS.values())))


def grid_view(fetched_at: str | None, warehouse: str, category: str) -> dict[str, str | None]:
    """What the grids show: the snapshot (its fetched_at, ISO) and the filter."""
    return {"fetched_at": fetched_at, "warehouse": warehouse, "category": category}


def layout(context: DashboardContext, view: ViewState) -> Component:
    warehouse, category = view.filter("warehouse"), view.filter("category")
    return html.Div(
        [
            dcc.Store(id="inv-grid-view", data=grid_view(None, warehouse, category)),
            dcc.Store(id="inv-grid-shown", data=grid_view(None, warehouse, category)),
            html.Div(
                [
                    html.H1("Inventory", className="page-title"),
                    url_select("inv-warehouse", "Warehouse", warehouse),
                    url_select("inv-category", "Category", category),
                    html.Div(id="inv-freshness", className="freshness-slot"),
                    html.Div(id="inv-filter-problems"),
                ],
                className="page-toolbar",
            ),
            html.Div(
                [
                    kpi_row(
                        {
                            "inv-kpi-value": "Inventory value",
                            "inv-kpi-carrying": "Carrying cost / year",
                            "inv-kpi-risk": "SKUs at stockout risk",
                            "inv-kpi-fill": "Fill rate",
                        },
                        cols={"base": 1, "sm": 2, "lg": 4},
                    ),
                    dmc.Modal(
                        id="sku-modal",
                        size="80%",
                        title="SKU detail",
                        children=html.Div(id="sku-detail"),
                    ),
                    panel(
                        "Stockout risk",
                        tables.stockout_risk_grid("inv-risk-grid"),
                        "inv-risk-panel",
                    ),
                    dmc.SimpleGrid(
                        [
                            panel(
                                "Value and carrying cost by warehouse",
                                dcc.Graph(id="inv-by-warehouse", config={"displayModeBar": False}),
                                "inv-warehouse-panel",
                            ),
                            panel(
                                "Value and carrying cost by category",
                                dcc.Graph(id="inv-by-category", config={"displayModeBar": False}),
                                "inv-category-panel",
                            ),
                            panel(
                                "Warehouse utilisation",
                                dcc.Graph(id="inv-utilisation", config={"displayModeBar": False}),
                                "inv-utilisation-panel",
                            ),
                        ],
                        cols={"base": 1, "md": 2, "xl": 3},
                        spacing="md",
                    ),
                    panel(
                        "Expiring lots",
                        html.Div(
                            [
                                html.Div(id="inv-expiry-summary", className="expiry-summary"),
                                tables.expiring_lots_grid("inv-lots-grid"),
                            ]
                        ),
                        "inv-lots-panel",
                    ),
                ],
                id="inv-body",
                className="inv-body",
            ),
        ],
        className="inventory-page",
    )


@dataclass(frozen=True)
class InventoryView:
    """Everything the page shows for one snapshot and filter, ready for the callback outputs."""

    kpi_values: Sequence[Component]
    kpi_hints: list[str]
    by_warehouse: go.Figure
    by_category: go.Figure
    expiry_summary: Sequence[Component]
    utilisation: go.Figure
    warehouse_options: list[dict[str, str]]
    category_options: list[dict[str, str]]


def inventory_view(
    snapshot: InventorySnapshot, warehouse: str, category: str, settings: Settings
) -> InventoryView:
    demand_window_days = settings.demand_window_days
    positions = filter_rows(snapshot.positions, warehouse, category)
    lots = filter_rows(snapshot.lots, warehouse, category)
    kpis = inventory_kpis(positions)
    risk_level = "alert" if kpis.skus_at_risk else "normal"
    fill_level = "warning" if kpis.fill_rate is not None and kpis.fill_rate < 0.95 else "normal"
    by_warehouse = summary_by(positions, lots, "warehouse", demand_window_days, snapshot.warehouses)
    by_category = summary_by(positions, lots, "category", demand_window_days)
    expiring = [
        html.Div(
            [
                html.Span(f"≤ {days} d", className="expiry-horizon"),
                html.Span(
                    money(float(by_category[f"expiring_{days}_value"].sum())),
                    className="expiry-value",
                ),
            ],
            className="expiry-chip",
        )
        for days in EXPIRY_HORIZONS_DAYS
    ]
    names = snapshot.positions.drop_duplicates("warehouse_code")
    return InventoryView(
        kpi_values=[
            kpi_value(money(kpis.inventory_value), kpis.inventory_value),
            kpi_value(money(kpis.annual_carrying_cost), kpis.annual_carrying_cost),
            kpi_value(count(kpis.skus_at_risk), kpis.skus_at_risk, risk_level),
            kpi_value(percent(kpis.fill_rate), kpis.fill_rate, fill_level),
        ],
        kpi_hints=[
            f"{count(kpis.sku_count)} SKUs on hand or stocked",
            f"{money(kpis.annual_carrying_cost / 365)} a day",
            f"stockout probability above {percent(settings.risk_threshold, 0)} within lead time",
            f"units shipped / ordered, last {demand_window_days} days",
        ],
        by_warehouse=charts.value_and_carrying_cost(by_warehouse),
        by_category=charts.value_and_carrying_cost(by_category),
        expiry_summary=expiring,
        utilisation=charts.warehouse_utilisation(by_warehouse),
        warehouse_options=FILTER_ALL
        + [
            {"value": code, "label": f"{code} · {name}"}
            for code, name in zip(names["warehouse_code"], names["warehouse_name"], strict=True)
        ],
        category_options=FILTER_ALL
        + [{"value": c, "label": c} for c in choices(snapshot.positions, "category")],
    )


def empty_view(message: str) -> InventoryView:
    figure = charts.empty_figure(message)
    unavailable = [kpi_value("n/a", None) for _ in range(4)]
    return InventoryView(
        unavailable, ["", "", "", ""], figure, figure, [], figure, FILTER_ALL, FILTER_ALL
    )


def known_filter(
    snapshot: InventorySnapshot, warehouse: object, category: object
) -> tuple[str, str, dict[str, str]]:
    """The warehouse and category to show: each as asked when the snapshot has it, else "all";
    and the asked values it lacks, by filter name."""
    unknown: dict[str, str] = {}
    shown: dict[str, str] = {}
    known = {
        "warehouse": snapshot.warehouses["warehouse_code"],
        "category": snapshot.positions["category"],
    }
    for name, asked in (("warehouse", warehouse), ("category", category)):
        if not isinstance(asked, str) or not asked or asked == ALL:
            shown[name] = ALL
        elif bool(known[name].eq(asked).any()):
            shown[name] = asked
        else:
            shown[name], unknown[name] = ALL, asked
    return shown["warehouse"], shown["category"], unknown


def grid_rows(
    context: DashboardContext, grid: GridName, request: object, view: object
) -> dict[str, Any]:
    """The ``getRowsResponse`` to a grid's ``request``, for the snapshot cached now and the
    filter of ``view`` (the page's ``inv-grid-view``; one the snapshot lacks means "all").

    Every screen asking for the same block of the same snapshot and filter shares one answer;
    a block that cannot be cut (whatever the request held) is an empty one, never an error.
    """
    snapshot = fetches.inventory_snapshot(context).value
    asked = view if isinstance(view, dict) else {}
    if snapshot is None:
        return tables.grid_rows_response([], 0)
    warehouse, category, _ = known_filter(snapshot, asked.get("warehouse"), asked.get("category"))
    shown = (snapshot.fetched_at.isoformat(), warehouse, category)
    # What the block depends on; a retry's marker or the grid's context is not part of it.
    fields = request if isinstance(request, dict) else {}
    digest = hashlib.sha256(
        json.dumps(
            [fields.get(k) for k in ("startRow", "endRow", "sortModel", "filterModel")],
            sort_keys=True,
            default=repr,
        ).encode()
    ).hexdigest()

    positions = snapshot.positions

    def answer() -> dict[str, Any]:
        if grid == "risk":
            order = shared_risk_order(context, snapshot, warehouse, category)
            if order is None:
                return tables.grid_rows_response([], 0)
            risks = positions[[*tables.RISK_COLUMNS, "at_risk"]].iloc[order]
            return tables.stockout_risk_response(row_block(risks, request, tables.RISK_COLUMNS))
        lots = filter_rows(snapshot.lots, warehouse, category)
        return tables.expiring_lot_response(row_block(lots, request, tables.LOT_COLUMNS))

    block = fetches.shared_rendering(context, f"inventory:{grid}-block", (*shown, digest), answer)
    return block if block is not None else tables.grid_rows_response([], 0)


def shared_view(
    context: DashboardContext, snapshot: InventorySnapshot, warehouse: str, category: str
) -> InventoryView | None:
    """The page's figures of ``snapshot`` for a known filter: every screen with the same
    filter shares one rendering of the same snapshot."""
    return fetches.shared_rendering(
        context,
        "inventory:view",
        (snapshot.fetched_at.isoformat(), warehouse, category),
        lambda: inventory_view(snapshot, warehouse or ALL, category or ALL, context.settings),
    )


def shared_risk_order(
    context: DashboardContext, snapshot: InventorySnapshot, warehouse: str, category: str
) -> np.ndarray | None:
    """Where top_stockout_risks' rows (the risk grid's default and tie-break order) are among
    the positions of a known filter: cheaper to share between screens than the rows."""

    def risk_order() -> np.ndarray:
        numbered = snapshot.positions.reset_index(drop=True)
        return top_stockout_risks(filter_rows(numbered, warehouse, category)).index.to_numpy()

    shown = (snapshot.fetched_at.isoformat(), warehouse, category)
    return fetches.shared_rendering(context, "inventory:risk-order", shown, risk_order)


def render_default_view(context: DashboardContext, snapshot: InventorySnapshot) -> None:
    """The unfiltered page and risk order, made with the snapshot before a screen asks."""
    warehouse, category, _ = known_filter(snapshot, ALL, ALL)
    shared_view(context, snapshot, warehouse, category)
    shared_risk_order(context, snapshot, warehouse, category)


def _with_unknown(options: list[dict[str, str]], unknown: str | None) -> list[dict[str, str]]:
    return [*options, {"value": unknown, "label": f"{unknown} (unknown)"}] if unknown else options


def register_callbacks(app: Dash, context: DashboardContext) -> None:
    keep_in_url(app, {"inv-warehouse": "warehouse", "inv-category": "category"})
    context.add_snapshot_rendering(lambda snapshot: render_default_view(context, snapshot))

    for grid, grid_id in GRID_IDS.items():

        def answer_rows(
            request: dict[str, Any] | None, view: dict[str, Any] | None, grid: GridName = grid
        ) -> dict[str, Any]:
            return grid_rows(context, grid, request, view)

        app.callback(
            Output(grid_id, "getRowsResponse"),
            Input(grid_id, "getRowsRequest"),
            State("inv-grid-view", "data"),
            prevent_initial_call=True,
        )(answer_rows)

    app.clientside_callback(  # type: ignore[no-untyped-call]
        _REFETCH_GRIDS,
        Output("inv-grid-shown", "data"),
        Input("inv-grid-view", "data"),
        State("inv-grid-shown", "data"),
        *(State(grid_id, "getRowsRequest") for grid_id in GRID_IDS.values()),
        prevent_initial_call=True,
    )

    @app.callback(
        Output("sku-modal", "opened"),
        Output("sku-detail", "children"),
        Input("inv-risk-grid", "cellClicked"),
        prevent_initial_call=True,
    )
    def open_sku(cell: dict[str, Any] | None) -> tuple[Any, ...]:
        """A click on a risk row opens that SKU's detail, from the cached snapshot and two
        small per-SKU queries."""
        row_id = str((cell or {}).get("rowId") or "")
        sku = row_id.rpartition("@")[0]
        fetched = fetches.inventory_snapshot(context)
        if not sku or fetched.value is None:
            return no_update, no_update
        positions = fetched.value.positions[fetched.value.positions["sku_code"] == sku]
        if positions.empty:
            return no_update, no_update
        as_of = fetched.value.as_of
        history, orders = fetches.sku_detail(context, sku, as_of)
        if history.value is None or orders.value is None:
            return True, dmc.Alert(
                f"{context.inventory.name} unreachable: {history.error or orders.error}",
                color="red",
            )
        forecast = fetches.sku_forecast(context, sku)
        band = demand_band(history.value)
        return True, sku_detail(
            positions,
            history.value,
            band,
            orders.value,
            forecast.value,
            forecast.error,
            window_days=context.inventory.policy.demand_window_days,
        )

    tiles = ("inv-kpi-value", "inv-kpi-carrying", "inv-kpi-risk", "inv-kpi-fill")

    @app.callback(
        output=by_id(
            Output("inv-freshness", "children"),
            Output("inv-body", "className"),
            *kpi_outputs(*tiles),
            Output("inv-grid-view", "data"),
            Output("inv-by-warehouse", "figure"),
            Output("inv-by-category", "figure"),
            Output("inv-expiry-summary", "children"),
            Output("inv-utilisation", "figure"),
            Output("inv-warehouse", "data"),
            Output("inv-category", "data"),
            Output("inv-filter-problems", "children"),
        ),
        inputs={
            "_": TICK,
            "warehouse": Input("inv-warehouse", "value"),
            "category": Input("inv-category", "value"),
            "search": State("url", "search"),
        },
        running=while_refreshing("inventory"),
    )
    def refresh(
        _: int | None, warehouse: str | None, category: str | None, search: str | None
    ) -> dict[str, Any]:
        asked = parse_view(None, search)
        warehouse = warehouse or asked.filter("warehouse")
        category = category or asked.filter("category")
        fetched = fetches.inventory_snapshot(context)
        freshness = Freshness(
            context.inventory.name, fetched.fetched_at, fetched.error, fetched.error_since
        )
        snapshot = fetched.value
        view: InventoryView | None = None
        # Values the URL asked for that the data does not have: said on the page, kept among the
        # options (so the address stays as given), and replaced by "all" for the figures.
        unknown: dict[str, str] = {}
        fetched_at = None
        if snapshot is not None:
            warehouse, category, unknown = known_filter(snapshot, warehouse, category)
            fetched_at = snapshot.fetched_at.isoformat()
            view = shared_view(context, snapshot, warehouse, category)
        if view is None:
            view = empty_view(f"{context.inventory.name} unreachable")
        return {
            "inv-freshness": freshness_line(freshness, context.settings.refresh_seconds),
            "inv-body": "inv-body stale" if freshness.stale else "inv-body",
            **{
                key: value
                for tile, number, hint in zip(tiles, view.kpi_values, view.kpi_hints, strict=True)
                for key, value in kpi_values(tile, number, hint).items()
            },
            "inv-grid-view": grid_view(fetched_at, warehouse or ALL, category or ALL),
            "inv-by-warehouse": view.by_warehouse,
            "inv-by-category": view.by_category,
            "inv-expiry-summary": view.expiry_summary,
            "inv-utilisation": view.utilisation,
            "inv-warehouse": _with_unknown(view.warehouse_options, unknown.get("warehouse")),
            "inv-category": _with_unknown(view.category_options, unknown.get("category")),
            "inv-filter-problems": dmc.Alert(
                "No "
                + " or ".join(f"{k} {v!r}" for k, v in unknown.items())
                + " here: showing all",
                color="yellow",
            )
            if unknown
            else None,
        }
