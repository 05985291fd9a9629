"""Asking every target for its live state at once, with a deadline and a short cache.

A placement decision must not cost one round trip per cluster: probes run
concurrently, each bounded by ``timeout``, so asking N targets costs about the
slowest answer, capped at the timeout. A target that does not answer in time or fails
is reported unreachable with the reason, never waited on. Answers are cached for
``ttl`` seconds so the tasks of one DAG run starting together share one probe.

A probe is any ``async`` callable returning a
:class:`~airflow_dataops.core.placement.LiveState`; the Kubernetes one lives with the
Airflow adapters, this module knows nothing of Kubernetes.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import replace

from airflow_dataops.core.placement import LiveState

Probe = Callable[[], Awaitable[LiveState]]


class ProbeCache:
    """Live states remembered for ``ttl`` seconds (``clock`` is injectable for tests)."""

    def __init__(self, ttl: float = 10.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self._clock = clock
        self._entries: dict[str, tuple[float, LiveState]] = {}

    def get(self, target: str) -> LiveState | None:
        """The cached state of ``target`` if it is still fresh."""
        entry = self._entries.get(target)
        if entry is None or self._clock() - entry[0] > self.ttl:
            return None
        return entry[1]

    def put(self, target: str, state: LiveState) -> None:
        """Remember ``state`` as of now."""
        self._entries[target] = (self._clock(), state)

    def invalidate(self, target: str) -> None:
        """Forget ``target``, e.g. after a failover away from it."""
        self._entries.pop(target, None)


async def _timed(probe: Probe, timeout: float) -> LiveState:
    start = time.perf_counter()
    try:
        state = await asyncio.wait_for(probe(), timeout)
    except TimeoutError:
        return LiveState(reachable=False, latency_ms=timeout * 1000, error=f"no answer within {timeout:g}s")
    except Exception as error:  # a probe failure makes the target unreachable, never the decision fail
        return LiveState(
            reachable=False, latency_ms=(time.perf_counter() - start) * 1000, error=f"{type(error).__name__}: {error}"
        )
    return replace(state, latency_ms=round((time.perf_counter() - start) * 1000, 3))


async def probe_all(
    probes: Mapping[str, Probe], timeout: float = 5.0, cache: ProbeCache | None = None
) -> dict[str, LiveState]:
    """Probe every target concurrently and return their live states by name."""
    if timeout <= 0:
        raise ValueError(f"probe timeout must be positive, got {timeout}")
    states: dict[str, LiveState] = {}
    pending: dict[str, Probe] = {}
    for name, probe in probes.items():
        cached = cache.get(name) if cache is not None else None
        if cached is not None:
            states[name] = cached
        else:
            pending[name] = probe
    results = await asyncio.gather(*(_timed(probe, timeout) for probe in pending.values()))
    for name, state in zip(pending, results, strict=True):
        states[name] = state
        if cache is not None:
            cache.put(name, state)
    return {name: states[name] for name in probes}
