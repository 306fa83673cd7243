"""The drill-down of one SKU: stock by warehouse, demand history with its mean and band, open
purchase orders and when it is expected to run out."""

from __future__ import annotations

from typing import Any

import pandas as pd
import plotly.graph_objects as go
from dash import dcc, html
from dash.development.base_component import Component

from components import theme
from components.charts import dark_layout
from components.formatting import count, percent
from queries.forecast import MODEL, TRACKING_LIMIT
from queries.forecast_store import StoredForecast
from queries.inventory import FORECAST_BASIS
from queries.rollups import DemandBand


def _band(x: Any, upper: Any, lower: Any, color: str, name: str) -> list[go.Scatter]:
    """A filled band from ``lower`` to ``upper``: an invisible upper edge, the lower filled up
    to it (plotly's "tonexty"), named once in the legend."""
    return [
        go.Scatter(x=x, y=upper, line={"width": 0}, showlegend=False, hoverinfo="skip"),
        go.Scatter(x=x, y=lower, fill="tonexty", fillcolor=color, line={"width": 0}, name=name),
    ]


def _forecast_traces(forecast: StoredForecast | None) -> list[go.Scatter]:
    if forecast is None or forecast.days.empty:
        return []
    days = forecast.days
    return [
        *_band(days["day"], days["upper"], days["lower"], theme.FORECAST_BAND, "80% band"),
        go.Scatter(
            x=days["day"],
            y=days["forecast"],
            line={"color": theme.FORECAST, "width": 3, "dash": "dash"},
            name=f"forecast ({forecast.method})",
        ),
    ]


def forecast_words(forecast: StoredForecast | None, error: str | None = None) -> str:
    """Which forecast the chart shows, why, and how well it did in the backtest; ``error``:
    why the forecast could not be read."""
    if forecast is None and error is not None:
        return f"Forecast unavailable: {error}"
    if forecast is None:
        return (
            "No forecast for this SKU: invdash rollup makes them once a day, for the SKUs with "
            "demand in the days it has rolled up."
        )
    scores = f"backtest WAPE {percent(forecast.wape, 0)}"
    if forecast.method == MODEL:
        return (
            f"Forecast: Holt-Winters with a weekly season, {scores} against the seasonal naive "
            f"baseline's {percent(forecast.baseline_wape, 0)}; tracking signal "
            f"{forecast.tracking_signal:+.1f}"
            + (" ⚠ going stale" if abs(forecast.tracking_signal) > TRACKING_LIMIT else "")
        )
    return f"Forecast: the seasonal naive baseline ({forecast.reason}); {scores}"


def plan_words(positions: pd.DataFrame, forecast: StoredForecast | None, window_days: int) -> str:
    """What the stock by warehouse (risk, run-out date, safety stock, reorder point) was
    planned with: the forecast, or the demand window's mean and deviation, and why."""
    planned = positions["planned_daily_demand"].sum()
    if (positions["demand_basis"] == FORECAST_BASIS).any():
        return (
            f"Risk, run-out dates, safety stock and reorder points planned from the forecast: "
            f"{planned:,.2f} units a day over all warehouses, each warehouse its part of the "
            f"last {window_days} days' demand; safety stock from the forecast's backtest "
            "errors."
        )
    words = (
        f"Risk, run-out dates, safety stock and reorder points planned from the last "
        f"{window_days} days' demand: {planned:,.2f} units a day over all warehouses"
    )
    if forecast is None:
        return f"{words} (no forecast for this SKU)."
    if forecast.method != MODEL:
        return f"{words}: the forecast does not beat the baseline ({forecast.reason})."
    return (
        f"{words}: the forecast is not used for today "
        f"(it is out of date, or no warehouse ordered any in the last {window_days} days)."
    )


def demand_figure(
    history: pd.DataFrame, band: DemandBand, forecast: StoredForecast | None = None
) -> go.Figure:
    """Daily units (bars) against their mean and a band of one deviation (``band``, of the
    plotted series), then the forecast days ahead with their 80% band."""
    mean, sd = band.mean, band.sd
    figure = go.Figure(
        [
            go.Bar(
                x=history["day"],
                y=history["units"],
                name="units ordered",
                marker_color=theme.ORDER_BARS,
            ),
            *_band(
                history["day"],
                [mean + sd] * len(history),
                [max(mean - sd, 0.0)] * len(history),
                theme.BAND,
                "mean ± 1 sd",
            ),
            go.Scatter(
                x=history["day"],
                y=[mean] * len(history),
                line={"color": theme.ACCENT, "width": 3},
                name=f"mean {mean:.2f} / day",
            ),
            *_forecast_traces(forecast),
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
    forecast: StoredForecast | None = None,
    forecast_error: str | None = None,
    *,
    window_days: int,
) -> Component:
    """``positions``: the SKU's stock_positions rows (one per warehouse); ``history`` its daily
    demand summed over them and ``band`` that series' (``queries.rollups.demand_band``);
    ``window_days``, the demand window the positions were computed over."""
    first = positions.iloc[0]
    stock_rows = [
        [
            str(r["warehouse_code"]), count(r["on_hand"]), count(r["reserved"]), count(r["on_order"]),
            ("⚠ " if r["at_risk"] else "") + percent(float(r["stockout_probability"]), 0),
            "no demand" if pd.isna(r["expected_stockout_date"]) else f"{r['expected_stockout_date']:%Y-%m-%d}",
            f"{r['planned_daily_demand']:,.2f}", count(r["safety_stock"]), count(r["reorder_point"]),
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
                    "Demand / day",
                    "Safety stock",
                    "Reorder point",
                    "Suggested order",
                ],
                stock_rows,
                "Not stocked",
            ),
            html.Div(
                plan_words(positions, forecast, window_days),
                className="kpi-hint",
                id="sku-plan-note",
            ),
            html.H3("Demand, all warehouses"),
            dcc.Graph(
                figure=demand_figure(history, band, forecast),
                config={"displayModeBar": False},
                id="sku-demand-graph",
            ),
            html.Div(
                forecast_words(forecast, forecast_error),
                className="kpi-hint",
                id="sku-forecast-note",
            ),
            html.H3("Open purchase orders"),
            _table(
                ["Order", "Supplier", "Warehouse", "Expected", "Open units", "Status"],
                po_rows,
                "No open purchase orders",
            ),
        ],
        className="sku-detail",
    )
