"""The demo shop's visitors: when they come in bursts, and when their checkout breaks.

Bursts: in minutes BURST_MINUTES of every clock hour (UTC) BURST_FACTOR times as many visitors
come (a campaign's mail going out, as the demo tells it): ``demo.cluster``'s request rate
triples, and so do the orders they place (``demo.seed`` places the day's orders by a minute
profile with the bursts in it; ``demo.orders`` replays a week earlier's minute, a burst minute
too). Orders follow traffic, and the SRE page's correlation shows it.

Outages: every other 4-hour block of UTC time (by the parity of the block's and the week's numbers since
the Unix epoch) holds a checkout outage from OUTAGE_START to OUTAGE_START + OUTAGE_LENGTH into
the block: 00:40 to 01:55, 08:40 to 09:55 and 16:40 to 17:55 UTC one week, 04:40, 12:40 and
20:40 the next. During one, the visitors keep browsing (``demo.cluster``'s request rate holds)
and only CHECKOUT_SUCCESS_IN_OUTAGE of the orders they would place get through
(``demo.orders`` books only those); the failed checkouts are answered with a 5xx. A week has
an even number of blocks, so the same minute a week earlier is never in an outage: the
broken-checkout alert (orders per 1,000 requests under half of the same hour a week earlier)
has a normal week to compare with, and the demo's orders loop, which replays the orders of a
week earlier, replays those of two weeks earlier for a minute whose week-earlier one was in an
outage.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import numpy.typing as npt

BLOCK_MINUTES = 4 * 60
WEEK_MINUTES = 7 * 24 * 60
OUTAGE_START = 40  # minutes into the block
OUTAGE_LENGTH = 75  # minutes
CHECKOUT_SUCCESS_IN_OUTAGE = 0.1
# The order service's requests a visitor's checkout of one order line makes (cart, address,
# payment, confirmation): what fails with a 5xx during an outage.
CHECKOUT_REQUESTS_PER_ORDER_LINE = 4.0

assert WEEK_MINUTES % (2 * BLOCK_MINUTES) == 0, "a week must hold an even number of blocks"

BURST_MINUTES = (10, 20)  # of the clock hour: [10, 20)
BURST_FACTOR = 3.0


def burst_minutes(minutes: npt.ArrayLike) -> npt.NDArray[np.bool_]:
    """Whether each minute (since the Unix epoch, or of the day) lies in a visitors' burst."""
    of_hour = np.asarray(minutes, dtype=np.int64) % 60
    inside: npt.NDArray[np.bool_] = (of_hour >= BURST_MINUTES[0]) & (of_hour < BURST_MINUTES[1])
    return inside


def visitor_factor(minutes: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """How many times the usual visitors come in each minute (BURST_FACTOR in a burst)."""
    factor: npt.NDArray[np.float64] = np.where(burst_minutes(minutes), BURST_FACTOR, 1.0)
    return factor


def outage_minutes(minutes: npt.ArrayLike) -> npt.NDArray[np.bool_]:
    """Whether each minute (whole minutes since the Unix epoch) lies in a checkout outage."""
    minute = np.asarray(minutes, dtype=np.int64)
    parity = (minute // BLOCK_MINUTES + minute // WEEK_MINUTES) % 2 == 0
    phase = minute % BLOCK_MINUTES
    inside: npt.NDArray[np.bool_] = (
        parity & (phase >= OUTAGE_START) & (phase < OUTAGE_START + OUTAGE_LENGTH)
    )
    return inside


def success_share(minutes: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """The share of the checkouts attempted in each minute that go through."""
    share: npt.NDArray[np.float64] = np.where(
        outage_minutes(minutes), CHECKOUT_SUCCESS_IN_OUTAGE, 1.0
    )
    return share


def minute_of(moment: dt.datetime) -> int:
    """The whole minute since the Unix epoch that ``moment`` (aware, or naive UTC) lies in."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return int(moment.timestamp() // 60)


def in_outage(moment: dt.datetime) -> bool:
    return bool(outage_minutes([minute_of(moment)])[0])


def next_outage(moment: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    """The first outage that has not ended at ``moment`` (aware UTC): its start and end."""
    minute = minute_of(moment)
    block = minute // BLOCK_MINUTES
    while True:
        start = block * BLOCK_MINUTES + OUTAGE_START
        if outage_minutes([start])[0] and minute < start + OUTAGE_LENGTH:
            return (
                dt.datetime.fromtimestamp(start * 60, dt.UTC),
                dt.datetime.fromtimestamp((start + OUTAGE_LENGTH) * 60, dt.UTC),
            )
        block += 1
