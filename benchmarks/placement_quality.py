"""Benchmark: the cost and makespan of a simulated day of pods over six clusters, by policy.

Target (meta-orchestrator issue): the product's policy costs within 5% of a linear
programming lower bound, and loses no pod, over at least 10,000 pods of mixed shapes
(some needing GPUs) on 6 clusters with different prices and capacities and two outages.

Simulation. A seeded day of pods arrives (a daytime peak); each has a shape (CPU,
memory, optional GPU) and a run time. Each cluster has nodes of one size; a pod lands
on the first node of the chosen cluster with room (the scheduler's role). When a
cluster goes down, the pods running there are lost for that cluster: what they ran so
far is paid and wasted, and they are placed again at once (the failover every policy
gets). A pod that fits nowhere waits in a queue until capacity frees. Every policy
sees which clusters are up and which have room now; they differ in the ranking only:

- ``supercluster``: the real :func:`airflow_dataops.core.placement.decision.decide` with policies
  ``cheapest`` then ``fastest_start``, fed the simulated live state (free capacity of the
  roomiest node per pool, reachability);
- ``first-fit``: the first cluster in declaration order that has room (how MultiKueue and
  Karmada order fallbacks);
- ``round-robin``: the next cluster in rotation that has room.

Lower bound. A linear-programming relaxation solved with scipy's HiGHS: each pod may be
split across the clusters it fits, runs from its arrival, and the clusters' capacity
per 15-minute bucket (zero while down) bounds CPU, memory and GPUs. It ignores node
boundaries and knows the outages in advance, so no real policy can beat it for
schedules in which pods start on arrival; the report says how many pods waited.

Run:  make bench   (or: .venv/bin/python benchmarks/placement_quality.py)
"""

from __future__ import annotations

import heapq
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import cast

from _report import run_benchmark
from airflow_dataops.core.placement.decision import LiveState, PlacementError, Requirements, Toleration, decide
from airflow_dataops.core.placement.declaration import supercluster_from_dict
from airflow_dataops.core.placement.supercluster import Supercluster, Target

HOUR = 3600.0
BUCKET = 300.0
# name, nodes, cpu, memory GiB, gpus per node, gpu type, $/vCPU-h, $/GiB-h, $/GPU-h
CLUSTERS = [
    ("azure-main", 64, 16, 64, 0, None, 0.040, 0.0050, 0.0),
    ("aws-gpu", 16, 32, 128, 4, "nvidia-a100", 0.048, 0.0060, 2.90),
    ("onprem-a", 10, 16, 64, 0, None, 0.012, 0.0015, 0.0),
    ("gcp-l4", 6, 16, 64, 4, "nvidia-l4", 0.034, 0.0042, 0.70),
    ("aws-spot", 24, 8, 32, 0, None, 0.018, 0.0024, 0.0),
    ("onprem-b", 8, 32, 128, 0, None, 0.014, 0.0018, 0.0),
]
OUTAGES = {"onprem-a": (6 * HOUR, 9 * HOUR), "aws-spot": (14 * HOUR, 16 * HOUR)}
# share, cpu, memory GiB, gpus, run time range in minutes
SHAPES = [
    (0.60, 0.5, 2, 0, (10, 40)),
    (0.25, 2, 8, 0, (30, 90)),
    (0.10, 8, 32, 0, (60, 180)),
    (0.05, 4, 16, 1, (30, 120)),
]


@dataclass(frozen=True)
class Pod:
    """One pod of the simulated day."""

    index: int
    arrival: float
    cpu: float
    memory: float
    gpus: int
    duration: float


def workload(count: int, seed: int = 11) -> list[Pod]:
    """A seeded day: arrivals denser in working hours, shapes drawn by share."""
    rng = random.Random(seed)
    pods = []
    for index in range(count):
        while True:  # rejection sampling of a daytime peak (twice as dense 08:00-18:00)
            arrival = rng.uniform(0, 24 * HOUR)
            if rng.random() < (1.0 if 8 * HOUR <= arrival < 18 * HOUR else 0.5):
                break
        _, cpu, memory, gpus, (low, high) = rng.choices(SHAPES, weights=[shape[0] for shape in SHAPES])[0]
        pods.append(Pod(index, arrival, cpu, memory, gpus, rng.uniform(low, high) * 60))
    return sorted(pods, key=lambda p: p.arrival)


def declaration() -> Supercluster:
    """The six clusters as a real supercluster declaration."""
    targets = []
    for name, nodes, cpu, memory, gpus, gpu_type, vcpu, gib, gpu_price in CLUSTERS:
        pool: dict[str, object] = {
            "name": "pool",
            "nodes": nodes,
            "allocatable": {"cpu": str(cpu), "memory": f"{memory}Gi"},
        }
        if gpus:  # GPU nodes carry the taint GKE and EKS put on them; only GPU pods tolerate it
            pool["gpus"] = {"type": gpu_type, "count": gpus}
            pool["taints"] = [{"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"}]
        prices = {"vcpu_hour": vcpu, "gib_hour": gib, "gpu_hour": {gpu_type: gpu_price} if gpu_type else {}}
        targets.append({"name": name, "conn_id": f"k8s_{name}", "node_pools": [pool], "prices": prices})
    return supercluster_from_dict({"targets": targets})


@dataclass
class Cluster:
    """Per-node free capacity of one simulated cluster."""

    target: Target
    free: list[list[float]] = field(default_factory=list)
    up: bool = True

    def __post_init__(self) -> None:
        pool = self.target.node_pools[0]
        self.free = [[pool.cpu, pool.memory_gib, float(pool.gpus)] for _ in range(pool.nodes)]

    def node_for(self, pod: Pod) -> int | None:
        """The first node with room for ``pod`` (the scheduler's part)."""
        for i, (cpu, memory, gpus) in enumerate(self.free):
            if cpu >= pod.cpu and memory >= pod.memory and gpus >= pod.gpus:
                return i
        return None

    def live(self) -> LiveState:
        """What the probe would report: reachability and the roomiest node's free capacity."""
        if not self.up:
            return LiveState(reachable=False, error="outage")
        best = max(self.free, key=lambda f: (f[0], f[1]))
        return LiveState(free={"pool": (best[0], best[1], int(max(f[2] for f in self.free)))})


Chooser = Callable[[Pod, dict[str, Cluster]], str | None]


def tolerated(target: Target, pod: Pod) -> bool:
    """The scheduler's taint rule: GPU pools take only GPU pods (which tolerate their taint)."""
    return pod.gpus > 0 or not target.node_pools[0].taints


def fits(cluster: Cluster, pod: Pod) -> bool:
    """Whether ``pod`` can start on ``cluster`` now."""
    return cluster.up and tolerated(cluster.target, pod) and cluster.node_for(pod) is not None


def supercluster_policy(supercluster: Supercluster) -> Chooser:
    """The product: the real placement core ranks, the first ranked cluster with a fitting node wins."""

    def choose(pod: Pod, clusters: dict[str, Cluster]) -> str | None:
        tolerations = (Toleration(key="nvidia.com/gpu", operator="Exists"),) if pod.gpus else ()
        req = Requirements(cpu=pod.cpu, memory_gib=pod.memory, gpus=pod.gpus, tolerations=tolerations)
        live = {name: c.live() for name, c in clusters.items()}
        try:
            ranked = decide(supercluster, req, live=live, policies=("cheapest", "fastest_start")).candidates
        except PlacementError:
            return None
        # The best node of a pool may fit while no single node does for GPUs+CPU together.
        return next((c.target for c in ranked if fits(clusters[c.target], pod)), None)

    return choose


def first_fit(pod: Pod, clusters: dict[str, Cluster]) -> str | None:
    """The first cluster in declaration order with room."""
    return next((name for name, c in clusters.items() if fits(c, pod)), None)


def round_robin() -> Chooser:
    """The next cluster in rotation with room."""
    turn = [0]

    def choose(pod: Pod, clusters: dict[str, Cluster]) -> str | None:
        names = list(clusters)
        for step in range(len(names)):
            name = names[(turn[0] + step) % len(names)]
            if fits(clusters[name], pod):
                turn[0] = (turn[0] + step + 1) % len(names)
                return name
        return None

    return choose


@dataclass
class Outcome:
    """What one policy achieved over the day."""

    cost: float = 0.0
    wasted: float = 0.0
    makespan: float = 0.0
    waited: int = 0
    lost: int = 0
    seconds: float = 0.0


def simulate(pods: list[Pod], supercluster: Supercluster, choose: Chooser) -> Outcome:  # noqa: C901
    """Run the day through ``choose``; events: arrival, finish, outage start/end."""
    started = time.perf_counter()
    clusters = {t.name: Cluster(t) for t in supercluster.targets}
    hourly = {
        (t.name, p.index): t.prices.hourly(p.cpu, p.memory, p.gpus, t.node_pools[0].gpu_type)
        for t in supercluster.targets
        for p in pods
    }
    events: list[tuple[float, int, str, object]] = []
    sequence = 0

    def push(at: float, kind: str, payload: object) -> None:
        nonlocal sequence
        sequence += 1
        heapq.heappush(events, (at, sequence, kind, payload))

    for pod in pods:
        push(pod.arrival, "arrive", pod)
    for name, (down, back) in OUTAGES.items():
        push(down, "down", name)
        push(back, "up", name)
    running: dict[int, tuple[str, int, float, int]] = {}  # pod -> cluster, node, start, generation
    generation: dict[int, int] = {}
    queue: list[Pod] = []
    outcome = Outcome()
    waited: set[int] = set()

    def place(pod: Pod, now: float) -> bool:
        name = choose(pod, clusters)
        if name is None:
            return False
        cluster = clusters[name]
        node = cluster.node_for(pod)
        assert node is not None
        for i, amount in enumerate((pod.cpu, pod.memory, pod.gpus)):
            cluster.free[node][i] -= amount
        generation[pod.index] = generation.get(pod.index, 0) + 1
        running[pod.index] = (name, node, now, generation[pod.index])
        push(now + pod.duration, "finish", (pod, generation[pod.index]))
        return True

    def release(pod: Pod, now: float) -> float:
        name, node, start, _ = running.pop(pod.index)
        for i, amount in enumerate((pod.cpu, pod.memory, pod.gpus)):
            clusters[name].free[node][i] += amount
        return hourly[(name, pod.index)] * (now - start) / HOUR

    def drain(now: float) -> None:
        still = []
        for pod in queue:
            if not place(pod, now):
                still.append(pod)
        queue[:] = still

    by_index = {p.index: p for p in pods}
    while events:
        now, _, kind, payload = heapq.heappop(events)
        if kind == "arrive":
            assert isinstance(payload, Pod)
            if not place(payload, now):
                queue.append(payload)
                waited.add(payload.index)
        elif kind == "finish":
            pod, gen = cast(tuple[Pod, int], payload)
            if running.get(pod.index, ("", 0, 0.0, -1))[3] != gen:
                continue  # this run was lost to an outage; the pod runs again elsewhere
            outcome.cost += release(pod, now)
            outcome.makespan = max(outcome.makespan, now)
            drain(now)
        elif kind == "down":
            clusters[str(payload)].up = False
            victims = [by_index[i] for i, r in running.items() if r[0] == payload]
            for pod in victims:
                spent = release(pod, now)
                outcome.cost += spent
                outcome.wasted += spent
                if not place(pod, now):
                    queue.append(pod)
                    waited.add(pod.index)
        else:
            clusters[str(payload)].up = True
            drain(now)
    outcome.lost = len(queue) + len(running)
    outcome.waited = len(waited)
    outcome.seconds = time.perf_counter() - started
    return outcome


@dataclass
class _Columns:
    """The LP's columns, one per (pod, target it fits): cost, owning pod, capacity-row entries."""

    costs: list[float] = field(default_factory=list)
    pod: list[int] = field(default_factory=list)
    rows: list[int] = field(default_factory=list)
    cols: list[int] = field(default_factory=list)
    vals: list[float] = field(default_factory=list)


def _lp_columns(pods: list[Pod], targets: list[Target], buckets: int) -> _Columns:
    """Build every column of the relaxation."""
    c = _Columns()
    for i, pod in enumerate(pods):
        end = pod.arrival + pod.duration
        for t, target in enumerate(targets):
            if target.node_pools[0].gpus < pod.gpus or not tolerated(target, pod):
                continue
            col = len(c.costs)
            hourly = target.prices.hourly(pod.cpu, pod.memory, pod.gpus, target.node_pools[0].gpu_type)
            c.costs.append(hourly * pod.duration / HOUR)
            c.pod.append(i)
            for b in range(int(pod.arrival // BUCKET), min(int(end // BUCKET) + 1, buckets)):
                share = (min(end, (b + 1) * BUCKET) - max(pod.arrival, b * BUCKET)) / BUCKET  # time-averaged use
                for r, amount in enumerate((pod.cpu, pod.memory, pod.gpus)):
                    if amount and share > 0:
                        c.rows.append((t * buckets + b) * 3 + r)
                        c.cols.append(col)
                        c.vals.append(amount * share)
    return c


def _lp_capacity(targets: list[Target], buckets: int) -> list[float]:
    """Capacity per (target, bucket, resource) row; zero while the target is down."""
    capacity: list[float] = []
    for target in targets:
        pool = target.node_pools[0]
        down, back = OUTAGES.get(target.name, (0.0, 0.0))
        for b in range(buckets):
            up_share = 1.0 - max(0.0, min((b + 1) * BUCKET, back) - max(b * BUCKET, down)) / BUCKET
            capacity.extend(per_node * pool.nodes * up_share for per_node in (pool.cpu, pool.memory_gib, pool.gpus))
    return capacity


def lower_bound(pods: list[Pod], supercluster: Supercluster) -> float:
    """LP relaxation (scipy HiGHS): fractional placement at arrival time under bucketed capacity."""
    import numpy as np
    from scipy.optimize import linprog
    from scipy.sparse import coo_matrix

    targets = list(supercluster.targets)
    buckets = int(max(p.arrival + p.duration for p in pods) // BUCKET) + 1
    c = _lp_columns(pods, targets, buckets)
    capacity = _lp_capacity(targets, buckets)
    n = len(c.costs)
    a_eq = coo_matrix((np.ones(n), (c.pod, np.arange(n))), shape=(len(pods), n))  # each pod's shares sum to 1
    a_ub = coo_matrix((c.vals, (c.rows, c.cols)), shape=(len(capacity), n))
    result = linprog(
        np.array(c.costs),
        A_ub=a_ub.tocsr(),
        b_ub=np.array(capacity),
        A_eq=a_eq.tocsr(),
        b_eq=np.ones(len(pods)),
        method="highs-ipm",
    )
    if result.status != 0:
        raise RuntimeError(f"the LP relaxation did not solve: {result.message}")
    return float(result.fun)


def measure(count: int) -> str:
    """Simulate the day for each policy, solve the bound, and render the result block."""
    import platform

    pods = workload(count)
    supercluster = declaration()
    outcomes = {
        "supercluster (cheapest, fastest_start)": simulate(pods, supercluster, supercluster_policy(supercluster)),
        "first-fit in list order": simulate(pods, supercluster, first_fit),
        "round-robin": simulate(pods, supercluster, round_robin()),
    }
    started = time.perf_counter()
    bound = lower_bound(pods, supercluster)
    lp_seconds = time.perf_counter() - started
    lines = [
        f"Measured {time.strftime('%Y-%m-%d')} on {platform.machine()}, Python {platform.python_version()}: "
        f"{count} pods ({sum(p.gpus > 0 for p in pods)} with a GPU), {len(CLUSTERS)} clusters, "
        f"outages {', '.join(f'{n} {a / HOUR:g}-{b / HOUR:g}h' for n, (a, b) in OUTAGES.items())}.",
        "",
        "| policy | total cost | vs. LP bound | of which lost to outages | makespan | pods that waited "
        "| pods lost | run time |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, o in outcomes.items():
        lines.append(
            f"| {name} | ${o.cost:,.2f} | {o.cost / bound - 1:+.1%} | ${o.wasted:,.2f} | {o.makespan / HOUR:.2f} h "
            f"| {o.waited} | {o.lost} | {o.seconds:.1f} s |"
        )
    lines.append(f"| LP lower bound (HiGHS) | ${bound:,.2f} | 0% | - | - | - | - | {lp_seconds:.1f} s |")
    return "\n".join(lines)


if __name__ == "__main__":
    run_benchmark("placement_quality", __doc__, measure, default_rounds=10_000)
