"""What every data source answers besides its queries: is it healthy, and if not, why."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Protocol

Status = Literal["ok", "error"]


@dataclass(frozen=True)
class Health:
    """A source's health: a status, a one-line message a person can act on, and details."""

    status: Status
    message: str
    details: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status == "ok"


class Source(Protocol):
    """A data source: constructed with its client, queried for DataFrames, probed for health.

    ``name`` is the label shown to people (status strip, ``/readyz``, ``invdash check``).
    ``check_health`` never raises: every failure becomes a Health with status "error".
    """

    name: str

    def check_health(self) -> Health: ...


def describe_failure(error: BaseException) -> str:
    """One line a person can read: the exception type and the driver's first line, no SQL."""
    original = getattr(error, "orig", None) or error
    lines = str(original).strip().splitlines()
    first = lines[0] if lines else "no detail"
    return f"{type(original).__name__}: {first}"
