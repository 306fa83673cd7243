"""What the pages need at run time: settings, sources and the shared cache, built once per app."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

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


@dataclass(frozen=True)
class DashboardContext:
    settings: Settings
    sources: Sources
    cache: SharedCache
    # Set with INVDASH_CACHE_URL: the Redis behind ``cache``, reported beside the sources.
    shared_cache: RedisSharedCache | None = None

    @property
    def inventory(self) -> InventorySource:
        return self.sources.inventory

    def inventory_snapshot(self) -> Fetched[InventorySnapshot]:
        return self.cache.fetch(
            INVENTORY_SNAPSHOT, lambda: self.inventory.snapshot(dt.datetime.now(dt.UTC))
        )

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
