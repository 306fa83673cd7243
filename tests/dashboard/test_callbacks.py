"""Every callback of every page, fired over HTTP as a browser fires it (no browser): on the
hand-built inventory of tests/small_inventory.py with demo telemetry, each answers with the
outputs it declares, and the page's figures are the hand-worked ones.

The request for a callback is built from the app's own ``/_dash-dependencies``; the values a
page starts with (its address, a refresh tick) are filled in, everything else is unset, as on
a page just opened.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
import sqlalchemy as sa
from dash import Dash
from dash_requests import UPDATE_PATH, callback_request
from flask.testing import FlaskClient
from small_inventory import build_small_inventory

from components.formatting import money
from dashboard.app import create_app
from dashboard.context import DashboardContext
from dashboard.page_registry import PAGES, page_module
from dashboard.settings import load_settings
from dashboard.urlstate import parse_view


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Dash:
    url = f"sqlite:///{tmp_path_factory.mktemp('callbacks') / 'inventory.sqlite3'}"
    build_small_inventory(sa.create_engine(url), as_of=dt.datetime.now(dt.UTC))
    return create_app(load_settings(database_url=url, telemetry="demo", demo_orders="off"))


@pytest.fixture(scope="module")
def dependencies(app: Dash) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = app.server.test_client().get("/_dash-dependencies").get_json()
    return found


def _context(app: Dash) -> DashboardContext:
    context = app.server.config["INVDASH_CONTEXT"]
    assert isinstance(context, DashboardContext)
    return context


def _output_ids(callback: dict[str, Any]) -> list[str]:
    output: str = callback["output"]
    parts = output[2:-2].split("...") if output.startswith("..") else [output]
    return [part.rsplit(".", 1)[0] for part in parts]


def _page_path_of(app: Dash, callback: dict[str, Any]) -> str:
    """The path of the page whose frame holds the callback's outputs ("/" for the shell's)."""
    outputs = set(_output_ids(callback))
    context = _context(app)
    for page in PAGES:
        # Iterating a component yields the ids in it.
        frame = page_module(page).layout(context, parse_view(page.path, ""))
        if outputs <= {component_id for component_id in frame if isinstance(component_id, str)}:
            return page.path
    return "/"


def _plain(callback: dict[str, Any]) -> bool:
    """A callback with plain ids only (pattern-matching ones need the ids a page made)."""
    specs = [*callback["inputs"], *callback["state"]]
    return not callback["output"].startswith("..{") and all(
        not str(spec["id"]).startswith("{") for spec in specs
    )


def _fire(
    client: FlaskClient, callback: dict[str, Any], values: dict[str, Any]
) -> tuple[int, dict[str, Any]]:
    body = callback_request([callback], callback["output"], values)
    response = client.post(UPDATE_PATH, json=body)
    payload = response.get_json(silent=True) if response.status_code == 200 else {}
    return response.status_code, payload or {}


def _first_values(path: str, callback: dict[str, Any]) -> dict[str, Any]:
    values: dict[str, Any] = {"url.pathname": path, "url.search": ""}
    for spec in callback["inputs"]:
        if spec["property"] == "n_intervals":
            values[f"{spec['id']}.n_intervals"] = 1
    return values


def test_every_plain_callback_answers_a_page_just_opened_with_what_it_declares(
    app: Dash, dependencies: list[dict[str, Any]]
) -> None:
    client = app.server.test_client()
    fired = 0
    for callback in filter(_plain, dependencies):
        if callback.get("clientside_function") is not None:
            continue
        path = _page_path_of(app, callback)
        status, payload = _fire(client, callback, _first_values(path, callback))
        # 204: the callback chose not to update (nothing asked for yet); never an error.
        assert status in (200, 204), (callback["output"], status)
        if status == 200:
            answered = set(payload["response"])
            assert answered <= set(_output_ids(callback)), (callback["output"], answered)
        fired += 1
    assert fired >= 2 * len(PAGES), f"only {fired} callbacks fired"


def _answer(app: Dash, dependencies: list[dict[str, Any]], output_part: str, path: str) -> Any:
    (callback,) = [d for d in dependencies if output_part in d["output"]]
    status, payload = _fire(app.server.test_client(), callback, _first_values(path, callback))
    assert status == 200, (output_part, status)
    return payload["response"]


def _text(component: Any) -> str:
    """The visible text of a serialised component tree."""
    if isinstance(component, str | int | float):
        return str(component)
    if isinstance(component, list):
        return "".join(_text(part) for part in component)
    if isinstance(component, dict):
        return _text(component.get("props", {}).get("children", ""))
    return ""


def test_the_ops_stock_tiles_show_the_hand_worked_figures(
    app: Dash, dependencies: list[dict[str, Any]]
) -> None:
    shown = _answer(app, dependencies, "ops-kpi-value-value", "/ops")
    # tests/small_inventory.py: A 6 x 10 + B (50 + 5) x 2 = 170 at unit cost; 2 SKUs.
    assert money(170.0) in _text(shown["ops-kpi-value-value"]["children"])
    assert _text(shown["ops-kpi-value-hint"]["children"]) == "2 SKUs"
    # One lot expiring within 30 days (L1, 30 units of B at 2): worth 60.
    assert _text(shown["ops-kpi-expiring-value"]["children"]).endswith("1")
    assert _text(shown["ops-kpi-expiring-hint"]["children"]) == f"worth {money(60.0)}"


def test_the_inventory_tiles_show_the_hand_worked_figures(
    app: Dash, dependencies: list[dict[str, Any]]
) -> None:
    shown = _answer(app, dependencies, "inv-kpi-value-value", "/")
    assert money(170.0) in _text(shown["inv-kpi-value-value"]["children"])
    # The answer is JSON a browser can read, with no Python object left in it.
    json.dumps(shown)
