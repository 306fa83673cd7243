"""Security headers on every route: a CSP whose script hashes are exactly the page's inline
scripts (no 'unsafe-inline', no 'unsafe-eval' for scripts), nosniff, a referrer policy, and
INVDASH_FRAME_ANCESTORS deciding who may frame the pages."""

from __future__ import annotations

import base64
import hashlib
import re

import pytest
from at_once import at_once
from flask.testing import FlaskClient
from small_inventory import small_inventory_file

from dashboard.app import create_app
from dashboard.settings import SettingsError, load_settings

INLINE_SCRIPT = re.compile(r"<script(?P<attributes>[^>]*)>(?P<body>.*?)</script>", re.S)


def app_client(url: str, **settings: object) -> FlaskClient:
    app = create_app(
        load_settings(database_url=url, telemetry="demo", demo_orders="off", **settings)
    )
    return app.server.test_client()


@pytest.fixture(scope="module")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    return small_inventory_file(tmp_path_factory.mktemp("headers"))


def directives(policy: str) -> dict[str, list[str]]:
    parts = [part.split() for part in policy.split(";") if part.strip()]
    return {part[0]: part[1:] for part in parts}


def test_every_route_carries_the_headers(database_url: str) -> None:
    client = app_client(database_url)
    for path in ["/", "/ops", "/nope", "/healthz", "/readyz", "/metrics", "/_dash-layout"]:
        response = client.get(path)
        assert response.headers["X-Content-Type-Options"] == "nosniff", path
        assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin", path
        assert response.headers["X-Frame-Options"] == "DENY", path
        policy = directives(response.headers["Content-Security-Policy"])
        assert policy["frame-ancestors"] == ["'none'"], path
        assert policy["default-src"] == ["'self'"]
        assert policy["object-src"] == ["'none'"]
        assert "'unsafe-eval'" not in response.headers["Content-Security-Policy"]
        assert "'unsafe-inline'" not in policy["script-src"]


def test_the_script_hashes_are_those_of_the_pages_inline_scripts(database_url: str) -> None:
    client = app_client(database_url)
    response = client.get("/ops")
    page = response.get_data(as_text=True)
    # Scripts that run: inline ones without src and not of a data type (Dash's JSON config).
    inline = [
        m["body"]
        for m in INLINE_SCRIPT.finditer(re.sub(r"<!--.*?-->", "", page, flags=re.S))
        if "src=" not in m["attributes"] and "application/json" not in m["attributes"]
    ]
    assert inline, "Dash writes at least the renderer's start inline"
    hashes = {
        "'sha256-" + base64.b64encode(hashlib.sha256(body.encode()).digest()).decode() + "'"
        for body in inline
    }
    allowed = set(directives(response.headers["Content-Security-Policy"])["script-src"])
    assert hashes <= allowed
    assert allowed - hashes == {"'self'"}


def test_frame_ancestors_lets_a_named_origin_embed_the_pages(database_url: str) -> None:
    client = app_client(database_url, frame_ancestors="'self' https://wall.example.com")
    response = client.get("/ops")
    policy = directives(response.headers["Content-Security-Policy"])
    assert policy["frame-ancestors"] == ["'self'", "https://wall.example.com"]
    assert "X-Frame-Options" not in response.headers


@pytest.mark.parametrize(
    "value", ["", "*", "https://a.example.com; script-src *", "'none' 'self'", "javascript:x"]
)
def test_a_frame_ancestors_that_is_not_a_source_list_fails_naming_the_setting(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("INVDASH_FRAME_ANCESTORS", value)
    with pytest.raises(SettingsError, match="INVDASH_FRAME_ANCESTORS"):
        load_settings()


def test_a_fresh_worker_serves_scripts_asked_for_at_once_before_any_page(
    database_url: str,
) -> None:
    """Dash sets itself up on the first request and marked that done before it was: parallel
    first requests for scripts got 500 and the page never started (the app now sets up first)."""
    client = app_client(database_url)
    paths = [
        "/_dash-component-suites/dash/deps/react@18.v4_4_1m1.3.1.min.js",
        "/_dash-component-suites/dash/dash-renderer/build/dash_renderer.v4_4_1m1.min.js",
        "/_dash-component-suites/dash_mantine_components/dash_mantine_components.v2_8_1m1.js",
    ] * 4
    statuses = at_once([lambda path=path: client.get(path).status_code for path in paths])
    assert statuses == [200] * len(paths)
