"""Renderings: a callback's outputs built once per process for the same inputs and entries."""

from __future__ import annotations

import datetime as dt
import threading
import time

import pytest
from at_once import at_once

from dashboard.cache import Fetched
from dashboard.context import Renderings, stamp

AT = dt.datetime(2026, 12, 4, 12, 0)


def test_screens_asking_at_once_for_the_same_view_share_one_build() -> None:
    renderings = Renderings()
    builds: list[int] = []

    def build() -> tuple[str, ...]:
        builds.append(1)
        time.sleep(0.2)
        return ("figure",)

    answers = at_once([lambda: renderings.get("sre", ("1h",), build)] * 10)
    assert len(builds) == 1
    assert renderings.builds == 1
    assert answers == [("figure",)] * 10
    assert all(answer is answers[0] for answer in answers)  # the same object, shared


def test_a_new_entry_or_another_view_builds_anew() -> None:
    renderings = Renderings()
    old = Fetched("rows", AT)
    new = Fetched("rows", AT + dt.timedelta(seconds=10))
    failing = Fetched("rows", AT, "timed out", AT + dt.timedelta(seconds=10))
    assert stamp(old) != stamp(new) != stamp(failing) != stamp(old)
    for parts in [
        ("1h", stamp(old)),
        ("1h", stamp(new)),
        ("6h", stamp(new)),
        ("1h", stamp(failing)),
    ]:
        renderings.get("sre", parts, lambda: "built")
    assert renderings.builds == 4
    assert renderings.get("sre", ("1h", stamp(new)), lambda: "never") == "built"
    assert renderings.get("ops", ("1h", stamp(new)), lambda: "other callback") == "other callback"


def test_only_the_most_recently_used_renderings_are_kept() -> None:
    renderings = Renderings(entries=2)
    renderings.get("a", (), lambda: 1)
    renderings.get("b", (), lambda: 2)
    renderings.get("a", (), lambda: 0)  # used again: kept
    renderings.get("c", (), lambda: 3)  # "b" goes
    assert renderings.get("a", (), lambda: -1) == 1
    assert renderings.get("b", (), lambda: 22) == 22
    assert renderings.builds == 4


def test_a_build_that_fails_is_not_kept_and_the_next_request_builds_again() -> None:
    renderings = Renderings()

    def broken() -> str:
        raise ValueError("bad frame")

    with pytest.raises(ValueError, match="bad frame"):
        renderings.get("exec", ("week",), broken)
    assert renderings.get("exec", ("week",), lambda: "cards") == "cards"


def test_a_view_whose_entries_moved_is_handed_its_newest_rendering_while_the_next_is_made() -> None:
    renderings = Renderings()
    assert renderings.latest(
        "sre", ("1h",), (stamp(Fetched("rows", AT)),), lambda: "first", 60
    ) == ("first")
    release = threading.Event()

    def slow() -> str:
        release.wait(5)
        return "second"

    moved = (stamp(Fetched("rows", AT + dt.timedelta(seconds=10))),)
    # The entries moved: the screen is not made to wait for their rendering.
    started = time.monotonic()
    assert renderings.latest("sre", ("1h",), moved, slow, 60) == "first"
    assert renderings.latest("sre", ("1h",), moved, slow, 60) == "first"  # one build, not two
    assert time.monotonic() - started < 1
    release.set()
    deadline = time.monotonic() + 5
    while renderings.latest("sre", ("1h",), moved, slow, 60) != "second":
        assert time.monotonic() < deadline, "the rendering of the moved entries never came"
        time.sleep(0.01)
    assert renderings.builds == 2
    # Another view's first rendering is waited for, and a failing one says so.
    with pytest.raises(ValueError, match="bad frame"):
        renderings.latest("sre", ("6h",), moved, _broken, 60)


def test_a_background_rendering_that_fails_keeps_the_newest_one_and_is_tried_again() -> None:
    renderings = Renderings()
    renderings.latest("sre", ("1h",), ("a",), lambda: "first", 60)
    assert renderings.latest("sre", ("1h",), ("b",), _broken, 60) == "first"
    deadline = time.monotonic() + 5
    while renderings.latest("sre", ("1h",), ("b",), lambda: "second", 60) != "second":
        assert time.monotonic() < deadline, "a failed rendering was never tried again"
        time.sleep(0.01)


def _broken() -> str:
    raise ValueError("bad frame")


def test_a_view_not_watched_lately_is_made_while_the_screen_waits() -> None:
    renderings = Renderings()
    renderings.latest("sre", ("1h",), ("a",), lambda: "an hour ago", 60)
    # Older than its max age (any age is older than -1 s): not handed out.
    assert renderings.latest("sre", ("1h",), ("b",), lambda: "now", -1) == "now"
