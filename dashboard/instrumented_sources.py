"""Every call of a source's query methods, counted and timed: one seam, no page involved.

``instrument_sources`` wraps each source in a proxy that passes attributes through and times
its public methods into ``dashboard.metrics`` as ``{source=<its name>, query=<method name>}``.
Calls a source makes to its own methods are not counted twice: they do not pass the proxy.
"""

from __future__ import annotations

import functools
import inspect
import time
from collections.abc import Callable
from typing import Any, TypeVar, cast

from dashboard.metrics import SOURCE_ERRORS, SOURCE_QUERIES, SOURCE_QUERY_SECONDS
from dashboard.sources import Sources
from queries.health import Health

S = TypeVar("S")


class InstrumentedSource:
    """A source seen through the metrics: same attributes, public methods counted and timed."""

    def __init__(self, source: object) -> None:
        self._source = source
        self._name = str(getattr(source, "name", type(source).__name__))

    def __getattr__(self, attribute: str) -> Any:
        value = getattr(self._source, attribute)
        if attribute.startswith("_") or not inspect.ismethod(value):
            return value
        return self._timed(attribute, value)

    def __repr__(self) -> str:
        return f"InstrumentedSource({self._source!r})"

    def _timed(self, query: str, method: Callable[..., Any]) -> Callable[..., Any]:
        labels = {"source": self._name, "query": query}

        @functools.wraps(method)
        def timed(*args: Any, **kwargs: Any) -> Any:
            SOURCE_QUERIES.labels(**labels).inc()
            started = time.perf_counter()
            try:
                result = method(*args, **kwargs)
            except Exception:
                SOURCE_ERRORS.labels(**labels).inc()
                raise
            finally:
                SOURCE_QUERY_SECONDS.labels(**labels).observe(time.perf_counter() - started)
            # check_health never raises: a down source is a Health with status "error".
            if isinstance(result, Health) and not result.ok:
                SOURCE_ERRORS.labels(**labels).inc()
            return result

        return timed


def instrumented(source: S) -> S:
    """``source`` behind an InstrumentedSource, typed as the source (the proxy answers the same
    attributes); a source already instrumented is returned as it is."""
    if isinstance(source, InstrumentedSource):
        return source
    return cast(S, InstrumentedSource(source))


def instrument_sources(sources: Sources) -> Sources:
    """The same sources, instrumented; one proxy per distinct source, so the demo cluster that
    serves as both cluster and metrics source stays one source (``Sources.all``)."""
    proxies: dict[int, Any] = {}

    def proxy(source: S) -> S:
        return cast(S, proxies.setdefault(id(source), instrumented(source)))

    return Sources(
        proxy(sources.inventory),
        proxy(sources.cluster) if sources.cluster is not None else None,
        proxy(sources.metrics) if sources.metrics is not None else None,
    )
