"""Sizing a pod spec for placement, as the Kubernetes scheduler sizes it."""

from __future__ import annotations

from typing import Any

import pytest

from airflow_dataops.core.placement.requirements import PodSpecError, requirements_from_pod


def _pod(*containers: dict[str, Any], init: list[dict[str, Any]] | None = None, **spec: Any) -> dict[str, Any]:
    return {"spec": {"containers": list(containers), "initContainers": init or [], **spec}}


def _container(
    name: str, requests: dict[str, Any] | None = None, limits: dict[str, Any] | None = None
) -> dict[str, Any]:
    return {"name": name, "resources": {"requests": requests or {}, "limits": limits or {}}}


def test_requests_are_summed_over_containers() -> None:
    req = requirements_from_pod(
        _pod(
            _container("main", {"cpu": "1500m", "memory": "2Gi"}),
            _container("xcom-sidecar", {"cpu": "100m", "memory": "128Mi"}),
        )
    )
    assert req.cpu == pytest.approx(1.6)
    assert req.memory_gib == pytest.approx(2.125)
    assert req.gpus == 0


def test_limits_stand_in_for_missing_requests_and_gpus_count() -> None:
    req = requirements_from_pod(
        _pod(_container("main", limits={"cpu": "2", "memory": "1Gi", "nvidia.com/gpu": 1})), gpu_type="nvidia-l4"
    )
    assert (req.cpu, req.memory_gib, req.gpus, req.gpu_type) == (2.0, 1.0, 1, "nvidia-l4")


def test_a_bigger_init_container_sizes_the_pod() -> None:
    req = requirements_from_pod(
        _pod(_container("main", {"cpu": "1"}), init=[_container("fetch", {"cpu": "3", "memory": "1Gi"})])
    )
    assert (req.cpu, req.memory_gib) == (3.0, 1.0)


def test_selectors_tolerations_and_extras_are_carried() -> None:
    req = requirements_from_pod(
        _pod(
            _container("main"),
            nodeSelector={"pool": "gpu"},
            tolerations=[{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}],
        ),
        reads=["s3://lake/x"],
        allowed_regions=["eu"],
        max_hourly_price=1.5,
        team="ml",
        dag_tags=["showcase"],
        features=["tpu"],
    )
    assert req.node_selector == {"pool": "gpu"}
    assert req.tolerations[0].tolerates("nvidia.com/gpu", "anything", "NoSchedule")
    assert (req.reads, req.allowed_regions, req.max_hourly_price, req.team) == (("s3://lake/x",), ("eu",), 1.5, "ml")
    assert req.dag_tags == frozenset({"showcase"})
    assert req.features == frozenset({"tpu"})


@pytest.mark.parametrize(
    ("pod", "message"),
    [
        (_pod(_container("main", {"memory": "2 GB"})), "field 'containers[main].resources.memory': '2 GB' is not"),
        (_pod(_container("main", {"cpu": "lots"})), "field 'containers[main].resources.cpu'"),
        (_pod(_container("main", {"nvidia.com/gpu": "0.5"})), "nvidia.com/gpu': 0.5 is not a whole number"),
        (_pod(_container("main", {"nvidia.com/gpu": "one"})), "nvidia.com/gpu': 'one' is not a Kubernetes quantity"),
        ({"spec": {"containers": []}}, "field 'spec.containers': there is no container"),
    ],
)
def test_malformed_specs_are_named(pod: dict[str, Any], message: str) -> None:
    with pytest.raises(PodSpecError, match=r"the pod spec") as caught:
        requirements_from_pod(pod)
    assert message in str(caught.value)
    assert "Fix:" in str(caught.value)
