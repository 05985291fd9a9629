"""Concurrent probing: one round trip for N targets, deadlines, failures and the cache."""

from __future__ import annotations

import asyncio

import pytest

from airflow_dataops.core.placement import LiveState
from airflow_dataops.core.probing import Probe, ProbeCache, probe_all


class _Tracker:
    """Counts how many probes are in flight at once; a sequential prober would show 1."""

    def __init__(self) -> None:
        self.in_flight = 0
        self.peak = 0
        self.calls = 0

    def probe(self, delay: float, state: LiveState | None = None) -> Probe:
        async def run() -> LiveState:
            self.calls += 1
            self.in_flight += 1
            self.peak = max(self.peak, self.in_flight)
            try:
                await asyncio.sleep(delay)
            finally:
                self.in_flight -= 1
            return state or LiveState(pending_pods=1)

        return run


def test_probes_run_concurrently() -> None:
    tracker = _Tracker()
    states = asyncio.run(probe_all({f"c{i}": tracker.probe(0.05) for i in range(20)}, timeout=5))
    assert tracker.peak == 20
    assert list(states) == [f"c{i}" for i in range(20)]
    assert all(s.reachable and s.latency_ms >= 40 for s in states.values())


def test_slow_and_failing_targets_are_unreachable_with_the_reason() -> None:
    tracker = _Tracker()

    async def broken() -> LiveState:
        raise ConnectionRefusedError("connection refused")

    states = asyncio.run(probe_all({"slow": tracker.probe(10), "broken": broken, "ok": tracker.probe(0)}, timeout=0.2))
    assert states["slow"] == LiveState(reachable=False, latency_ms=200.0, error="no answer within 0.2s")
    assert not states["broken"].reachable
    assert states["broken"].error == "ConnectionRefusedError: connection refused"
    assert states["ok"].reachable
    assert tracker.in_flight == 0, "the timed-out probe must be cancelled, not left running"


def test_cache_serves_fresh_answers_and_expires() -> None:
    now = [100.0]
    cache = ProbeCache(ttl=10, clock=lambda: now[0])
    tracker = _Tracker()
    probes = {"a": tracker.probe(0), "b": tracker.probe(0)}
    asyncio.run(probe_all(probes, cache=cache))
    asyncio.run(probe_all(probes, cache=cache))
    assert tracker.calls == 2
    now[0] += 11
    cache.invalidate("a")
    asyncio.run(probe_all(probes, cache=cache))
    assert tracker.calls == 4


def test_timeout_must_be_positive() -> None:
    with pytest.raises(ValueError, match="probe timeout must be positive"):
        asyncio.run(probe_all({}, timeout=0))
