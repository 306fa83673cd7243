"""What the pages need at run time: settings, sources and the shared cache, built once per app."""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

import pandas as pd

from dashboard.cache import Fetched, SharedCache
from dashboard.redis_cache import RedisSharedCache
from dashboard.settings import Settings
from dashboard.sources import Sources
from queries.health import Health
from queries.inventory import InventorySnapshot, InventorySource
from queries.telemetry import empty_frame

INVENTORY_SNAPSHOT = "inventory:snapshot"
SHARED_CACHE = "Shared cache"
# Renderings a process keeps: a few per callback and view (pages, filters, ranges) at once.
RENDERINGS = 64

T = TypeVar("T")
Key = tuple[Hashable, ...]
# What Renderings._found answers for a rendering not made (None can be one).
_MISSING = object()

log = logging.getLogger("invdash")


def stamp(fetched: Fetched[Any] | None) -> tuple[Any, ...]:
    """What tells one cached entry from another of the same key: when its value was loaded
    and the failure it carries (an entry never changes once stored)."""
    if fetched is None:
        return (None,)
    return (fetched.fetched_at, fetched.error, fetched.error_since)


class Renderings:
    """A callback's outputs, built once per process for the same inputs and the same cached
    entries, and handed to every screen that asks (a hundred screens on /sre cost one figure).

    ``build`` must be a pure function of what ``parts`` names: the callback's arguments, the
    ``stamp`` of every entry it reads, and any clock value it shows. Threads asking for the same
    parts at once wait for the one that builds. Outputs are shared: never changed in place.
    """

    def __init__(self, entries: int = RENDERINGS) -> None:
        self._entries = entries
        self._built: OrderedDict[tuple[Hashable, ...], Any] = OrderedDict()
        self._building: dict[tuple[Hashable, ...], threading.Lock] = {}
        self._guard = threading.Lock()
        self.builds = 0
        # Each view's newest rendering (``latest``) and when it was made (time.monotonic()),
        # and the renderings being made for views.
        self._newest: OrderedDict[tuple[Hashable, ...], tuple[float, Any]] = OrderedDict()
        self._pending: set[tuple[Hashable, ...]] = set()

    def _found(self, key: Key) -> object:
        """``key``'s rendering if it is made (now the most recently used), else _MISSING; to be
        called holding the guard."""
        if key not in self._built:
            return _MISSING
        self._built.move_to_end(key)
        found: object = self._built[key]
        return found

    def get(self, name: str, parts: tuple[Hashable, ...], build: Callable[[], T]) -> T:
        key = (name, *parts)
        with self._guard:
            found = self._found(key)
            if found is not _MISSING:
                return cast(T, found)
            lock = self._building.setdefault(key, threading.Lock())
        with lock:
            with self._guard:
                if key in self._built:
                    done: T = self._built[key]
                    return done
            try:
                value = build()
            finally:
                with self._guard:
                    self._building.pop(key, None)
            with self._guard:
                self.builds += 1
                self._built[key] = value
                while len(self._built) > self._entries:
                    self._built.popitem(last=False)
            return value

    def latest(
        self,
        name: str,
        view: tuple[Hashable, ...],
        parts: tuple[Hashable, ...],
        build: Callable[[], T],
        max_age_seconds: float,
    ) -> T:
        """``get`` of ``view`` (the callback's arguments) and ``parts`` (the stamps of its
        entries and clock values), for a view whose entries move at their own moments (the
        /sre figure reads five sources, each revalidated in the background): while the
        rendering of new parts is made in a thread of its own, the view's newest rendering is
        handed out if it is at most ``max_age_seconds`` old, so a watched view is not waited
        for; what a screen sees is then one build behind its entries at most. A view not asked
        for that long is made while the screen waits, as with ``get``."""
        key = (name, *view, *parts)
        newest_key = (name, *view)
        with self._guard:
            found = self._found(key)
            if found is not _MISSING:
                return cast(T, found)
            made = self._newest.get(newest_key)
            newest = None
            if made is not None and time.monotonic() - made[0] <= max_age_seconds:
                newest = made[1]
            if newest is not None:
                if key not in self._pending:
                    self._pending.add(key)
                    threading.Thread(
                        target=self._refresh_newest,
                        args=((name, view, parts), build),
                        name=f"invdash-render {name}",
                        daemon=True,
                    ).start()
                shown: T = newest
                return shown
        # The view's first rendering: made while the screen waits, and a failure is its answer.
        value = self.get(name, (*view, *parts), build)
        self._note_newest(newest_key, value)
        return value

    def _refresh_newest(self, asked: tuple[str, Key, Key], build: Callable[[], object]) -> None:
        """Make the rendering ``latest`` was asked for (name, view, parts), in the background."""
        name, view, parts = asked
        try:
            value = self.get(name, (*view, *parts), build)
        except Exception:
            # The view's newest rendering stays; the next request tries again.
            log.exception("rendering %s failed", name)
            return
        finally:
            with self._guard:
                self._pending.discard((name, *view, *parts))
        self._note_newest((name, *view), value)

    def _note_newest(self, view_key: tuple[Hashable, ...], value: object) -> None:
        with self._guard:
            self._newest[view_key] = (time.monotonic(), value)
            self._newest.move_to_end(view_key)
            while len(self._newest) > self._entries:
                self._newest.popitem(last=False)


@dataclass(frozen=True)
class DashboardContext:
    settings: Settings
    sources: Sources
    cache: SharedCache
    # Set with INVDASH_CACHE_URL: the Redis behind ``cache``, reported beside the sources.
    shared_cache: RedisSharedCache | None = None
    renderings: Renderings = field(default_factory=Renderings)
    # Run on each snapshot as it is loaded, before any screen is handed it: the pages' default
    # renderings are made there (``add_snapshot_rendering``), not by the screens that ask first.
    snapshot_renderings: list[Callable[[InventorySnapshot], object]] = field(default_factory=list)

    @property
    def inventory(self) -> InventorySource:
        return self.sources.inventory

    def inventory_snapshot(self) -> Fetched[InventorySnapshot]:
        return self.cache.fetch(INVENTORY_SNAPSHOT, self._load_snapshot)

    def add_snapshot_rendering(self, render: Callable[[InventorySnapshot], object]) -> None:
        """Make ``render(snapshot)`` (a page's default, unfiltered rendering, shared through
        ``fetches.shared_rendering``) in the load of every snapshot."""
        self.snapshot_renderings.append(render)

    def _load_snapshot(self) -> InventorySnapshot:
        snapshot = self.inventory.snapshot(dt.datetime.now(dt.UTC))
        for render in self.snapshot_renderings:
            try:
                render(snapshot)
            except Exception:
                # The screen that asks builds it again (and shows that it failed): the snapshot
                # itself is good.
                log.exception("rendering a new inventory snapshot failed")
        return snapshot

    def cached_frame(self, key: str, columns: list[str]) -> pd.DataFrame:
        """What the last refresh cached under ``key`` (never loads: a panel must not wait on
        another source), or an empty frame with the contract's ``columns``."""
        cached = self.cache.peek(key)
        return (
            cached.value
            if cached is not None and cached.value is not None
            else empty_frame(columns)
        )

    def source_health(self) -> list[tuple[str, Health]]:
        """Each source's health, probed at most once per refresh interval; then the shared
        cache's, asked every time (it is never cached: it says where the cache is)."""
        healths = [
            (
                source.name,
                self.cache.fetch(f"health:{source.name}", source.check_health).value
                or Health("error", "no health result"),
            )
            for source in self.sources.all
        ]
        if self.shared_cache is not None:
            healths.append((SHARED_CACHE, self.shared_cache.health()))
        return healths
