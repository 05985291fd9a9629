from __future__ import annotations

from typing import Any

from airflow_dataops.core.placement.declaration import supercluster_from_dict
from airflow_dataops.core.placement.disruption import disruption_of
from airflow_dataops.core.placement.live_state import live_state_from_cluster, pool_of

TARGET = supercluster_from_dict(
    {
        "targets": [
            {
                "name": "gke",
                "conn_id": "k",
                "node_pools": [
                    {"name": "cpu", "allocatable": {"cpu": "8", "memory": "32Gi"}},
                    {"name": "gpu", "allocatable": {"cpu": "16", "memory": "64Gi"}, "labels": {"accel": "l4"}},
                ],
            }
        ]
    }
).targets[0]


def node(name: str, labels: dict[str, str], cpu: str = "8", memory: str = "32Gi", **extra: Any) -> dict[str, Any]:
    return {
        "metadata": {"name": name, "labels": labels},
        "spec": extra,
        "status": {"allocatable": {"cpu": cpu, "memory": memory, "nvidia.com/gpu": "2"}},
    }


def pod(node_name: str | None, phase: str, cpu: str, memory: str = "1Gi", target: str | None = None) -> dict[str, Any]:
    labels = {"airflow-dataops/target": target} if target else {}
    spec: dict[str, Any] = {"containers": [{"resources": {"requests": {"cpu": cpu, "memory": memory}}}]}
    if node_name:
        spec["nodeName"] = node_name
    return {"metadata": {"labels": labels}, "spec": spec, "status": {"phase": phase}}


def test_nodes_map_to_pools_by_pool_label_then_by_declared_labels() -> None:
    assert pool_of(node("a", {"cloud.google.com/gke-nodepool": "cpu"}), TARGET.node_pools).name == "cpu"  # type: ignore[union-attr]
    assert pool_of(node("b", {"accel": "l4"}), TARGET.node_pools).name == "gpu"  # type: ignore[union-attr]
    assert pool_of(node("c", {"other": "x"}), TARGET.node_pools) is None


def test_free_capacity_is_allocatable_minus_running_requests_on_the_roomiest_node() -> None:
    nodes = [
        node("n1", {"airflow-dataops/pool": "cpu"}),
        node("n2", {"airflow-dataops/pool": "cpu"}),
        node("cordoned", {"airflow-dataops/pool": "cpu"}, unschedulable=True),
    ]
    pods = [
        pod("n1", "Running", "6", target="gke"),
        pod("n2", "Running", "3", "4Gi"),
        pod("n2", "Succeeded", "4"),  # finished pods free their requests
        pod(None, "Pending", "1"),
    ]
    state = live_state_from_cluster(TARGET, nodes, pods)
    assert state.free == {"cpu": (5.0, 28.0, 2)}
    assert state.pending_pods == 1
    assert state.running_tasks == 1


def test_a_node_reporting_garbage_is_not_counted() -> None:
    bad = node("n1", {"airflow-dataops/pool": "cpu"}, cpu="lots")
    assert live_state_from_cluster(TARGET, [bad], []).free == {}


def test_disruptions_are_told_apart_from_task_failures() -> None:
    assert disruption_of({"phase": "Failed", "reason": "Evicted", "message": "low memory"}) == "Evicted: low memory"
    preempted = {"conditions": [{"type": "DisruptionTarget", "status": "True", "reason": "PreemptionByScheduler"}]}
    assert disruption_of(preempted) == "PreemptionByScheduler: pod disrupted"
    assert disruption_of({"phase": "Failed", "reason": "Error"}) is None
    assert disruption_of(None) is None
