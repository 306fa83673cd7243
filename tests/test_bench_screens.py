"""The wall screens of the benchmark (bench/screens.py) send what the pages send: every refresh
callback of the app, built from its own callback map, each answered 200 with a value for every
input it reads."""

from __future__ import annotations

import json
from typing import Any

import pytest
from small_inventory import small_inventory_file

from bench.screens import CALLBACKS, TRIVIAL, UPDATE_PATH, VALUES, bodies_from, with_tick
from dashboard.app import create_app
from dashboard.settings import load_settings

# Refresh callbacks a wall screen does not show: invdash's own health page (for whoever runs it).
NOT_ON_A_WALL = {"self-health-window.children"}


@pytest.fixture(scope="module")
def dependencies_and_client(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Any]:
    url = small_inventory_file(tmp_path_factory.mktemp("bench-screens"))
    app = create_app(load_settings(database_url=url, telemetry="demo", demo_orders="off"))
    client = app.server.test_client()
    return json.loads(client.get("/_dash-dependencies").data), client


def test_the_screens_send_every_refresh_callback_of_the_app(
    dependencies_and_client: tuple[Any, Any],
) -> None:
    dependencies, _ = dependencies_and_client
    refreshes = [
        d["output"]
        for d in dependencies
        if any(i["id"] == "tick" and i["property"] == "data" for i in d["inputs"])
    ]
    sent = {body["output"] for body in bodies_from(dependencies).values()}
    missing = [
        output
        for output in refreshes
        if output not in sent and not any(part in output for part in NOT_ON_A_WALL)
    ]
    assert missing == []


def test_every_body_reads_values_the_page_sends_and_is_answered(
    dependencies_and_client: tuple[Any, Any],
) -> None:
    dependencies, client = dependencies_and_client
    for name, body in bodies_from(dependencies).items():
        read = [f"{i['id']}.{i['property']}" for i in [*body["inputs"], *body["state"]]]
        assert [r for r in read if r != "tick.data" and r not in VALUES] == [], name
        response = client.post(
            UPDATE_PATH, data=with_tick(body, 1), content_type="application/json"
        )
        assert response.status_code == 200, (name, response.data[:300])
        assert "response" in json.loads(response.data), name
    assert TRIVIAL in CALLBACKS
