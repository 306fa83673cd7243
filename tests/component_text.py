"""The words a Dash component tree shows, for tests of pure component functions."""

from __future__ import annotations


def texts(component: object) -> list[str]:
    """Every string in a component tree, depth first."""
    if isinstance(component, str):
        return [component]
    children = getattr(component, "children", None)
    if children is None:
        return []
    items = children if isinstance(children, list) else [children]
    return [text for child in items for text in texts(child)]
