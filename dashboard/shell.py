"""The frame around every page: header, navigation, source status strip, router and playlist.

The URL is the single source of view state (``dashboard.urlstate``): the router renders the page
it names with the filters it holds; kiosk mode and playlists are URL parameters too.
"""

from __future__ import annotations

import time
from typing import Any

import dash_mantine_components as dmc
from dash import Dash, Input, Output, State, dcc, html, no_update
from dash.development.base_component import Component

from components import theme
from dashboard.context import DashboardContext
from dashboard.page_registry import BY_NAME, HOME, PAGES, page_module
from dashboard.redis_cache import lock_seconds
from dashboard.ticks import (
    TICK,
    lost_after_seconds,
    register_gate,
    skipped_note,
    tick_components,
    while_refreshing,
)
from dashboard.urlstate import effective_view, parse_view, playlist_position


def layout(context: DashboardContext) -> Component:
    settings = context.settings
    reload_attribute: dict[str, Any] = {"data-reload-seconds": str(settings.reload_hours * 3600)}
    return dmc.MantineProvider(
        forceColorScheme="dark",
        theme=theme.MANTINE_THEME,
        children=html.Div(
            [
                dcc.Location(id="url", refresh=False),
                *tick_components(settings.refresh_seconds),
                dcc.Interval(id="playlist-tick", interval=1000, disabled=True),
                dcc.Store(id="playlist-start"),
                dcc.Store(id="rotation", data={}),
                html.Header(
                    [
                        html.Div("invdash", className="brand"),
                        html.Nav(id="nav", className="nav"),
                        html.Div(id="source-status", className="source-status"),
                        skipped_note(),
                    ],
                    className="app-header",
                ),
                html.Div(id="url-problems", className="url-problems"),
                html.Main(id="page", className="page"),
                html.Div(className="reload-schedule", **reload_attribute),
            ],
            id="app-root",
            className="app",
        ),
    )


def register_callbacks(app: Dash, context: DashboardContext) -> None:
    @app.callback(
        Output("page", "children"),
        Input("url", "pathname"),
        Input("rotation", "data"),
        State("url", "search"),
    )
    def route(pathname: str | None, rotation: dict[str, str] | None, search: str | None) -> Any:
        """The page the path names, built afresh when the path or the playlist's rotation
        changes; a filter changing the query string updates the panels, not the page."""
        state = effective_view(pathname, search, rotation)
        return page_module(BY_NAME.get(state.page, HOME)).layout(context, state)

    @app.callback(
        Output("app-root", "className"),
        Output("url-problems", "children"),
        Output("nav", "children"),
        Output("playlist-tick", "disabled"),
        Input("url", "pathname"),
        Input("url", "search"),
    )
    def frame(pathname: str | None, search: str | None) -> tuple[Any, ...]:
        """What the address sets around the page: kiosk mode, the parts it could not use, the
        navigation (keeping the filters) and whether a playlist runs."""
        state = parse_view(pathname, search)
        problems = (
            dmc.Alert(
                "; ".join(state.problems),
                title="Parts of the address could not be used",
                color="yellow",
            )
            if state.problems
            else None
        )
        keep = search or ""
        nav = [
            dcc.Link(
                shown.title,
                href=shown.path + keep,
                className="nav-link" + (" active" if shown.name == state.page else ""),
            )
            for shown in PAGES
        ]
        return "app kiosk" if state.kiosk else "app", problems, nav, not state.playlist

    @app.callback(
        Output("url", "pathname"),
        Output("rotation", "data"),
        Output("playlist-start", "data"),
        Input("playlist-tick", "n_intervals"),
        State("url", "pathname"),
        State("url", "search"),
        State("rotation", "data"),
        State("playlist-start", "data"),
    )
    def rotate(
        _: int | None,
        pathname: str | None,
        search: str | None,
        rotation: dict[str, str] | None,
        start: float | None,
    ) -> tuple[Any, ...]:
        state = parse_view(pathname, search)
        if not state.playlist:
            return no_update, no_update, no_update
        started = start if start is not None else time.time()
        page, rotated = playlist_position(state, time.time() - started)
        path = BY_NAME[page].path
        return (
            path if path != (pathname or "/") else no_update,
            rotated if rotated != (rotation or {}) else no_update,
            started if start is None else no_update,
        )

    # A refresh waits for a load at most lock_seconds, then loads itself for as long at most.
    register_gate(app, lost_after_seconds(lock_seconds(context.settings)))

    @app.callback(Output("source-status", "children"), TICK, running=while_refreshing("status"))
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
