"""How many screens are watching: browsers that asked for a refresh in the last few intervals.

A screen is a browser, told apart by a random id in the ``invdash_screen`` cookie the server
sets on its first page or callback response (clients without cookies: their address and user
agent). With Redis the ids of every replica go into one sorted set scored by last-seen time, so
every process counts the same screens; without it each process counts those it served.
The count is kept in ``invdash_active_screens`` (``dashboard.metrics``).
"""

from __future__ import annotations

import hashlib
import re
import secrets
import threading
import time
import weakref
from collections.abc import Callable
from typing import Protocol

import redis
from flask import Flask, Response, request

from dashboard.metrics import ACTIVE_SCREENS, CALLBACK_PATH
from dashboard.redis_cache import RedisSharedCache

SCREEN_COOKIE = "invdash_screen"
SCREEN_ID = re.compile(r"[A-Za-z0-9_-]{8,64}")
WINDOW_INTERVALS = 3
MIN_WINDOW_SECONDS = 30.0


def screen_window_seconds(refresh_seconds: float) -> float:
    """How recently a screen must have refreshed to count as active: a few refreshes, so one
    skipped tick (a slow source) does not make a screen vanish."""
    return max(WINDOW_INTERVALS * refresh_seconds, MIN_WINDOW_SECONDS)


class ScreenRegistry(Protocol):
    """Last-seen times of screens: ``seen`` records one, ``count`` those seen since a time."""

    def seen(self, screen: str, at: float) -> None: ...

    def count(self, since: float) -> int: ...


class ProcessScreens:
    def __init__(self) -> None:
        self._last_seen: dict[str, float] = {}
        self._guard = threading.Lock()

    def seen(self, screen: str, at: float) -> None:
        with self._guard:
            self._last_seen[screen] = at

    def count(self, since: float) -> int:
        with self._guard:
            gone = [screen for screen, at in self._last_seen.items() if at < since]
            for screen in gone:
                del self._last_seen[screen]
            return len(self._last_seen)


class SharedScreens:
    """One sorted set in Redis for all replicas; this process's own set while Redis is down."""

    def __init__(self, cache: RedisSharedCache) -> None:
        self._cache = cache
        self._key = f"{cache.prefix}screens"
        self._local = ProcessScreens()

    def seen(self, screen: str, at: float) -> None:
        self._local.seen(screen, at)
        self._cache.with_redis(lambda client: client.zadd(self._key, {screen: at}), lambda: 0)

    def count(self, since: float) -> int:
        def shared_count(client: redis.Redis) -> int:
            pipeline = client.pipeline(transaction=False)
            pipeline.zremrangebyscore(self._key, "-inf", f"({since}")
            pipeline.zcard(self._key)
            return int(pipeline.execute()[1])

        local = self._local.count(since)
        return self._cache.with_redis(shared_count, lambda: local)


class ScreenTracker:
    def __init__(
        self,
        registry: ScreenRegistry,
        refresh_seconds: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.registry = registry
        self.refresh_seconds = refresh_seconds
        self.window_seconds = screen_window_seconds(refresh_seconds)
        self._clock = clock
        self._refresher: threading.Thread | None = None
        self._guard = threading.Lock()

    def seen(self, screen: str) -> None:
        self.registry.seen(screen, self._clock())
        self._start_refresher()

    def active(self) -> int:
        """Screens seen in the window; also the gauge's new value."""
        count = self.registry.count(self._clock() - self.window_seconds)
        ACTIVE_SCREENS.set(count)
        return count

    def _start_refresher(self) -> None:
        # Screens leave without saying so: a process that serves no more requests must still
        # bring its gauge down, or its stale value would stand as the workers' largest.
        with self._guard:
            if self._refresher is not None:
                return
            self._refresher = threading.Thread(
                target=_refresh_while_alive,
                args=(weakref.ref(self), self.refresh_seconds),
                name="invdash-active-screens",
                daemon=True,
            )
            self._refresher.start()


def _refresh_while_alive(tracker: weakref.ref[ScreenTracker], period_seconds: float) -> None:
    try:
        while True:
            time.sleep(period_seconds)
            alive = tracker()
            if alive is None:
                return
            alive.active()
            del alive
    except SystemExit:
        # How dash.testing stops the threads of a server it ran: end quietly, as a daemon would.
        return


def screen_id() -> tuple[str, bool]:
    """This request's screen, and whether it came from the cookie (else: set one)."""
    cookie = request.cookies.get(SCREEN_COOKIE, "")
    if SCREEN_ID.fullmatch(cookie):
        return cookie, True
    agent = request.headers.get("User-Agent", "")
    fingerprint = hashlib.sha256(f"{request.remote_addr}|{agent}".encode()).hexdigest()[:16]
    return f"addr-{fingerprint}", False


def track_screens(server: Flask, tracker: ScreenTracker, routes_prefix: str = "/") -> None:
    """Record the screen of every Dash callback request; give new browsers their cookie."""
    callback_path = f"{routes_prefix}{CALLBACK_PATH}"

    @server.after_request
    def _record_screen(response: Response) -> Response:
        is_callback = request.method == "POST" and request.path == callback_path
        if not is_callback and response.mimetype != "text/html":
            return response
        screen, from_cookie = screen_id()
        if is_callback:
            tracker.seen(screen)
        if not from_cookie:
            response.set_cookie(
                SCREEN_COOKIE,
                secrets.token_urlsafe(16),
                max_age=400 * 86_400,
                httponly=True,
                samesite="Lax",
                secure=request.is_secure,
            )
        return response
