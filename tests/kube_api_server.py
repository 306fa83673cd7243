"""A small Kubernetes API server for tests: the real ``kubernetes`` client talks to it over HTTP.

``KubeApiServer`` serves core/v1 pods, events and nodes given as Python dicts (the JSON a real API
server sends) from 127.0.0.1 on a free port, in a thread:

    GET /api/v1/pods                       PodList, every namespace
    GET /api/v1/namespaces/{ns}/pods       PodList of one namespace
    GET /api/v1/events                     EventList, every namespace
    GET /api/v1/namespaces/{ns}/events     EventList of one namespace
    GET /api/v1/nodes                      NodeList

``labelSelector`` (equality and existence requirements: ``k=v``, ``k==v``, ``k!=v``, ``k``,
``!k``) and ``limit`` are honoured. Per path, the server can refuse (401, or 403 with the API
server's own wording), fail (500), or wait before answering; it records every request.

``load_fixture_objects`` reads the recorded objects under ``<fixtures>/kubernetes`` in place.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import re
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import yaml
from local_service import LocalService

JsonObject = dict[str, Any]

_COLLECTION = re.compile(
    r"^/api/v1/(?:namespaces/(?P<namespace>[^/]+)/(?P<namespaced>pods|events)"
    r"|(?P<cluster>pods|events|nodes))$"
)
_LIST_KINDS = {"pods": "PodList", "events": "EventList", "nodes": "NodeList"}
_OBJECT_KINDS = {"pods": "Pod", "events": "Event", "nodes": "Node"}


@dataclass(frozen=True)
class RecordedRequest:
    """One request the server received (header names in lower case)."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]


@dataclass
class _Behaviour:
    status: int | None = None
    body: JsonObject | None = None
    delay_seconds: float = 0.0


@dataclass
class _State:
    objects: dict[str, list[JsonObject]] = field(
        default_factory=lambda: {"pods": [], "events": [], "nodes": []}
    )
    behaviours: dict[str, _Behaviour] = field(default_factory=dict)
    requests: list[RecordedRequest] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    stopping: threading.Event = field(default_factory=threading.Event)


def status_object(
    code: int, reason: str, message: str, details: JsonObject | None = None
) -> JsonObject:
    """A ``Status`` body as the API server sends it with an error."""
    body: JsonObject = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }
    if details is not None:
        body["details"] = details
    return body


def ready_pod(name: str, image: str, labels: dict[str, str] | None = None) -> JsonObject:
    """A Pod in namespace shop, running and ready: one container, "api", running ``image``."""
    metadata: JsonObject = {"name": name, "namespace": "shop", "uid": f"u-{name}"}
    if labels is not None:
        metadata["labels"] = labels
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": metadata,
        "spec": {"containers": [{"name": "api", "image": image}]},
        "status": {
            "phase": "Running",
            "conditions": [{"type": "Ready", "status": "True"}],
            "containerStatuses": [
                {
                    "name": "api",
                    "image": image,
                    "imageID": "",
                    "ready": True,
                    "restartCount": 0,
                    "state": {"running": {}},
                }
            ],
        },
    }


def forbidden_message(user: str, verb: str, resource: str, namespace: str | None) -> str:
    """The API server's wording when RBAC denies ``user`` a request."""
    scope = "at the cluster scope" if namespace is None else f'in the namespace "{namespace}"'
    return (
        f'{resource} is forbidden: User "{user}" cannot {verb} resource "{resource}" '
        f'in API group "" {scope}'
    )


def _resource_of(path: str) -> tuple[str, str | None]:
    match = _COLLECTION.match(path)
    if match is None:
        raise ValueError(f"{path} is not a collection this server serves")
    if match["cluster"]:
        return match["cluster"], None
    return match["namespaced"], match["namespace"]


def _selector_matches(selector: str, labels: dict[str, str]) -> bool:
    for requirement in filter(None, (part.strip() for part in selector.split(","))):
        if "!=" in requirement:
            key, value = (s.strip() for s in requirement.split("!=", 1))
            if labels.get(key) == value:
                return False
        elif "=" in requirement:
            key, value = (s.strip() for s in requirement.replace("==", "=").split("=", 1))
            if labels.get(key) != value:
                return False
        elif requirement.startswith("!"):
            if requirement[1:].strip() in labels:
                return False
        elif re.fullmatch(r"[A-Za-z0-9_./-]+", requirement):
            if requirement not in labels:
                return False
        else:
            raise ValueError(f"unsupported label selector requirement {requirement!r}")
    return True


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, fmt: str, *args: Any) -> None:
        pass  # pytest shows failures; the access log would only be noise

    def _send(self, code: int, body: JsonObject) -> None:
        payload = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def do_GET(self) -> None:
        state = self.server.state
        url = urlsplit(self.path)
        query = parse_qs(url.query)
        with state.lock:
            state.requests.append(
                RecordedRequest(
                    "GET", url.path, query, {k.lower(): v for k, v in self.headers.items()}
                )
            )
            behaviour = copy.deepcopy(state.behaviours.get(url.path, _Behaviour()))
        if behaviour.delay_seconds and state.stopping.wait(behaviour.delay_seconds):
            return
        if behaviour.status is not None and behaviour.body is not None:
            self._send(behaviour.status, behaviour.body)
            return
        match = _COLLECTION.match(url.path)
        if match is None:
            message = f"the server could not find the requested resource ({url.path})"
            self._send(404, status_object(404, "NotFound", message, {}))
            return
        resource, namespace = _resource_of(url.path)
        with state.lock:
            items = copy.deepcopy(state.objects[resource])
        if namespace is not None:
            items = [o for o in items if o.get("metadata", {}).get("namespace") == namespace]
        selector = query.get("labelSelector", [""])[0]
        try:
            items = [
                o for o in items if _selector_matches(selector, o["metadata"].get("labels") or {})
            ]
        except ValueError as error:
            self._send(400, status_object(400, "BadRequest", str(error)))
            return
        limit = int(query.get("limit", ["0"])[0] or 0)
        if limit > 0:
            items = items[:limit]
        body = {
            "apiVersion": "v1",
            "kind": _LIST_KINDS[resource],
            "metadata": {"resourceVersion": "4242"},
            "items": items,
        }
        self._send(200, body)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    state: _State

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that gave up on a delayed answer closes its socket: not a test failure.
        pass


def _objects(resource: str) -> property:
    """A property of KubeApiServer: a copy of the ``resource`` objects it serves, replaceable."""

    def get(server: KubeApiServer) -> list[JsonObject]:
        return server._get(resource)

    def set_(server: KubeApiServer, objects: Iterable[JsonObject]) -> None:
        server._set(resource, objects)

    return property(get, set_)


class KubeApiServer(LocalService):
    """The API server, as a context manager: ``with KubeApiServer(pods=[...]) as server:``.

    ``url`` is its base URL once entered. Objects can be replaced while it runs (``pods``,
    ``events``, ``nodes``); ``forbid``, ``unauthorize``, ``fail`` and ``delay`` change how one
    path answers; ``requests`` and ``request_count`` say what it was asked.
    """

    def __init__(
        self,
        pods: Iterable[JsonObject] = (),
        events: Iterable[JsonObject] = (),
        nodes: Iterable[JsonObject] = (),
    ) -> None:
        self._state = _State()
        self.pods = list(pods)
        self.events = list(events)
        self.nodes = list(nodes)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    def _set(self, resource: str, objects: Iterable[JsonObject]) -> None:
        with self._state.lock:
            self._state.objects[resource] = [copy.deepcopy(o) for o in objects]

    def _get(self, resource: str) -> list[JsonObject]:
        with self._state.lock:
            return copy.deepcopy(self._state.objects[resource])

    pods = _objects("pods")
    events = _objects("events")
    nodes = _objects("nodes")

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("KubeApiServer is not running: use it in a with statement")
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> KubeApiServer:
        server = _Server(("127.0.0.1", 0), _Handler)
        server.state = self._state
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._state.stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None

    # --- behaviour per path ---

    def _behave(self, path: str, **changes: Any) -> None:
        with self._state.lock:
            behaviour = self._state.behaviours.setdefault(path, _Behaviour())
            for name, value in changes.items():
                setattr(behaviour, name, value)

    def forbid(self, path: str, user: str = "system:serviceaccount:monitoring:invdash") -> None:
        """Answer ``path`` with 403 Forbidden, as RBAC does when ``user`` may not list there."""
        resource, namespace = _resource_of(path)
        message = forbidden_message(user, "list", resource, namespace)
        body = status_object(403, "Forbidden", message, {"kind": resource})
        self._behave(path, status=403, body=body)

    def unauthorize(self, path: str) -> None:
        """Answer ``path`` with 401 Unauthorized, as for a missing or expired token."""
        self._behave(path, status=401, body=status_object(401, "Unauthorized", "Unauthorized"))

    def fail(
        self, path: str, message: str = "Internal error occurred: etcdserver: request timed out"
    ) -> None:
        """Answer ``path`` with 500 Internal Server Error carrying ``message``."""
        body = status_object(500, "InternalError", message, {"causes": [{"message": message}]})
        self._behave(path, status=500, body=body)

    def delay(self, path: str, seconds: float) -> None:
        """Wait ``seconds`` before answering ``path``."""
        self._behave(path, delay_seconds=seconds)

    def heal(self, path: str) -> None:
        """Answer ``path`` normally again (undo forbid, unauthorize, fail and delay)."""
        with self._state.lock:
            self._state.behaviours.pop(path, None)

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._state.lock:
            return list(self._state.requests)

    def request_count(self, path: str | None = None) -> int:
        """How many requests reached ``path`` (any path when None)."""
        return sum(1 for r in self.requests if path is None or r.path == path)


# --- recorded fixtures -----------------------------------------------------------------------------


class _TextTimestampLoader(yaml.SafeLoader):
    """YAML as the API server means it: timestamps stay RFC 3339 strings."""


_TextTimestampLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}

# is-healthy's harness writes "@now", "@now-5m", "@now+1h30m" for times relative to the test run.
_NOW_PLACEHOLDER = re.compile(r"@now(?P<offset>[+-](?:\d+(?:\.\d+)?(?:ms|s|m|h|d))+)?")
_DURATION_PART = re.compile(r"(?P<amount>\d+(?:\.\d+)?)(?P<unit>ms|s|m|h|d)")
_UNIT_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}


def rfc3339(moment: dt.datetime) -> str:
    """``2026-01-13T18:38:10Z``: the API server's timestamp format (UTC, whole seconds)."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _resolve_placeholder(text: str, now: dt.datetime) -> str:
    match = _NOW_PLACEHOLDER.fullmatch(text)
    if match is None:
        return text
    offset = match["offset"] or ""
    seconds = sum(
        float(part["amount"]) * _UNIT_SECONDS[part["unit"]]
        for part in _DURATION_PART.finditer(offset)
    )
    sign = -1 if offset.startswith("-") else 1
    return rfc3339(now + dt.timedelta(seconds=sign * seconds))


def _substitute_now(value: Any, now: dt.datetime) -> Any:
    if isinstance(value, str):
        return _resolve_placeholder(value, now)
    if isinstance(value, list):
        return [_substitute_now(item, now) for item in value]
    if isinstance(value, dict):
        return {key: _substitute_now(item, now) for key, item in value.items()}
    return value


def _complete_pod(pod: JsonObject) -> None:
    """Add what a real API server always sends and the trimmed recordings leave out."""
    metadata = pod.setdefault("metadata", {})
    metadata.setdefault("namespace", "default")
    spec = pod.setdefault("spec", {})
    images = {
        c.get("name"): c.get("image", "")
        for key in ("initContainers", "containers")
        for c in spec.get(key) or []
    }
    status = pod.setdefault("status", {})
    for key in ("initContainerStatuses", "containerStatuses"):
        for container in status.get(key) or []:
            container.setdefault("name", "")
            container.setdefault("image", images.get(container["name"]) or "unknown")
            container.setdefault("imageID", "")
            container.setdefault("ready", False)
            container.setdefault("restartCount", 0)


def _complete(obj: JsonObject) -> JsonObject:
    kind = obj.get("kind")
    if kind == "Pod":
        _complete_pod(obj)
    elif kind == "Event":
        obj.setdefault("metadata", {}).setdefault("namespace", "default")
        obj.setdefault("involvedObject", {})
    return obj


def _objects_in(document: Any) -> Iterator[JsonObject]:
    if not isinstance(document, dict) or "kind" not in document:
        return  # not a Kubernetes object (the kubelet's stats summary, say)
    if document["kind"].endswith("List"):
        singular = document["kind"][: -len("List")] or None
        for item in document.get("items") or []:
            if singular and "kind" not in item:
                item["kind"] = singular
            yield item
    else:
        yield document


def load_fixture_objects(
    fixtures_dir: Path, now: dt.datetime | None = None
) -> dict[str, list[JsonObject]]:
    """The Kubernetes objects recorded under ``<fixtures_dir>/kubernetes``, by file name.

    YAML and JSON files are read in place; lists are flattened into their items. "@now"-style
    placeholders become RFC 3339 times relative to ``now`` (default: the current time), and the
    fields a real API server always sends are filled in where a recording lacks them.
    """
    now = now or dt.datetime.now(dt.UTC)
    loaded: dict[str, list[JsonObject]] = {}
    for path in sorted((fixtures_dir / "kubernetes").iterdir()):
        if path.suffix in (".yaml", ".yml"):
            documents = list(yaml.load_all(path.read_text(), Loader=_TextTimestampLoader))
        elif path.suffix == ".json":
            documents = [json.loads(path.read_text())]
        else:
            continue
        objects = [
            _complete(_substitute_now(obj, now)) for doc in documents for obj in _objects_in(doc)
        ]
        if objects:
            loaded[path.name] = objects
    return loaded


def of_kind(loaded: dict[str, list[JsonObject]], kind: str) -> list[JsonObject]:
    """Every loaded object of ``kind`` ("Pod", "Node", "Event"), in file order."""
    return [obj for objects in loaded.values() for obj in objects if obj.get("kind") == kind]
