"""The placement core: given a task's requirements and the targets, rank where it can run.

Pure and deterministic: the same requirements, declaration and live state always give
the same ranking, so a decision can be replayed and explained. Every target appears in
the result, either ranked with a score breakdown or excluded with the reason.

Policies are orderings; a DAG author combines them by listing them, and earlier ones
dominate (``["data_local", "cheapest"]``: data-local targets first, the cheapest of
those first). Target name breaks the last tie.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from airflow_dataops.core.placement.names import POLICIES
from airflow_dataops.core.placement.supercluster import NodePool, Supercluster, Target

__all__ = ["POLICIES", "Decision", "LiveState", "PlacementError", "Requirements", "Toleration", "decide"]


class PlacementError(ValueError):
    """No target can run the task; the message lists every target and why."""

    def __init__(self, message: str, excluded: Mapping[str, str]) -> None:
        super().__init__(message)
        self.excluded = dict(excluded)


@dataclass(frozen=True)
class Toleration:
    """A pod toleration (``operator`` is ``Equal`` or ``Exists``; empty key+Exists tolerates all)."""

    key: str = ""
    operator: str = "Equal"
    value: str = ""
    effect: str = ""

    def tolerates(self, key: str, value: str, effect: str) -> bool:
        """Kubernetes' matching rule for one taint."""
        if self.effect and self.effect != effect:
            return False
        if self.operator == "Exists":
            return not self.key or self.key == key
        return self.key == key and self.value == value


@dataclass(frozen=True)
class Requirements:
    """What a task needs, from its pod spec plus the placement extras."""

    cpu: float = 0.0
    memory_gib: float = 0.0
    gpus: int = 0
    gpu_type: str | None = None
    features: frozenset[str] = frozenset()
    node_selector: Mapping[str, str] = field(default_factory=dict)
    tolerations: tuple[Toleration, ...] = ()
    reads: tuple[str, ...] = ()
    allowed_regions: tuple[str, ...] = ()
    max_hourly_price: float | None = None
    team: str | None = None
    dag_tags: frozenset[str] = frozenset()


@dataclass(frozen=True)
class LiveState:
    """What a probe saw of a target. ``free`` maps pool name to (cpu, memory GiB, gpus) on the best node."""

    reachable: bool = True
    latency_ms: float = 0.0
    free: Mapping[str, tuple[float, float, int]] = field(default_factory=dict)
    pending_pods: int = 0
    running_tasks: int = 0
    error: str | None = None


@dataclass(frozen=True)
class Candidate:
    """A feasible target, the pool the pod fits in, and why it ranks where it does."""

    target: str
    pool: str
    hourly_price: float
    headroom: float
    data_local: bool
    scores: Mapping[str, float]


@dataclass(frozen=True)
class Decision:
    """The ranked candidates and, for every other target, why it was excluded."""

    candidates: tuple[Candidate, ...]
    excluded: Mapping[str, str]
    policies: tuple[str, ...]

    @property
    def chosen(self) -> Candidate:
        """The best candidate."""
        return self.candidates[0]

    def explain(self) -> str:
        """A human-readable account of the decision, for the task log."""
        lines = [f"placement policies: {', '.join(self.policies)}"]
        for rank, c in enumerate(self.candidates, start=1):
            scores = ", ".join(f"{k}={v:g}" for k, v in c.scores.items())
            lines.append(
                f"  #{rank} {c.target} (pool {c.pool}): ${c.hourly_price:.4f}/h, headroom {c.headroom:.0%}"
                f"{', data-local' if c.data_local else ''}; {scores}"
            )
        lines.extend(f"  excluded {name}: {reason}" for name, reason in sorted(self.excluded.items()))
        return "\n".join(lines)

    def to_dict(self) -> dict[str, object]:
        """Plain data for XCom and lineage."""
        return {
            "chosen": self.chosen.target,
            "policies": list(self.policies),
            "candidates": [
                {
                    "target": c.target,
                    "pool": c.pool,
                    "hourly_price": round(c.hourly_price, 6),
                    "headroom": c.headroom,
                    "data_local": c.data_local,
                    "scores": dict(c.scores),
                }
                for c in self.candidates
            ],
            "excluded": dict(self.excluded),
        }


def _pool_problem(pool: NodePool, req: Requirements, live: LiveState | None) -> str | None:
    """Why the pod cannot land on ``pool`` (``None`` when it can)."""
    if req.gpus and (pool.gpus < req.gpus or (req.gpu_type and pool.gpu_type != req.gpu_type)):
        return f"needs {req.gpus} x {req.gpu_type or 'any GPU'}, has {pool.gpus} x {pool.gpu_type or 'none'}"
    if not req.features <= pool.features:
        return f"lacks {', '.join(sorted(req.features - pool.features))}"
    mismatched = [k for k, v in req.node_selector.items() if pool.labels.get(k) != v]
    if mismatched:
        return f"node selector {', '.join(f'{k}={req.node_selector[k]}' for k in mismatched)} does not match"
    for taint in pool.taints:
        if taint.effect in ("NoSchedule", "NoExecute") and not any(
            t.tolerates(taint.key, taint.value, taint.effect) for t in req.tolerations
        ):
            return f"taint {taint.key}={taint.value}:{taint.effect} not tolerated"
    if pool.cpu < req.cpu or pool.memory_gib < req.memory_gib:
        return f"nodes too small ({pool.cpu:g} CPU, {pool.memory_gib:g} GiB per node)"
    if live is not None and pool.name in live.free:
        cpu, mem, gpus = live.free[pool.name]
        if cpu < req.cpu or mem < req.memory_gib or gpus < req.gpus:
            return f"no free capacity now ({cpu:g} CPU, {mem:g} GiB, {gpus} GPU free)"
    return None


def _headroom(pool: NodePool, req: Requirements, live: LiveState | None) -> float:
    """Fraction of the binding resource left after placing the pod (higher starts sooner)."""
    cpu, mem, _ = (
        live.free[pool.name] if live is not None and pool.name in live.free else (pool.cpu, pool.memory_gib, 0)
    )
    ratios = [
        (cpu - req.cpu) / pool.cpu if pool.cpu else 0.0,
        (mem - req.memory_gib) / pool.memory_gib if pool.memory_gib else 0.0,
    ]
    return round(min(ratios), 6)


def _best_pool(
    target: Target, usable: Sequence[NodePool], req: Requirements, live: LiveState | None
) -> tuple[NodePool, float, float]:
    """Within a target, the cheapest pool the pod fits in (then most headroom, then name).

    Pools of one target can differ in price only through their GPU type, so when a task
    asks for GPUs of no particular type it gets the cheapest type that fits.
    """
    options = [
        (target.prices.hourly(req.cpu, req.memory_gib, req.gpus, req.gpu_type or pool.gpu_type), pool)
        for pool in usable
    ]
    price, pool = min(options, key=lambda option: (option[0], -_headroom(option[1], req, live), option[1].name))
    return pool, price, _headroom(pool, req, live)


def _target_problem(target: Target, req: Requirements, live: LiveState | None) -> str | None:
    if not target.entitled.allows(req.team, req.dag_tags):
        return f"not entitled (team {req.team or '-'}, tags {sorted(req.dag_tags) or '-'})"
    if req.allowed_regions and target.region not in req.allowed_regions:
        return f"region {target.region} not in allowed regions {list(req.allowed_regions)}"
    if live is not None and not live.reachable:
        return f"unreachable ({live.error or 'no answer'})"
    if target.concurrency is not None and live is not None and live.running_tasks >= target.concurrency:
        return f"at its concurrency limit ({live.running_tasks}/{target.concurrency})"
    return None


def decide(
    supercluster: Supercluster,
    req: Requirements,
    live: Mapping[str, LiveState] | None = None,
    policies: Sequence[str] = ("cheapest",),
    preference: Sequence[str] = (),
    recent: Mapping[str, int] | None = None,
) -> Decision:
    """Rank the targets that can run ``req``; raise :class:`PlacementError` if none can.

    ``live`` is the probes' view per target (missing: trust the declaration);
    ``preference`` is the ordered target list of the ``preference`` policy (default:
    declaration order); ``recent`` counts recent placements per target for ``spread``.
    """
    unknown = [p for p in policies if p not in POLICIES]
    if unknown or not policies:
        raise ValueError(f"unknown placement policy {unknown or '(none)'}; use a list of: {', '.join(POLICIES)}")
    live, recent = live or {}, recent or {}
    order = list(preference) or [t.name for t in supercluster.targets]
    candidates: list[Candidate] = []
    excluded: dict[str, str] = {}
    for target in supercluster.targets:
        state = live.get(target.name)
        problem = _target_problem(target, req, state)
        if problem is None:
            fits = {pool.name: _pool_problem(pool, req, state) for pool in target.node_pools}
            usable = [pool for pool in target.node_pools if fits[pool.name] is None]
            if not usable:
                problem = "; ".join(f"pool {name}: {why}" for name, why in fits.items())
        if problem is None:
            pool, price, headroom = _best_pool(target, usable, req, state)
            if req.max_hourly_price is not None and price > req.max_hourly_price:
                problem = f"costs ${price:.4f}/h, over the task's maximum ${req.max_hourly_price:.4f}/h"
        if problem is not None:
            excluded[target.name] = problem
            continue
        local = bool(req.reads) and all(target.holds_data(uri) for uri in req.reads)
        scores = {
            "cheapest": round(price, 6),
            "fastest_start": -headroom + (state.pending_pods if state else 0) * 0.01,
            "data_local": 0.0 if local else 1.0,
            "preference": float(order.index(target.name)) if target.name in order else float(len(order)),
            "spread": float(recent.get(target.name, 0)),
        }
        candidates.append(Candidate(target.name, pool.name, price, headroom, local, {p: scores[p] for p in policies}))
    if not candidates:
        reasons = "\n".join(f"  - {name}: {why}" for name, why in excluded.items())
        raise PlacementError(f"no target of the supercluster can run this task:\n{reasons}", excluded)
    candidates.sort(key=lambda c: (*(c.scores[p] for p in policies), c.target))
    return Decision(candidates=tuple(candidates), excluded=excluded, policies=tuple(policies))
