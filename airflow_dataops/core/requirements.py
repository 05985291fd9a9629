"""Turning a pod spec into placement :class:`~airflow_dataops.core.placement.Requirements`.

The pod is taken as the Kubernetes API's plain-data form (what
``ApiClient().sanitize_for_serialization(pod)`` returns: camelCase keys), so this stays
free of the kubernetes client's model classes. Like the scheduler, we size a pod by
the sum of its containers' requests, or the largest init container if that is bigger;
a limit stands in for a missing request, as Kubernetes defaults it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from airflow_dataops.core.placement import Requirements, Toleration
from airflow_dataops.core.supercluster import SuperclusterConfigError, parse_cpu, parse_memory_gib

GPU_RESOURCES = ("nvidia.com/gpu", "amd.com/gpu")


class PodSpecError(ValueError):
    """The pod spec cannot be sized; the message names the container and field."""


def _container_needs(container: Mapping[str, Any]) -> tuple[float, float, int]:
    name = container.get("name", "?")
    resources = container.get("resources") or {}
    requests, limits = resources.get("requests") or {}, resources.get("limits") or {}

    def amount(resource: str) -> object:
        return requests.get(resource, limits.get(resource, 0))

    try:
        cpu = parse_cpu(amount("cpu"), field_name=f"containers[{name}].resources.cpu")
        memory = parse_memory_gib(amount("memory"), field_name=f"containers[{name}].resources.memory")
    except SuperclusterConfigError as error:
        raise PodSpecError(str(error).replace("the supercluster, ", "the pod spec, ")) from None
    gpus = 0
    for resource in GPU_RESOURCES:
        value = amount(resource)
        if not str(value).isdigit():
            raise PodSpecError(
                f"the pod spec, field 'containers[{name}].resources.{resource}': {value!r} is not a whole number. "
                "Fix: request GPUs as an integer count"
            )
        gpus += int(str(value))
    return cpu, memory, gpus


def requirements_from_pod(
    pod: Mapping[str, Any],
    *,
    gpu_type: str | None = None,
    features: Iterable[str] = (),
    reads: Iterable[str] = (),
    allowed_regions: Iterable[str] = (),
    max_hourly_price: float | None = None,
    team: str | None = None,
    dag_tags: Iterable[str] = (),
) -> Requirements:
    """Size ``pod`` and add the placement extras a DAG author gave the task."""
    spec = pod.get("spec") or {}
    containers = spec.get("containers") or []
    if not containers:
        raise PodSpecError("the pod spec has no container. Fix: give the task an image and a command")
    needs = [_container_needs(c) for c in containers]
    init = [_container_needs(c) for c in spec.get("initContainers") or []]
    cpu, memory, gpus = (sum(n[i] for n in needs) for i in range(3))
    if init:
        cpu, memory, gpus = (
            max(cpu, *(n[0] for n in init)),
            max(memory, *(n[1] for n in init)),
            max(gpus, *(n[2] for n in init)),
        )
    tolerations = tuple(
        Toleration(
            key=t.get("key") or "",
            operator=t.get("operator") or "Equal",
            value=t.get("value") or "",
            effect=t.get("effect") or "",
        )
        for t in spec.get("tolerations") or []
    )
    return Requirements(
        cpu=float(cpu),
        memory_gib=float(memory),
        gpus=int(gpus),
        gpu_type=gpu_type,
        features=frozenset(features),
        node_selector=dict(spec.get("nodeSelector") or {}),
        tolerations=tolerations,
        reads=tuple(reads),
        allowed_regions=tuple(allowed_regions),
        max_hourly_price=max_hourly_price,
        team=team,
        dag_tags=frozenset(dag_tags),
    )
