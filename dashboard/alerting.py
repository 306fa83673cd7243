"""The alert rules on the screens: the alerts firing now (/ops, /sre), the order service's SLO
(/sre, /exec) and each HorizontalPodAutoscaler against its bounds (/sre, /cluster).

Each is one element a page places by its id and one callback on the refresh tick, whichever
page shows it. A metrics source that fails leaves its last good answer on screen, greyed, with
its age and the reason; one that never answered says so. With no alert firing, the strip is
empty: nothing to read from across the room.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any, TypeVar

from dash import Dash, Output, html
from dash.development.base_component import Component

from components import alerts
from components.panels import Freshness, freshness_line, panel
from dashboard import fetches
from dashboard.cache import Fetched
from dashboard.context import DashboardContext
from dashboard.ticks import TICK, while_refreshing

ALERT_STRIP = "alert-strip"
SLO_FIGURES = "slo-figures"
HPA_ROWS = "hpa-rows"
# The elements several pages place: each callback here writes one of them, whichever page shows it.
SHARED_IDS = (ALERT_STRIP, SLO_FIGURES, HPA_ROWS)

T = TypeVar("T")


def alert_strip() -> Component:
    return html.Div(id=ALERT_STRIP, className="alert-strip", role="alert")


def slo_panel() -> Component:
    return panel(
        "Order service SLO", html.Div(id=SLO_FIGURES, className="slo-figures"), "slo-panel"
    )


def hpa_panel() -> Component:
    return panel("Autoscalers", html.Div(id=HPA_ROWS, className="hpa-rows"), "hpa-panel")


def _with_freshness(
    context: DashboardContext, fetched: Fetched[Any], body: list[Component], always: bool
) -> list[Component]:
    """``body`` greyed under a line on its age and failure when stale; only the line when
    nothing was ever read; ``body`` as it is when fresh (under a line too when ``always``)."""
    source = context.sources.metrics
    name = source.name if source is not None else "Prometheus"
    line = freshness_line(
        Freshness(name, fetched.fetched_at, fetched.error, fetched.error_since),
        context.settings.refresh_seconds,
    )
    if fetched.value is None:
        return [line]
    if fetched.error is not None:
        return [line, html.Div(body, className="stale")]
    return [line, *body] if always else body


def register_callbacks(app: Dash, context: DashboardContext) -> None:
    @app.callback(Output(ALERT_STRIP, "children"), TICK, running=while_refreshing("alerts"))
    def firing(_: int | None) -> list[Component]:
        if context.sources.metrics is None:
            return []
        fetched = fetches.fetch_alerts(context)
        now = dt.datetime.now(dt.UTC)
        items = [] if fetched.value is None else alerts.alert_items(fetched.value, now)
        return _with_freshness(context, fetched, items, always=False) if fetched.error else items

    def panel_of(
        fetch: Callable[[DashboardContext, dt.datetime], Fetched[T]],
        render: Callable[[T], list[Component]],
    ) -> Callable[[int | None], list[Component]]:
        """A panel's callback: the metrics source's answer rendered, under its freshness."""

        def refresh(_: int | None) -> list[Component]:
            if context.sources.metrics is None:
                return [html.Div("No metrics source is configured", className="empty-note")]
            fetched = fetch(context, dt.datetime.now(dt.UTC))
            body = [] if fetched.value is None else render(fetched.value)
            return _with_freshness(context, fetched, body, always=True)

        return refresh

    app.callback(Output(SLO_FIGURES, "children"), TICK, running=while_refreshing("slo"))(
        panel_of(fetches.fetch_slo, alerts.slo_figures)
    )
    app.callback(Output(HPA_ROWS, "children"), TICK, running=while_refreshing("hpas"))(
        panel_of(fetches.fetch_latest_hpas, alerts.hpa_rows)
    )
