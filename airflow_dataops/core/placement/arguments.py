"""The placement arguments of a routed task, validated once when the DAG is parsed.

One frozen dataclass rather than a dozen operator attributes: an Airflow operator's
``__setattr__`` does bookkeeping on every attribute, and a DAG of hundreds of pod
tasks pays it per task at every parse. Cheap to import (no other core module).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from airflow_dataops.core.placement.names import POLICIES

if TYPE_CHECKING:
    from airflow_dataops.core.placement.decision import Requirements


@dataclass(frozen=True)
class PlacementArgs:
    """Where a task may run and how to rank the candidates (see SuperclusterPodOperator)."""

    supercluster: str | None = None
    policies: tuple[str, ...] = ("cheapest",)
    preference: tuple[str, ...] = ()
    gpu_type: str | None = None
    features: tuple[str, ...] = ()
    allowed_regions: tuple[str, ...] = ()
    max_hourly_price: float | None = None
    team: str | None = None
    max_failovers: int = 2
    probe_timeout: float = 5.0

    def __post_init__(self) -> None:
        unknown = [p for p in self.policies if p not in POLICIES]
        if unknown or not self.policies:
            raise ValueError(f"unknown placement policy {unknown or '(none)'}; use any of: {', '.join(POLICIES)}")
        if self.max_failovers < 0:
            raise ValueError(f"max_failovers must be >= 0, got {self.max_failovers}")
        if self.probe_timeout <= 0:
            raise ValueError(f"probe_timeout must be positive, got {self.probe_timeout}")
        if self.max_hourly_price is not None and self.max_hourly_price < 0:
            raise ValueError(f"max_hourly_price must be >= 0, got {self.max_hourly_price}")

    def requirements(
        self, pod: Mapping[str, Any], *, reads: Iterable[str] = (), dag_tags: Iterable[str] = ()
    ) -> Requirements:
        """What the task needs: ``pod`` sized as the scheduler would, plus these placement extras.

        The one place the operator (at run time) and ``airflow dataops check`` (before
        deployment) turn a task's arguments into requirements, so the two cannot drift.
        """
        from airflow_dataops.core.placement.requirements import requirements_from_pod

        return requirements_from_pod(
            pod,
            gpu_type=self.gpu_type,
            features=self.features,
            reads=reads,
            allowed_regions=self.allowed_regions,
            max_hourly_price=self.max_hourly_price,
            team=self.team,
            dag_tags=dag_tags,
        )
