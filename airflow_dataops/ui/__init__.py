"""The provider's page in the Airflow UI: the supercluster at a glance (read-only).

The plugin mounts :data:`overview_app` under ``/dataops`` in the api-server and adds a
navigation entry for it. The FastAPI app itself (:mod:`airflow_dataops.ui.app`) is built
on the first request: the plugin is also loaded by workers and the dag-processor (for
its listener), which must not pay for importing the api-server's security code.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

URL_PREFIX = "/dataops"

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


class LazyOverviewApp:
    """An ASGI app that hands every request to the overview FastAPI app, imported on first use."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Forward to :data:`airflow_dataops.ui.app.app`."""
        from airflow_dataops.ui.app import app

        await app(scope, receive, send)


overview_app = LazyOverviewApp()
