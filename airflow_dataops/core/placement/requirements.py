"""Turning a pod spec into placement :class:`~airflow_dataops.core.placement.decision.Requirements`.

The pod is taken as the Kubernetes API's plain-data form (what
``ApiClient().sanitize_for_serialization(pod)`` returns: camelCase keys), so this stays
free of the kubernetes client's model classes. Like the scheduler, we size a pod by
the sum of its containers' requests, or the largest init container if that is bigger;
a limit stands in for a missing request, as Kubernetes defaults it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from airflow_dataops.core.errors import InvalidInputError
from airflow_dataops.core.placement.decision import Requirements, Toleration
from airflow_dataops.core.placement.supercluster import QuantityError, parse_cpu, parse_memory_gib

GPU_RESOURCES = ("nvidia.com/gpu", "amd.com/gpu")


class PodSpecError(InvalidInputError):
    """The pod spec cannot be sized; the message names the field and the fix."""

    def __init__(self, field_name: str, problem: str, fix: str) -> None:
        super().__init__("the pod spec", field_name, problem, fix)


def _container_needs(container: Mapping[str, Any]) -> tuple[float, float, int]:
    """(cpu, memory GiB, gpus) of one container; a limit stands in for a missing request."""
    name = container.get("name", "?")
    resources = container.get("resources") or {}
    requests, limits = resources.get("requests") or {}, resources.get("limits") or {}

    def amount(parse: Callable[[object], float], resource: str) -> float:
        value = requests.get(resource, limits.get(resource, 0))
        try:
            return parse(value)
        except QuantityError as error:
            raise PodSpecError(f"containers[{name}].resources.{resource}", error.problem, error.fix) from None

    gpus = 0
    for resource in GPU_RESOURCES:
        count = amount(parse_cpu, resource)  # any plain quantity; GPUs must come out whole
        if count != int(count):
            raise PodSpecError(
                f"containers[{name}].resources.{resource}", f"{count:g} is not a whole number", "request whole GPUs"
            )
        gpus += int(count)
    return amount(parse_cpu, "cpu"), amount(parse_memory_gib, "memory"), gpus


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
        raise PodSpecError("spec.containers", "there is no container", "give the task an image and a command")
    needs = [_container_needs(c) for c in containers]
    init = [_container_needs(c) for c in spec.get("initContainers") or []]
    # Containers run together, init containers one at a time: the scheduler reserves
    # the larger of the two, per resource.
    running = [sum(column) for column in zip(*needs, strict=True)]
    largest_init = [max(column) for column in zip(*init, strict=True)] or [0.0, 0.0, 0]
    cpu, memory, gpus = (max(pair) for pair in zip(running, largest_init, strict=True))
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
