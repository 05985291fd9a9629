"""Which failures of a pod run are the target's fault (fail over) and which are the task's (raise).

Two halves:

- **Classification** (:func:`fault_of`, :func:`fault_of_event`): by HTTP status and pod
  state, never by exception class name or message text. The kubernetes client raises
  ``ApiException`` subclasses (``NotFoundException``, ``ServiceException``, ...), all
  carrying ``.status``. The pure rule for pod statuses is
  :func:`airflow_dataops.core.placement.disruption.disruption_of`.
- **The breaker** (:class:`Breaker`, :func:`bounded`): the state the operator's bounded
  client keeps per target (``operators/kubernetes.py``, where the kubernetes client is
  already loaded). A target that stops answering is declared down once: from then on
  each call fails at once with :class:`TargetFault`, which the parent's retry loops do
  not retry, so a dead target costs one deadline instead of minutes of retries and
  tracebacks.

An exception raised while cleaning up replaces the one that caused it (Python's
``finally``), so the whole chain of causes and contexts is examined.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from urllib3.exceptions import HTTPError

from airflow_dataops.core.placement.disruption import disruption_of

if TYPE_CHECKING:
    from urllib3 import HTTPResponse

#: Container waiting reasons that mean the target cannot get the image (its registry, mirror
#: or pull secret): another target may well be able to.
IMAGE_PULL_REASONS = frozenset({"ErrImagePull", "ImagePullBackOff", "ErrImageNeverPull", "RegistryUnavailable"})


class TargetFault(Exception):
    """A call to a target failed because of the target (down, hanging, refusing): fail over.

    Deliberately neither an ``ApiException`` nor a urllib3 ``HTTPError``: the parent's
    retry decorators retry only those, and retrying a dead target is what made failover slow.
    """

    def __init__(self, fault: str) -> None:
        super().__init__(fault)
        self.fault = fault


# ----------------------------------------------------------------------------- classification


def status_fault(status: int, *, creating: bool = False) -> str | None:
    """The target-side fault an HTTP status means (``None``: the request itself is wrong).

    >>> status_fault(404)
    'pod vanished (the API answered 404 Not Found)'
    >>> status_fault(403, creating=True)
    'create refused (403 Forbidden: quota or policy)'
    >>> status_fault(422) is None
    True
    """
    if status >= 500:
        return f"{'create refused' if creating else 'API error'} ({status} server error)"
    if status == 404 and not creating:
        return "pod vanished (the API answered 404 Not Found)"
    if status == 403:
        return f"{'create refused' if creating else 'API refused'} (403 Forbidden: quota or policy)"
    if status == 401:
        return "API refused the credentials (401 Unauthorized)"
    if status == 409 and creating:
        return "create refused (409 Conflict)"
    return None


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


def pod_fault(status: Mapping[str, Any] | None) -> str | None:
    """The target-side fault a pod status shows: a disruption, or an image the target cannot pull."""
    disruption = disruption_of(status)
    if disruption:
        return f"pod disrupted: {disruption}"
    for container in (status or {}).get("containerStatuses") or []:
        waiting = (container.get("state") or {}).get("waiting") or {}
        if waiting.get("reason") in IMAGE_PULL_REASONS:
            return f"image cannot be pulled on this target ({waiting['reason']})"
    return None


def api_status(error: BaseException) -> int | None:
    """The HTTP status of a kubernetes client error (sync or asyncio client), else ``None``."""
    from kubernetes.client.exceptions import ApiException
    from kubernetes_asyncio.client.exceptions import ApiException as AsyncApiException

    if isinstance(error, ApiException | AsyncApiException) and isinstance(error.status, int):
        return error.status
    return None


def fault_of(error: BaseException, pod: Any) -> str | None:
    """The target-side fault behind ``error`` (``None``: the task itself failed, do not move it)."""
    from airflow.providers.cncf.kubernetes.utils.pod_manager import PodLaunchTimeoutException
    from airflow.sdk.exceptions import AirflowSkipException

    if isinstance(error, AirflowSkipException):
        return None
    for cause in _chain(error):
        if isinstance(cause, TargetFault):
            return cause.fault
        if isinstance(cause, PodLaunchTimeoutException):
            return f"pod not running in time: {cause}"
        if isinstance(cause, HTTPError | ConnectionError | TimeoutError):
            return f"Kubernetes API unreachable ({type(cause).__name__})"
        status = api_status(cause)
        if status is not None:
            fault = status_fault(status)
            if fault:
                return fault
    return pod_fault(_status_of(pod))


def fault_of_event(event: Mapping[str, Any], error: BaseException, pod: Any) -> str | None:
    """Like :func:`fault_of`, for a resumed deferral: a trigger ``timeout`` means never scheduled."""
    if event.get("status") == "timeout":
        if "execution_timeout" in str(event.get("message")):
            return None  # the task's own time is up: moving the pod would not give it more
        return pod_fault(_status_of(pod)) or f"pod not running in time: {event.get('message')}"
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
    if phase in ("Succeeded", "Failed") or pod_fault(_status_of(pod)):
        return None
    return pod


# ----------------------------------------------------------------------------- bounded calls


class Breaker:
    """A target's state for this try: answering, or down (and why), shared by its client and heartbeat."""

    def __init__(self, target: str, deadline: float) -> None:
        self.target = target
        self.deadline = deadline
        self.fault: str | None = None
        self._streams: weakref.WeakSet[HTTPResponse] = weakref.WeakSet()
        self._lock = threading.Lock()

    def trip(self, fault: str) -> None:
        """Declare the target down; unblock any log stream still waiting on it."""
        with self._lock:
            if self.fault is None:
                self.fault = fault
            streams = list(self._streams)
        for stream in streams:
            try:
                stream.shutdown()  # wakes a read blocked in another thread (urllib3 >= 2.3)
            except Exception:  # already closed
                continue

    def watch(self, stream: HTTPResponse) -> None:
        with self._lock:
            self._streams.add(stream)


def bounded(requested: Any, deadline: float, *, stream: bool) -> tuple[float, float]:
    """The caller's ``_request_timeout`` capped at ``deadline``; a stream keeps its own read timeout.

    A followed log stream is silent while the container is: its read timeout stays the
    caller's, and the :class:`Heartbeat` notices a hanging API instead.
    """
    if isinstance(requested, tuple) and len(requested) == 2:
        connect, read = requested
    elif isinstance(requested, int | float):
        connect = read = float(requested)
    else:
        connect = read = deadline
    connect = min(float(connect or deadline), deadline)
    read = float(read or deadline) if stream else min(float(read or deadline), deadline)
    return connect, read
