"""The placement core: feasibility, every exclusion reason, policies and their combination."""

from __future__ import annotations

from typing import Any

import pytest

from airflow_dataops.core.placement.decision import LiveState, PlacementError, Requirements, Toleration, decide
from airflow_dataops.core.placement.declaration import supercluster_from_dict
from airflow_dataops.core.placement.supercluster import Supercluster


def _target(name: str, vcpu: float, region: str = "eu", **extra: Any) -> dict[str, Any]:
    pools = extra.pop("node_pools", [{"name": "cpu", "nodes": 2, "allocatable": {"cpu": "8", "memory": "32Gi"}}])
    return {
        "name": name,
        "conn_id": f"k8s_{name}",
        "region": region,
        "prices": {"vcpu_hour": vcpu, "gib_hour": 0.001, "gpu_hour": {"nvidia-l4": 0.8}},
        "node_pools": pools,
        **extra,
    }


GPU_POOL = {
    "name": "gpu",
    "allocatable": {"cpu": "16", "memory": "64Gi"},
    "gpus": {"type": "nvidia-l4", "count": 2},
    "labels": {"accelerator": "l4"},
    "taints": [{"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"}],
}


@pytest.fixture
def cluster() -> Supercluster:
    return supercluster_from_dict(
        {
            "targets": [
                _target("onprem", 0.03, data_local=["s3://lake/"]),
                _target("eks", 0.05, region="us"),
                _target("gke", 0.02, entitled={"teams": ["ml"]}),
                _target("aks", 0.04, node_pools=[GPU_POOL], concurrency=2),
            ]
        }
    )


def test_cheapest_ranks_by_hourly_price(cluster: Supercluster) -> None:
    decision = decide(cluster, Requirements(cpu=2, memory_gib=4, team="analytics"))
    assert [c.target for c in decision.candidates] == ["onprem", "eks"]
    assert decision.excluded["gke"] == "not entitled (team analytics, tags -)"
    assert decision.excluded["aks"] == "pool gpu: taint nvidia.com/gpu=present:NoSchedule not tolerated"
    assert decision.chosen.hourly_price == pytest.approx(2 * 0.03 + 4 * 0.001)


def test_entitlement_by_team_or_dag_tag(cluster: Supercluster) -> None:
    assert decide(cluster, Requirements(cpu=1, team="ml")).chosen.target == "gke"
    assert "gke" in decide(cluster, Requirements(cpu=1, dag_tags=frozenset({"x"}))).excluded


def test_gpu_task_needs_the_gpu_pool_and_a_toleration(cluster: Supercluster) -> None:
    req = Requirements(cpu=4, memory_gib=16, gpus=1, gpu_type="nvidia-l4", team="ml")
    with pytest.raises(PlacementError) as caught:
        decide(cluster, req)
    assert "taint nvidia.com/gpu=present:NoSchedule not tolerated" in caught.value.excluded["aks"]
    assert "needs 1 x nvidia-l4, has 0 x none" in caught.value.excluded["onprem"]
    tolerant = Requirements(
        cpu=4,
        memory_gib=16,
        gpus=1,
        gpu_type="nvidia-l4",
        team="ml",
        tolerations=(Toleration(key="nvidia.com/gpu", operator="Exists"),),
    )
    decision = decide(cluster, tolerant)
    assert decision.chosen.target == "aks"
    assert decision.chosen.pool == "gpu"
    assert decision.chosen.hourly_price == pytest.approx(4 * 0.04 + 16 * 0.001 + 0.8)


def test_every_exclusion_reason_is_named(cluster: Supercluster) -> None:
    live = {
        "onprem": LiveState(reachable=False, error="connection refused"),
        "aks": LiveState(running_tasks=2),
        "eks": LiveState(free={"cpu": (0.5, 30.0, 0)}),
    }
    with pytest.raises(PlacementError) as caught:
        decide(cluster, Requirements(cpu=2, memory_gib=4, allowed_regions=("eu", "us")), live=live)
    excluded = caught.value.excluded
    assert excluded["onprem"] == "unreachable (connection refused)"
    assert excluded["aks"] == "at its concurrency limit (2/2)"
    assert "no free capacity now (0.5 CPU, 30 GiB, 0 GPU free)" in excluded["eks"]
    assert excluded["gke"].startswith("not entitled")
    message = str(caught.value)
    assert all(f"- {name}:" in message for name in ("onprem", "eks", "gke", "aks"))


def test_region_node_selector_size_and_price_limits(cluster: Supercluster) -> None:
    decision = decide(
        cluster,
        Requirements(
            cpu=1,
            allowed_regions=("eu",),
            node_selector={"accelerator": "l4"},
            tolerations=(Toleration(operator="Exists"),),
        ),
    )
    assert decision.chosen.target == "aks"
    assert decision.excluded["eks"] == "region us not in allowed regions ['eu']"
    assert "node selector accelerator=l4 does not match" in decision.excluded["onprem"]
    too_big = decide(cluster, Requirements(cpu=12, tolerations=(Toleration(operator="Exists"),)))
    assert "nodes too small (8 CPU, 32 GiB per node)" in too_big.excluded["onprem"]
    capped = decide(cluster, Requirements(cpu=4, max_hourly_price=0.15))
    assert [c.target for c in capped.candidates] == ["onprem"]
    assert "over the task's maximum $0.1500/h" in capped.excluded["eks"]


def test_policies_combine_in_order(cluster: Supercluster) -> None:
    req = Requirements(cpu=1, reads=("s3://lake/customers.parquet",), team="ml")
    assert decide(cluster, req, policies=["cheapest"]).chosen.target == "gke"
    assert decide(cluster, req, policies=["data_local", "cheapest"]).chosen.target == "onprem"
    assert decide(cluster, req, policies=["preference"], preference=["eks", "aks"]).chosen.target == "eks"
    assert decide(cluster, req, policies=["preference"]).chosen.target == "onprem"  # declaration order
    spread = decide(cluster, req, policies=["spread", "cheapest"], recent={"gke": 3, "onprem": 1})
    assert [c.target for c in spread.candidates] == ["eks", "onprem", "gke"]


def test_fastest_start_prefers_headroom(cluster: Supercluster) -> None:
    live = {"onprem": LiveState(free={"cpu": (1.5, 10.0, 0)}), "eks": LiveState(free={"cpu": (8.0, 32.0, 0)})}
    decision = decide(cluster, Requirements(cpu=1, team="ml"), live=live, policies=["fastest_start"])
    # eks (probed) and gke (declared) both keep 7 of 8 CPUs: the name breaks the tie.
    assert [c.target for c in decision.candidates] == ["eks", "gke", "onprem"]
    assert [c.headroom for c in decision.candidates] == [0.875, 0.875, 0.0625]


def test_deterministic_and_explained(cluster: Supercluster) -> None:
    req = Requirements(cpu=2, memory_gib=4)
    first, second = decide(cluster, req), decide(cluster, req)
    assert first == second
    text = first.explain()
    assert "#1 onprem (pool cpu): $0.0640/h, headroom 75%; cheapest=0.064" in text
    assert "excluded gke: not entitled" in text
    data = first.to_dict()
    assert data["chosen"] == "onprem"
    assert [c["target"] for c in data["candidates"]] == ["onprem", "eks"]  # type: ignore[attr-defined]


def test_ties_break_by_name() -> None:
    twins = supercluster_from_dict({"targets": [_target("b", 0.01), _target("a", 0.01)]})
    assert decide(twins, Requirements(cpu=1)).chosen.target == "a"


def test_unknown_policy_is_rejected(cluster: Supercluster) -> None:
    with pytest.raises(ValueError, match="unknown placement policy"):
        decide(cluster, Requirements(), policies=["random"])


def test_price_follows_the_chosen_pool_gpu_type() -> None:
    """With two GPU types on one target and no type asked, the price is that of the pool chosen."""
    mixed = supercluster_from_dict(
        {
            "targets": [
                {
                    "name": "mixed",
                    "conn_id": "k8s_mixed",
                    "prices": {"vcpu_hour": 0.01, "gpu_hour": {"nvidia-a100": 3.0, "nvidia-l4": 0.8}},
                    "node_pools": [
                        {
                            "name": "a100",
                            "allocatable": {"cpu": "64", "memory": "256Gi"},
                            "gpus": {"type": "nvidia-a100", "count": 8},
                        },
                        {
                            "name": "l4",
                            "allocatable": {"cpu": "8", "memory": "32Gi"},
                            "gpus": {"type": "nvidia-l4", "count": 1},
                        },
                    ],
                }
            ]
        }
    )
    chosen = decide(mixed, Requirements(cpu=2, gpus=1)).chosen
    assert chosen.pool == "l4", "the cheaper pool that fits is used"
    assert chosen.hourly_price == pytest.approx(2 * 0.01 + 0.8)
    gpu_heavy = decide(mixed, Requirements(cpu=2, gpus=2)).chosen
    assert gpu_heavy.pool == "a100"
    assert gpu_heavy.hourly_price == pytest.approx(2 * 0.01 + 2 * 3.0)
