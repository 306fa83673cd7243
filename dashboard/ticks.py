"""Refresh ticks that never pile up on a slow source.

The interval fires every ``refresh_seconds``; a gate in the browser passes its tick on to the
panels' callbacks (``TICK``) only when none of them is still running from the previous tick.
Each refreshing callback marks itself busy while it runs (Dash's ``running``), so a screen whose
sources answer slower than the refresh interval skips ticks instead of queueing requests, and it
says how many it skipped, which tells the operator the interval is too short for the sources.

A request whose answer never comes (a connection dropped without a reset, a proxy that lost it)
would leave its busy flag set and the screen frozen until its daily reload: the gate stops
waiting for a flag that has stayed set longer than any answer can take (``lost_after_seconds``:
twice the slowest source timeout and a margin, past which the server has long answered or
failed) and passes the tick on, so the panels ask again.
"""

from __future__ import annotations

from typing import Any

from dash import Dash, Input, Output, State, dcc, html
from dash.development.base_component import Component

# Every callback that runs on the refresh tick, by name: one busy flag each.
REFRESHERS = (
    "status",
    "inventory",
    "cluster-pods",
    "cluster-metrics",
    "ops-stock",
    "ops-orders",
    "ops-pods",
    "exec",
    "sre",
    "self-health",
    "alerts",
    "slo",
    "hpas",
    "forecast",
)

TICK = Input("tick", "data")

_GATE = """
function (n, skipped, ...busy) {
    const noUpdate = window.dash_clientside.no_update;
    const now = Date.now();
    if (busy.some(Boolean)) {
        window.invdashBusySince = window.invdashBusySince || now;
        if (now - window.invdashBusySince < LOST_AFTER_MS) {
            const total = (skipped || 0) + 1;
            return [noUpdate, total, "⏸ " + total + (total === 1 ? " refresh" : " refreshes") +
                " skipped: sources slower than the refresh interval"];
        }
        // No answer can take this long: the request was lost. Ask again.
        window.invdashBusySince = now;
        return [n, noUpdate, "⏸ a refresh got no answer: asked again"];
    }
    window.invdashBusySince = 0;
    return [n, noUpdate, noUpdate];
}
"""


def _busy_id(name: str) -> str:
    if name not in REFRESHERS:
        raise ValueError(f"{name!r} is not in REFRESHERS")
    return f"busy-{name}"


def while_refreshing(name: str) -> list[tuple[Output, Any, Any]]:
    """The ``running`` argument of the refreshing callback ``name``: busy while it runs."""
    return [(Output(_busy_id(name), "data"), True, False)]


def tick_components(refresh_seconds: int) -> list[Component]:
    """The interval, the gated tick, the busy flags and the skipped-ticks note, for the shell."""
    return [
        dcc.Interval(id="refresh", interval=refresh_seconds * 1000),
        dcc.Store(id="tick", data=0),
        dcc.Store(id="skipped-ticks", data=0),
        *(dcc.Store(id=_busy_id(name), data=False) for name in REFRESHERS),
    ]


def skipped_note() -> Component:
    return html.Span(id="skipped-note", className="skipped-note")


def lost_after_seconds(slowest_timeout_seconds: float) -> float:
    """How long a refresh may stay unanswered before the gate takes it for lost."""
    return 2 * slowest_timeout_seconds + 5


def register_gate(app: Dash, lost_after: float) -> None:
    """The gate; a busy flag set for longer than ``lost_after`` seconds no longer holds ticks."""
    app.clientside_callback(  # type: ignore[no-untyped-call]
        _GATE.replace("LOST_AFTER_MS", str(round(lost_after * 1000))),
        Output("tick", "data"),
        Output("skipped-ticks", "data"),
        Output("skipped-note", "children"),
        Input("refresh", "n_intervals"),
        State("skipped-ticks", "data"),
        *(State(_busy_id(name), "data") for name in REFRESHERS),
        prevent_initial_call=True,
    )
