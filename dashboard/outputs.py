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
