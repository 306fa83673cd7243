"""Callback outputs keyed by their component's id (Dash's dict outputs): a callback that fills
many parts of a page returns ``{id: value}``, so no value lands in the wrong part by position."""

from __future__ import annotations

from dash import Output


def by_id(*outputs: Output) -> dict[str, Output]:
    """``{component id: output}``; ValueError when two outputs share a component (key those by
    hand) or one has a pattern id."""
    keyed: dict[str, Output] = {}
    for output in outputs:
        component = output.component_id
        if not isinstance(component, str):
            raise ValueError(f"a pattern id cannot key a dict output: {component!r}")
        if component in keyed:
            raise ValueError(f"two outputs write into {component!r}: key them by hand")
        keyed[component] = output
    return keyed


def panel_outputs(panel: str, *parts: str) -> tuple[Output, ...]:
    """The outputs of a panel's ``parts``: ``freshness`` (its line, children), ``body`` (the
    class that greys stale data) and ``badge`` (children), ids ``{panel}-{part}``; all three
    unless named."""
    props = {"freshness": "children", "body": "className", "badge": "children"}
    return tuple(Output(f"{panel}-{part}", props[part]) for part in parts or props)


def panel_values(panel: str, **values: object) -> dict[str, object]:
    """``{panel}-{part}: value`` for each part: the return of ``panel_outputs``'s outputs."""
    return {f"{panel}-{part}": value for part, value in values.items()}


def kpi_outputs(*tiles: str) -> tuple[Output, ...]:
    """The number and the hint of each KPI tile (``components.kpi.kpi_tile``): ids
    ``{tile}-value`` and ``{tile}-hint``, children."""
    return tuple(Output(f"{tile}-{part}", "children") for tile in tiles for part in KPI_PARTS)


KPI_PARTS = ("value", "hint")


def kpi_values(tile: str, value: object, hint: object) -> dict[str, object]:
    """The values of ``kpi_outputs(tile)``: its number (``kpi_value``) and its hint."""
    return {f"{tile}-value": value, f"{tile}-hint": hint}
