"""The supercluster at a glance: targets, spend, placement decisions and quantum budgets, as plain data.

Pure (no Airflow imports): the UI adapter (:mod:`airflow_dataops.ui`) reads what tasks
recorded (XCom, task instances, the task state store) into :class:`TaskRun` values and
probes the targets; everything the page shows is computed here from those, so it can be
tested without a server and replayed from recorded values.

Where each number comes from:

- a pod's spend is the hourly price of the target it ran on (the ``hourly_price`` of
  that target's candidate in the ``placement`` XCom, which is what the declaration's
  prices make of the pod's requests) times the try's duration; after a failover the
  whole try is priced at the final target's rate (the time spent on earlier targets is
  not recorded separately);
- a quantum task's spend is its ``quantum_cost`` XCom, the actual cost the operator
  computed from the price table;
- a spend counts for the UTC day on which the task ended (running tasks: today).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from airflow_dataops.core.placement.decision import LiveState
from airflow_dataops.core.placement.supercluster import Supercluster, Target


@dataclass(frozen=True)
class TaskRun:
    """One task try as Airflow recorded it, with what this provider's operators left behind.

    :param placement: the ``placement`` XCom (``Decision.to_dict()``, or the reattach record).
    :param outcome: the ``placement_outcome`` XCom: ``ran_on`` and the ``failovers`` (target, fault).
    :param ran_on: the target the pod was last created on (task state store), when known.
    :param quantum_cost: the ``quantum_cost`` XCom: dollars actually spent.
    :param quantum_backend: the device the ``quantum_decision`` XCom chose.
    :param quantum_budget: the ``quantum_budget`` XCom: ``max_cost`` and ``run_budget``.
    """

    dag_id: str
    run_id: str
    task_id: str
    map_index: int = -1
    try_number: int = 1
    state: str | None = None
    start: datetime | None = None
    end: datetime | None = None
    placement: Mapping[str, Any] | None = None
    outcome: Mapping[str, Any] | None = None
    ran_on: str | None = None
    quantum_cost: float | None = None
    quantum_backend: str | None = None
    quantum_budget: Mapping[str, Any] | None = None

    def hours(self, now: datetime) -> float:
        """How long the try ran (or has been running), in hours."""
        if self.start is None:
            return 0.0
        return max(0.0, ((self.end or now) - self.start).total_seconds() / 3600)

    def day(self, now: datetime) -> str:
        """The UTC day its spend counts for (``YYYY-MM-DD``)."""
        return (self.end or now).date().isoformat()


@dataclass(frozen=True)
class Spend:
    """Dollars spent, split by what spent them."""

    pods: float = 0.0
    quantum: float = 0.0

    @property
    def total(self) -> float:
        """Pods and quantum together."""
        return self.pods + self.quantum

    def __add__(self, other: Spend) -> Spend:
        return Spend(self.pods + other.pods, self.quantum + other.quantum)

    def to_dict(self) -> dict[str, float]:
        """Plain data for JSON."""
        return {"pods": round(self.pods, 6), "quantum": round(self.quantum, 6), "total": round(self.total, 6)}


def final_target(run: TaskRun) -> str | None:
    """The target the pod ran on: the recorded outcome, the task state, else the decision's choice.

    ``None`` when the outcome says every target failed the pod.
    """
    if run.outcome is not None:
        return str(run.outcome["ran_on"]) if run.outcome.get("ran_on") else None
    if run.ran_on:
        return run.ran_on
    chosen = (run.placement or {}).get("chosen")
    return str(chosen) if chosen else None


def failovers(run: TaskRun) -> list[dict[str, str | None]]:
    """The targets given up on, in order, each with the fault (``None`` when only the order is known).

    From the ``placement_outcome`` XCom when the operator recorded it, else derived from
    where the pod ended (:func:`failover_path`).
    """
    if run.outcome is not None:
        return [{"target": str(f.get("target")), "fault": f.get("fault")} for f in run.outcome.get("failovers") or []]
    path = failover_path(run.placement or {}, run.ran_on)
    return [{"target": target, "fault": None} for target in path[:-1]]


def failover_path(placement: Mapping[str, Any], ran_on: str | None) -> list[str]:
    """The targets tried in order, when the pod ended elsewhere than first chosen (else ``[]``).

    The operator tries the decision's candidates in rank order, so a pod on the n-th
    candidate failed over n-1 times, through the candidates ranked before it.
    """
    order = [str(c.get("target")) for c in placement.get("candidates") or []]
    if not ran_on or ran_on not in order or order.index(ran_on) == 0:
        return []
    return order[: order.index(ran_on) + 1]


def pod_hourly_price(run: TaskRun) -> float | None:
    """The hourly price of the pod on the target it ran on, from the decision (``None``: not recorded)."""
    target = final_target(run)
    for candidate in (run.placement or {}).get("candidates") or []:
        if candidate.get("target") == target and isinstance(candidate.get("hourly_price"), int | float):
            return float(candidate["hourly_price"])
    return None


def spend_of(run: TaskRun, now: datetime) -> Spend:
    """What one task try spent (pods by price and duration, quantum tasks by their recorded cost)."""
    price = pod_hourly_price(run) if run.placement else None
    pods = price * run.hours(now) if price is not None else 0.0
    quantum = float(run.quantum_cost) if run.quantum_cost is not None else 0.0
    return Spend(pods, quantum)


def explain(placement: Mapping[str, Any]) -> str:
    """The decision as the task log showed it (the same lines as ``Decision.explain()``)."""
    if placement.get("reattached"):
        record = placement["reattached"]
        return f"reattached to pod {record.get('name')} (uid {record.get('uid')}) left running by a previous try"
    lines = [f"placement policies: {', '.join(str(p) for p in placement.get('policies') or [])}"]
    for rank, c in enumerate(placement.get("candidates") or [], start=1):
        scores = ", ".join(f"{k}={float(v):g}" for k, v in (c.get("scores") or {}).items())
        lines.append(
            f"  #{rank} {c.get('target')} (pool {c.get('pool')}): ${float(c.get('hourly_price') or 0):.4f}/h, "
            f"headroom {float(c.get('headroom') or 0):.0%}{', data-local' if c.get('data_local') else ''}; {scores}"
        )
    excluded = placement.get("excluded") or {}
    lines.extend(f"  excluded {name}: {reason}" for name, reason in sorted(excluded.items()))
    return "\n".join(lines)


@dataclass(frozen=True)
class DecisionRow:
    """One placement decision, for the list of recent ones."""

    run: TaskRun
    chosen: str
    ran_on: str | None
    failovers: list[dict[str, str | None]]
    explanation: str
    hourly_price: float | None
    spend: float

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON."""
        r = self.run
        return {
            "dag_id": r.dag_id,
            "run_id": r.run_id,
            "task_id": r.task_id,
            "map_index": r.map_index,
            "try_number": r.try_number,
            "state": r.state,
            "start": r.start.isoformat() if r.start else None,
            "end": r.end.isoformat() if r.end else None,
            "chosen": self.chosen,
            "ran_on": self.ran_on,
            "failovers": self.failovers,
            "explanation": self.explanation,
            "hourly_price": self.hourly_price,
            "spend": round(self.spend, 6),
        }


def recent_decisions(runs: Iterable[TaskRun], now: datetime, limit: int = 50) -> list[DecisionRow]:
    """The placement decisions of ``runs``, newest first, with explanations and failovers."""
    placed = [r for r in runs if r.placement]
    placed.sort(key=lambda r: (r.start or now, r.dag_id, r.run_id, r.task_id, r.map_index), reverse=True)
    rows = []
    for run in placed[:limit]:
        placement = run.placement or {}
        rows.append(
            DecisionRow(
                run=run,
                chosen=str(placement.get("chosen") or ""),
                ran_on=final_target(run),
                failovers=failovers(run),
                explanation=explain(placement),
                hourly_price=pod_hourly_price(run),
                spend=spend_of(run, now).pods,
            )
        )
    return rows


@dataclass(frozen=True)
class SpendSummary:
    """Spend today (UTC) and over the window, overall, per DAG and per target."""

    today: Spend
    window: Spend
    per_dag: dict[str, dict[str, Spend]]  # dag_id -> {"today": ..., "window": ...}
    per_target_today: dict[str, float]

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON."""
        return {
            "today": self.today.to_dict(),
            "window": self.window.to_dict(),
            "per_dag": {d: {k: s.to_dict() for k, s in v.items()} for d, v in sorted(self.per_dag.items())},
            "per_target_today": {t: round(v, 6) for t, v in sorted(self.per_target_today.items())},
        }


def summarise_spend(runs: Iterable[TaskRun], now: datetime) -> SpendSummary:
    """Add up what ``runs`` spent: today (UTC), over all of ``runs``, per DAG, and pods per target today."""
    today_key = now.date().isoformat()
    today, window = Spend(), Spend()
    per_dag: dict[str, dict[str, Spend]] = {}
    per_target: dict[str, float] = {}
    for run in runs:
        spent = spend_of(run, now)
        is_today = run.day(now) == today_key
        window += spent
        dag = per_dag.setdefault(run.dag_id, {"today": Spend(), "window": Spend()})
        dag["window"] += spent
        if is_today:
            today += spent
            dag["today"] += spent
            target = final_target(run) if run.placement else None
            if target:
                per_target[target] = per_target.get(target, 0.0) + spent.pods
    return SpendSummary(today, window, per_dag, per_target)


@dataclass(frozen=True)
class QuantumRunSpend:
    """What the quantum tasks of one DAG run spent, against the budgets they declared."""

    dag_id: str
    run_id: str
    spent: float
    run_budget: float | None
    tasks: list[dict[str, Any]] = field(default_factory=list)

    @property
    def over_budget(self) -> bool:
        """Whether the run spent more than its ``run_budget``."""
        return self.run_budget is not None and self.spent > self.run_budget + 1e-9

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON."""
        return {
            "dag_id": self.dag_id,
            "run_id": self.run_id,
            "spent": round(self.spent, 6),
            "run_budget": self.run_budget,
            "over_budget": self.over_budget,
            "tasks": self.tasks,
        }


def _budget(run: TaskRun, name: str) -> float | None:
    value = (run.quantum_budget or {}).get(name)
    return float(value) if isinstance(value, int | float) else None


def quantum_spend(runs: Iterable[TaskRun], limit: int = 50) -> list[QuantumRunSpend]:
    """Quantum spend per DAG run (newest first), each task's cost beside its ``max_cost``."""
    by_run: dict[tuple[str, str], list[TaskRun]] = {}
    latest: dict[tuple[str, str], datetime | None] = {}
    for run in runs:
        if run.quantum_cost is None and run.quantum_backend is None:
            continue
        key = (run.dag_id, run.run_id)
        by_run.setdefault(key, []).append(run)
        moments = [m for m in (latest.get(key), run.start) if m is not None]
        latest[key] = max(moments) if moments else None
    order = sorted(by_run, key=lambda k: (latest[k] is not None, latest[k] or datetime.min, k), reverse=True)
    result = []
    for dag_id, run_id in order[:limit]:
        tasks = sorted(by_run[(dag_id, run_id)], key=lambda r: (r.task_id, r.map_index))
        budgets = [b for b in (_budget(r, "run_budget") for r in tasks) if b is not None]
        result.append(
            QuantumRunSpend(
                dag_id=dag_id,
                run_id=run_id,
                spent=sum(float(r.quantum_cost or 0.0) for r in tasks),
                run_budget=min(budgets) if budgets else None,
                tasks=[
                    {
                        "task_id": r.task_id,
                        "map_index": r.map_index,
                        "backend": r.quantum_backend,
                        "cost": r.quantum_cost,
                        "max_cost": _budget(r, "max_cost"),
                    }
                    for r in tasks
                ],
            )
        )
    return result


@dataclass(frozen=True)
class TargetRow:
    """One target of the declaration with what the probe saw of it now."""

    target: Target
    health: str  # "reachable", "unreachable", "not probed"
    reason: str | None
    latency_ms: float | None
    pools: list[dict[str, Any]]
    running_tasks: int | None
    pending_pods: int | None
    load: float | None  # running tasks / concurrency
    spend_today: float

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON."""
        t = self.target
        return {
            "name": t.name,
            "kind": t.kind,
            "provider": t.provider,
            "region": t.region,
            "conn_id": t.conn_id,
            "concurrency": t.concurrency,
            "prices": {
                "vcpu_hour": t.prices.vcpu_hour,
                "gib_hour": t.prices.gib_hour,
                "gpu_hour": dict(t.prices.gpu_hour),
                "market": t.prices.market,
            },
            "health": self.health,
            "reason": self.reason,
            "latency_ms": self.latency_ms,
            "pools": self.pools,
            "running_tasks": self.running_tasks,
            "pending_pods": self.pending_pods,
            "load": self.load,
            "spend_today": round(self.spend_today, 6),
        }


def target_rows(
    supercluster: Supercluster, live: Mapping[str, LiveState], spend_today: Mapping[str, float]
) -> list[TargetRow]:
    """Every declared target, in declaration order, with its health, free capacity and load.

    A target missing from ``live`` was not probed (the ``local`` target: the worker
    itself); an unreachable one carries the probe's reason and no capacity.
    """
    rows = []
    for target in supercluster.targets:
        state = live.get(target.name)
        pools = []
        for pool in target.node_pools:
            free = state.free.get(pool.name) if state is not None and state.reachable else None
            pools.append(
                {
                    "name": pool.name,
                    "nodes": pool.nodes,
                    "allocatable": {"cpu": pool.cpu, "memory_gib": pool.memory_gib, "gpus": pool.gpus},
                    "gpu_type": pool.gpu_type,
                    "free": {"cpu": free[0], "memory_gib": free[1], "gpus": free[2]} if free else None,
                }
            )
        if state is None:
            health, reason, latency, running, pending = "not probed", None, None, None, None
        elif not state.reachable:
            health, reason, latency, running, pending = "unreachable", state.error, state.latency_ms, None, None
        else:
            health, reason = "reachable", None
            latency, running, pending = state.latency_ms, state.running_tasks, state.pending_pods
        load = running / target.concurrency if running is not None and target.concurrency else None
        rows.append(
            TargetRow(target, health, reason, latency, pools, running, pending, load, spend_today.get(target.name, 0.0))
        )
    return rows


def lineage_task_key(dag_id: str, run_id: str, task_id: str, map_index: int, try_number: int) -> str:
    """The ``airflow_dataops.key`` tag of a task try's MLflow run (as the lineage listener writes it)."""
    return f"ti:{dag_id}/{run_id}/{task_id}/{map_index}/{try_number}"


def mlflow_run_url(tracking_uri: str, experiment_id: str, run_id: str) -> str:
    """The MLflow UI page of a run."""
    return f"{tracking_uri.rstrip('/')}/#/experiments/{experiment_id}/runs/{run_id}"


def ordered_dags(per_dag: Mapping[str, Mapping[str, Spend]]) -> Sequence[str]:
    """DAG ids, most spent over the window first."""
    return sorted(per_dag, key=lambda d: (-per_dag[d]["window"].total, d))
