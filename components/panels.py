"""The frame every panel sits in, and what it says when its data is missing or stale."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import dash_mantine_components as dmc
from dash import html
from dash.development.base_component import Component

from components.formatting import clock_time


@dataclass(frozen=True)
class Freshness:
    """When a panel's data was fetched, and why it is stale if the last fetch failed."""

    source: str
    fetched_at: dt.datetime | None
    error: str | None = None
    error_since: dt.datetime | None = None

    @property
    def stale(self) -> bool:
        return self.error is not None and self.fetched_at is not None

    @property
    def missing(self) -> bool:
        return self.fetched_at is None


def freshness_line(freshness: Freshness, retry_seconds: int) -> Component:
    """'updated HH:MM:SS UTC', or the reason the data is stale or missing, in words."""
    if freshness.missing:
        reason = freshness.error or "no data yet"
        text = f"{freshness.source} unreachable: {reason} (retrying every {retry_seconds} s)"
        return dmc.Alert(text, color="red", title="No data", className="freshness freshness-error")
    assert freshness.fetched_at is not None
    if freshness.stale:
        since = clock_time(freshness.error_since or freshness.fetched_at)
        text = (
            f"stale since {since} UTC: {freshness.error}; showing data of "
            f"{clock_time(freshness.fetched_at)} UTC (retrying every {retry_seconds} s)"
        )
        return dmc.Alert(
            text, color="yellow", title="Stale data", className="freshness freshness-stale"
        )
    fetched = freshness.fetched_at
    epoch = (fetched if fetched.tzinfo else fetched.replace(tzinfo=dt.UTC)).timestamp()
    # assets/freshness.js reads these every second: "N s ago", amber past 2 refreshes, red past 5.
    ages: dict[str, Any] = {
        "data-fetched": f"{epoch:.0f}",
        "data-amber": str(2 * retry_seconds + 5),
        "data-red": str(5 * retry_seconds + 5),
    }
    return html.Span(
        f"updated {clock_time(fetched)} UTC", className="freshness freshness-ok", **ages
    )


def panel(title: str, body: Component, panel_id: str) -> Component:
    return dmc.Paper(
        [dmc.Title(title, order=3, className="panel-title"), body],
        id=panel_id,
        className="panel",
        p="md",
        radius="md",
        withBorder=True,
    )
