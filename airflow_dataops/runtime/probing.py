"""Asking every target for its live state at once, with a deadline and a short cache.

A placement decision must not cost one round trip per cluster: probes run
concurrently, each bounded by ``timeout``, so asking N targets costs about the
slowest answer, capped at the timeout. A target that does not answer in time or fails
is reported unreachable with the reason, never waited on. Answers are cached for
``ttl`` seconds so the tasks of one DAG run starting together share one probe.

:class:`SharedProbeCache` keeps the answers in a file instead, so every process of a
worker machine shares them, and a long-lived prober (``python -m
airflow_dataops.supercluster probe --every N``) can keep them fresh: a decision then
reads the file instead of probing.

A probe is any ``async`` callable returning a
:class:`~airflow_dataops.core.placement.decision.LiveState`; the Kubernetes one lives with the
Airflow adapters, this module knows nothing of Kubernetes.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import asdict, replace
from pathlib import Path

from airflow_dataops.core.placement.decision import LiveState

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

    def clear(self) -> None:
        """Forget every target."""
        self._entries.clear()

    def refresh(self) -> None:
        """Take in what other processes learnt (nothing to do for a cache of one process)."""

    def flush(self) -> None:
        """Share what this process learnt (nothing to do for a cache of one process)."""


def _state_from(data: Mapping[str, object]) -> LiveState:
    free = data.get("free") or {}
    assert isinstance(free, dict)
    return LiveState(
        reachable=bool(data.get("reachable", True)),
        latency_ms=float(data.get("latency_ms", 0.0)),  # type: ignore[arg-type]
        free={pool: (float(v[0]), float(v[1]), int(v[2])) for pool, v in free.items()},
        pending_pods=int(data.get("pending_pods", 0)),  # type: ignore[call-overload]
        running_tasks=int(data.get("running_tasks", 0)),  # type: ignore[call-overload]
        error=str(data["error"]) if data.get("error") else None,
    )


class SharedProbeCache(ProbeCache):
    """A probe cache kept in a JSON file, shared by the processes of one machine.

    Times are wall-clock seconds (monotonic clocks are per process). Writes go through a
    temporary file and a rename, merged with what the file holds then (the newer answer
    per target wins), so concurrent writers lose nothing but a race between equal ages.
    A file that cannot be read is treated as empty: the cache only ever saves probes.
    """

    def __init__(self, path: str | Path, ttl: float = 10.0, clock: Callable[[], float] = time.time) -> None:
        super().__init__(ttl, clock)
        self.path = Path(path)
        self._read_version: int | None = None  # the file's mtime when last taken in

    def _read(self) -> dict[str, tuple[float, LiveState]]:
        try:
            raw = json.loads(self.path.read_text())
            return {name: (float(entry["at"]), _state_from(entry["state"])) for name, entry in raw.items()}
        except (OSError, ValueError, KeyError, TypeError, AssertionError, IndexError):
            return {}

    def refresh(self) -> None:
        """Load the file, unless it has not changed since: entries newer than this process's win."""
        try:
            version = self.path.stat().st_mtime_ns
        except OSError:
            return
        if version == self._read_version:
            return
        self._read_version = version
        for name, (at, state) in self._read().items():
            if name not in self._entries or self._entries[name][0] < at:
                self._entries[name] = (at, state)

    def _merged(self) -> dict[str, tuple[float, LiveState]]:
        merged = self._read()
        for name, (at, state) in self._entries.items():
            if name not in merged or merged[name][0] <= at:
                merged[name] = (at, state)
        return merged

    def _write(self, entries: dict[str, tuple[float, LiveState]]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        temporary.write_text(json.dumps({n: {"at": at, "state": asdict(s)} for n, (at, s) in entries.items()}))
        os.replace(temporary, self.path)

    def flush(self) -> None:
        """Merge this process's entries into the file, atomically."""
        self._write(self._merged())

    def invalidate(self, target: str) -> None:
        """Forget ``target`` here and in the file (a failover away from it must not read it back)."""
        super().invalidate(target)
        merged = self._merged()
        if merged.pop(target, None) is not None:
            self._write(merged)

    def clear(self) -> None:
        """Forget every target, here and in the file."""
        super().clear()
        self.path.unlink(missing_ok=True)


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
    if cache is not None:
        cache.refresh()
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
    if cache is not None and pending:
        cache.flush()
    return {name: states[name] for name in probes}
