"""Time until a page has rendered in headless Chromium (Debian's chromium and chromedriver).

Chromium runs with the flags a closed network needs (tests/conftest.py); selenium gets the
driver service explicitly and SE_AVOID_STATS, so Selenium Manager never reaches outside
127.0.0.1. A time is ``performance.now()`` (milliseconds since navigation began) at the first
poll, every 50 ms, at which the page shows what it should.
"""

from __future__ import annotations

import os
import shutil
import statistics
import time
from dataclasses import dataclass

from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service

from bench.postgresql import BenchUnavailable

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
POLL_SECONDS = 0.05
RENDER_TIMEOUT_SECONDS = 120.0
NOT_FOUND_PATH = "/bench-no-such-page"

# Every panel of /ops: the five tiles hold a number (not the "…" placeholder), the risk list,
# a drawn trace in the orders chart, pod tiles, and the status strip's badges.
OPS_RENDERED = """
const filled = id => {
    const element = document.getElementById(id);
    const text = element ? element.innerText.trim() : "";
    return text !== "" && text !== "…";
};
const tiles = ["ops-kpi-value", "ops-kpi-risk", "ops-kpi-expiring", "ops-kpi-orders", "ops-kpi-pods"]
    .every(tile => filled(tile + "-value"));
const risks = document.querySelector("#ops-risks > *") !== null;
const orders = document.querySelector("#ops-orders .cartesianlayer g.trace") !== null;
const pods = document.querySelector("#ops-pod-tiles .pod-tile") !== null;
const status = document.querySelector("#source-status .source-badge") !== null;
return {done: tiles && risks && orders && pods && status, ms: performance.now(),
        parts: {tiles, risks, orders, pods, status}};
"""
# The 404 page: the router's one callback has said which page is unknown.
NOT_FOUND_RENDERED = """
const note = document.getElementById("url-problems");
return {done: note !== null && note.innerText.includes("unknown page"), ms: performance.now()};
"""


@dataclass(frozen=True)
class BrowserFigure:
    ops_ms: list[float]
    trivial_ms: list[float]

    @property
    def ops_median_ms(self) -> float:
        return statistics.median(self.ops_ms)

    @property
    def trivial_median_ms(self) -> float:
        return statistics.median(self.trivial_ms)

    @property
    def ratio(self) -> float:
        return self.ops_median_ms / self.trivial_median_ms


def chromium() -> webdriver.Chrome:
    for path in (CHROMIUM, CHROMEDRIVER):
        if shutil.which(path) is None:
            raise BenchUnavailable(f"{path} not found: apt-get install -y chromium chromium-driver")
    os.environ.setdefault("SE_AVOID_STATS", "true")
    options = Options()
    options.binary_location = CHROMIUM
    for argument in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--window-size=1920,1080",
    ):
        options.add_argument(argument)
    return webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)


def _rendered_ms(driver: webdriver.Chrome, url: str, script: str) -> float:
    driver.get("about:blank")
    driver.get(url)
    deadline = time.monotonic() + RENDER_TIMEOUT_SECONDS
    state: dict[str, object] = {}
    while time.monotonic() < deadline:
        state = driver.execute_script(script)  # type: ignore[no-untyped-call]
        if state["done"]:
            return float(str(state["ms"]))
        time.sleep(POLL_SECONDS)
    raise BenchUnavailable(
        f"{url} did not render within {RENDER_TIMEOUT_SECONDS:.0f} s: {state.get('parts', state)}"
    )


def render_times(base: str, repeat: int) -> BrowserFigure:
    """/ops against the 404 page, alternately, after one unmeasured load of each (which fills
    the browser's cache with the app's scripts, as a wall screen's has)."""
    driver = chromium()
    try:
        _rendered_ms(driver, f"{base}/ops", OPS_RENDERED)
        _rendered_ms(driver, f"{base}{NOT_FOUND_PATH}", NOT_FOUND_RENDERED)
        ops, trivial = [], []
        for _ in range(repeat):
            ops.append(_rendered_ms(driver, f"{base}/ops", OPS_RENDERED))
            trivial.append(_rendered_ms(driver, f"{base}{NOT_FOUND_PATH}", NOT_FOUND_RENDERED))
        return BrowserFigure(ops, trivial)
    finally:
        driver.quit()
