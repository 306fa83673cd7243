"""Wall-screen mode in the browser: kiosk, playlists, URL state, and URLs that cannot be used."""

from __future__ import annotations

import time

import sqlalchemy as sa
from small_inventory import POLICY, build_small_inventory

from components.formatting import money
from dashboard.app import create_app
from dashboard.settings import load_settings


def start(dash_duo, sqlite_url: str, path: str) -> None:  # type: ignore[no-untyped-def]
    build_small_inventory(sa.create_engine(sqlite_url))
    settings = load_settings(
        database_url=sqlite_url,
        telemetry="demo",
        refresh_seconds=5,
        demand_window_days=POLICY.demand_window_days,
    )
    dash_duo.start_server(create_app(settings))
    dash_duo.wait_for_page(url=f"{dash_duo.server_url}{path}")


def test_a_link_restores_the_filtered_view_and_filters_write_the_url(
    dash_duo, sqlite_url: str
) -> None:  # type: ignore[no-untyped-def]
    start(dash_duo, sqlite_url, "/?warehouse=WH2")
    dash_duo.wait_for_text_to_equal("#inv-kpi-value-value", money(10.0), timeout=20)
    dash_duo.find_element("#inv-category").click()
    dash_duo.wait_for_element_by_css_selector("[role=option][value=Pharmacy]", timeout=5).click()
    deadline = time.monotonic() + 10
    while "category=Pharmacy" not in dash_duo.driver.current_url and time.monotonic() < deadline:
        time.sleep(0.2)
    assert dash_duo.driver.current_url.endswith("/?warehouse=WH2&category=Pharmacy")
    assert dash_duo.get_logs() == []


def test_kiosk_hides_navigation_and_controls_and_playlist_rotates_pages(
    dash_duo, sqlite_url: str
) -> None:  # type: ignore[no-untyped-def]
    start(dash_duo, sqlite_url, "/?kiosk=1&playlist=inventory,cluster&dwell=inventory:5,cluster:5")
    dash_duo.wait_for_element(".app.kiosk", timeout=15)
    dash_duo.wait_for_text_to_equal("#inv-kpi-value-value", money(170.0), timeout=20)
    assert not dash_duo.find_element(".nav").is_displayed()
    assert not dash_duo.find_element("#inv-warehouse").is_displayed()
    dash_duo.wait_for_element("#cl-pod-tiles .pod-tile", timeout=15)  # the playlist moved on
    assert "/cluster?kiosk=1&playlist=inventory,cluster" in dash_duo.driver.current_url
    assert not dash_duo.find_element(".nav").is_displayed()  # kiosk stays on every page
    dash_duo.wait_for_element("#inv-kpi-value-value", timeout=15)  # and back again
    assert dash_duo.get_logs() == []


def test_unusable_url_parts_are_shown_as_text_and_defaults_used(dash_duo, sqlite_url: str) -> None:  # type: ignore[no-untyped-def]
    start(
        dash_duo,
        sqlite_url,
        "/nowhere?warehouse=%3Cscript%3Ealert(1)%3C/script%3E&playlist=bogus&dwell=x",
    )
    dash_duo.wait_for_contains_text("#url-problems", "unknown page '/nowhere'", timeout=15)
    dash_duo.wait_for_contains_text(
        "#url-problems", "warehouse='<script>alert(1)</script>' cannot be used"
    )
    dash_duo.wait_for_contains_text("#url-problems", "playlist page 'bogus' is unknown")
    dash_duo.wait_for_text_to_equal("#inv-kpi-value-value", money(170.0), timeout=20)
    assert dash_duo.find_elements("#url-problems script") == []
    assert dash_duo.get_logs() == []


def test_unknown_filter_values_fall_back_to_all_and_say_so(dash_duo, sqlite_url: str) -> None:  # type: ignore[no-untyped-def]
    start(dash_duo, sqlite_url, "/?warehouse=WH9")
    dash_duo.wait_for_contains_text(
        "#inv-filter-problems", "No warehouse 'WH9' here: showing all", timeout=20
    )
    dash_duo.wait_for_text_to_equal("#inv-kpi-value-value", money(170.0), timeout=10)
    assert dash_duo.get_logs() == []
