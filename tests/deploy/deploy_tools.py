"""Finding and running the deployment's validators; the rendered-overlay type.

The validators (checkov, kubernetes-validate, yamllint, hadolint) live in .venv-tools, which
``scripts/test.sh`` makes from scripts/deploy-tools.txt, or else on PATH. A missing one fails the
test saying how to get it, never skips it: CI must not pass without running them.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
TOOLS_BIN = REPO_ROOT / ".venv-tools" / "bin"
DEPLOY = REPO_ROOT / "deploy"
OVERLAYS = ("dev", "prod")
TOOLS_HINT = (
    "run the tests through `bash scripts/test.sh` (it installs scripts/deploy-tools.txt into "
    ".venv-tools), or `pip install -r scripts/deploy-tools.txt` into a virtualenv on PATH"
)


def validator(name: str) -> str:
    """The path of a validator: .venv-tools first, then PATH; else the test fails saying why."""
    local = TOOLS_BIN / name
    if local.is_file():
        return str(local)
    found = shutil.which(name)
    if found is None:
        pytest.fail(f"{name} not found in {TOOLS_BIN} or on PATH: {TOOLS_HINT}", pytrace=False)
    return found


def tools_python() -> str:
    """.venv-tools' interpreter, for checks that import the validators' libraries."""
    python = TOOLS_BIN / "python"
    if not python.is_file():
        pytest.fail(f"{python} not found: {TOOLS_HINT}", pytrace=False)
    return str(python)


def run(
    command: list[str], timeout: float = 120, **kwargs: Any
) -> subprocess.CompletedProcess[str]:
    """Run a tool to completion, capturing its output as text."""
    return subprocess.run(
        command, capture_output=True, text=True, timeout=timeout, check=False, **kwargs
    )


@dataclass(frozen=True)
class RenderedOverlay:
    """An overlay as ``kubectl kustomize`` renders it: one YAML stream, and its documents."""

    name: str
    path: Path
    documents: list[dict[str, Any]]

    def all_of(self, kind: str) -> list[dict[str, Any]]:
        return [d for d in self.documents if d["kind"] == kind]

    def one(self, kind: str, name: str | None = None) -> dict[str, Any]:
        """The only document of ``kind`` (named ``name``, when given)."""
        (found,) = [d for d in self.all_of(kind) if name is None or d["metadata"]["name"] == name]
        return found


def checkov_results(framework: str, *files: Path) -> dict[str, Any]:
    """checkov's JSON ``results`` for these files (offline: --skip-download)."""
    command = [
        validator("checkov"),
        "--skip-download",
        "--framework",
        framework,
        "--output",
        "json",
    ]
    for file in files:
        command += ["--file", str(file)]
    result = run(command)
    assert result.stdout.strip(), f"checkov printed no report:\n{result.stderr}"
    report = json.loads(result.stdout)
    # One framework gives one report; checkov prints a list only when several ran.
    (report,) = report if isinstance(report, list) else [report]
    assert report["summary"]["parsing_errors"] == 0, report["summary"]
    results: dict[str, Any] = report["results"]
    return results
