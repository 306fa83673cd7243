"""/exec: the KPI review. Each figure against the previous period, ABC classes, CSV export,
and a layout that prints."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import dash_mantine_components as dmc
import pandas as pd
from dash import Dash, Input, Output, dcc, html
from dash.development.base_component import Component

from components import executive
from components.charts import empty_figure
from components.panels import Freshness, freshness_line, panel
from components.tables import BY_UNIT, NUMBER, SHARE, data_grid, json_records
from dashboard import alerting, fetches
from dashboard.cache import Fetched
from dashboard.context import DashboardContext, stamp
from dashboard.instrumented_sources import instrumented
from dashboard.ticks import TICK, while_refreshing
from dashboard.url_sync import choice_value, keep_in_url, url_choice
from dashboard.urlstate import PERIODS, ViewState, parse_view
from queries.availability import request_availability
from queries.daily_review import PERIOD_DAYS, Period
from queries.kpis import ExecutiveKpiSource

# The review is of whole past days (and the hours before this one): its figures move only as
# orders of those days ship and stock is corrected, so it reloads every few minutes, not on every
# refresh (at 10k SKUs x 10 warehouses one review is several seconds of database time).
DAILY_FIGURES_SECONDS = 300


def daily_figures_seconds(refresh_seconds: int) -> int:
    """How often the review's figures reload: every DAILY_FIGURES_SECONDS, or every refresh
    when the refresh interval is longer."""
    return max(DAILY_FIGURES_SECONDS, refresh_seconds)


def layout(context: DashboardContext, view: ViewState) -> Component:
    period = view.filter("period", "week")
    abc = data_grid(
        "exec-abc-grid",
        [
            {"field": "class", "headerName": "Class"},
            {"field": "skus", "headerName": "SKUs", "valueFormatter": NUMBER},
            {"field": "revenue", "headerName": "Revenue", "valueFormatter": NUMBER},
            {"field": "revenue_share", "headerName": "Share of revenue", "valueFormatter": SHARE},
            {"field": "inventory_value", "headerName": "Inventory value", "valueFormatter": NUMBER},
        ],
        height="300px",  # the three classes on one page, under the headers and filters
        csv_file="invdash-abc.csv",
    )
    kpis = data_grid(
        "exec-kpi-grid",
        [
            {
                "field": "kpi",
                "headerName": "KPI",
                "minWidth": 190,
                "valueFormatter": {
                    "function": f"({json.dumps(executive.LABELS)})[params.value] || params.value"
                },
            },
            {"field": "unit", "headerName": "Unit"},
            {"field": "current", "headerName": "This period", "valueFormatter": BY_UNIT},
            {"field": "previous", "headerName": "Previous period", "valueFormatter": BY_UNIT},
            {"field": "delta", "headerName": "Change", "valueFormatter": BY_UNIT},
            {"field": "delta_share", "headerName": "Change (share)", "valueFormatter": SHARE},
        ],
        height="380px",
        csv_file="invdash-kpis.csv",
    )
    return html.Div(
        [
            html.Div(
                [
                    html.H1("KPI review", className="page-title"),
                    url_choice("exec-period", PERIODS, period, "week"),
                    html.Div(id="exec-scope", className="ops-scope"),
                    html.Div(id="exec-freshness", className="freshness-slot"),
                ],
                className="page-toolbar",
            ),
            html.Div(id="exec-cards", className="exec-cards"),
            dmc.SimpleGrid(
                [
                    alerting.slo_panel(),
                    panel(
                        "Forecast accuracy",
                        html.Div(
                            [
                                html.Div(id="exec-forecast-summary", className="kpi-hint"),
                                dcc.Graph(id="exec-forecast", config={"displayModeBar": False}),
                                html.H3("Going stale: tracking signal outside ±4"),
                                html.Div(id="exec-forecast-stale"),
                            ]
                        ),
                        "exec-forecast-panel",
                    ),
                ],
                cols={"base": 1, "lg": 2},
                spacing="md",
            ),
            dmc.SimpleGrid(
                [
                    panel(
                        "ABC classes by revenue",
                        html.Div(
                            [
                                dmc.Button(
                                    "Export CSV",
                                    id="exec-abc-export",
                                    className="export-button",
                                    size="sm",
                                ),
                                abc,
                            ]
                        ),
                        "exec-abc-panel",
                    ),
                    panel(
                        "All figures",
                        html.Div(
                            [
                                dmc.Button(
                                    "Export CSV",
                                    id="exec-kpi-export",
                                    className="export-button",
                                    size="sm",
                                ),
                                kpis,
                            ]
                        ),
                        "exec-kpi-panel",
                    ),
                ],
                cols={"base": 1, "lg": 2},
                spacing="md",
            ),
        ],
        className="exec-page",
    )


def register_callbacks(app: Dash, context: DashboardContext) -> None:
    settings = context.settings
    # Behind the same counters as the other sources: its queries show in /metrics too.
    source = instrumented(
        ExecutiveKpiSource(
            context.inventory.engine, settings.holding_cost_rate, context.inventory.rollups
        )
    )
    keep_in_url(
        app,
        {"exec-period": "period"},
        {"exec-period": lambda view: choice_value(PERIODS, view.filter("period", "week"), "week")},
    )

    def export(_: int | None) -> bool:
        """A click on a grid's export button: the grid writes its rows as CSV in the browser."""
        return True

    for grid in ("exec-abc", "exec-kpi"):
        app.callback(
            Output(f"{grid}-grid", "exportDataAsCsv"),
            Input(f"{grid}-export", "n_clicks"),
            prevent_initial_call=True,
        )(export)

    @app.callback(
        Output("exec-cards", "children"),
        Output("exec-abc-grid", "rowData"),
        Output("exec-kpi-grid", "rowData"),
        Output("exec-freshness", "children"),
        Output("exec-scope", "children"),
        TICK,
        Input("url", "search"),
        running=while_refreshing("exec"),
    )
    def refresh(_: int | None, search: str | None) -> tuple[Any, ...]:
        period_name = parse_view(None, search).filter("period", "week")
        period: Period = period_name if period_name in PERIOD_DAYS else "week"
        days = PERIOD_DAYS[period]
        now = dt.datetime.now(dt.UTC)
        every = daily_figures_seconds(settings.refresh_seconds)
        review, abc, first = fetches.kpi_review(context, source, period, now, every)
        end = now.replace(minute=0, second=0, microsecond=0)
        traffic = fetches.fetch_review_traffic(
            context, period, end - dt.timedelta(days=2 * days), end, every
        )
        # Every screen on this period shares one rendering of the same entries.
        parts = (period, end, stamp(review), stamp(abc), stamp(first), stamp(traffic))
        return context.renderings.get(
            "exec", parts, lambda: render(period, now, review, abc, first, traffic)
        )

    @app.callback(
        Output("exec-forecast-summary", "children"),
        Output("exec-forecast", "figure"),
        Output("exec-forecast-stale", "children"),
        TICK,
        running=while_refreshing("forecast"),
    )
    def forecast(_: int | None) -> tuple[Any, ...]:
        every = daily_figures_seconds(settings.refresh_seconds)
        fetched = fetches.forecast_accuracy(context, every)
        if fetched.value is None:
            reason = fetched.error or "no roll-up store: INVDASH_ROLLUP_DATABASE_URL is not set"
            note = f"No forecast accuracy: {reason}"
            return note, empty_figure("No forecast"), html.Div()
        history, stale = fetched.value
        summary: list[Any] = [executive.forecast_summary(history)]
        if fetched.error is not None:  # the last good accuracy, dated, with the failure
            summary.insert(
                0,
                freshness_line(
                    Freshness(
                        context.inventory.name, fetched.fetched_at, fetched.error,
                        fetched.error_since,
                    ),
                    every,
                ),
            )  # fmt: skip
        return (
            summary,
            executive.forecast_accuracy_figure(history)
            if not history.empty
            else empty_figure("No forecast yet"),
            executive.stale_rows(stale),
        )

    def render(
        period: Period,
        now: dt.datetime,
        review: Fetched[pd.DataFrame],
        abc: Fetched[pd.DataFrame],
        first_order: Fetched[dt.datetime | None],
        traffic: Fetched[pd.DataFrame] | None,
    ) -> tuple[Any, ...]:
        days = PERIOD_DAYS[period]
        line = freshness_line(
            Freshness(context.inventory.name, review.fetched_at, review.error, review.error_since),
            daily_figures_seconds(settings.refresh_seconds),
        )
        scope = f"last {days} whole days against the {days} before"
        if review.value is None:
            return [], [], [], line, scope
        rows: list[dict[Any, Any]] = review.value.to_dict("records")
        first = first_order.value
        previous_start = now.replace(hour=0, minute=0, second=0, microsecond=0)
        previous_start -= dt.timedelta(days=2 * days)
        if first is not None and first > previous_start + dt.timedelta(days=1):
            # Days before the data are not days without sales: compare nothing rather than
            # against zeros.
            scope += f" · ⚠ the data starts {first:%d %b %Y}: no comparison with the period before"
            for row in rows:
                row.update(previous=float("nan"), delta=float("nan"), delta_share=float("nan"))
        if traffic is not None and traffic.value is not None:
            end = now.replace(minute=0, second=0, microsecond=0)
            availability = request_availability(traffic.value, settings.service_names, end, days)
            rows.append(availability.kpi_row())
        cards = [executive.kpi_card({str(k): v for k, v in row.items()}) for row in rows]
        table = pd.DataFrame(rows).drop(columns=["sparkline"])
        abc_rows = (
            json_records(
                abc.value, ["class", "skus", "revenue", "revenue_share", "inventory_value"]
            )
            if abc.value is not None
            else []
        )
        return cards, abc_rows, json_records(table, list(table.columns)), line, scope
