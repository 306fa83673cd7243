"""All view state lives in the URL, so a link reproduces a view: page, filters, time range, kiosk
and playlist. Parsing never fails: what cannot be used is named in ``problems`` and replaced by
the default, and nothing from the URL is ever rendered as HTML (Dash renders strings as text).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlencode

from dashboard.page_registry import BY_NAME, BY_PATH, HOME

PAGES = tuple(BY_NAME)
PAGE_PATHS = {page.name: page.path for page in BY_NAME.values()}
PATH_PAGES = {path: page.name for path, page in BY_PATH.items()}
FILTERS = ("warehouse", "category", "namespace", "workload", "range", "period")
RANGES = ("1h", "6h", "24h", "7d", "30d")
RANGE_MINUTES = {"1h": 60, "6h": 360, "24h": 1440, "7d": 10_080, "30d": 43_200}
PERIODS = ("week", "month", "quarter")
DEFAULT_DWELL_SECONDS = 30
# What a page shows instead of a filter value it cannot use.
_FALLBACK = {
    "range": "showing the last 1h",
    "period": "showing the last week",
}
_VALUE = re.compile(r"[A-Za-z0-9][A-Za-z0-9 ._:/@+-]{0,99}")
_CUSTOM_RANGE = re.compile(r"(\d{4}-\d\d-\d\dT\d\d:\d\d)~(\d{4}-\d\d-\d\dT\d\d:\d\d)")


@dataclass(frozen=True)
class ViewState:
    page: str = HOME.name
    kiosk: bool = False
    playlist: tuple[str, ...] = ()
    dwell_seconds: dict[str, int] = field(default_factory=dict)
    # A filter with several values rotates through them, one value per pass of the playlist.
    rotations: dict[str, tuple[str, ...]] = field(default_factory=dict)
    filters: dict[str, str] = field(default_factory=dict)
    problems: tuple[str, ...] = ()

    def filter(self, name: str, default: str = "all") -> str:
        return self.filters.get(name, default)

    @property
    def range_minutes(self) -> int:
        """The preset range's length in minutes (a custom range: its length)."""
        value = self.filters.get("range", "1h")
        custom = custom_range(value)
        if custom is not None:
            return int((custom[1] - custom[0]).total_seconds() // 60)
        return RANGE_MINUTES.get(value, 60)

    def time_window(self, now: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
        """[start, end) of the view's time range: a preset ends at ``now``, a custom one where
        it says (UTC)."""
        custom = custom_range(self.filters.get("range", "1h"))
        if custom is not None:
            return custom
        return now - dt.timedelta(minutes=self.range_minutes), now


MAX_CUSTOM_RANGE = dt.timedelta(days=90)


def custom_range(value: str) -> tuple[dt.datetime, dt.datetime] | None:
    """A custom range "YYYY-MM-DDTHH:MM~YYYY-MM-DDTHH:MM" (UTC) as aware datetimes, or None
    when ``value`` is not one, or not a usable one (end before start, longer than 90 days)."""
    match = _CUSTOM_RANGE.fullmatch(value)
    if match is None:
        return None
    try:
        start, end = (
            dt.datetime.strptime(text, "%Y-%m-%dT%H:%M").replace(tzinfo=dt.UTC)
            for text in match.groups()
        )
    except ValueError:  # e.g. month 13
        return None
    if not start < end <= start + MAX_CUSTOM_RANGE:
        return None
    return start, end


def range_text(start: dt.datetime, end: dt.datetime) -> str:
    """The URL value of a custom range."""
    return f"{start:%Y-%m-%dT%H:%M}~{end:%Y-%m-%dT%H:%M}"


def _shown(text: str) -> str:
    """A URL value quoted for a problem message, cut short."""
    return repr(text if len(text) <= 40 else text[:40] + "…")


def parse_view(pathname: str | None, search: str | None) -> ViewState:
    """The view a URL asks for; unknown pages, filter values or playlist parts become problems."""
    problems: list[str] = []
    path = (pathname or "/").rstrip("/") or "/"
    page = PATH_PAGES.get(path)
    if page is None:
        problems.append(f"unknown page {_shown(path)}: showing {HOME.title}")
        page = HOME.name
    params = dict(parse_qsl((search or "").lstrip("?"), keep_blank_values=True))

    kiosk_text = params.get("kiosk", "0")
    if kiosk_text not in ("0", "1", "true", "false"):
        problems.append(f"kiosk={_shown(kiosk_text)} is not 0 or 1")
    kiosk = kiosk_text in ("1", "true")

    playlist: list[str] = []
    for name in filter(None, params.get("playlist", "").split(",")):
        if name in PAGES:
            playlist.append(name)
        else:
            problems.append(f"playlist page {_shown(name)} is unknown: skipped")
    dwell: dict[str, int] = {}
    for part in filter(None, params.get("dwell", "").split(",")):
        name, _, seconds = part.partition(":")
        if name in PAGES and seconds.isdigit() and 5 <= int(seconds) <= 86_400:
            dwell[name] = int(seconds)
        else:
            problems.append(
                f"dwell {_shown(part)} is not page:seconds (5 to 86400): default {DEFAULT_DWELL_SECONDS} s"
            )

    filters: dict[str, str] = {}
    rotations: dict[str, tuple[str, ...]] = {}
    for name in FILTERS:
        if name not in params:
            continue
        values = [v.strip() for v in params[name].split(",") if v.strip()]
        good = [v for v in values if _valid(name, v)]
        for bad in set(values) - set(good):
            problems.append(
                f"{name}={_shown(bad)} cannot be used: {_FALLBACK.get(name, 'showing all')}"
            )
        if len(good) > 1 and name in ("warehouse", "category", "namespace", "workload"):
            rotations[name] = tuple(good)
        if good:
            filters[name] = good[0]
    return ViewState(page, kiosk, tuple(playlist), dwell, rotations, filters, tuple(problems))


def effective_view(
    pathname: str | None, search: str | None, rotation: dict[str, str] | None
) -> ViewState:
    """The URL's view with the playlist's current filter values applied."""
    state = parse_view(pathname, search)
    if rotation:
        return ViewState(
            state.page, state.kiosk, state.playlist, state.dwell_seconds, state.rotations,
            {**state.filters, **{k: v for k, v in rotation.items() if k in state.rotations}},
            state.problems,
        )  # fmt: skip
    return state


def _valid(name: str, value: str) -> bool:
    if name == "range":
        return value in RANGES or custom_range(value) is not None
    if name == "period":
        return value in PERIODS
    return _VALUE.fullmatch(value) is not None


def view_search(state: ViewState) -> str:
    """The query string that reproduces ``state`` (without its problems)."""
    params: dict[str, str] = {}
    for name in FILTERS:
        if name in state.rotations:
            params[name] = ",".join(state.rotations[name])
        elif name in state.filters and state.filters[name] != "all":
            params[name] = state.filters[name]
    if state.kiosk:
        params["kiosk"] = "1"
    if state.playlist:
        params["playlist"] = ",".join(state.playlist)
    if state.dwell_seconds:
        params["dwell"] = ",".join(f"{p}:{s}" for p, s in state.dwell_seconds.items())
    return "?" + urlencode(params, safe=",:") if params else ""


def with_filter(search: str | None, name: str, value: str) -> str:
    """``search`` with one filter set (``all`` removes it), everything else kept as it was."""
    params = dict(parse_qsl((search or "").lstrip("?"), keep_blank_values=True))
    if value == "all":
        params.pop(name, None)
    else:
        params[name] = value
    return "?" + urlencode(params, safe=",:") if params else ""


def playlist_position(state: ViewState, elapsed_seconds: float) -> tuple[str, dict[str, str]]:
    """Which page and rotated filter values a playlist shows ``elapsed_seconds`` after it started."""
    if not state.playlist:
        return state.page, {}
    dwell = [state.dwell_seconds.get(page, DEFAULT_DWELL_SECONDS) for page in state.playlist]
    cycle = sum(dwell)
    passes, into = divmod(int(elapsed_seconds), cycle)
    rotated = {name: values[passes % len(values)] for name, values in state.rotations.items()}
    for page, seconds in zip(state.playlist, dwell, strict=True):
        if into < seconds:
            return page, rotated
        into -= seconds
    return state.playlist[-1], rotated
