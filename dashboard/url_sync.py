"""Page controls that live in the URL: a choice made on the page is written back to the address,
so a link or a reload shows the same view, and an address that changes under the page (the
browser's back and forward) sets the controls again. The page is not rebuilt for either: its
panels follow the controls or the address themselves (``dashboard.shell`` rebuilds a page only
when the path or the playlist's rotation changes)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import dash_mantine_components as dmc
from dash import Dash, Input, Output, State, no_update
from dash.development.base_component import Component

from dashboard.urlstate import ViewState, parse_view, with_filter

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


def choice_value(options: Sequence[str], value: str, default: str | None) -> str | None:
    """What a segmented control over ``options`` shows for the URL's ``value``: the value, else
    ``default`` (None selects none, for a value the options cannot show)."""
    return value if value in options else default


def url_choice(
    component_id: str, options: Sequence[str], value: str, default: str | None
) -> Component:
    """A segmented control over ``options``, starting at the URL's ``value`` (``choice_value``)."""
    return dmc.SegmentedControl(
        id=component_id,
        data=list(options),
        value=choice_value(options, value, default),
        className="controls",
    )


# What a control shows for a view: its filter's value unless told otherwise.
Shown = Callable[[ViewState], str | None]


def keep_in_url(app: Dash, filters: dict[str, str], shown: dict[str, Shown] | None = None) -> None:
    """Write each control's value (component id -> URL filter name) into the URL's query
    string, and set the controls from the URL when it changes under them; ``shown`` says what a
    control shows for a view where that is not its filter's value.

    A control that empties itself (a Select whose value left its options) is no choice of the
    user's: its filter is left as the URL had it. Neither direction writes what the other side
    shows already, so the two never answer each other in a loop.
    """
    ids = list(filters)
    showing = {
        component_id: (shown or {}).get(component_id, _filter_value(name))
        for component_id, name in filters.items()
    }

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
        view = parse_view(None, search)
        written = search
        for component_id, value in zip(ids, values, strict=True):
            # Only a value the address does not show already: a control that settles on what
            # the address shows (as a select does when it mounts) rewrites nothing, so a link's
            # value this page cannot use stays in the address, named as a problem. A value
            # picked out of a rotation (warehouse=A,B) is a choice even when it is the first.
            name = filters[component_id]
            if value is not None and (
                value != showing[component_id](view) or name in view.rotations
            ):
                written = with_filter(written, name, value)
        return written if (written or "") != (search or "") else no_update

    @app.callback(
        *(Output(component_id, "value") for component_id in ids),
        Input("url", "search"),
        *(State(component_id, "value") for component_id in ids),
        prevent_initial_call=True,
    )
    def follow(search: str | None, *values: Any) -> Any:
        view = parse_view(None, search)
        wanted = [showing[component_id](view) for component_id in ids]
        answer = [
            no_update if want == value else want for want, value in zip(wanted, values, strict=True)
        ]
        return answer if len(ids) > 1 else answer[0]


def _filter_value(name: str) -> Shown:
    return lambda view: view.filter(name)
