"""A clock a test moves by hand: ``clock.now += 10`` is ten seconds later, to the code under test."""

from __future__ import annotations


class Clock:
    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now
