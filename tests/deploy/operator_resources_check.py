"""Validate the Prometheus Operator's resources (ServiceMonitor, PrometheusRule) against its CRD
models, strictly.

kubernetes-validate knows only built-in kinds. cloudcoil's models are generated from the
operator's CRD schema; they ignore unknown fields, so a field the schema lacks shows up as a
difference between a document and the model's dump of it.
Run with .venv-tools' interpreter: ``python operator_resources_check.py < rendered.yaml``.
Prints one line per problem and exits 1 if there is any.
"""

from __future__ import annotations

import sys
from typing import Any

import yaml
from cloudcoil.models.prometheus_operator.v1 import PrometheusRule, ServiceMonitor
from pydantic import BaseModel, ValidationError

MODELS: dict[str, type[BaseModel]] = {
    "ServiceMonitor": ServiceMonitor,
    "PrometheusRule": PrometheusRule,
}


def unknown_fields(given: Any, kept: Any, path: str = "") -> list[str]:
    """Paths present in ``given`` that the model's dump ``kept`` dropped."""
    if isinstance(given, dict) and isinstance(kept, dict):
        found = []
        for key, value in given.items():
            if key not in kept:
                found.append(f"{path}.{key}")
            else:
                found.extend(unknown_fields(value, kept[key], f"{path}.{key}"))
        return found
    if isinstance(given, list) and isinstance(kept, list):
        return [
            p
            for i, (a, b) in enumerate(zip(given, kept, strict=True))
            for p in unknown_fields(a, b, f"{path}[{i}]")
        ]
    return []


def problems(documents: list[dict[str, Any]]) -> list[str]:
    found = []
    for kind, model_class in MODELS.items():
        resources = [d for d in documents if d and d.get("kind") == kind]
        if not resources:
            found.append(f"no {kind} in the manifests")
        for document in resources:
            name = document.get("metadata", {}).get("name", "?")
            try:
                model = model_class.model_validate(document)
            except ValidationError as error:
                found.append(f"{kind} {name}: {error}")
                continue
            kept = model.model_dump(mode="json", by_alias=True, exclude_unset=True)
            found.extend(
                f"{kind} {name}: unknown field {p}" for p in unknown_fields(document, kept)
            )
    return found


if __name__ == "__main__":
    reported = problems(list(yaml.safe_load_all(sys.stdin)))
    for line in reported:
        print(line)
    sys.exit(1 if reported else 0)
