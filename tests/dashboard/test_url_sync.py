"""Controls and the address (dashboard/url_sync.py), and /ops under a playlist's rotation, over
the callback endpoint as a browser posts them."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from dash_requests import UPDATE_PATH, callback_request
from flask.testing import FlaskClient
from small_inventory import build_small_inventory

from dashboard.app import create_app
from dashboard.settings import load_settings


@pytest.fixture
def client(sqlite_url: str) -> FlaskClient:
    build_small_inventory(sa.create_engine(sqlite_url))
    app = create_app(load_settings(database_url=sqlite_url, telemetry="off", demo_orders="off"))
    return app.server.test_client()


def _remember(client: FlaskClient, search: str, warehouse: str, category: str) -> Any:
    """What the Inventory's controls write into the address (None: nothing)."""
    dependencies = client.get("/_dash-dependencies").get_json()
    (callback,) = [
        d
        for d in dependencies
        if d["output"].startswith("url.search")
        and {"id": "inv-warehouse", "property": "value"} in d["inputs"]
    ]
    body = {
        "output": callback["output"],
        "outputs": {"id": "url", "property": "search"},
        "inputs": [
            {"id": "inv-warehouse", "property": "value", "value": warehouse},
            {"id": "inv-category", "property": "value", "value": category},
        ],
        "state": [{"id": "url", "property": "search", "value": search}],
        "changedPropIds": ["inv-warehouse.value"],
    }
    response = client.post(UPDATE_PATH, json=body)
    if response.status_code == 204:
        return None
    assert response.status_code == 200
    return response.get_json()["response"].get("url", {}).get("search")


def test_a_choice_is_written_and_what_the_address_shows_already_is_not(
    client: FlaskClient,
) -> None:
    assert _remember(client, "?range=6h", "WH2", "all") == "?range=6h&warehouse=WH2"
    assert _remember(client, "?warehouse=WH2", "WH2", "all") is None
    # A value this page cannot use shows as "all": a select settling on it rewrites nothing.
    assert _remember(client, "?warehouse=%3Cb%3E", "all", "all") is None


def test_a_value_picked_out_of_a_rotation_is_a_choice_even_when_it_comes_first(
    client: FlaskClient,
) -> None:
    assert _remember(client, "?warehouse=WH1,WH2", "WH1", "all") == "?warehouse=WH1"


def test_ops_shows_the_rotated_warehouse_only_while_the_address_rotates_it(
    client: FlaskClient,
) -> None:
    dependencies = client.get("/_dash-dependencies").get_json()

    def scope(search: str) -> str:
        values = {"url.search": search, "rotation.data": {"warehouse": "WH2"}}
        body = callback_request(dependencies, "ops-scope.children", values)
        response = client.post(UPDATE_PATH, json=body)
        assert response.status_code == 200
        shown: str = response.get_json()["response"]["ops-scope"]["children"]
        return shown

    assert scope("?playlist=ops&warehouse=WH1,WH2") == "Warehouse WH2"
    # The playlist is gone from the address (back, or a new link); its store is not cleared.
    assert scope("") == "All warehouses"
