"""Dash callback requests as a browser sends them, built from the app's own ``/_dash-dependencies``.

``callback_request(dependencies, output_part, values)`` finds the callback whose ``output``
contains ``output_part`` and returns the JSON body of a POST to ``/_dash-update-component``
firing it: every input with its value from ``values`` (``"id.property" -> value``, None when
absent), the first input as the changed one. Built from the dependencies, not written out, so
the request follows the pages when their callbacks gain or lose inputs.
"""

from __future__ import annotations

from typing import Any

UPDATE_PATH = "/_dash-update-component"


def _prop(spec: str) -> dict[str, str]:
    component, prop = spec.rsplit(".", 1)
    return {"id": component, "property": prop}


def _with_values(items: list[dict[str, Any]], values: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {
            "id": i["id"],
            "property": i["property"],
            "value": values.get(f"{i['id']}.{i['property']}"),
        }
        for i in items
    ]


def callback_request(
    dependencies: list[dict[str, Any]], output_part: str, values: dict[str, Any]
) -> dict[str, Any]:
    (callback,) = [d for d in dependencies if output_part in d["output"]]
    output: str = callback["output"]
    outputs: Any = (
        [_prop(part) for part in output[2:-2].split("...")]
        if output.startswith("..")
        else _prop(output)
    )
    first = callback["inputs"][0]
    return {
        "output": output,
        "outputs": outputs,
        "inputs": _with_values(callback["inputs"], values),
        "state": _with_values(callback["state"], values),
        "changedPropIds": [f"{first['id']}.{first['property']}"],
    }
