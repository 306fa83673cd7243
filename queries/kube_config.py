"""Finding the cluster the way kubectl would: the pod's service account when running in a
cluster, else ``KUBECONFIG`` or ``~/.kube/config``, else none (``kubernetes_client_from_environment``).
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
import logging
import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from kubernetes import client as k8s
from kubernetes.config.config_exception import ConfigException
from kubernetes.config.incluster_config import (
    SERVICE_CERT_FILENAME,
    SERVICE_TOKEN_FILENAME,
    InClusterConfigLoader,
)
from kubernetes.config.kube_config import new_client_from_config

log = logging.getLogger(__name__)

SERVICE_ACCOUNT_ENV = "INVDASH_KUBE_SERVICE_ACCOUNT"
# How the API server names a service account in its answers (and kubectl in its errors).
SERVICE_ACCOUNT_USER = re.compile(r"system:serviceaccount:(?P<namespace>[^:]+):(?P<name>[^:]+)")


# --- finding the cluster -------------------------------------------------------------------------


def in_cluster_configuration(
    token_path: str | Path = SERVICE_TOKEN_FILENAME,
    ca_path: str | Path = SERVICE_CERT_FILENAME,
    environ: Mapping[str, str] | None = None,
) -> Any:
    """A ``kubernetes.client.Configuration`` for the pod's service account.

    Reads KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT from ``environ`` (default
    ``os.environ``), the token at ``token_path`` (re-read every minute, as projected tokens
    rotate) and the cluster CA at ``ca_path``. Raises ``kubernetes.config.ConfigException``
    when any is missing.
    """
    configuration = k8s.Configuration()
    InClusterConfigLoader(
        token_filename=str(token_path),
        cert_filename=str(ca_path),
        environ=os.environ if environ is None else environ,
    ).load_and_set(configuration)
    configuration.retries = False
    return configuration


def _jwt_subject(token: str) -> str | None:
    parts = token.strip().split(".")
    if len(parts) != 3:
        return None
    payload = parts[1] + "=" * (-len(parts[1]) % 4)
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload))
    except (binascii.Error, ValueError):
        return None
    subject = claims.get("sub") if isinstance(claims, dict) else None
    return subject if isinstance(subject, str) else None


def in_cluster_service_account(
    token_path: str | Path = SERVICE_TOKEN_FILENAME, environ: Mapping[str, str] | None = None
) -> str | None:
    """The service account invdash runs as: $INVDASH_KUBE_SERVICE_ACCOUNT, else the token's
    subject ("system:serviceaccount:<namespace>:<name>"), else None."""
    environ = os.environ if environ is None else environ
    if environ.get(SERVICE_ACCOUNT_ENV):
        return environ[SERVICE_ACCOUNT_ENV]
    try:
        token = Path(token_path).read_text()
    except OSError:
        return None
    subject = _jwt_subject(token)
    if subject and SERVICE_ACCOUNT_USER.fullmatch(subject):
        return subject
    return None


def _kubeconfig_paths(environ: Mapping[str, str], home: Path) -> str | None:
    configured = environ.get("KUBECONFIG")
    if configured:
        paths: Iterable[str] = [p for p in configured.split(os.pathsep) if p]
        return configured if any(Path(p).expanduser().is_file() for p in paths) else None
    default = home / ".kube" / "config"
    return str(default) if default.is_file() else None


def api_client_from_environment(
    environ: Mapping[str, str] | None = None,
    home: Path | None = None,
    token_path: str | Path = SERVICE_TOKEN_FILENAME,
    ca_path: str | Path = SERVICE_CERT_FILENAME,
) -> Any | None:
    """A new ``kubernetes.client.ApiClient`` for the cluster the environment points at, or None.

    In a pod (KUBERNETES_SERVICE_HOST set): its service account (``token_path``, ``ca_path``,
    as Kubernetes mounts them). Else the kubeconfig named by
    KUBECONFIG (paths joined with os.pathsep), else ``<home>/.kube/config``, in its current
    context. A configuration that cannot be loaded is logged and skipped.
    """
    environ = os.environ if environ is None else environ
    home = Path.home() if home is None else home
    if environ.get("KUBERNETES_SERVICE_HOST"):
        try:
            configuration = in_cluster_configuration(token_path, ca_path, environ)
            return k8s.ApiClient(configuration)
        except ConfigException as error:
            log.warning("in-cluster Kubernetes configuration unusable: %s", error)
    kubeconfig = _kubeconfig_paths(environ, home)
    if kubeconfig is None:
        return None
    configuration = k8s.Configuration()
    configuration.retries = False
    try:
        return new_client_from_config(
            config_file=kubeconfig, client_configuration=configuration, persist_config=False
        )
    except (ConfigException, OSError, ValueError) as error:
        log.warning("kubeconfig %s unusable: %s", kubeconfig, error)
        return None


@functools.cache
def kubernetes_client_from_environment() -> Any | None:
    """The process's one ``CoreV1Api`` (see ``api_client_from_environment``), or None: off.

    Made on the first call and returned by every later one (``cache_clear()`` forgets it).
    Loading reads local files only; the source given this client times out each call.
    """
    api_client = api_client_from_environment()
    return k8s.CoreV1Api(api_client) if api_client is not None else None
