"""How numbers read on a screen: short, unambiguous, the same on every panel."""

from __future__ import annotations

import datetime as dt
import html
import math

NOT_AVAILABLE = "n/a"


def money(value: float | None) -> str:
    """1234567.8 -> '1.23M'; 9870 -> '9,870'; 36810 -> '36.81k'; 4.5 -> '4.50'; None or NaN -> 'n/a'."""
    if value is None or not math.isfinite(value):
        return NOT_AVAILABLE
    magnitude = abs(value)
    for threshold, unit, suffix in ((1e9, 1e9, "B"), (1e6, 1e6, "M"), (1e4, 1e3, "k")):
        if magnitude >= threshold:
            return f"{value / unit:,.2f}{suffix}"
    return f"{value:,.0f}" if magnitude >= 100 else f"{value:,.2f}"


def percent(share: float | None, digits: int = 1) -> str:
    if share is None or not math.isfinite(share):
        return NOT_AVAILABLE
    return f"{share * 100:.{digits}f}%"


def count(value: int | float) -> str:
    return f"{value:,.0f}"


def clock_time(moment: dt.datetime) -> str:
    """HH:MM:SS of a naive UTC or aware datetime, in UTC."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.UTC)
    return moment.strftime("%H:%M:%S")


def plotly_text(label: str) -> str:
    """A label for Plotly, which renders a subset of HTML tags: escape it so it shows as typed."""
    return html.escape(label, quote=False)
