"""The URL holds the whole view; bad parts are named and replaced by defaults, never fatal."""

from __future__ import annotations

import datetime as dt

import pytest

from dashboard.page_registry import BY_NAME
from dashboard.urlstate import (
    ViewState,
    parse_view,
    playlist_position,
    range_text,
    view_search,
    with_filter,
)


def test_a_full_wall_screen_url_round_trips() -> None:
    search = (
        "?warehouse=all,WH1,WH2&range=6h&kiosk=1&playlist=ops,exec,sre&dwell=ops:60,exec:20,sre:30"
    )
    state = parse_view("/ops", search)
    assert state.page == "ops"
    assert state.kiosk
    assert state.playlist == ("ops", "exec", "sre")
    assert state.dwell_seconds == {"ops": 60, "exec": 20, "sre": 30}
    assert state.rotations == {"warehouse": ("all", "WH1", "WH2")}
    assert state.filter("warehouse") == "all"
    assert state.range_minutes == 360
    assert state.problems == ()
    assert parse_view("/ops", view_search(state)) == state


def test_playlist_rotates_pages_by_dwell_and_filters_by_pass() -> None:
    state = parse_view(
        "/ops", "?playlist=ops,exec,sre&dwell=ops:60,exec:20,sre:30&warehouse=all,WH1"
    )
    assert playlist_position(state, 0) == ("ops", {"warehouse": "all"})
    assert playlist_position(state, 59) == ("ops", {"warehouse": "all"})
    assert playlist_position(state, 60) == ("exec", {"warehouse": "all"})
    assert playlist_position(state, 80) == ("sre", {"warehouse": "all"})
    assert playlist_position(state, 110) == ("ops", {"warehouse": "WH1"})  # second pass
    assert playlist_position(state, 220) == ("ops", {"warehouse": "all"})
    # Pages without a dwell stay 30 s.
    assert playlist_position(parse_view("/", "?playlist=ops,sre"), 31)[0] == "sre"


@pytest.mark.parametrize(
    ("path", "search", "problem"),
    [
        ("/nowhere", "", "unknown page '/nowhere'"),
        ("/", "?playlist=ops,<script>", "playlist page '<script>' is unknown"),
        ("/", "?dwell=ops:abc", "dwell 'ops:abc' is not page:seconds"),
        ("/", "?dwell=ops:1", "dwell 'ops:1' is not page:seconds"),
        (
            "/",
            "?warehouse=<img src=x onerror=alert(1)>",
            "warehouse='<img src=x onerror=alert(1)>' cannot be used",
        ),
        ("/", "?range=forever", "range='forever' cannot be used: showing the last 1h"),
        ("/", "?kiosk=maybe", "kiosk='maybe' is not 0 or 1"),
    ],
)
def test_unusable_url_parts_are_named_and_defaults_used(
    path: str, search: str, problem: str
) -> None:
    state = parse_view(path, search)
    assert any(p.startswith(problem) for p in state.problems), state.problems
    assert state.page in BY_NAME
    assert "<" not in "".join(state.filters.values())


def test_custom_range_and_filter_updates_keep_the_rest_of_the_url() -> None:
    state = parse_view("/sre", "?range=2026-11-27T10:00~2026-11-27T12:00")
    assert state.filters["range"] == "2026-11-27T10:00~2026-11-27T12:00"
    assert state.range_minutes == 120
    start, end = state.time_window(dt.datetime(2030, 1, 1, tzinfo=dt.UTC))
    assert (start, end) == (
        dt.datetime(2026, 11, 27, 10, tzinfo=dt.UTC),
        dt.datetime(2026, 11, 27, 12, tzinfo=dt.UTC),
    )
    assert range_text(start, end) == "2026-11-27T10:00~2026-11-27T12:00"
    assert with_filter("?kiosk=1&warehouse=WH1", "warehouse", "WH2") == "?kiosk=1&warehouse=WH2"
    assert with_filter("?kiosk=1&warehouse=WH1", "warehouse", "all") == "?kiosk=1"
    assert view_search(ViewState()) == ""


def test_a_preset_range_ends_now() -> None:
    now = dt.datetime(2026, 11, 27, 12, 30, tzinfo=dt.UTC)
    assert parse_view("/sre", "?range=24h").time_window(now) == (now - dt.timedelta(days=1), now)
    assert parse_view("/sre", "").time_window(now) == (now - dt.timedelta(hours=1), now)


@pytest.mark.parametrize(
    "value",
    [
        "2026-11-27T12:00~2026-11-27T10:00",  # ends before it starts
        "2026-11-27T10:00~2026-11-27T10:00",  # empty
        "2026-01-01T00:00~2026-06-01T00:00",  # longer than 90 days
        "2026-13-01T00:00~2026-13-02T00:00",  # no such month
    ],
)
def test_unusable_custom_ranges_are_named_and_fall_back_to_an_hour(value: str) -> None:
    state = parse_view("/sre", f"?range={value}")
    assert "range" not in state.filters
    assert state.range_minutes == 60
    assert any("range=" in problem for problem in state.problems)
