"""What one screen of the Inventory page receives at the ``m`` scale (100k SKU x warehouse rows):
every callback response under 200 KB, whatever the filter, the sort, the filter model or a
malformed request, while the grids' blocks still come from all rows.

The app is served over real HTTP (werkzeug, 127.0.0.1) on a generated snapshot
(tests/generated_inventory.py) put where the page reads it, the cache every screen shares; the
requests are the POSTs to /_dash-update-component a browser sends, built from the app's own
/_dash-dependencies.
"""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from dash_requests import UPDATE_PATH, callback_request
from generated_inventory import generated_snapshot
from werkzeug.serving import make_server

from dashboard.app import create_app
from dashboard.context import INVENTORY_SNAPSHOT
from dashboard.settings import load_settings
from queries.inventory import InventorySnapshot
from queries.rollups import filter_rows, top_stockout_risks
from queries.row_blocks import MAX_BLOCK_ROWS

LIMIT_BYTES = 200_000
REFRESH = "inv-freshness.children"
RISK_ROWS = "inv-risk-grid.getRowsResponse"
LOT_ROWS = "inv-lots-grid.getRowsResponse"
SKU_DETAIL = "sku-modal.opened"
FILTERS = [("all", "all"), ("WH3", "all"), ("all", "Pharmacy"), ("WH1", "Grocery"), ("WH99", "all")]


@dataclass
class Screen:
    """One screen talking to the served app; every response's size, by callback output."""

    base: str
    dependencies: list[dict[str, Any]]
    sizes: dict[str, list[int]] = field(default_factory=dict)

    def post(self, output: str, values: dict[str, Any]) -> dict[str, Any]:
        body = callback_request(self.dependencies, output, values)
        request = urllib.request.Request(  # noqa: S310 - 127.0.0.1
            self.base + UPDATE_PATH,
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=120) as response:  # noqa: S310
                raw: bytes = response.read()
        except urllib.error.HTTPError as error:  # a traceback would be a 500
            pytest.fail(f"{output} answered {error.code}: {error.read()[:2000]!r}")
        self.sizes.setdefault(output, []).append(len(raw))
        answer: dict[str, Any] = json.loads(raw)["response"]
        return answer

    def rows(self, grid_output: str, request: object, view: object) -> dict[str, Any]:
        grid = grid_output.split(".")[0]
        answer = self.post(
            grid_output, {f"{grid}.getRowsRequest": request, "inv-grid-view.data": view}
        )
        response: dict[str, Any] = answer[grid]["getRowsResponse"]
        return response

    def refresh(self, warehouse: str, category: str) -> dict[str, Any]:
        answer = self.post(
            REFRESH,
            {"tick.data": 1, "inv-warehouse.value": warehouse, "inv-category.value": category},
        )
        view: dict[str, Any] = answer["inv-grid-view"]["data"]
        return view


@dataclass(frozen=True)
class Served:
    snapshot: InventorySnapshot
    screen: Screen


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    snapshot = generated_snapshot()
    work: Path = tmp_path_factory.mktemp("at-scale")
    # Nothing else refreshes within the test: the interval is a day, the database empty.
    app = create_app(
        load_settings(
            database_url=f"sqlite:///{work}/empty.sqlite3", telemetry="off", refresh_seconds=86_400
        )
    )
    context = app.server.config["INVDASH_CONTEXT"]
    # The interval's load, as the first screen to refresh would make it.
    context.cache.fetch(INVENTORY_SNAPSHOT, lambda: snapshot)
    server = make_server("127.0.0.1", 0, app.server, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_port}"
    try:
        with urllib.request.urlopen(base + "/_dash-dependencies", timeout=30) as response:  # noqa: S310
            dependencies = json.loads(response.read())
        yield Served(snapshot, Screen(base, dependencies))
    finally:
        server.shutdown()
        thread.join(timeout=10)


def all_rows(snapshot: InventorySnapshot) -> dict[str, str | None]:
    """The grids' view of the snapshot unfiltered, as the page's refresh sets it."""
    return {"fetched_at": snapshot.fetched_at.isoformat(), "warehouse": "all", "category": "all"}


def risk_codes(response: dict[str, Any]) -> list[str]:
    return [f"{row['sku_code']}@{row['warehouse_code']}" for row in response["rowData"]]


def test_the_snapshot_is_at_the_m_scale(served: Served) -> None:
    assert len(served.snapshot.positions) == 100_000
    assert len(top_stockout_risks(served.snapshot.positions)) > 80_000


@pytest.mark.parametrize(("warehouse", "category"), FILTERS)
def test_every_filter_refreshes_and_pages_through_all_its_rows_in_small_responses(
    served: Served, warehouse: str, category: str
) -> None:
    screen, snapshot = served.screen, served.snapshot
    view = screen.refresh(warehouse, category)
    shown_warehouse = "all" if warehouse == "WH99" else warehouse  # the page shows all instead
    assert view == {
        "fetched_at": snapshot.fetched_at.isoformat(),
        "warehouse": shown_warehouse,
        "category": category,
    }
    risks = top_stockout_risks(filter_rows(snapshot.positions, shown_warehouse, category))
    expected = list(risks["sku_code"] + "@" + risks["warehouse_code"])
    sort = [{"colId": "stockout_probability", "sort": "desc"}]

    first = screen.rows(RISK_ROWS, {"startRow": 0, "endRow": 100, "sortModel": sort}, view)
    deep = screen.rows(RISK_ROWS, {"startRow": 5000, "endRow": 5100, "sortModel": sort}, view)
    lots = screen.rows(LOT_ROWS, {"startRow": 0, "endRow": 100, "sortModel": []}, view)

    assert first["rowCount"] == deep["rowCount"] == len(risks)
    assert risk_codes(first) == expected[:100]
    assert risk_codes(deep) == expected[5000:5100]
    assert lots["rowCount"] == len(filter_rows(snapshot.lots, shown_warehouse, category))
    assert len(lots["rowData"]) == 100
    largest = {output: max(sizes) for output, sizes in screen.sizes.items()}
    assert max(largest.values()) <= LIMIT_BYTES, largest


def test_sorting_and_filtering_on_the_server_reach_rows_beyond_any_block(served: Served) -> None:
    screen, snapshot = served.screen, served.snapshot
    view = all_rows(snapshot)
    risks = top_stockout_risks(snapshot.positions)
    by_sku = risks.sort_values(["sku_code"], kind="stable")
    drills = risks[risks["sku_name"].str.contains("drill", case=False)]
    filter_model = {
        "sku_name": {"filterType": "text", "type": "contains", "filter": "Drill"},
        "days_of_cover": {
            "filterType": "number",
            "operator": "OR",
            "conditions": [
                {"filterType": "number", "type": "lessThan", "filter": 1},
                {"filterType": "number", "type": "greaterThan", "filter": 30},
            ],
        },
    }
    cover = drills["days_of_cover"]
    wanted = drills[(cover < 1) | (cover > 30)]

    last_by_sku = screen.rows(
        RISK_ROWS,
        {"startRow": len(risks) - 10, "endRow": len(risks), "sortModel": [
            {"colId": "sku_code", "sort": "asc"}
        ]},
        view,
    )  # fmt: skip
    filtered = screen.rows(
        RISK_ROWS, {"startRow": 0, "endRow": 100, "filterModel": filter_model}, view
    )

    assert risk_codes(last_by_sku) == list(
        by_sku["sku_code"].iloc[-10:] + "@" + by_sku["warehouse_code"].iloc[-10:]
    )
    assert filtered["rowCount"] == len(wanted)
    assert risk_codes(filtered) == list(
        wanted["sku_code"].iloc[:100] + "@" + wanted["warehouse_code"].iloc[:100]
    )
    assert max(screen.sizes[RISK_ROWS]) <= LIMIT_BYTES


@pytest.mark.parametrize(
    "request_body",
    [
        None,
        "give me everything",
        [0, 100000],
        12,
        {"startRow": 0, "endRow": 100_000},
        {"startRow": -100, "endRow": 10**15},
        {"startRow": 10**18, "endRow": 10**18 + 100},
        {"startRow": "0", "endRow": {"$gt": 1}},
        {"startRow": 0, "endRow": 100, "sortModel": [{"colId": "__proto__", "sort": "asc"}]},
        {"startRow": 0, "endRow": 100, "sortModel": {"colId": "sku_code"}},
        {"startRow": 0, "endRow": 100, "filterModel": {"sku_code": {"filterType": "regex",
                                                                    "type": "matches",
                                                                    "filter": ".*"}}},
        {"startRow": 0, "endRow": 100, "filterModel": {"available": {"filterType": "number",
                                                                     "type": "lessThan",
                                                                     "filter": "5"}}},
        {"startRow": 0, "endRow": 100, "filterModel": {"available": {
            "filterType": "number", "operator": "NAND", "conditions": [{"type": "equals"}]}}},
        {"startRow": 0, "endRow": 100, "filterModel": {"available": {
            "filterType": "number", "operator": "OR", "conditions": ["x"] * 10_000}}},
    ],
)  # fmt: skip
def test_malformed_requests_get_a_small_handled_answer(
    served: Served, request_body: object
) -> None:
    screen, view = served.screen, all_rows(served.snapshot)
    for grid_output in (RISK_ROWS, LOT_ROWS):
        response = screen.rows(grid_output, request_body, view)
        assert isinstance(response["rowData"], list)
        assert len(response["rowData"]) <= MAX_BLOCK_ROWS
        assert response["rowCount"] > 0  # nothing usable was asked: every row
    assert max(max(screen.sizes[RISK_ROWS]), max(screen.sizes[LOT_ROWS])) <= LIMIT_BYTES


@pytest.mark.parametrize("view", [None, "all", {"warehouse": 3, "category": ["x"]}, {}])
def test_a_malformed_view_shows_every_row(served: Served, view: object) -> None:
    response = served.screen.rows(RISK_ROWS, {"startRow": 0, "endRow": 100}, view)
    assert response["rowCount"] == len(top_stockout_risks(served.snapshot.positions))


def test_every_server_callback_of_the_page_answers_under_the_limit(served: Served) -> None:
    screen = Screen(served.screen.base, served.screen.dependencies)
    risks = top_stockout_risks(served.snapshot.positions)
    row_id = f"{risks['sku_code'].iloc[0]}@{risks['warehouse_code'].iloc[0]}"
    view = screen.refresh("all", "all")
    screen.rows(RISK_ROWS, {"startRow": 0, "endRow": 100}, view)
    screen.rows(LOT_ROWS, {"startRow": 0, "endRow": 100}, view)
    # The detail of a clicked row; its history queries fail on the empty database, said in it.
    detail = screen.post(SKU_DETAIL, {"inv-risk-grid.cellClicked": {"rowId": row_id}})
    assert detail["sku-modal"]["opened"] is True
    # The address moving under the page (back, forward): the filters follow it, and only the
    # one that differs is sent.
    followed = screen.post(
        "inv-warehouse.value",
        {
            "url.search": "?category=Pharmacy",
            "inv-warehouse.value": "all",
            "inv-category.value": "all",
        },
    )
    assert followed == {"inv-category": {"value": "Pharmacy"}}

    server_side = [d["output"] for d in screen.dependencies if not d.get("clientside_function")]
    page_outputs = {o for o in server_side if any(p in o for p in ("inv-", "sku-"))}
    measured = {o for o in page_outputs if any(part in o for part in screen.sizes)}
    assert measured == page_outputs  # a callback added to the page is measured here too
    largest = {output: max(sizes) for output, sizes in screen.sizes.items()}
    assert max(largest.values()) <= LIMIT_BYTES, largest
