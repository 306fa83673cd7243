"""The frame around every page: header, navigation, source status strip, and the router."""

from __future__ import annotations

from collections.abc import Callable

import dash_mantine_components as dmc
from dash import Dash, Input, Output, dcc, html
from dash.development.base_component import Component

from dashboard.context import DashboardContext
from dashboard.pages import cluster, inventory

PageLayout = Callable[[DashboardContext], Component]

# path -> (navigation label, layout)
PAGES: dict[str, tuple[str, PageLayout]] = {
    "/": ("Inventory", inventory.layout),
    "/cluster": ("Cluster", cluster.layout),
}


def layout(context: DashboardContext) -> Component:
    return dmc.MantineProvider(
        forceColorScheme="dark",
        theme={"fontFamily": "Inter, 'DejaVu Sans', system-ui, sans-serif", "primaryColor": "blue"},
        children=html.Div(
            [
                dcc.Location(id="url"),
                dcc.Interval(id="refresh", interval=context.settings.refresh_seconds * 1000),
                html.Header(
                    [
                        html.Div("invdash", className="brand"),
                        html.Nav(
                            [
                                html.A(label, href=path, className="nav-link")
                                for path, (label, _) in PAGES.items()
                            ],
                            className="nav",
                        ),
                        html.Div(id="source-status", className="source-status"),
                    ],
                    className="app-header",
                ),
                html.Main(id="page", className="page"),
            ],
            className="app",
        ),
    )


def register_callbacks(app: Dash, context: DashboardContext) -> None:
    @app.callback(Output("page", "children"), Input("url", "pathname"))
    def route(pathname: str | None) -> Component:
        page = PAGES.get(pathname or "/")
        if page is None:
            return html.Div(
                [
                    html.H2("Page not found"),
                    html.P(f"There is no page at {pathname!s}."),
                    html.A("Back to Inventory", href="/"),
                ],
                className="not-found",
            )
        return page[1](context)

    @app.callback(Output("source-status", "children"), Input("refresh", "n_intervals"))
    def source_status(_: int | None) -> list[Component]:
        badges: list[Component] = []
        for name, health in context.source_health():
            symbol = "●" if health.ok else "✕"
            badges.append(
                html.Span(
                    f"{symbol} {name}: {'ok' if health.ok else health.message}",
                    className=f"source-badge source-{health.status}",
                    title=health.message,
                )
            )
        return badges
