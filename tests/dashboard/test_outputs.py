"""Dict outputs keyed by component id (dashboard/outputs.py)."""

from __future__ import annotations

import pytest
from dash import Output

from dashboard.outputs import by_id


def test_outputs_are_keyed_by_their_component_in_order() -> None:
    keyed = by_id(Output("a", "children"), Output("b", "figure"))
    assert list(keyed) == ["a", "b"]
    assert keyed["b"].component_property == "figure"


def test_two_outputs_into_one_component_or_a_pattern_id_are_refused() -> None:
    with pytest.raises(ValueError, match="two outputs write into 'a'"):
        by_id(Output("a", "children"), Output("a", "className"))
    with pytest.raises(ValueError, match="pattern id"):
        by_id(Output({"type": "tile", "pod": "x"}, "children"))
