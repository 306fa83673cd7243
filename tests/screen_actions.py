"""What a person does to a screen, for the browser tests: open a page at a wall screen's size,
and with a real mouse click a moment on a Plotly time axis or drag from one moment to another
(on the top subplot of a dcc.Graph; pixels from Plotly's own axis, so no guessing of layout)."""

from __future__ import annotations

import datetime as dt
from typing import Any

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


def click_time(
    dash_duo: Any, graph: str, moment: dt.datetime, within: dt.timedelta = _ONE_BAR
) -> None:
    """Point at ``moment`` and click once Plotly's hover shows a point within ``within`` of it,
    as a person clicks once the hover label says the right time. Plotly computes hover at most
    every 50 ms and a click reports the last hover, so a click straight after a move can report
    the point under the previous position (CI once saw the first click's moment for a second)."""
    x, y = _pixels(dash_duo, graph, moment)
    target = moment.replace(tzinfo=None)
    hovered: list[str] = []
    for nudge in (0, 1, -1, 0, 1, -1, 0):
        actions = ActionBuilder(dash_duo.driver)
        actions.pointer_action.move_to_location(int(x) + nudge, int(y)).pause(0.2)
        actions.perform()
        hovered = list(dash_duo.driver.execute_script(_HOVERED, graph))
        if any(abs(dt.datetime.fromisoformat(text) - target) <= within for text in hovered):
            break
    else:
        raise AssertionError(f"hovering {moment:%H:%M:%S} shows {hovered}, not that time")
    actions = ActionBuilder(dash_duo.driver)
    actions.pointer_action.click()
    actions.perform()


def drag_time(dash_duo: Any, graph: str, start: dt.datetime, end: dt.datetime) -> None:
    left, right, y = _pixels(dash_duo, graph, start, end)
    actions = ActionBuilder(dash_duo.driver)
    pointer = actions.pointer_action
    pointer.move_to_location(int(left), int(y)).pointer_down()
    for step in range(1, 11):  # in steps, as a hand moves: Plotly zooms on a drag, not a jump
        pointer.move_to_location(int(left + (right - left) * step / 10), int(y))
    pointer.pointer_up()
    actions.perform()


def open_on_a_screen(
    dash_duo: Any, app: Any, path: str, width: int = 1920, height: int = 1080
) -> None:
    """Serve ``app`` and open ``path`` with a viewport (not a window) of width x height, as a
    wall screen's browser shows it."""
    dash_duo.start_server(app)
    chrome = dash_duo.driver.execute_script("return window.outerHeight - window.innerHeight")
    dash_duo.driver.set_window_size(width, height + chrome)
    dash_duo.wait_for_page(url=f"{dash_duo.server_url}{path}")
