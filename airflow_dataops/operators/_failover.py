"""Which failures of a pod run are the cluster's fault (fail over) and which are the task's (raise).

The pure rule for pod statuses is :func:`airflow_dataops.core.placement.disruption.disruption_of`;
this module maps what KubernetesPodOperator raises onto it. An exception raised while
cleaning up replaces the one that caused it (Python's ``finally``), so the whole chain
of causes and contexts is examined.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from airflow_dataops.core.placement.disruption import disruption_of

UNREACHABLE = ("MaxRetryError", "NewConnectionError", "ProtocolError", "ConnectionError", "ClientConnectorError")


def _chain(error: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _status_of(pod: Any) -> Mapping[str, Any] | None:
    if pod is None or getattr(pod, "status", None) is None:
        return None
    from kubernetes.client import ApiClient

    plain: Mapping[str, Any] = ApiClient().sanitize_for_serialization(pod.status)
    return plain


def fault_of(error: BaseException, pod: Any) -> str | None:
    """The cluster-side fault behind ``error`` (``None``: the task itself failed, do not move it)."""
    from airflow.providers.cncf.kubernetes.utils.pod_manager import PodLaunchTimeoutException
    from airflow.sdk.exceptions import AirflowSkipException

    if isinstance(error, AirflowSkipException):
        return None
    for cause in _chain(error):
        if isinstance(cause, PodLaunchTimeoutException):
            return f"pod not running in time: {cause}"
        if any(base.__name__ in UNREACHABLE for base in type(cause).__mro__):
            return f"Kubernetes API unreachable: {type(cause).__name__}"
        status = getattr(cause, "status", None)
        if type(cause).__name__ == "ApiException" and status == 404:
            return "pod disappeared (deleted or preempted)"
        if type(cause).__name__ == "ApiException" and isinstance(status, int) and status >= 500:
            return f"Kubernetes API error {status}"
    disruption = disruption_of(_status_of(pod))
    return f"pod disrupted: {disruption}" if disruption else None


def fault_of_event(event: Mapping[str, Any], error: BaseException, pod: Any) -> str | None:
    """Like :func:`fault_of`, for a resumed deferral: a trigger ``timeout`` means never scheduled."""
    if event.get("status") == "timeout":
        if "execution_timeout" in str(event.get("message")):
            return None  # the task's own time is up: moving the pod would not give it more
        return f"pod not running in time: {event.get('message')}"
    return fault_of(error, pod)


def still_alive(client: Any, record: Mapping[str, Any]) -> Any:
    """The pod of ``record`` if it still exists with the same uid and has not finished, else ``None``."""
    try:
        pod = client.read_namespaced_pod(record["name"], record["namespace"])
    except Exception:  # gone, or its cluster is unreachable: either way, not something to reattach to
        return None
    if pod.metadata.uid != record.get("uid"):
        return None
    phase = pod.status.phase if pod.status else None
    if phase in ("Succeeded", "Failed") or disruption_of(_status_of(pod)):
        return None
    return pod
