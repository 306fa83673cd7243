"""Wall-screen mode in the browser: kiosk, playlists, URL state, and URLs that cannot be used."""

from __future__ import annotations

from dash.testing.composite import DashComposite
from screen_actions import choose_option
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait
from small_inventory import small_inventory_settings

from components.formatting import money
from dashboard.app import create_app


def start(dash_duo: DashComposite, sqlite_url: str, path: str) -> None:
    settings = small_inventory_settings(sqlite_url, telemetry="demo", refresh_seconds=5)
    dash_duo.start_server(create_app(settings))
    dash_duo.wait_for_page(url=f"{dash_duo.server_url}{path}")


KIOSK = "kiosk=1&playlist=inventory,cluster"
# What the screen shows, read in one go: the address, and whether kiosk mode hides the
# navigation (and on the inventory, its filters) while the page's content is there.
_SCREEN = """
const hidden = selector => {
    const element = document.querySelector(selector);
    return element !== null && !element.checkVisibility();
};
const text = selector => (document.querySelector(selector) || {}).innerText;
return {
    address: location.pathname + location.search,
    kiosk: document.querySelector('.app.kiosk') !== null && hidden('.nav'),
    inventory: text('#inv-kpi-value-value') === arguments[0] && hidden('#inv-warehouse'),
    cluster: document.querySelector('#cl-pod-tiles .pod-tile') !== null,
};
"""
SHOWS_INVENTORY, SHOWS_CLUSTER = "inventory", "cluster"


def wait_for_screen(dash_duo: DashComposite, address: str, page: str, what: str) -> None:
    seen: list[object] = []

    def showing(driver: WebDriver) -> bool:
        screen = driver.execute_script(_SCREEN, money(170.0))
        seen[:] = [screen]
        return bool(screen["address"].startswith(address) and screen["kiosk"] and screen[page])

    try:
        WebDriverWait(dash_duo.driver, 30, poll_frequency=0.1).until(showing)
    except Exception as error:
        raise AssertionError(f"never saw {what} in kiosk mode at {address}: {seen}") from error


def test_a_link_restores_the_filtered_view_and_filters_write_the_url(
    dash_duo: DashComposite, sqlite_url: str
) -> None:
    start(dash_duo, sqlite_url, "/?warehouse=WH2")
    dash_duo.wait_for_text_to_equal("#inv-kpi-value-value", money(10.0), timeout=30)
    # Each refresh sends the options again: choose again should a click be lost.
    choose_option(dash_duo, "#inv-category", "Pharmacy", "category=Pharmacy")
    assert dash_duo.driver.current_url.endswith("/?warehouse=WH2&category=Pharmacy")
    assert dash_duo.get_logs() == []


def test_kiosk_hides_navigation_and_controls_and_playlist_rotates_pages(
    dash_duo: DashComposite, sqlite_url: str
) -> None:
    start(dash_duo, sqlite_url, "/?kiosk=1&playlist=inventory,cluster&dwell=inventory:5,cluster:5")
    # The playlist moves on every 5 s whether or not a slow machine has drawn the page yet, so
    # each page is checked in one look (one script), never across two separate reads.
    wait_for_screen(dash_duo, f"/?{KIOSK}", SHOWS_INVENTORY, f"the inventory at {money(170.0)}")
    wait_for_screen(dash_duo, f"/cluster?{KIOSK}", SHOWS_CLUSTER, "the pods")  # moved on
    wait_for_screen(dash_duo, f"/?{KIOSK}", SHOWS_INVENTORY, "the inventory again")
    assert dash_duo.get_logs() == []


def test_unusable_url_parts_are_shown_as_text_and_defaults_used(
    dash_duo: DashComposite, sqlite_url: str
) -> None:
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
    # The page's own 404 (an unknown page answers 404 with the app) is the console's one entry.
    (entry,) = dash_duo.get_logs()
    assert entry["source"] == "network"
    assert "/nowhere?" in entry["message"]
    assert "status of 404" in entry["message"]


def test_unknown_filter_values_fall_back_to_all_and_say_so(
    dash_duo: DashComposite, sqlite_url: str
) -> None:
    start(dash_duo, sqlite_url, "/?warehouse=WH9")
    dash_duo.wait_for_contains_text(
        "#inv-filter-problems", "No warehouse 'WH9' here: showing all", timeout=20
    )
    dash_duo.wait_for_text_to_equal("#inv-kpi-value-value", money(170.0), timeout=10)
    assert dash_duo.get_logs() == []
