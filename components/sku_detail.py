"""The drill-down of one SKU: stock by warehouse, demand history with its mean and band, open
purchase orders and when it is expected to run out."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
from dash import dcc, html
from dash.development.base_component import Component

from components import theme
from components.charts import dark_layout
from components.formatting import count, percent
from queries.rollups import DemandBand


def demand_figure(history: pd.DataFrame, band: DemandBand) -> go.Figure:
    """Daily units (bars) against their mean and a band of one deviation (``band``, of the
    plotted series)."""
    mean, sd = band.mean, band.sd
    figure = go.Figure(
        [
            go.Bar(
                x=history["day"],
                y=history["units"],
                name="units ordered",
                marker_color=theme.ORDER_BARS,
            ),
            go.Scatter(
                x=history["day"],
                y=[mean + sd] * len(history),
                line={"width": 0},
                showlegend=False,
                hoverinfo="skip",
            ),
            go.Scatter(
                x=history["day"],
                y=[max(mean - sd, 0.0)] * len(history),
                fill="tonexty",
                fillcolor=theme.BAND,
                line={"width": 0},
                name="mean ± 1 sd",
            ),
            go.Scatter(
                x=history["day"],
                y=[mean] * len(history),
                line={"color": theme.ACCENT, "width": 3},
                name=f"mean {mean:.2f} / day",
            ),
        ]
    )
    return dark_layout(figure, height=300)


def _table(header: list[str], rows: list[list[str]], empty: str) -> Component:
    if not rows:
        return html.Div(empty, className="empty-note")
    return html.Table(
        [
            html.Thead(html.Tr([html.Th(h) for h in header])),
            html.Tbody([html.Tr([html.Td(c) for c in row]) for row in rows]),
        ],
        className="ops-table",
    )


def _shelf_life_words(shelf_life_days: float) -> str:
    if pd.isna(shelf_life_days):
        return ""
    return f" · shelf life {shelf_life_days:g} d: orders capped at what sells before expiry"


def sku_detail(
    positions: pd.DataFrame,
    history: pd.DataFrame,
    band: DemandBand,
    purchase_orders: pd.DataFrame,
) -> Component:
    """``positions``: the SKU's stock_positions rows (one per warehouse); ``history`` its daily
    demand summed over them and ``band`` that series' (``queries.rollups.demand_band``)."""
    first = positions.iloc[0]
    stock_rows = [
        [
            str(r["warehouse_code"]), count(r["on_hand"]), count(r["reserved"]), count(r["on_order"]),
            ("⚠ " if r["at_risk"] else "") + percent(float(r["stockout_probability"]), 0),
            "no demand" if pd.isna(r["expected_stockout_date"]) else f"{r['expected_stockout_date']:%Y-%m-%d}",
            count(r["suggested_order_quantity"]),
        ]
        for r in positions.to_dict("records")
    ]  # fmt: skip
    po_rows = [
        [str(r["number"]), str(r["supplier"]), str(r["warehouse_code"]), f"{r['expected_on']:%Y-%m-%d}",
         count(r["open_units"]), f"⚠ {r['days_late']} d late" if r["days_late"] else "on time"]
        for r in purchase_orders.to_dict("records")
    ]  # fmt: skip
    return html.Div(
        [
            html.H2(f"{first['sku_code']} · {first['sku_name']}", className="detail-title"),
            html.Div(
                f"{first['category']} · unit cost {first['unit_cost']:,.2f} · lead time {first['lead_time_days']:g} d"
                + _shelf_life_words(first["shelf_life_days"]),
                className="kpi-hint",
            ),
            html.H3("Stock by warehouse"),
            _table(
                [
                    "Warehouse",
                    "On hand",
                    "Reserved",
                    "On order",
                    "Risk",
                    "Runs out",
                    "Suggested order",
                ],
                stock_rows,
                "Not stocked",
            ),
            html.H3("Demand, all warehouses"),
            dcc.Graph(figure=demand_figure(history, band), config={"displayModeBar": False}),
            html.H3("Open purchase orders"),
            _table(
                ["Order", "Supplier", "Warehouse", "Expected", "Open units", "Status"],
                po_rows,
                "No open purchase orders",
            ),
        ],
        className="sku-detail",
    )
