"""A screen that refreshes over real HTTP, for the fault tests: it posts the app's own callback
bodies (built from /_dash-dependencies) and holds every answer to a 200 within a bound."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import requests
from dash import Dash
from dash_requests import UPDATE_PATH, callback_request
from werkzeug.serving import make_server

FETCHED = re.compile(r'"data-fetched":\s*"(\d+)"')
# What a browser on /ops without a query string sends.
VALUES: dict[str, Any] = {"url.search": "", "url.pathname": "/ops", "rotation.data": {}}


@dataclass
class Screen:
    base: str
    bodies: dict[str, dict[str, Any]]
    refresh_seconds: float
    answer_bound: float  # seconds: every answer must come within this
    beside: tuple[str, ...] = ()  # callbacks refreshed with each asked one (unaffected panels)
    tick: int = 0

    def ask(self, name: str) -> tuple[float, str]:
        """One refresh of callback ``name``: seconds to the answer, and its text."""
        self.tick += 1
        body = self.bodies[name]
        values = [dict(i, value=self.tick) if i["id"] == "tick" else i for i in body["inputs"]]
        started = time.monotonic()
        response = requests.post(
            self.base + UPDATE_PATH, json={**body, "inputs": values}, timeout=60
        )
        seconds = time.monotonic() - started
        assert response.status_code == 200, (name, response.status_code, response.text[:500])
        assert seconds <= self.answer_bound, (name, seconds)
        assert "Traceback" not in response.text
        return seconds, response.text

    def refresh_until(
        self, name: str, done: Callable[[str], bool], intervals: float
    ) -> tuple[str, float]:
        """Refresh ``name`` (and the panels ``beside`` it) every half interval until ``done``
        holds for its answer, within ``intervals`` refresh intervals; the answer and the
        seconds it took."""
        started = time.monotonic()
        while True:
            _, text = self.ask(name)
            for other in self.beside:
                self.ask(other)
            if done(text):
                return text, time.monotonic() - started
            assert time.monotonic() - started < intervals * self.refresh_seconds, (
                name,
                text[:2000],
            )
            time.sleep(self.refresh_seconds / 2)


def stale(source: str) -> Callable[[str], bool]:
    """The answer says ``source``'s data is stale (kept, greyed, with the reason)."""
    return lambda text: "Stale data" in text and source in text


def fresh(text: str) -> bool:
    return "Stale data" not in text and "No data" not in text


def newest_fetch(text: str) -> int:
    """The newest data-fetched stamp (epoch seconds) of the freshness lines in an answer."""
    return max(int(found) for found in FETCHED.findall(text))


def stale_reason(text: str) -> str | None:
    found = re.search(r"stale since [0-9:]+ UTC: ([^;]*);", text)
    return None if found is None else found[1]


@contextmanager
def serving(
    app: Dash, callbacks: dict[str, str], refresh_seconds: float, answer_bound: float,
    beside: tuple[str, ...] = (),
) -> Iterator[Screen]:  # fmt: skip
    """``app`` on a threaded HTTP server on 127.0.0.1, and a screen asking it."""
    server = make_server("127.0.0.1", 0, app.server, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        base = f"http://127.0.0.1:{server.server_port}"
        dependencies = requests.get(f"{base}/_dash-dependencies", timeout=30).json()
        bodies = {
            name: callback_request(dependencies, output, VALUES)
            for name, output in callbacks.items()
        }
        yield Screen(base, bodies, refresh_seconds, answer_bound, beside)
    finally:
        server.shutdown()
