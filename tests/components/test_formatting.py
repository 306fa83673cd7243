"""Numbers as they read on a screen."""

from __future__ import annotations

import datetime as dt
import math

import pytest

from components.formatting import clock_time, count, money, percent, plotly_text


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0.116, "0.12"),
        (42.5, "42.50"),
        (170, "170"),
        (9870, "9,870"),
        (36_810, "36.81k"),
        (368_100, "368.10k"),
        (1_234_567.8, "1.23M"),
        (-2_500_000, "-2.50M"),
        (7.2e9, "7.20B"),
        (None, "n/a"),
        (math.nan, "n/a"),
        (math.inf, "n/a"),
    ],
)
def test_money_is_short_and_exact_to_three_figures(value: float | None, text: str) -> None:
    assert money(value) == text


def test_percent_count_and_clock() -> None:
    assert percent(0.8666) == "86.7%"
    assert percent(None) == "n/a"
    assert percent(0.2, 0) == "20%"
    assert count(1234) == "1,234"
    assert clock_time(dt.datetime(2026, 11, 27, 4, 5, 6)) == "04:05:06"
    eastern = dt.timezone(dt.timedelta(hours=-5))
    assert clock_time(dt.datetime(2026, 11, 26, 23, 5, 6, tzinfo=eastern)) == "04:05:06"


def test_plotly_labels_escape_markup() -> None:
    assert plotly_text("North <b>hub</b> & co") == "North &lt;b&gt;hub&lt;/b&gt; &amp; co"
