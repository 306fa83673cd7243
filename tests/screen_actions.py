"""What a person does to a screen, for the browser tests: open a page at a wall screen's size,
and with a real mouse click a moment on a Plotly time axis or drag from one moment to another
(on the top subplot of a dcc.Graph; pixels from Plotly's own axis, so no guessing of layout)."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

from selenium.common.exceptions import (
    ElementNotInteractableException,
    StaleElementReferenceException,
    TimeoutException,
)
from selenium.webdriver.common.actions.action_builder import ActionBuilder

# Bars on the /sre chart are at most this wide: a hover on a moment shows a bar this close.
_ONE_BAR = dt.timedelta(minutes=1)

_PIXELS = """
const gd = document.querySelector(arguments[0] + ' .js-plotly-plot');
const drag = gd.querySelector('.nsewdrag[data-subplot="xy"]').getBoundingClientRect();
const xa = gd._fullLayout.xaxis;
return [...arguments[1].map(x => drag.left + xa.d2p(x)), drag.top + drag.height / 2];
"""


def _pixels(dash_duo: Any, graph: str, *moments: dt.datetime) -> list[float]:
    texts = [f"{moment:%Y-%m-%d %H:%M:%S}" for moment in moments]
    return list(dash_duo.driver.execute_script(_PIXELS, graph, texts))


_HOVERED = """
const gd = document.querySelector(arguments[0] + ' .js-plotly-plot');
return (gd._hoverdata || []).map(point => String(point.x));
"""

# Records what the next plotly_click reports (the points a Dash clickData gets), replacing the
# listener of an earlier attempt so that attempts never add up.
_LISTEN_FOR_CLICK = """
const gd = document.querySelector(arguments[0] + ' .js-plotly-plot');
if (window.__invdashClickListener) {
    gd.removeListener('plotly_click', window.__invdashClickListener);
}
window.__invdashClicked = null;
window.__invdashClickListener = data => {
    window.__invdashClicked = data.points.map(point => String(point.x));
};
gd.on('plotly_click', window.__invdashClickListener);
"""
_CLICKED = "return window.__invdashClicked;"


def _is_near(text: str, target: dt.datetime, within: dt.timedelta) -> bool:
    return abs(dt.datetime.fromisoformat(text) - target) <= within


def click_time(
    dash_duo: Any, graph: str, moment: dt.datetime, within: dt.timedelta = _ONE_BAR
) -> None:
    """Point at ``moment`` and click once Plotly's hover shows it, as a person clicks once the
    hover label says the right time; the click must report a point within ``within`` of it.

    Plotly computes hover at most every 50 ms and a click reports the last hover's first point,
    so a click straight after a move can report the point under the previous position (CI once
    saw the first click's moment for a second). The pixel is worked out again on every attempt:
    a refresh tick slides a "last hour" axis under a cursor that stays put."""
    target = moment.replace(tzinfo=None)
    hovered: list[str] = []
    for nudge in (0, 1, -1, 0, 1, -1, 0, 0, 0):
        x, y = _pixels(dash_duo, graph, moment)
        actions = ActionBuilder(dash_duo.driver)
        actions.pointer_action.move_to_location(int(x) + nudge, int(y)).pause(0.2)
        actions.perform()
        hovered = list(dash_duo.driver.execute_script(_HOVERED, graph))
        if not hovered or not _is_near(hovered[0], target, within):
            continue
        if _pixels(dash_duo, graph, moment) != [x, y]:
            continue  # the axis moved while the cursor settled: what it shows may not last
        dash_duo.driver.execute_script(_LISTEN_FOR_CLICK, graph)
        actions = ActionBuilder(dash_duo.driver)
        actions.pointer_action.click()
        actions.perform()
        # A redraw between the hover and the click can leave Plotly nothing to report.
        clicked = _wait_for_script(dash_duo, _CLICKED, seconds=2)
        if clicked is None:
            continue
        if not clicked or not _is_near(clicked[0], target, within):
            raise AssertionError(f"clicking {moment:%H:%M:%S} reported {clicked}")
        return
    raise AssertionError(f"hovering {moment:%H:%M:%S} shows {hovered}, not that time")


def _wait_for_script(dash_duo: Any, script: str, seconds: float) -> Any:
    deadline = time.monotonic() + seconds
    while True:
        result = dash_duo.driver.execute_script(script)
        if result is not None or time.monotonic() > deadline:
            return result
        time.sleep(0.05)


def drag_time(dash_duo: Any, graph: str, start: dt.datetime, end: dt.datetime) -> None:
    left, right, y = _pixels(dash_duo, graph, start, end)
    actions = ActionBuilder(dash_duo.driver)
    pointer = actions.pointer_action
    # Pauses let Plotly see the pointer arrive before the press and the last step before the
    # release, as a hand is never that quick; on a loaded machine events otherwise bunch up.
    pointer.move_to_location(int(left), int(y)).pause(0.2).pointer_down()
    for step in range(1, 11):  # in steps, as a hand moves: Plotly zooms on a drag, not a jump
        pointer.move_to_location(int(left + (right - left) * step / 10), int(y))
    pointer.pause(0.2).pointer_up()
    actions.perform()


_LAYOUT = """
if (document.readyState !== 'complete' || document.fonts.status !== 'loaded') return null;
if (document.querySelector('._dash-loading-callback')) return null;
if ([...document.querySelectorAll('.js-plotly-plot')].some(gd => !gd._fullLayout)) return null;
const root = document.documentElement;
return [root.scrollWidth, root.scrollHeight, window.innerWidth, window.innerHeight].join('x');
"""


def wait_until_settled(dash_duo: Any, timeout: float = 30) -> None:
    """Wait until fonts are loaded, no callback is pending, every chart is drawn and the page's
    size has stopped changing, so a screenshot or a measurement of the layout shows the page as
    it stays, not a panel still arriving."""
    deadline = time.monotonic() + timeout
    previous = None
    while time.monotonic() < deadline:
        layout = dash_duo.driver.execute_script(_LAYOUT)
        if layout is not None and layout == previous:
            return
        previous = layout
        time.sleep(0.5)
    raise AssertionError(f"the page did not settle within {timeout} s (last: {previous})")


def wait_for_text_in(
    dash_duo: Any, selector: str, texts: set[str], timeout: float = 30, *, contains: bool = False
) -> str:
    """Wait until the element's text is one of ``texts`` (or, with ``contains``, holds one of
    them): the values right on either side of a clock boundary the page may have crossed.
    Returns the text. Read in the browser on each poll, so a re-render between finding the
    element and reading it does not matter."""
    script = "const e = document.querySelector(arguments[0]); return e ? e.innerText : null;"
    deadline = time.monotonic() + timeout
    shown = None
    while time.monotonic() < deadline:
        shown = dash_duo.driver.execute_script(script, selector)
        if shown is not None and any(
            (text in shown) if contains else (text == shown) for text in texts
        ):
            return str(shown)
        time.sleep(0.2)
    raise AssertionError(f"{selector} shows {shown!r} after {timeout} s, not one of {texts}")


def click_when_stable(dash_duo: Any, selector: str, timeout: float = 15) -> None:
    """Click the element ``selector`` finds, finding it again should a refresh replace it
    between finding and clicking (a panel that refreshes every 2 s re-renders its options)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            dash_duo.wait_for_element(selector, timeout=timeout).click()
            return
        except StaleElementReferenceException:
            if time.monotonic() > deadline:
                raise


def open_on_a_screen(
    dash_duo: Any, app: Any, path: str, width: int = 1920, height: int = 1080
) -> None:
    """Serve ``app`` and open ``path`` with a viewport (not a window) of width x height, as a
    wall screen's browser shows it."""
    dash_duo.start_server(app)
    chrome = dash_duo.driver.execute_script("return window.outerHeight - window.innerHeight")
    dash_duo.driver.set_window_size(width, height + chrome)
    dash_duo.wait_for_page(url=f"{dash_duo.server_url}{path}")


def choose_option(
    dash_duo: Any, dropdown: str, value: str, address: str, timeout: float = 40
) -> None:
    """Choose ``value`` in the filter ``dropdown`` as a person does: open it, click the option,
    and if the page's address (which every filter writes) does not come to hold ``address``
    within a few seconds, open it and click again. A refresh every 2 s sends the options again,
    and a click that lands while the list is re-rendered can be lost."""
    option = f"[role=option][value={value}]"
    deadline = time.monotonic() + timeout
    while address not in dash_duo.driver.current_url:
        if time.monotonic() > deadline:
            raise AssertionError(
                f"choosing {value} in {dropdown} left the address at {dash_duo.driver.current_url}"
            )
        try:
            if not any(shown.is_displayed() for shown in dash_duo.find_elements(option)):
                dash_duo.find_element(dropdown).click()
            dash_duo.wait_for_element(option, timeout=5).click()
        except (
            ElementNotInteractableException,
            StaleElementReferenceException,
            TimeoutException,
        ):
            continue
        settle = time.monotonic() + 5
        while address not in dash_duo.driver.current_url and time.monotonic() < settle:
            time.sleep(0.2)
