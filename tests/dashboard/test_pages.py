"""The page registry and each page module, without a browser: every page the registry names
builds its frame, every callback writes into the shell or into exactly one page's frame, and
every page has callbacks that fill it."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from dash import Dash, Output
from dash_requests import UPDATE_PATH, callback_request
from small_inventory import build_small_inventory

from components import theme
from dashboard import alerting
from dashboard.app import create_app
from dashboard.context import DashboardContext
from dashboard.page_registry import HOME, PAGES, Page, page_module
from dashboard.settings import load_settings
from dashboard.urlstate import PAGE_PATHS, parse_view

PAGES_DIR = Path(__file__).resolve().parents[2] / "dashboard" / "pages"
# Modules of dashboard/pages/ that are a panel of a page, not a page.
PANEL_MODULES = {"self_health"}


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Dash:
    url = f"sqlite:///{tmp_path_factory.mktemp('pages') / 'inventory.sqlite3'}"
    build_small_inventory(sa.create_engine(url))
    return create_app(load_settings(database_url=url, telemetry="demo", demo_orders="off"))


def _context(app: Dash) -> DashboardContext:
    context = app.server.config["INVDASH_CONTEXT"]
    assert isinstance(context, DashboardContext)
    return context


def _key(component_id: str | dict[str, Any]) -> str:
    """A string id as it is; a pattern id by its type (what its wildcards match on)."""
    return component_id if isinstance(component_id, str) else f"type:{component_id['type']}"


def _ids(layout: Iterable[str | dict[str, Any]]) -> set[str]:
    return {_key(component_id) for component_id in layout}


def _outputs(app: Dash) -> list[list[str]]:
    """The output ids of each callback."""
    found = []
    for entry in app.callback_map.values():
        outputs = entry["output"]
        listed: list[Output] = outputs if isinstance(outputs, list) else [outputs]
        found.append([_key(output.component_id) for output in listed])
    return found


def test_the_registry_names_each_page_module_once_and_paths_match_the_url_state() -> None:
    modules = {path.stem for path in PAGES_DIR.glob("*.py")} - {"__init__"}
    assert sorted(page.module for page in PAGES) == sorted(modules - PANEL_MODULES)
    assert len({page.path for page in PAGES}) == len({page.name for page in PAGES}) == len(PAGES)
    assert {page.name: page.path for page in PAGES} == PAGE_PATHS
    assert HOME.path == "/"


@pytest.mark.parametrize("page", PAGES, ids=[page.name for page in PAGES])
def test_each_page_builds_its_frame_and_the_url_state_finds_it(app: Dash, page: Page) -> None:
    view = parse_view(page.path, "?warehouse=all&range=6h")
    assert view.page == page.name
    assert view.problems == ()
    frame = page_module(page).layout(_context(app), view)
    assert len(_ids(frame)) >= 3, f"{page.name}: a frame without panels"


def test_every_callback_writes_into_the_shell_or_one_page_and_every_page_is_filled(
    app: Dash,
) -> None:
    context = _context(app)
    shell = _ids(app.layout) | {"url"}
    frames = {
        page.name: _ids(page_module(page).layout(context, parse_view(page.path, "")))
        for page in PAGES
    }
    filled = dict.fromkeys(frames, 0)
    for outputs in _outputs(app):
        homes = {"shell"} if all(output in shell for output in outputs) else set()
        homes |= {name for name, ids in frames.items() if all(output in ids for output in outputs)}
        if len(outputs) == 1 and outputs[0] in alerting.SHARED_IDS:
            # The alert rules' panels: placed by several pages, written whichever shows them.
            assert len(homes) >= 1, f"no page places {outputs[0]}"
            continue
        assert len(homes) == 1, f"callback writing {outputs} belongs to {sorted(homes) or 'none'}"
        (home,) = homes
        if home in filled:
            filled[home] += 1
    assert all(filled.values()), f"pages without a callback: {filled}"


@pytest.mark.parametrize("page", PAGES, ids=[page.name for page in PAGES])
def test_the_router_shows_the_page_and_links_every_page_keeping_the_filters(
    app: Dash, page: Page
) -> None:
    client = app.server.test_client()
    dependencies = client.get("/_dash-dependencies").get_json()
    search = "?warehouse=WH-A"
    values = {"url.pathname": page.path, "url.search": search}
    routed = client.post(UPDATE_PATH, json=callback_request(dependencies, "page.children", values))
    assert routed.status_code == 200
    built = page_module(page).layout(_context(app), parse_view(page.path, search))
    assert routed.get_json()["response"]["page"]["children"]["props"]["className"] == (
        built.className
    )
    response = client.post(UPDATE_PATH, json=callback_request(dependencies, "nav.children", values))
    assert response.status_code == 200
    shown = response.get_json()["response"]
    links = [
        (link["props"]["children"], link["props"]["href"], "active" in link["props"]["className"])
        for link in shown["nav"]["children"]
    ]
    assert links == [(listed.title, listed.path + search, listed is page) for listed in PAGES]


def test_every_page_defines_the_colours_its_stylesheet_reads(app: Dash) -> None:
    client = app.server.test_client()
    for page in PAGES:
        html_text = client.get(page.path).get_data(as_text=True)
        assert f"<style>{theme.css_variables()}</style>" in html_text, page.path
        # The stylesheet that reads them comes with the page too.
        assert "theme.css" in html_text
