"""/healthz and /readyz: liveness is unconditional; readiness reports each source."""

from __future__ import annotations

import sqlalchemy as sa
from small_inventory import build_small_inventory

from dashboard.app import create_app
from dashboard.page_registry import BY_PATH
from dashboard.settings import load_settings


def test_readyz_reports_an_answering_database(sqlite_url: str) -> None:
    build_small_inventory(sa.create_engine(sqlite_url))
    client = create_app(
        load_settings(database_url=sqlite_url, telemetry="off")
    ).server.test_client()
    assert client.get("/healthz").data == b"OK"
    body = client.get("/readyz").get_json()
    assert body["status"] == "ready"
    assert body["sources"] == [
        {
            "name": "inventory database",
            "status": "ok",
            "message": "sqlite database answering",
            "details": {"backend": "sqlite", "url": sqlite_url},
        }
    ]


def test_readyz_stays_200_and_names_the_problem_when_the_database_is_down() -> None:
    settings = load_settings(
        database_url="postgresql+psycopg://invdash:secret@127.0.0.1:1/inventory",
        database_timeout_seconds=2,
        telemetry="off",
    )
    response = create_app(settings).server.test_client().get("/readyz")
    assert response.status_code == 200
    (source,) = response.get_json()["sources"]
    assert source["status"] == "error"
    assert source["message"].startswith("inventory database unreachable: OperationalError")
    assert "secret" not in response.get_data(as_text=True)


def test_readyz_names_missing_tables(sqlite_url: str) -> None:
    with sa.create_engine(sqlite_url).begin() as conn:
        conn.exec_driver_sql("CREATE TABLE skus (id INTEGER PRIMARY KEY)")
    (source,) = (
        create_app(load_settings(database_url=sqlite_url, telemetry="off"))
        .server.test_client()
        .get("/readyz")
        .get_json()["sources"]
    )
    assert (
        source["message"]
        == "inventory database lacks suppliers, warehouses, purchase_orders, sales_orders, skus.code ..."
    )


def test_an_unknown_page_answers_404_with_the_app_that_names_it(sqlite_url: str) -> None:
    build_small_inventory(sa.create_engine(sqlite_url))
    client = create_app(
        load_settings(database_url=sqlite_url, telemetry="off")
    ).server.test_client()
    for page in (*BY_PATH, "/ops/", "/sre?range=6h&kiosk=1"):
        response = client.get(page)
        assert response.status_code == 200, page
        assert response.mimetype == "text/html"
    missing = client.get("/opz")
    assert missing.status_code == 404
    # Still the app: in a browser it names the unknown page and shows Inventory.
    assert "_dash-renderer" in missing.get_data(
        as_text=True
    ) or "dash_renderer" in missing.get_data(as_text=True)
    for route in ("/healthz", "/readyz", "/_dash-layout", "/_dash-dependencies"):
        assert client.get(route).status_code == 200, route
