"""What the provider measures and tells, as plain data: metric names, name segments, alert levels, events.

Pure (no Airflow): :mod:`airflow_dataops.observability` sends these through Airflow's
own ``Stats`` (StatsD, Datadog or OpenTelemetry, per ``[metrics]``) and hands the
events to notifiers. Every metric is listed in :data:`METRICS`, which
``docs/metrics.md`` documents and a test keeps the two in step.

A metric's name ends with the one dimension that matters most (the target, the
backend), so that plain StatsD, which drops tags, still tells them apart; the same
facts and more travel as tags, for OpenTelemetry, Datadog and StatsD with
``statsd_influxdb_enabled``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

PREFIX = "dataops"

PLACEMENT_DECISIONS = f"{PREFIX}.placement.decisions"
FAILOVERS = f"{PREFIX}.failovers"
PROBE_LATENCY = f"{PREFIX}.probe.latency"
QUANTUM_SPEND = f"{PREFIX}.quantum.spend_microusd"
QUANTUM_COST = f"{PREFIX}.quantum.cost_usd"
BUDGET_REFUSALS = f"{PREFIX}.quantum.budget_refusals"
LINEAGE_BACKLOG = f"{PREFIX}.lineage.backlog"

#: The key under which a notifier finds the event in the context it renders and receives.
EVENT_KEY = "dataops_event"

#: Default ``[dataops] lineage_backlog_threshold``: records waiting before the first notification.
DEFAULT_BACKLOG_THRESHOLD = 100


@dataclass(frozen=True)
class Metric:
    """One metric as the docs describe it."""

    name: str
    kind: str  # counter, gauge or timer
    suffix: str  # what the last name segment is
    tags: tuple[str, ...]
    when: str


METRICS: tuple[Metric, ...] = (
    Metric(
        PLACEMENT_DECISIONS,
        "counter",
        "target",
        ("target", "pool", "dag_id", "task_id"),
        "a SuperclusterPodOperator task chose a target (once per decision, not on reattach)",
    ),
    Metric(
        FAILOVERS,
        "counter",
        "target",
        ("target", "to_target", "fault", "dag_id", "task_id"),
        "a target failed a pod and the task moves on (`to_target` is `none` when no candidate is left)",
    ),
    Metric(
        PROBE_LATENCY,
        "timer",
        "target",
        ("target", "outcome"),
        "a target's API was probed for live capacity (not when the state came from the 10 s cache); "
        "`outcome` is `reachable` or `unreachable`",
    ),
    Metric(
        QUANTUM_SPEND,
        "counter",
        "backend",
        ("backend", "dag_id", "task_id"),
        "a QuantumTaskOperator result is published: the actual cost in micro-dollars (1,000,000 = $1)",
    ),
    Metric(
        QUANTUM_COST,
        "gauge",
        "backend",
        ("backend", "dag_id", "task_id"),
        "a QuantumTaskOperator result is published: the actual cost of that task in dollars",
    ),
    Metric(
        BUDGET_REFUSALS,
        "counter",
        "budget",
        ("budget", "backend", "dag_id", "task_id"),
        "a QuantumTaskOperator refused to submit because the estimate is over `max_cost` or the run's "
        "remaining `run_budget` (`budget` says which)",
    ),
    Metric(
        LINEAGE_BACKLOG,
        "gauge",
        "-",
        (),
        "the lineage listener spooled a record: how many records wait in the spool, the new one included",
    ),
)

_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")
_UNSAFE_TAG = re.compile(r"[^A-Za-z0-9_.-]")


def _short(value: object) -> str:
    text = str(value) if value is not None else ""
    if text.startswith("arn:") and "device/" in text:
        text = text.split("device/", 1)[1]
    return text


def segment(value: object) -> str:
    """``value`` as one segment of a metric name (StatsD splits names at dots).

    A Braket device ARN keeps what follows ``device/``
    (``arn:aws:braket:::device/qpu/ionq/Forte-1`` -> ``qpu_ionq_Forte-1``); any other
    character outside letters, digits, ``_`` and ``-`` becomes ``_``.

    >>> segment("arn:aws:braket:us-east-1::device/qpu/ionq/Forte-1")
    'qpu_ionq_Forte-1'
    >>> segment("eu.cluster")
    'eu_cluster'
    """
    return _UNSAFE.sub("_", _short(value)) or "unknown"


def tag_value(value: object) -> str:
    """``value`` as a tag value every backend accepts (StatsD with InfluxDB tags puts them in the name).

    Like :func:`segment`, but dots stay (a task id inside a task group has one).

    >>> tag_value("arn:aws:braket:::device/quantum-simulator/amazon/sv1")
    'quantum-simulator_amazon_sv1'
    >>> tag_value("group.task")
    'group.task'
    """
    return _UNSAFE_TAG.sub("_", _short(value)) or "unknown"


def named(metric: str, dimension: object) -> str:
    """The full name of ``metric`` for one value of its dimension, e.g. ``dataops.failovers.cheap``."""
    return f"{metric}.{segment(dimension)}"


def microdollars(amount: float) -> int:
    """A cost as whole micro-dollars: StatsD counters count integers, and cents would lose cheap runs."""
    return max(0, round(amount * 1_000_000))


def fault_kind(fault: str) -> str:
    """A short tag for a failover's fault, from the operator's description of it."""
    kinds = (
        ("pod not running in time", "not_running_in_time"),
        ("Kubernetes API unreachable", "unreachable"),
        ("pod disappeared", "vanished"),
        ("Kubernetes API error", "api_error"),
        ("pod disrupted", "disrupted"),
    )
    return next((kind for start, kind in kinds if fault.startswith(start)), "other")


def backlog_level(waiting: int, threshold: int) -> int | None:
    """The alert level ``waiting`` records have reached: the threshold, then each doubling of it.

    ``None`` below the threshold. One notification per level and episode keeps a growing
    spool from sending one message per task.

    >>> [backlog_level(n, 100) for n in (99, 100, 199, 200, 450)]
    [None, 100, 100, 200, 400]
    """
    if threshold < 1:
        raise ValueError(f"the lineage backlog threshold must be at least 1, got {threshold}")
    if waiting < threshold:
        return None
    level = threshold
    while level * 2 <= waiting:
        level *= 2
    return level


def failover_event(
    *, dag_id: str, task_id: str, failed: str, fault: str, next_target: str | None, tried: list[str], attempt: int
) -> dict[str, Any]:
    """What a notifier learns of a failover."""
    where = f"moving to {next_target}" if next_target else "no target left, the task fails"
    return {
        "event": "failover",
        "dag_id": dag_id,
        "task_id": task_id,
        "failed_target": failed,
        "next_target": next_target,
        "fault": fault,
        "fault_kind": fault_kind(fault),
        "targets_tried": tried,
        "attempt": attempt,
        "summary": f"{dag_id}.{task_id}: target {failed} failed the pod ({fault}); {where}",
    }


def budget_refusal_event(
    *, dag_id: str, task_id: str, budget: str, backend: str, estimate: float, limit: float, detail: str
) -> dict[str, Any]:
    """What a notifier learns of a budget refusal (``budget``: ``max_cost`` or ``run_budget``)."""
    return {
        "event": "budget_refusal",
        "dag_id": dag_id,
        "task_id": task_id,
        "budget": budget,
        "backend": backend,
        "estimate": round(estimate, 6),
        "limit": round(limit, 6),
        "detail": detail,
        "summary": (
            f"{dag_id}.{task_id}: refused before submission, estimated ${estimate:.4f} on {backend} "
            f"is over {budget} (${limit:.4f} available)"
        ),
    }


def backlog_event(*, waiting: int, threshold: int, level: int, spool: str, problem: str | None) -> dict[str, Any]:
    """What a notifier learns when the lineage spool reaches a new alert level."""
    return {
        "event": "lineage_backlog",
        "waiting": waiting,
        "threshold": threshold,
        "level": level,
        "spool": spool,
        "problem": problem,
        "summary": f"{waiting} lineage records wait in {spool} (threshold {threshold})"
        + (f": {problem}" if problem else ""),
    }
