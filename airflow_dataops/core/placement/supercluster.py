"""The supercluster declaration: which execution targets exist and what they offer.

A supercluster is declared in a YAML file that lives in the DAG bundle
(``supercluster.yaml`` beside the DAGs), so that CI validates it with the DAGs and its
versions travel with them. Credentials never go in it: each Kubernetes target names an
Airflow connection of the cncf ``kubernetes`` type, resolved at run time.

Every mistake is reported as a :class:`SuperclusterConfigError` naming the target, the
field and the fix, before anything is submitted. A sketch of the format (the docs page
"Supercluster declaration" has the reference)::

    version: 1
    targets:
      - name: onprem
        kind: kubernetes
        conn_id: k8s_onprem
        provider: onprem
        region: eu-west-3
        concurrency: 20
        prices: {vcpu_hour: 0.02, gib_hour: 0.003, gpu_hour: {nvidia-a100: 2.5}}
        node_pools:
          - name: gpu
            nodes: 2
            allocatable: {cpu: "32", memory: 128Gi}
            gpus: {type: nvidia-a100, count: 4}
            labels: {pool: gpu}
            taints: [{key: nvidia.com/gpu, value: "true", effect: NoSchedule}]
        data_local: ["s3://lake/customers/"]
        entitled: {teams: [analytics], dag_tags: [showcase]}
        overrides: {namespace: jobs, env: {REGION: eu-west-3}}
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from airflow_dataops.core.errors import InvalidInputError

KINDS = ("kubernetes", "local")
MARKETS = ("on_demand", "spot")


class SuperclusterConfigError(InvalidInputError):
    """A supercluster declaration is invalid; the message names target, field and fix."""

    def __init__(self, target: str | None, field_name: str, problem: str, fix: str) -> None:
        super().__init__(f"target '{target}'" if target else "the supercluster", field_name, problem, fix)
        self.target = target


class QuantityError(ValueError):
    """A value is not a Kubernetes quantity; callers turn it into their own error with the field."""

    def __init__(self, problem: str, fix: str) -> None:
        super().__init__(f"{problem}. Fix: {fix}")
        self.problem = problem
        self.fix = fix


def parse_cpu(value: object) -> float:
    """Parse a Kubernetes CPU quantity (``"500m"``, ``2``, ``"1.5"``) into cores."""
    return float(_parse_quantity(value, example='"500m" or "2"'))


def parse_memory_gib(value: object) -> float:
    """Parse a Kubernetes memory quantity (``"512Mi"``, ``"2G"``, ``1073741824``) into GiB."""
    return float(_parse_quantity(value, example='"512Mi" or "4Gi"') / Decimal(2**30))


def _parse_quantity(value: object, example: str) -> Decimal:
    # The kubernetes client (a dependency of the cncf provider) owns the quantity
    # grammar; it is imported here, not at module level, to keep DAG parsing cheap.
    from kubernetes.utils import parse_quantity

    try:
        quantity = parse_quantity(value)
    except (ValueError, TypeError, InvalidOperation) as error:
        raise QuantityError(f"{value!r} is not a Kubernetes quantity ({error})", f"write it like {example}") from None
    if quantity < 0:
        raise QuantityError(f"{value!r} is negative", "use a positive quantity")
    return Decimal(quantity)


@dataclass(frozen=True)
class Taint:
    """A node taint; a pod must tolerate it to land on the pool."""

    key: str
    value: str = ""
    effect: str = "NoSchedule"


@dataclass(frozen=True)
class NodePool:
    """A group of identical nodes of a target. ``allocatable`` is per node."""

    name: str
    nodes: int
    cpu: float
    memory_gib: float
    gpu_type: str | None = None
    gpus: int = 0
    labels: Mapping[str, str] = field(default_factory=dict)
    taints: tuple[Taint, ...] = ()
    features: frozenset[str] = frozenset()  # e.g. {"tpu", "quantum:braket"}


@dataclass(frozen=True)
class Prices:
    """What one hour of resources costs on a target, in dollars."""

    vcpu_hour: float = 0.0
    gib_hour: float = 0.0
    gpu_hour: Mapping[str, float] = field(default_factory=dict)
    market: str = "on_demand"

    def hourly(self, cpu: float, memory_gib: float, gpus: int = 0, gpu_type: str | None = None) -> float:
        """Price per hour of a pod with these requests."""
        gpu_rate = self.gpu_hour.get(gpu_type, 0.0) if gpu_type else 0.0
        return cpu * self.vcpu_hour + memory_gib * self.gib_hour + gpus * gpu_rate


@dataclass(frozen=True)
class Entitlement:
    """Who may use a target. Empty lists mean everyone."""

    teams: tuple[str, ...] = ()
    dag_tags: tuple[str, ...] = ()

    def allows(self, team: str | None, dag_tags: frozenset[str]) -> bool:
        """A task is entitled when its team or one of its DAG tags is listed (or nothing is)."""
        if not self.teams and not self.dag_tags:
            return True
        return (team is not None and team in self.teams) or bool(dag_tags & set(self.dag_tags))


@dataclass(frozen=True)
class Overrides:
    """Per-target settings applied to the pod so one task definition runs everywhere."""

    namespace: str | None = None
    service_account: str | None = None
    image_registry_mirror: str | None = None
    env: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Target:
    """One execution target of the supercluster: a cluster plus its placement facts."""

    name: str
    kind: str
    conn_id: str | None
    provider: str
    region: str
    node_pools: tuple[NodePool, ...]
    prices: Prices = field(default_factory=Prices)
    data_local: tuple[str, ...] = ()
    entitled: Entitlement = field(default_factory=Entitlement)
    concurrency: int | None = None
    overrides: Overrides = field(default_factory=Overrides)

    def holds_data(self, uri: str) -> bool:
        """Whether ``uri`` lives under one of the target's local data prefixes."""
        return any(uri.startswith(prefix) for prefix in self.data_local)


@dataclass(frozen=True)
class Supercluster:
    """The declared targets, in declaration order (the order "preference" policies use)."""

    targets: tuple[Target, ...]

    def target(self, name: str) -> Target:
        """The target called ``name``, or an error listing the declared ones."""
        for target in self.targets:
            if target.name == name:
                return target
        known = ", ".join(t.name for t in self.targets)
        raise SuperclusterConfigError(name, "name", "no such target is declared", f"use one of: {known}")
