"""/ops: the operations wall screen. Big tiles, the top risks, pod health, orders per minute.

Made to fit 1920x1080 and 3840x2160 without scrolling and to be read from 5 m; colour always
comes with a symbol or a word.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import dash_mantine_components as dmc
import pandas as pd
from dash import Dash, Input, Output, State, dcc, html
from dash.development.base_component import Component

from components import cluster, ops
from components.charts import empty_figure
from components.formatting import count, money
from components.kpi import kpi_row, kpi_value
from components.panels import Freshness, freshness_line, panel
from dashboard import alerting, fetches
from dashboard.cache import Fetched
from dashboard.context import DashboardContext, stamp
from dashboard.outputs import by_id, kpi_outputs, kpi_values
from dashboard.ticks import TICK, while_refreshing
from dashboard.urlstate import ViewState, effective_view, parse_view
from queries.inventory import InventorySnapshot
from queries.rollups import (
    ALL,
    expiring_soon,
    filter_rows,
    inventory_kpis,
    orders_in_last_hour,
    top_stockout_risks,
)
from queries.scope import Scope

# The expiring-lots tile counts the lots expiring within this many days (inclusive).
EXPIRING_TILE_DAYS = 30
# The tiles the inventory snapshot fills (the others: orders, pods).
STOCK_TILES = ("ops-kpi-value", "ops-kpi-risk", "ops-kpi-expiring")


def layout(context: DashboardContext, view: ViewState) -> Component:
    return html.Div(
        [
            html.Div(
                [
                    html.H1("Operations", className="page-title"),
                    html.Div(id="ops-scope", className="ops-scope"),
                    html.Div(id="ops-freshness", className="freshness-slot"),
                ],
                className="page-toolbar",
            ),
            alerting.alert_strip(),
            kpi_row(
                {
                    "ops-kpi-value": "Inventory value",
                    "ops-kpi-risk": "SKUs at risk",
                    "ops-kpi-expiring": f"Lots expiring ≤ {EXPIRING_TILE_DAYS} d",
                    "ops-kpi-orders": "Orders, last hour",
                    "ops-kpi-pods": "Unhealthy pods",
                }
            ),
            dmc.SimpleGrid(
                [
                    panel("Top stockout risks", html.Div(id="ops-risks"), "ops-risks-panel"),
                    panel(
                        "Order lines per minute",
                        html.Div(
                            [
                                html.Div(id="ops-orders-freshness", className="freshness-slot"),
                                dcc.Graph(id="ops-orders", config={"displayModeBar": False}),
                            ]
                        ),
                        "ops-orders-panel",
                    ),
                ],
                cols=2,
                spacing="md",
            ),
            panel(
                "Pod health",
                html.Div(
                    [
                        html.Div(
                            [
                                html.Div(id="ops-pods-badge"),
                                html.Div(id="ops-pods-freshness", className="freshness-slot"),
                            ],
                            className="panel-meta",
                        ),
                        html.Div(id="ops-pod-tiles", className="pod-grid ops-pods"),
                    ]
                ),
                "ops-pods-panel",
            ),
        ],
        className="ops-page",
    )


def register_callbacks(app: Dash, context: DashboardContext) -> None:
    settings = context.settings
    pods_source = context.sources.cluster

    @app.callback(
        output=by_id(
            Output("ops-scope", "children"),
            Output("ops-freshness", "children"),
            *kpi_outputs(*STOCK_TILES),
            Output("ops-risks", "children"),
        ),
        inputs={
            "_": TICK,
            "search": Input("url", "search"),
            "rotation": State("rotation", "data"),
        },
        running=while_refreshing("ops-stock"),
    )
    def refresh_stock(
        _: int | None, search: str | None, rotation: dict[str, str] | None
    ) -> dict[str, Any]:
        # The playlist's rotated value only while the address still rotates that filter.
        warehouse = effective_view(None, search, rotation).filter("warehouse")
        fetched = fetches.inventory_snapshot(context)
        line = freshness_line(
            Freshness(
                context.inventory.name, fetched.fetched_at, fetched.error, fetched.error_since
            ),
            settings.refresh_seconds,
        )
        scope = f"Warehouse {warehouse}" if warehouse != ALL else "All warehouses"
        snapshot = fetched.value
        tiles = None if snapshot is None else shared_tiles(snapshot, warehouse)
        if tiles is None:
            na = kpi_value("n/a", None)
            message = "No inventory data" if snapshot is None else "Inventory figures failed"
            tiles = {
                **{key: v for tile in STOCK_TILES for key, v in kpi_values(tile, na, "").items()},
                "ops-risks": html.Div(message, className="empty-note"),
            }
        return {"ops-scope": scope, "ops-freshness": line, **tiles}

    def shared_tiles(snapshot: InventorySnapshot, warehouse: str) -> dict[str, Any] | None:
        """Every screen on the same warehouse shares one rendering of the same snapshot (at
        scale, rolling up and sorting every SKU x warehouse row is the callback's cost)."""
        return fetches.shared_rendering(
            context,
            "ops:stock-tiles",
            (snapshot.fetched_at.isoformat(), warehouse),
            lambda: stock_tiles(snapshot, warehouse),
        )

    # All warehouses, what a wall screen shows unless a playlist rotates them: made with the
    # snapshot, before the first screen asks.
    context.add_snapshot_rendering(lambda snapshot: shared_tiles(snapshot, ALL))

    def stock_tiles(snapshot: InventorySnapshot, warehouse: str) -> dict[str, Any]:
        positions = filter_rows(snapshot.positions, warehouse=warehouse)
        lots = filter_rows(snapshot.lots, warehouse=warehouse)
        kpis = inventory_kpis(positions)
        soon = expiring_soon(lots, EXPIRING_TILE_DAYS)
        at_risk = kpis.skus_at_risk
        return {
            **kpi_values(
                "ops-kpi-value",
                kpi_value(money(kpis.inventory_value), kpis.inventory_value),
                f"{count(kpis.sku_count)} SKUs",
            ),
            **kpi_values(
                "ops-kpi-risk",
                kpi_value(count(at_risk), at_risk, "alert" if at_risk else "normal"),
                f"of {count(kpis.sku_count)}",
            ),
            **kpi_values(
                "ops-kpi-expiring",
                kpi_value(count(soon.lots), soon.lots, "warning" if soon.lots else "normal"),
                f"worth {money(soon.value)}",
            ),
            "ops-risks": ops.risk_list(top_stockout_risks(positions), limit=6),
        }

    @app.callback(
        Output("ops-kpi-orders-value", "children"),
        Output("ops-kpi-orders-hint", "children"),
        Output("ops-orders", "figure"),
        Output("ops-orders-freshness", "children"),
        TICK,
        Input("url", "search"),
        running=while_refreshing("ops-orders"),
    )
    def refresh_orders(_: int | None, search: str | None) -> tuple[Any, ...]:
        minutes = parse_view(None, search).range_minutes
        now = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0)
        window = dt.timedelta(minutes=max(minutes, 60))
        recent = fetches.order_volume(context, minutes, now - window, now)
        last_week = fetches.order_volume_a_week_ago(context, now)
        # Every screen on this range shares one rendering of the same entries.
        return context.renderings.get(
            "ops:orders",
            (minutes, stamp(recent), stamp(last_week)),
            lambda: render_orders(recent, last_week),
        )

    def render_orders(
        recent: Fetched[pd.DataFrame], last_week: Fetched[pd.DataFrame]
    ) -> tuple[Any, ...]:
        line = freshness_line(
            Freshness(context.inventory.name, recent.fetched_at, recent.error, recent.error_since),
            settings.refresh_seconds,
        )
        if recent.value is None:
            return kpi_value("n/a", None), "", empty_figure("No order data"), line
        frame = recent.value
        hour = orders_in_last_hour(frame)
        # The week-ago frame is that one hour.
        previous = int(last_week.value["orders"].sum()) if last_week.value is not None else 0
        return (
            kpi_value(count(hour), hour),
            ops.change_text(hour, previous),
            ops.orders_per_minute_figure(frame),
            line,
        )

    @app.callback(
        Output("ops-kpi-pods-value", "children"),
        Output("ops-kpi-pods-hint", "children"),
        Output("ops-pod-tiles", "children"),
        Output("ops-pods-freshness", "children"),
        Output("ops-pods-badge", "children"),
        TICK,
        Input("url", "search"),
        State("rotation", "data"),
        running=while_refreshing("ops-pods"),
    )
    def refresh_pods(
        _: int | None, search: str | None, rotation: dict[str, str] | None
    ) -> tuple[Any, ...]:
        view = effective_view(None, search, rotation)
        scope = Scope.of(view.filter("namespace"), view.filter("workload"))
        name = pods_source.name if pods_source else "Kubernetes API"
        fetched = fetches.fetch_pods(context)
        badge = cluster.demo_badge(bool(pods_source and pods_source.is_demo))
        if fetched.value is None:
            line = freshness_line(Freshness(name, None, fetched.error), settings.refresh_seconds)
            return kpi_value("n/a", None), "", [], line, badge
        pods = scope.pods(fetched.value)
        unhealthy = int((~pods["healthy"]).sum())
        line = freshness_line(
            Freshness(name, fetched.fetched_at, fetched.error, fetched.error_since),
            settings.refresh_seconds,
        )
        # One row of the worst pods fits the screen; the tile says how many more there are.
        tiles = cluster.pod_tiles(pods)
        worst = (
            tiles[:6]
            if len(tiles) <= 6
            else [*tiles[:5], html.Div(f"+ {len(tiles) - 5} more", className="pod-tile pod-more")]
        )
        return (
            kpi_value(count(unhealthy), unhealthy, "alert" if unhealthy else "normal"),
            f"of {count(len(pods))} pods"
            + ("" if scope.namespace == "all" else f" in {scope.namespace}")
            + ("" if scope.workload == "all" else f" of {scope.workload}"),
            worst,
            line,
            badge,
        )
