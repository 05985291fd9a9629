"""Telling a disrupted pod from a pod whose own work failed.

Failover must move a task only when the cluster let it down (the node evicted or
preempted the pod, the node went away) and never when the task's own command failed:
re-running a failing job elsewhere would double its cost and hide the bug. Kubernetes
says which it was in the pod status: ``status.reason`` (``Evicted``, ``Preempting``,
``NodeLost``, ...) and, since 1.26, a ``DisruptionTarget`` condition.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

DISRUPTION_REASONS = frozenset(
    {
        "Evicted",
        "Preempting",
        "Preempted",
        "NodeLost",
        "NodeShutdown",
        "Shutdown",
        "Terminated",
        "DeletionByTaintManager",
        "UnexpectedAdmissionError",
        "OutOfcpu",
        "OutOfmemory",
    }
)


def disruption_of(status: Mapping[str, Any] | None) -> str | None:
    """Why the cluster took the pod away (``None`` when it did not)."""
    if not status:
        return None
    reason = status.get("reason")
    if reason in DISRUPTION_REASONS:
        message = status.get("message")
        return f"{reason}: {message}" if message else str(reason)
    for condition in status.get("conditions") or []:
        if condition.get("type") == "DisruptionTarget" and condition.get("status") == "True":
            return f"{condition.get('reason') or 'DisruptionTarget'}: {condition.get('message') or 'pod disrupted'}"
    return None
