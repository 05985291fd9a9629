"""Benchmark: how long a placement decision over 50 clusters takes when each answers in 50 ms.

Target (meta-orchestrator issue): the decision costs at most twice a single round trip,
against probing the clusters one after another (about 50 round trips).

Each "cluster" is an HTTP endpoint on loopback (its own port) that answers after
50 ms. The probe is a real HTTP GET with aiohttp through ``probe_all``; the decision
is the real ``decide()`` over a 50-target declaration. This measures the concurrency
and decision machinery; it does not speak the Kubernetes API, so the figure is about
fan-out, not about Kubernetes (``kubernetes_decision_latency.py`` measures that).

Run:  make bench   (or: .venv/bin/python benchmarks/decision_latency.py)
"""

from __future__ import annotations

import asyncio
import socket
import statistics
import time

from aiohttp import ClientSession, ClientTimeout, web

from airflow_dataops.core.placement.decision import LiveState, Requirements, decide
from airflow_dataops.core.placement.declaration import supercluster_from_dict
from airflow_dataops.runtime.probing import Probe, probe_all

CLUSTERS = 50
LATENCY_S = 0.050


async def _serve(count: int) -> tuple[list[web.AppRunner], list[int]]:
    async def capacity(_: web.Request) -> web.Response:
        await asyncio.sleep(LATENCY_S)
        return web.json_response({"free_cpu": 8.0, "free_memory_gib": 32.0, "pending": 0})

    runners, ports = [], []
    for _ in range(count):
        app = web.Application()
        app.router.add_get("/capacity", capacity)
        runner = web.AppRunner(app)
        await runner.setup()
        listener = socket.create_server(("127.0.0.1", 0))  # the OS picks a free port
        await web.SockSite(runner, listener).start()
        runners.append(runner)
        ports.append(listener.getsockname()[1])
    return runners, ports


def _probe(session: ClientSession, port: int) -> Probe:
    async def run() -> LiveState:
        async with session.get(f"http://127.0.0.1:{port}/capacity") as response:
            body = await response.json()
        return LiveState(free={"cpu": (body["free_cpu"], body["free_memory_gib"], 0)}, pending_pods=body["pending"])

    return run


async def _measure(rounds: int) -> dict[str, float]:
    runners, ports = await _serve(CLUSTERS)
    cluster = supercluster_from_dict(
        {
            "targets": [
                {
                    "name": f"c{i}",
                    "conn_id": f"k8s_c{i}",
                    "prices": {"vcpu_hour": 0.02 + i / 1000},
                    "node_pools": [{"name": "cpu", "allocatable": {"cpu": "8", "memory": "32Gi"}}],
                }
                for i in range(CLUSTERS)
            ]
        }
    )
    req = Requirements(cpu=2, memory_gib=4)
    single, concurrent, sequential = [], [], []
    try:
        async with ClientSession(timeout=ClientTimeout(total=10)) as session:
            probes = {f"c{i}": _probe(session, port) for i, port in enumerate(ports)}
            await probe_all(probes, timeout=5)  # warm the connection pool
            for _ in range(rounds):
                start = time.perf_counter()
                await probes["c0"]()
                single.append(time.perf_counter() - start)

                start = time.perf_counter()
                decide(cluster, req, live=await probe_all(probes, timeout=5))
                concurrent.append(time.perf_counter() - start)

                start = time.perf_counter()
                live = {name: await probe() for name, probe in probes.items()}
                decide(cluster, req, live=live)
                sequential.append(time.perf_counter() - start)
    finally:
        for runner in runners:
            await runner.cleanup()
    return {
        "rounds": rounds,
        "single_ms": statistics.median(single) * 1000,
        "concurrent_ms": statistics.median(concurrent) * 1000,
        "sequential_ms": statistics.median(sequential) * 1000,
    }


def render(result: dict[str, float]) -> str:
    """The markdown block kept in docs/benchmarks.md."""
    from _report import render_round_trips

    return render_round_trips(
        f"{CLUSTERS} loopback endpoints answering after {LATENCY_S * 1000:.0f} ms",
        "one probe (single round trip)",
        f"decision: `probe_all` over {CLUSTERS} + `decide()`",
        result,
    )


if __name__ == "__main__":
    from _report import run_benchmark

    run_benchmark("decision_latency", __doc__, lambda rounds: render(asyncio.run(_measure(rounds))), default_rounds=7)
