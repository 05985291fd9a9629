"""Credentials of an Airflow ``mlflow`` connection on MLflow's own requests, without environment variables.

MLflow's client reads credentials only from ``MLFLOW_TRACKING_USERNAME``/``PASSWORD``/
``TOKEN``: setting those would hand them to every MLflow call of the process (and to any
child process). MLflow's public plugin seam for this is a *request header provider*,
registered through the ``mlflow.request_header_provider`` entry point: MLflow asks each
one, on every request, whether it is "in context" and which headers it adds.

This provider adds an ``Authorization`` header only inside :func:`authorization`, which
:class:`~airflow_dataops.hooks.mlflow.MlflowHook` wraps around each of its client calls.
A context variable holds the header, so another thread's (or the task's own) MLflow
calls never carry it. MLflow imports this module while it loads its registry, so it
imports nothing heavy and does not subclass MLflow's base class (it only needs the two
methods).
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_HEADER: ContextVar[str | None] = ContextVar("airflow_dataops_mlflow_authorization", default=None)


def authorization_header(login: str | None, password: str | None) -> str | None:
    """The header value for a connection: basic auth with a login, a bearer token without one."""
    if not password:
        return None
    if login:
        return "Basic " + base64.b64encode(f"{login}:{password}".encode()).decode()
    return f"Bearer {password}"


@contextmanager
def authorization(header: str | None) -> Iterator[None]:
    """Send ``header`` (if any) as ``Authorization`` on the MLflow requests made inside the block."""
    token = _HEADER.set(header)
    try:
        yield
    finally:
        _HEADER.reset(token)


class ConnectionAuthHeaderProvider:
    """MLflow request header provider (see the module docstring) for the hook's own calls."""

    def in_context(self) -> bool:
        """Whether a hook call is under way in this context."""
        return _HEADER.get() is not None

    def request_headers(self) -> dict[str, str]:
        """The ``Authorization`` header of the connection in use."""
        header = _HEADER.get()
        return {"Authorization": header} if header else {}
