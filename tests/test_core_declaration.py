"""The supercluster declaration: valid files load, every mistake names target, field and fix."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from airflow_dataops.core.placement.declaration import load_supercluster, supercluster_from_dict
from airflow_dataops.core.placement.supercluster import (
    QuantityError,
    SuperclusterConfigError,
    parse_cpu,
    parse_memory_gib,
)

VALID: dict[str, Any] = {
    "version": 1,
    "targets": [
        {
            "name": "onprem",
            "conn_id": "k8s_onprem",
            "provider": "onprem",
            "region": "eu-west-3",
            "concurrency": 5,
            "prices": {"vcpu_hour": 0.02, "gib_hour": 0.003, "gpu_hour": {"nvidia-a100": 2.5}, "market": "on_demand"},
            "node_pools": [
                {"name": "cpu", "nodes": 4, "allocatable": {"cpu": "16", "memory": "64Gi"}, "labels": {"pool": "cpu"}},
                {
                    "name": "gpu",
                    "allocatable": {"cpu": "32000m", "memory": "128Gi"},
                    "gpus": {"type": "nvidia-a100", "count": 4},
                    "taints": [{"key": "nvidia.com/gpu", "value": "true"}],
                },
            ],
            "data_local": ["s3://lake/customers/"],
            "entitled": {"teams": ["analytics"], "dag_tags": ["showcase"]},
            "overrides": {"namespace": "jobs", "env": {"REGION": "eu-west-3"}},
        },
        {"name": "laptop", "kind": "local", "node_pools": [{"allocatable": {"cpu": 2, "memory": "8Gi"}}]},
    ],
}


def test_valid_declaration_loads(tmp_path: Path) -> None:
    import yaml

    path = tmp_path / "supercluster.yaml"
    path.write_text(yaml.safe_dump(VALID))
    cluster = load_supercluster(path)
    onprem = cluster.target("onprem")
    assert onprem.node_pools[1].cpu == 32.0
    assert onprem.node_pools[1].memory_gib == 128.0
    assert onprem.node_pools[1].gpus == 4
    assert onprem.prices.hourly(2, 4, 1, "nvidia-a100") == pytest.approx(2 * 0.02 + 4 * 0.003 + 2.5)
    assert onprem.holds_data("s3://lake/customers/2026.parquet")
    assert cluster.target("laptop").kind == "local"


def test_shipped_declaration_is_valid() -> None:
    cluster = load_supercluster(Path(__file__).resolve().parent.parent / "dags" / "supercluster.yaml")
    assert "local" in [t.name for t in cluster.targets]


def _broken(path: list[Any], value: Any) -> dict[str, Any]:
    data = copy.deepcopy(VALID)
    node = data
    for key in path[:-1]:
        node = node[key]
    if value is KeyError:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return data


@pytest.mark.parametrize(
    ("path", "value", "expected"),
    [
        (["targets", 0, "conn_id"], KeyError, "target 'onprem', field 'conn_id'"),
        (["targets", 0, "kind"], "nomad", "target 'onprem', field 'kind': 'nomad' is unknown"),
        (["targets", 0, "concurrancy"], 3, "target 'onprem', field 'concurrancy': is not a known field"),
        (["targets", 0, "concurrency"], 0, "field 'concurrency': 0 is not a positive integer"),
        (["targets", 0, "node_pools", 0, "allocatable", "memory"], "64GB", "node_pools[0].allocatable.memory"),
        (["targets", 0, "node_pools", 0, "allocatable", "cpu"], "-2", "is negative"),
        (["targets", 0, "node_pools", 1, "gpus"], {"count": 2}, "GPUs need a type"),
        (["targets", 0, "prices", "vcpu_hour"], "cheap", "field 'prices.vcpu_hour': 'cheap' is not a price"),
        (["targets", 0, "prices", "market"], "reserved", "field 'prices.market'"),
        (["targets", 0, "entitled", "teams"], "analytics", "field 'entitled.teams'"),
        (["targets", 1, "name"], "onprem", "target 'onprem', field 'name': declared twice"),
        (["targets", 1, "name"], "Bad_Name", "'Bad_Name' is not a valid name"),
        (["targets"], [], "field 'targets': no target is declared"),
        (["version"], 2, "field 'version'"),
    ],
)
def test_mistakes_name_target_field_and_fix(path: list[Any], value: Any, expected: str) -> None:
    with pytest.raises(SuperclusterConfigError) as caught:
        supercluster_from_dict(_broken(path, value))
    assert expected in str(caught.value)
    assert "Fix: " in str(caught.value)


def test_missing_file_and_bad_yaml(tmp_path: Path) -> None:
    with pytest.raises(SuperclusterConfigError, match="does not exist"):
        load_supercluster(tmp_path / "nope.yaml")
    (tmp_path / "bad.yaml").write_text("targets: [\n")
    with pytest.raises(SuperclusterConfigError, match="not valid YAML"):
        load_supercluster(tmp_path / "bad.yaml")


def test_unknown_target_lists_the_declared_ones() -> None:
    with pytest.raises(SuperclusterConfigError, match="use one of: onprem, laptop"):
        supercluster_from_dict(VALID).target("gke")


def test_quantity_errors_carry_problem_and_fix() -> None:
    with pytest.raises(QuantityError) as caught:
        parse_memory_gib("64GB")
    assert caught.value.fix == 'write it like "512Mi" or "4Gi"'
    with pytest.raises(QuantityError, match="is negative"):
        parse_cpu("-1")


@pytest.mark.parametrize(("text", "cores"), [("500m", 0.5), ("2", 2.0), (3, 3.0), ("1.5", 1.5)])
def test_cpu_quantities(text: object, cores: float) -> None:
    assert parse_cpu(text) == cores


@pytest.mark.parametrize(("text", "gib"), [("512Mi", 0.5), ("4Gi", 4.0), ("1073741824", 1.0), ("2G", 2e9 / 2**30)])
def test_memory_quantities(text: object, gib: float) -> None:
    assert parse_memory_gib(text) == pytest.approx(gib)
