"""A target's live state from what its Kubernetes API lists: nodes and the pods on them.

Pure: it takes the ``NodeList`` and ``PodList`` items in their API (camelCase dict) form
and computes, per declared node pool, the free capacity of its roomiest node, the
way the scheduler sees it: allocatable minus the requests of the pods bound to the node
that have not finished. The adapter that fetches the lists lives in
:mod:`airflow_dataops.hooks.supercluster`.

A node belongs to a declared pool when its pool label names the pool (the labels of
GKE, EKS, AKS and ``airflow-dataops/pool``) or, failing that, when it carries every
label the pool declares.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from airflow_dataops.core.placement.decision import LiveState
from airflow_dataops.core.placement.names import TARGET_LABEL
from airflow_dataops.core.placement.supercluster import NodePool, QuantityError, Target, parse_cpu, parse_memory_gib

POOL_LABELS = (
    "airflow-dataops/pool",
    "cloud.google.com/gke-nodepool",
    "eks.amazonaws.com/nodegroup",
    "kubernetes.azure.com/agentpool",
    "agentpool",
)
GPU_RESOURCES = ("nvidia.com/gpu", "amd.com/gpu")


def pool_of(node: Mapping[str, Any], pools: Iterable[NodePool]) -> NodePool | None:
    """The declared pool ``node`` belongs to, if any."""
    labels = (node.get("metadata") or {}).get("labels") or {}
    pools = list(pools)
    for key in POOL_LABELS:
        if key in labels:
            named = [p for p in pools if p.name == labels[key]]
            if named:
                return named[0]
    matching = [p for p in pools if p.labels and all(labels.get(k) == v for k, v in p.labels.items())]
    return matching[0] if matching else None


def _amounts(resources: Mapping[str, Any]) -> tuple[float, float, int]:
    gpus = sum(int(parse_cpu(resources[key])) for key in GPU_RESOURCES if key in resources)
    return (
        parse_cpu(resources.get("cpu", 0)),
        parse_memory_gib(resources.get("memory", 0)),
        gpus,
    )


def _pod_requests(pod: Mapping[str, Any]) -> tuple[float, float, int]:
    total = [0.0, 0.0, 0]
    for container in (pod.get("spec") or {}).get("containers") or []:
        resources = container.get("resources") or {}
        asked = {**(resources.get("limits") or {}), **(resources.get("requests") or {})}
        for i, amount in enumerate(_amounts(asked)):
            total[i] += amount
    return total[0], total[1], int(total[2])


def _usage(target: Target, pods: Iterable[Mapping[str, Any]]) -> tuple[dict[str, list[float]], int, int]:
    """Requests bound per node, pods waiting for a node, and pods this provider placed on ``target``."""
    used: dict[str, list[float]] = {}
    pending = ours = 0
    for pod in pods:
        phase = (pod.get("status") or {}).get("phase")
        if phase not in ("Pending", "Running"):
            continue
        node = (pod.get("spec") or {}).get("nodeName")
        pending += phase == "Pending" and not node
        ours += ((pod.get("metadata") or {}).get("labels") or {}).get(TARGET_LABEL) == target.name
        if node:
            totals = used.setdefault(node, [0.0, 0.0, 0.0])
            for i, amount in enumerate(_pod_requests(pod)):
                totals[i] += amount
    return used, pending, ours


def _schedulable(node: Mapping[str, Any]) -> bool:
    taints = (node.get("spec") or {}).get("taints") or []
    return not any(t.get("key") == "node.kubernetes.io/unschedulable" for t in taints) and not (
        node.get("spec") or {}
    ).get("unschedulable")


def live_state_from_cluster(
    target: Target, nodes: Iterable[Mapping[str, Any]], pods: Iterable[Mapping[str, Any]]
) -> LiveState:
    """Free capacity per pool, pending pods and this provider's running tasks on ``target``."""
    used, pending, ours = _usage(target, pods)
    free: dict[str, tuple[float, float, int]] = {}
    for node in nodes:
        pool = pool_of(node, target.node_pools)
        if pool is None or not _schedulable(node):
            continue
        try:
            cpu, mem, gpus = _amounts((node.get("status") or {}).get("allocatable") or {})
        except QuantityError:
            continue  # a node reporting garbage is not capacity we can count on
        u = used.get((node.get("metadata") or {}).get("name", ""), [0.0, 0.0, 0.0])
        here = (round(cpu - u[0], 3), round(mem - u[1], 3), int(gpus - u[2]))
        if pool.name not in free or here[:2] > free[pool.name][:2]:
            free[pool.name] = here
    return LiveState(reachable=True, free=free, pending_pods=pending, running_tasks=ours)
