"""Page controls that live in the URL: a choice made on the page is written back to the address,
so a link or a reload shows the same view (the router reads it from there)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import dash_mantine_components as dmc
from dash import Dash, Input, Output, State, no_update
from dash.development.base_component import Component

from dashboard.urlstate import with_filter

FILTER_ALL = [{"value": "all", "label": "All"}]


def initial_options(value: str) -> list[dict[str, str]]:
    """A filter's options before the first refresh brings them: "all" and the URL's value."""
    return FILTER_ALL + ([{"value": value, "label": value}] if value != "all" else [])


def url_select(component_id: str, label: str, value: str) -> Component:
    """A searchable filter select starting at the URL's ``value``; a refresh fills its options."""
    return dmc.Select(
        id=component_id,
        label=label,
        data=initial_options(value),
        value=value,
        allowDeselect=False,
        searchable=True,
        style={"minWidth": 220},
    )


def url_choice(
    component_id: str, options: Sequence[str], value: str, default: str | None
) -> Component:
    """A segmented control over ``options``, starting at the URL's ``value`` (else ``default``;
    None selects none, for a value the options cannot show)."""
    return dmc.SegmentedControl(
        id=component_id,
        data=list(options),
        value=value if value in options else default,
        className="controls",
    )


def keep_in_url(app: Dash, filters: dict[str, str]) -> None:
    """Write each control's value (component id -> URL filter name) into the URL's query string.

    A control that empties itself (a Select whose value left its options) is no choice of the
    user's: its filter is left as the URL had it.
    """
    ids = list(filters)

    @app.callback(
        Output("url", "search", allow_duplicate=True),
        *(Input(component_id, "value") for component_id in ids),
        State("url", "search"),
        prevent_initial_call=True,
    )
    def remember(*args: Any) -> Any:
        *values, search = args
        if all(value is None for value in values):
            return no_update
        for component_id, value in zip(ids, values, strict=True):
            if value is not None:
                search = with_filter(search, filters[component_id], value)
        return search
