"""Concurrent probing: one round trip for N targets, deadlines, failures and the cache."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from airflow_dataops.core.placement.decision import LiveState
from airflow_dataops.runtime.probing import Probe, ProbeCache, probe_all


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


def test_a_shared_cache_serves_every_process_of_the_machine(tmp_path: Path) -> None:
    """Two caches on one file stand for two processes: what one probed, the other reads without probing."""
    from airflow_dataops.runtime.probing import SharedProbeCache

    now = [1000.0]
    calls: list[str] = []

    def probe(name: str) -> Probe:
        async def answer() -> LiveState:
            calls.append(name)
            return LiveState(free={"general": (1.5, 2.0, 1)}, pending_pods=2, running_tasks=3)

        return answer

    first = SharedProbeCache(tmp_path / "live.json", ttl=10, clock=lambda: now[0])
    second = SharedProbeCache(tmp_path / "live.json", ttl=10, clock=lambda: now[0])
    probes = {name: probe(name) for name in ("a", "b")}
    asyncio.run(probe_all(probes, cache=first))
    assert calls == ["a", "b"]
    read = asyncio.run(probe_all(probes, cache=second))
    assert calls == ["a", "b"]  # nothing probed again
    assert read["a"].free == {"general": (1.5, 2.0, 1)}
    assert (read["a"].pending_pods, read["a"].running_tasks) == (2, 3)
    second.invalidate("a")  # a failover away from a: no later process may read it back
    third = SharedProbeCache(tmp_path / "live.json", ttl=10, clock=lambda: now[0])
    asyncio.run(probe_all(probes, cache=third))
    assert calls == ["a", "b", "a"]
    now[0] += 11  # older than the ttl: probed again
    asyncio.run(probe_all(probes, cache=SharedProbeCache(tmp_path / "live.json", ttl=10, clock=lambda: now[0])))
    assert calls == ["a", "b", "a", "a", "b"]


def test_an_unreadable_shared_cache_is_an_empty_one(tmp_path: Path) -> None:
    from airflow_dataops.runtime.probing import SharedProbeCache

    (tmp_path / "live.json").write_text("{not json")
    cache = SharedProbeCache(tmp_path / "live.json")
    cache.refresh()
    assert cache.get("a") is None
    cache.put("a", LiveState(reachable=False, error="refused"))
    cache.flush()
    again = SharedProbeCache(tmp_path / "live.json")
    again.refresh()
    assert again.get("a") == LiveState(reachable=False, error="refused")
