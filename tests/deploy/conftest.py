"""Fixtures for the deployment tests: each overlay rendered, and the image installed, once a session."""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
from typing import Any

import pytest
import yaml
from deploy_tools import DEPLOY, OVERLAYS, REPO_ROOT, RenderedOverlay, checkov_results, run
from dockerfile_facts import arguments_of, instructions
from image_run import IMAGE_PREFIX, InstalledImage

KUBECTL_HINT = (
    "the deploy tests render deploy/overlays with `kubectl kustomize` and need kubectl 1.27 or "
    "later (kustomize v5) on PATH; Debian's kubernetes-client package is older"
)


@pytest.fixture(scope="session")
def kubectl() -> str:
    path = shutil.which("kubectl")
    if path is None:
        pytest.fail(f"kubectl not found: {KUBECTL_HINT}", pytrace=False)
    version = run([path, "version", "--client", "--output=json"])
    kustomize = json.loads(version.stdout or "{}").get("kustomizeVersion", "")
    major = re.match(r"v(\d+)\.", kustomize)
    if major is None or int(major.group(1)) < 5:
        pytest.fail(
            f"kubectl at {path} bundles kustomize {kustomize!r}: {KUBECTL_HINT}", pytrace=False
        )
    return path


@pytest.fixture(scope="session")
def rendered_overlays(
    kubectl: str, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, RenderedOverlay]:
    """Every overlay, rendered once for the whole session into <tmp>/<overlay>.yaml."""
    directory = tmp_path_factory.mktemp("rendered")
    rendered = {}
    for name in OVERLAYS:
        result = run([kubectl, "kustomize", str(DEPLOY / "overlays" / name)])
        assert result.returncode == 0, f"kubectl kustomize deploy/overlays/{name}:\n{result.stderr}"
        path = directory / f"{name}.yaml"
        path.write_text(result.stdout)
        documents = [d for d in yaml.safe_load_all(result.stdout) if d]
        rendered[name] = RenderedOverlay(name, path, documents)
    return rendered


@pytest.fixture(params=OVERLAYS)
def overlay(
    request: pytest.FixtureRequest, rendered_overlays: dict[str, RenderedOverlay]
) -> RenderedOverlay:
    """Each overlay in turn."""
    return rendered_overlays[request.param]


@pytest.fixture(scope="session")
def checkov_kubernetes(rendered_overlays: dict[str, RenderedOverlay]) -> dict[str, Any]:
    """One checkov run over every rendered overlay."""
    return checkov_results("kubernetes", *(o.path for o in rendered_overlays.values()))


@pytest.fixture(scope="session")
def installed_image(tmp_path_factory: pytest.TempPathFactory) -> InstalledImage:
    """scripts/image-install.sh run as the Dockerfile runs it, into a session's virtualenv.

    The pip cache is used (the image build disables it) and bytecode is not compiled (the image
    compiles it): both only save time. Failing here means the image build would fail.
    """
    (install,) = [a for a in arguments_of(instructions(), "RUN") if "image-install.sh" in a]
    shell, script, target = install.split()
    assert target == IMAGE_PREFIX
    venv = tmp_path_factory.mktemp("image") / "invdash"
    result = run(
        [shell, script, str(venv), "--no-compile", "--quiet"],
        cwd=REPO_ROOT,
        env={**os.environ, "PYTHON": sys.executable},
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return InstalledImage(venv)
