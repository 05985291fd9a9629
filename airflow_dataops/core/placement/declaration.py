"""Reading a supercluster declaration (YAML or a dict) into validated dataclasses.

Validation happens here, once, so that the placement core can trust its input. Each
error names the target, the field and the fix (:class:`SuperclusterConfigError`).
Unknown fields are errors too: a typo such as ``concurrancy`` must not silently
drop a limit.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from airflow_dataops.core.fast_yaml import safe_load
from airflow_dataops.core.placement.supercluster import (
    KINDS,
    MARKETS,
    Entitlement,
    NodePool,
    Overrides,
    Prices,
    QuantityError,
    Supercluster,
    SuperclusterConfigError,
    Taint,
    Target,
    parse_cpu,
    parse_memory_gib,
)

_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")  # a DNS label, like Kubernetes names
_TARGET_FIELDS = {
    "name", "kind", "conn_id", "provider", "region", "node_pools", "prices",
    "data_local", "entitled", "concurrency", "overrides",
}  # fmt: skip
_POOL_FIELDS = {"name", "nodes", "allocatable", "gpus", "labels", "taints", "features"}


def load_supercluster(path: str | Path) -> Supercluster:
    """Load and validate the declaration file at ``path``; the first error is raised."""
    found, errors = load_supercluster_leniently(path)
    if errors:
        raise errors[0]
    assert found is not None  # no error means at least one valid target
    return found


def load_supercluster_leniently(path: str | Path) -> tuple[Supercluster | None, list[SuperclusterConfigError]]:
    """The valid targets of the declaration at ``path`` (None if none), and every error found in it.

    For the CI check: one invalid target does not hide the others' problems, nor the
    placement problems of tasks against the targets that are valid.
    """
    import yaml  # a dependency of Airflow itself; imported lazily like every parser here

    path = Path(path)
    if not path.is_file():
        missing = SuperclusterConfigError(
            None, "file", f"{path} does not exist", "create it in the DAG bundle or point the operator at it"
        )
        return None, [missing]
    try:
        data = safe_load(path.read_text())
    except yaml.YAMLError as error:
        return None, [SuperclusterConfigError(None, "file", f"{path} is not valid YAML ({error})", "fix the syntax")]
    return supercluster_and_errors(data)


def supercluster_from_dict(data: object) -> Supercluster:
    """Validate a declaration already parsed into plain data; the first error is raised."""
    found, errors = supercluster_and_errors(data)
    if errors:
        raise errors[0]
    assert found is not None  # no error means at least one valid target
    return found


def supercluster_and_errors(data: object) -> tuple[Supercluster | None, list[SuperclusterConfigError]]:
    """Every target of ``data`` that validates, and the error of each part that does not, in order."""
    if not isinstance(data, Mapping) or not isinstance(data.get("targets"), list) or not data["targets"]:
        return None, [
            SuperclusterConfigError(None, "targets", "no target is declared", "add a non-empty 'targets:' list")
        ]
    if data.get("version", 1) != 1:
        return None, [
            SuperclusterConfigError(None, "version", f"version {data['version']!r} is unknown", "use version: 1")
        ]
    targets: list[Target] = []
    errors: list[SuperclusterConfigError] = []
    for index, raw in enumerate(data["targets"]):
        try:
            target = _target(raw, index)
        except SuperclusterConfigError as error:
            errors.append(error)
            continue
        if target.name in {t.name for t in targets}:
            errors.append(
                SuperclusterConfigError(target.name, "name", "declared twice", "give every target a unique name")
            )
            continue
        targets.append(target)
    return (Supercluster(targets=tuple(targets)) if targets else None), errors


def _target(raw: object, index: int) -> Target:
    if not isinstance(raw, Mapping):
        raise SuperclusterConfigError(f"#{index + 1}", "targets", "is not a mapping", "write 'name: ...' etc.")
    name = raw.get("name")
    if not isinstance(name, str) or not _NAME.match(name):
        raise SuperclusterConfigError(
            f"#{index + 1}", "name", f"{name!r} is not a valid name", "use lower-case letters, digits and '-'"
        )
    _reject_unknown(name, "target", raw, _TARGET_FIELDS)
    kind = raw.get("kind", "kubernetes")
    if kind not in KINDS:
        raise SuperclusterConfigError(name, "kind", f"{kind!r} is unknown", f"use one of {', '.join(KINDS)}")
    conn_id = raw.get("conn_id")
    if kind == "kubernetes" and not (isinstance(conn_id, str) and conn_id):
        raise SuperclusterConfigError(
            name,
            "conn_id",
            "a kubernetes target needs an Airflow connection",
            "set conn_id to a 'kubernetes' connection id",
        )
    pools = raw.get("node_pools")
    if not isinstance(pools, list) or not pools:
        raise SuperclusterConfigError(name, "node_pools", "no node pool is declared", "declare at least one node pool")
    concurrency = raw.get("concurrency")
    if concurrency is not None and (not isinstance(concurrency, int) or concurrency < 1):
        raise SuperclusterConfigError(name, "concurrency", f"{concurrency!r} is not a positive integer", "set it >= 1")
    return Target(
        name=name,
        kind=kind,
        conn_id=conn_id,
        provider=str(raw.get("provider", "unknown")),
        region=str(raw.get("region", "unknown")),
        node_pools=tuple(_pool(name, pool, i) for i, pool in enumerate(pools)),
        prices=_prices(name, raw.get("prices", {})),
        data_local=tuple(_strings(name, "data_local", raw.get("data_local", []))),
        entitled=_entitlement(name, raw.get("entitled", {})),
        concurrency=concurrency,
        overrides=_overrides(name, raw.get("overrides", {})),
    )


def _pool(target: str, raw: object, index: int) -> NodePool:
    where = f"node_pools[{index}]"
    if not isinstance(raw, Mapping):
        raise SuperclusterConfigError(target, where, "is not a mapping", "write 'name:', 'nodes:', 'allocatable:'")
    _reject_unknown(target, where, raw, _POOL_FIELDS)
    nodes = raw.get("nodes", 1)
    if not isinstance(nodes, int) or nodes < 1:
        raise SuperclusterConfigError(target, f"{where}.nodes", f"{nodes!r} is not a positive integer", "set it >= 1")
    allocatable = raw.get("allocatable")
    if not isinstance(allocatable, Mapping) or "cpu" not in allocatable or "memory" not in allocatable:
        raise SuperclusterConfigError(
            target, f"{where}.allocatable", "cpu and memory per node are required", 'write {cpu: "8", memory: 32Gi}'
        )
    gpus = raw.get("gpus") or {}
    if not isinstance(gpus, Mapping) or ("count" in gpus and (not isinstance(gpus["count"], int) or gpus["count"] < 0)):
        raise SuperclusterConfigError(
            target, f"{where}.gpus", f"{gpus!r} is malformed", "write {type: nvidia-a100, count: 4}"
        )
    if gpus.get("count", 0) and not gpus.get("type"):
        raise SuperclusterConfigError(target, f"{where}.gpus.type", "GPUs need a type", "name it, e.g. nvidia-l4")
    taints = []
    for taint in raw.get("taints") or []:
        if not isinstance(taint, Mapping) or "key" not in taint:
            raise SuperclusterConfigError(
                target, f"{where}.taints", f"{taint!r} has no key", "write {key: ..., effect: NoSchedule}"
            )
        taints.append(
            Taint(
                key=str(taint["key"]), value=str(taint.get("value", "")), effect=str(taint.get("effect", "NoSchedule"))
            )
        )
    return NodePool(
        name=str(raw.get("name", f"pool-{index}")),
        nodes=nodes,
        cpu=_quantity(parse_cpu, allocatable["cpu"], target, f"{where}.allocatable.cpu"),
        memory_gib=_quantity(parse_memory_gib, allocatable["memory"], target, f"{where}.allocatable.memory"),
        gpu_type=gpus.get("type"),
        gpus=int(gpus.get("count", 0)),
        labels={str(k): str(v) for k, v in (raw.get("labels") or {}).items()},
        taints=tuple(taints),
        features=frozenset(_strings(target, f"{where}.features", raw.get("features", []))),
    )


def _quantity(parse: Callable[[object], float], value: object, target: str, field_name: str) -> float:
    try:
        return parse(value)
    except QuantityError as error:
        raise SuperclusterConfigError(target, field_name, error.problem, error.fix) from None


def _prices(target: str, raw: object) -> Prices:
    if not isinstance(raw, Mapping):
        raise SuperclusterConfigError(target, "prices", "is not a mapping", "write {vcpu_hour: 0.04, gib_hour: 0.005}")
    _reject_unknown(target, "prices", raw, {"vcpu_hour", "gib_hour", "gpu_hour", "market"})
    market = raw.get("market", "on_demand")
    if market not in MARKETS:
        raise SuperclusterConfigError(
            target, "prices.market", f"{market!r} is unknown", f"use one of {', '.join(MARKETS)}"
        )
    gpu_hour = raw.get("gpu_hour", {})
    if not isinstance(gpu_hour, Mapping):
        raise SuperclusterConfigError(target, "prices.gpu_hour", "is not a mapping", "write {nvidia-a100: 2.5}")
    return Prices(
        vcpu_hour=_price(target, "prices.vcpu_hour", raw.get("vcpu_hour", 0.0)),
        gib_hour=_price(target, "prices.gib_hour", raw.get("gib_hour", 0.0)),
        gpu_hour={str(k): _price(target, f"prices.gpu_hour.{k}", v) for k, v in gpu_hour.items()},
        market=market,
    )


def _price(target: str, field_name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise SuperclusterConfigError(
            target, field_name, f"{value!r} is not a price", "write dollars per hour, e.g. 0.04"
        )
    return float(value)


def _entitlement(target: str, raw: object) -> Entitlement:
    if not isinstance(raw, Mapping):
        raise SuperclusterConfigError(target, "entitled", "is not a mapping", "write {teams: [...], dag_tags: [...]}")
    _reject_unknown(target, "entitled", raw, {"teams", "dag_tags"})
    return Entitlement(
        teams=tuple(_strings(target, "entitled.teams", raw.get("teams", []))),
        dag_tags=tuple(_strings(target, "entitled.dag_tags", raw.get("dag_tags", []))),
    )


def _overrides(target: str, raw: object) -> Overrides:
    if not isinstance(raw, Mapping):
        raise SuperclusterConfigError(target, "overrides", "is not a mapping", "write {namespace: ..., env: {...}}")
    _reject_unknown(target, "overrides", raw, {"namespace", "service_account", "image_registry_mirror", "env"})
    env = raw.get("env", {})
    if not isinstance(env, Mapping):
        raise SuperclusterConfigError(target, "overrides.env", "is not a mapping", "write {NAME: value}")
    return Overrides(
        namespace=raw.get("namespace"),
        service_account=raw.get("service_account"),
        image_registry_mirror=raw.get("image_registry_mirror"),
        env={str(k): str(v) for k, v in env.items()},
    )


def _strings(target: str, field_name: str, raw: object) -> list[str]:
    if not isinstance(raw, list) or not all(isinstance(item, str) for item in raw):
        raise SuperclusterConfigError(target, field_name, f"{raw!r} is not a list of strings", "write a YAML list")
    return list(raw)


def _reject_unknown(target: str, where: str, raw: Mapping[str, Any], known: set[str]) -> None:
    unknown = sorted(set(raw) - known)
    if unknown:
        raise SuperclusterConfigError(
            target, f"{where}.{unknown[0]}" if where != "target" else unknown[0],
            "is not a known field", f"remove it or use one of: {', '.join(sorted(known))}",
        )  # fmt: skip
