"""Headline tiles: a label, a big number, and a line of context."""

from __future__ import annotations

from typing import Any

import dash_mantine_components as dmc
from dash import html
from dash.development.base_component import Component


def kpi_tile(tile_id: str, label: str) -> Component:
    """An empty tile; ``kpi_value`` fills it on every refresh."""
    return dmc.Paper(
        [
            html.Div(label, className="kpi-label"),
            html.Div("…", id=f"{tile_id}-value", className="kpi-value"),
            html.Div("", id=f"{tile_id}-hint", className="kpi-hint"),
        ],
        id=tile_id,
        className="kpi-tile",
        p="md",
        radius="md",
        withBorder=True,
    )


def kpi_value(text: str, raw: float | int | None, level: str = "normal") -> Component:
    """The tile's number: ``text`` for people, ``data-value`` for machines (and tests).

    ``level`` ("normal", "warning", "alert") colours the number and adds a symbol, so colour is
    never the only signal.
    """
    symbol = {"warning": "▲ ", "alert": "⚠ "}.get(level, "")
    data: dict[str, Any] = {"data-value": "" if raw is None else repr(raw)}
    return html.Span(f"{symbol}{text}", className=f"kpi-number kpi-{level}", **data)


def kpi_row(tiles: dict[str, str], cols: int | dict[str, int] | None = None) -> Component:
    """Empty tiles side by side, ``{tile id: label}``: one column each unless ``cols`` says."""
    return dmc.SimpleGrid(
        [kpi_tile(tile_id, label) for tile_id, label in tiles.items()],
        cols=cols or len(tiles),
        spacing="md",
        className="kpi-row",
    )
