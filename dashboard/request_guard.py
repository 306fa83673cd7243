"""What may reach a callback: a body of at most 1 MiB, shaped as the app's own pages send it.

Dash's ``/_dash-update-component`` takes any JSON anyone posts and hands it to the callback it
names; a body it does not expect (an unknown output, an input the callback does not declare, a
value of another type) fails deep inside Dash or a callback, as an HTTP 500. Here every body is
checked before Dash reads it, against the app's callback map and a table of the JSON each input
and state carries (``VALUE_KINDS``), and anything else gets a 400 naming the first problem found,
never a traceback. Larger bodies get 413 before they are read. Values that pass (any string in a
URL's query string, any warehouse name in a dropdown's value) are the callbacks' to check: they
accept only values the data holds (``dashboard.urlstate``, ``known_filter``).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from typing import Any

from dash import Dash
from flask import Flask, Response, request

MAX_BODY_BYTES = 2**20
# Dash's bodies nest about 6 deep (a grid's row request with its sort model, 8); far deeper is
# not a page talking, and Python's JSON decoder would recurse for each level.
MAX_DEPTH = 24
# The longest string a page sends: a URL's query string (browsers stop near 64 KiB).
MAX_TEXT = 65_536
MAX_COUNT = 2**53  # clicks and intervals: JavaScript's largest exact integer

Check = Callable[[Any], bool]


def _text(value: Any) -> bool:
    return value is None or (isinstance(value, str) and len(value) <= MAX_TEXT)


def _count(value: Any) -> bool:
    return value is None or (
        isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_COUNT
    )


def _number(value: Any) -> bool:
    return value is None or (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and abs(value) <= MAX_COUNT
    )


def _flag(value: Any) -> bool:
    return value is None or isinstance(value, bool)


def _object(value: Any) -> bool:
    return value is None or isinstance(value, dict)


def _any(value: Any) -> bool:
    """For values their callback takes in any shape and answers every row for when unusable
    (the grids' row requests and views: dashboard.pages.inventory, tested with malformed ones)."""
    return True


def _mapping_of_text(value: Any) -> bool:
    return value is None or (
        isinstance(value, dict) and all(_text(v) or _number(v) for v in value.values())
    )


# The JSON each (component, property) a callback reads may carry, by property, then by id for
# the properties whose kind depends on the component. tests/dashboard/test_request_guard.py
# checks that every input and state of the app is here.
VALUE_KINDS: dict[str, Check] = {
    "search": _text,
    "pathname": _text,
    "value": _text,
    "n_clicks": _count,
    "n_intervals": _count,
    "getRowsRequest": _any,
    "cellClicked": _object,
    "clickData": _object,
    "relayoutData": _object,
}
DATA_KINDS: dict[str, Check] = {
    "tick": _count,
    "skipped-ticks": _count,
    "playlist-start": _number,
    "rotation": _mapping_of_text,
    "inv-grid-view": _any,
    "inv-grid-shown": _any,
}


def value_check(component: str | dict[str, Any], prop: str) -> Check | None:
    """How a value of ``component.prop`` is checked; None for one no callback reads."""
    if prop == "data" and isinstance(component, str):
        if component.startswith("busy-"):
            return _flag
        return DATA_KINDS.get(component)
    return VALUE_KINDS.get(prop)


def _depth(value: Any, limit: int) -> int:
    """How deep ``value`` nests, counting no further than ``limit`` + 1."""
    stack = [(value, 1)]
    deepest = 0
    while stack:
        item, depth = stack.pop()
        deepest = max(deepest, depth)
        if deepest > limit:
            return deepest
        children = (
            item.values() if isinstance(item, dict) else item if isinstance(item, list) else ()
        )
        stack.extend((child, depth + 1) for child in children)
    return deepest


def _same_id(sent: Any, declared: Any) -> bool:
    """A sent id matches the declared one; a pattern id's wildcards match any value."""
    if isinstance(declared, str):
        return sent == declared
    if not isinstance(sent, dict) or set(sent) != set(declared):
        return False
    return all(isinstance(wanted, list) or sent[key] == wanted for key, wanted in declared.items())


def _declared_id(spec: Mapping[str, Any]) -> Any:
    raw = spec["id"]
    return json.loads(raw) if isinstance(raw, str) and raw.startswith("{") else raw


def _items_problem(sent: Any, declared: list[dict[str, Any]], kind: str) -> str | None:
    if not isinstance(sent, list) or len(sent) != len(declared):
        return f"{kind}: {len(declared)} items expected"
    for item, spec in zip(sent, declared, strict=True):
        wanted_id = _declared_id(spec)
        wildcard = isinstance(wanted_id, dict)
        entries = item if wildcard and isinstance(item, list) else [item]
        for entry in entries:
            if not isinstance(entry, dict) or set(entry) - {"id", "property", "value"}:
                return f"{kind}: an item is not an id, a property and a value"
            if entry.get("property") != spec["property"] or not _same_id(
                entry.get("id"), wanted_id
            ):
                return f"{kind}: {spec['property']} of another component"
            check = value_check(wanted_id, spec["property"])
            if check is None or not check(entry.get("value")):
                return f"{kind}: not a value of {spec['property']}"
    return None


def _declared_outputs(output: str) -> list[tuple[Any, str]]:
    """(id, property) of each output a callback's output key names (``..a.b...c.d..`` for
    several; ``a.b@hash`` for an output another callback shares)."""
    parts = output[2:-2].split("...") if output.startswith("..") else [output]
    declared = []
    for part in parts:
        component, prop = part.split("@", 1)[0].rsplit(".", 1)
        declared.append((json.loads(component) if component.startswith("{") else component, prop))
    return declared


def _outputs_problem(sent: Any, output: str) -> str | None:
    declared = _declared_outputs(output)
    several = output.startswith("..")
    items = sent if several and isinstance(sent, list) else [sent] if not several else None
    if items is None or len(items) != len(declared):
        return f"outputs: {len(declared)} expected"
    for item, (component, prop) in zip(items, declared, strict=True):
        sent_prop = item.get("property") if isinstance(item, dict) else None
        # An output shared with another callback is sent as "property@hash" (Dash drops it).
        if not isinstance(sent_prop, str) or sent_prop.split("@", 1)[0] != prop:
            return "outputs: not the callback's"
        if not _same_id(item.get("id"), component):
            return "outputs: not the callback's"
    return None


def body_problem(body: Any, callbacks: Mapping[str, Mapping[str, Any]]) -> str | None:
    """What is wrong with a callback request body, None if it is one the app's pages send."""
    if not isinstance(body, dict):
        return "the body is not a JSON object"
    if _depth(body, MAX_DEPTH) > MAX_DEPTH:
        return "the body nests too deeply"
    output = body.get("output")
    if not isinstance(output, str) or output not in callbacks:
        return "no callback has this output"
    callback = callbacks[output]
    problem = _outputs_problem(body.get("outputs"), output)
    if problem:
        return problem
    changed = body.get("changedPropIds", [])
    if not isinstance(changed, list) or not all(
        isinstance(c, str) and len(c) <= MAX_TEXT for c in changed
    ):
        return "changedPropIds is not a list of names"
    for kind, key in (("inputs", "inputs"), ("state", "state")):
        problem = _items_problem(body.get(key, []), callback[kind], kind)
        if problem:
            return problem
    return None


def register_request_guard(app: Dash) -> None:
    """413 for bodies over MAX_BODY_BYTES on every route; 400 for a callback body that is not
    one of the app's (``body_problem``). Installed after every callback is registered."""
    server: Flask = app.server
    server.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    path = f"{app.config.routes_pathname_prefix}_dash-update-component"
    served: dict[str, Mapping[str, Any]] = {}

    @server.before_request
    def guard_callbacks() -> Response | None:
        if (request.content_length or 0) > MAX_BODY_BYTES:
            # Said before the route is looked up, so every route answers the same (Flask would
            # only say so on a route that reads its body).
            return Response("request body over 1 MiB\n", status=413, mimetype="text/plain")
        if request.path != path or request.method != "POST":
            return None
        try:
            body = request.get_json(silent=True)
        except RecursionError:
            body = None
        if not served:
            # Clientside callbacks (no Python function) run in the browser: nothing posts them.
            served.update({k: v for k, v in app.callback_map.items() if "callback" in v})
        problem = body_problem(body, served)
        if problem is None:
            return None
        return Response(
            json.dumps({"error": f"bad callback request: {problem}"}),
            status=400,
            mimetype="application/json",
        )
