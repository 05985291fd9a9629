"""Metrics and notifications through Airflow's own machinery; neither ever fails or slows a task noticeably.

Metrics go through Airflow's ``Stats`` (``airflow.sdk.observability.stats``), so they
reach whatever ``[metrics]`` configures (StatsD, Datadog, OpenTelemetry) with Airflow's
own prefix, allow and block lists; with metrics off they cost a no-op call. The names
and what they mean live in :mod:`airflow_dataops.core.metrics`.

Notifications use Airflow's notifier convention: a task takes callables, typically
``BaseNotifier`` instances such as ``SlackNotifier`` or ``SmtpNotifier``
(``on_failover_callback=``, ``on_budget_refusal_callback=``), alone or in a list, as
``on_failure_callback`` does. Each is called with the task's context plus the event
under ``dataops_event``, so a notifier's templates can say
``{{ dataops_event.summary }}``. A notifier that raises is logged as a warning and the
next one is still called.
"""

from __future__ import annotations

import copy
import datetime
import importlib
import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeAlias

from airflow_dataops.core import metrics

log = logging.getLogger(__name__)

#: One notifier (a ``BaseNotifier`` or any callable taking the context).
Notifier: TypeAlias = Callable[[Any], Any]
#: What ``on_failover_callback`` and ``on_budget_refusal_callback`` accept, like ``on_failure_callback``.
Notifiers: TypeAlias = Notifier | Sequence[Notifier] | None


def _stats() -> Any:
    from airflow.sdk.observability.stats import Stats

    return Stats


def _emit(method: str, metric: str, dimension: object, value: Any, tags: Mapping[str, object]) -> None:
    """Send one metric; a failure is logged, never raised."""
    name = metrics.named(metric, dimension) if dimension is not None else metric
    try:
        getattr(_stats(), method)(name, value, tags={k: metrics.tag_value(v) for k, v in tags.items()})
    except Exception as error:
        log.warning("Metric %s not emitted: %s", name, error)


def _task_tags(context: Mapping[str, Any]) -> dict[str, object]:
    ti = context.get("ti")
    return {"dag_id": getattr(ti, "dag_id", "-"), "task_id": getattr(ti, "task_id", "-")}


def notify(callbacks: Notifiers, context: Mapping[str, Any], event: dict[str, Any]) -> None:
    """Call every notifier with ``context`` plus ``dataops_event``; log, never raise, when one fails.

    A ``BaseNotifier`` renders its template fields in place, so each call gets a shallow
    copy: the same notifier can report a second failover of the same try.
    """
    if callbacks is None:
        return
    for callback in [callbacks] if callable(callbacks) else list(callbacks):
        try:
            once = copy.copy(callback) if hasattr(callback, "render_template_fields") else callback
            once({**context, metrics.EVENT_KEY: event})
        except Exception as error:
            log.warning(
                "The %s notifier %s failed (the task goes on): %s", event["event"], type(callback).__name__, error
            )


# ----------------------------------------------------------------------------- the provider's events


def placement_decided(context: Mapping[str, Any], target: str, pool: str) -> None:
    """A pod task chose ``target``."""
    _emit("incr", metrics.PLACEMENT_DECISIONS, target, 1, {"target": target, "pool": pool, **_task_tags(context)})


def failover(
    context: Mapping[str, Any],
    callbacks: Notifiers,
    *,
    failed: str,
    fault: str,
    next_target: str | None,
    tried: list[str],
    attempt: int,
) -> None:
    """``failed`` failed the pod: count it and tell the task's failover notifiers."""
    tags = _task_tags(context)
    kind = metrics.fault_kind(fault)
    moved = {"target": failed, "to_target": next_target or "none", "fault": kind, **tags}
    _emit("incr", metrics.FAILOVERS, failed, 1, moved)
    event = metrics.failover_event(
        dag_id=str(tags["dag_id"]),
        task_id=str(tags["task_id"]),
        failed=failed,
        fault=fault,
        next_target=next_target,
        tried=tried,
        attempt=attempt,
    )
    notify(callbacks, context, event)


def probed(target: str, latency_ms: float, reachable: bool) -> None:
    """A target's API was asked for its live state."""
    outcome = "reachable" if reachable else "unreachable"
    latency = datetime.timedelta(milliseconds=latency_ms)
    _emit("timing", metrics.PROBE_LATENCY, target, latency, {"target": target, "outcome": outcome})


def quantum_spent(context: Mapping[str, Any], backend: str, amount: float) -> None:
    """A quantum run finished and cost ``amount`` dollars."""
    tags = {"backend": backend, **_task_tags(context)}
    _emit("incr", metrics.QUANTUM_SPEND, backend, metrics.microdollars(amount), tags)
    _emit("gauge", metrics.QUANTUM_COST, backend, amount, tags)


def budget_refused(
    context: Mapping[str, Any],
    callbacks: Notifiers,
    *,
    budget: str,
    backend: str,
    estimate: float,
    limit: float,
    detail: str,
) -> None:
    """A quantum task was refused before submission: count it and tell the task's notifiers."""
    tags = _task_tags(context)
    _emit("incr", metrics.BUDGET_REFUSALS, budget, 1, {"budget": budget, "backend": backend, **tags})
    event = metrics.budget_refusal_event(
        dag_id=str(tags["dag_id"]),
        task_id=str(tags["task_id"]),
        budget=budget,
        backend=backend,
        estimate=estimate,
        limit=limit,
        detail=detail,
    )
    notify(callbacks, context, event)


def lineage_backlog(waiting: int) -> None:
    """The lineage spool holds ``waiting`` records."""
    _emit("gauge", metrics.LINEAGE_BACKLOG, None, waiting, {})


def load_notifiers(paths: str) -> list[Notifier]:
    """The notifier objects named in a setting: comma-separated ``package.module.attribute`` paths."""
    found: list[Notifier] = []
    for path in (p.strip() for p in paths.split(",")):
        if not path:
            continue
        module, _, attribute = path.replace(":", ".").rpartition(".")
        if not module:
            raise ValueError(f"{path!r} is not an import path (package.module.attribute)")
        loaded = getattr(importlib.import_module(module), attribute)
        found.extend([loaded] if callable(loaded) else list(loaded))
    return found
