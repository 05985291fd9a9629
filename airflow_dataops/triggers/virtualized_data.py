"""TrinoQueryTrigger: follow a Trino query from the triggerer while no worker slot is held.

The query was submitted by the task (``VirtualizedDataHook.submit``); Trino runs it on
its own workers. Trino abandons a query whose client stops asking for it (after
``query.client.timeout``, 5 minutes by default), so the trigger keeps following the
query's ``nextUri``, page by page, until Trino says it finished or failed. It holds only
what a restarted triggerer needs: the connection id, the query id and its current URI.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

MAX_READ_ERRORS = 5


class QueryFailed(Exception):
    """Trino reported the query failed (raised from the reading thread, so the loop never imports trino)."""

    def __init__(self, error_name: str, message: str) -> None:
        super().__init__(f"{error_name}: {message}")


class TrinoQueryTrigger(BaseTrigger):
    """Poll a running Trino query until it ends.

    :param conn_id: the ``trino`` connection the query was submitted with.
    :param query_id: Trino's id of the query (for logs and events).
    :param next_uri: the query's current ``nextUri``.
    :param poll_interval: seconds between two requests; keep it well under Trino's client timeout.
    :param cleanup_sql: statements to run if the task is killed while waiting (drop a staging table).
    :param staging: the staging table the query writes, echoed in every event for the task's resumption.
    """

    def __init__(
        self,
        conn_id: str,
        query_id: str,
        next_uri: str,
        poll_interval: float = 2.0,
        cleanup_sql: list[str] | None = None,
        staging: str | None = None,
    ) -> None:
        super().__init__()
        self.conn_id = conn_id
        self.query_id = query_id
        self.next_uri = next_uri
        self.poll_interval = poll_interval
        self.cleanup_sql = list(cleanup_sql or [])
        self.staging = staging

    def serialize(self) -> tuple[str, dict[str, Any]]:
        """What a restarted triggerer needs to go on following the same query."""
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "conn_id": self.conn_id,
                "query_id": self.query_id,
                "next_uri": self.next_uri,
                "poll_interval": self.poll_interval,
                "cleanup_sql": self.cleanup_sql,
                "staging": self.staging,
            },
        )

    def _request(self) -> Any:
        from airflow_dataops.hooks.virtualized_data import VirtualizedDataHook

        return VirtualizedDataHook(virtualized_data_conn_id=self.conn_id).trino_request()

    def _event(self, status: str, message: str, **more: Any) -> TriggerEvent:
        """An event of the closed set ``success`` / ``failed`` / ``error``, with the staging table echoed."""
        return TriggerEvent(
            {"status": status, "query_id": self.query_id, "message": message, "staging": self.staging, **more}
        )

    def _read(self, request: Any) -> Any:
        """One page of the query (in a thread): the trino client, and its first import, stay off the loop."""
        from trino.exceptions import TrinoQueryError

        try:
            return request.process(request.get(self.next_uri))
        except TrinoQueryError as error:
            raise QueryFailed(str(error.error_name), str(error.message)) from error

    async def run(self) -> AsyncIterator[TriggerEvent]:
        """Follow ``nextUri`` (in a thread: the trino client is synchronous) until the query ends.

        A failed read is retried up to ``MAX_READ_ERRORS`` times in a row; Trino answers the
        same URI again, so nothing is skipped. An error reported by Trino ends it at once.
        """
        request: Any = None
        errors, state = 0, None
        while True:
            try:
                request = request or await asyncio.to_thread(self._request)
                status = await asyncio.to_thread(self._read, request)
            except QueryFailed as error:
                yield self._event("failed", str(error))
                return
            except Exception as error:
                errors, request = errors + 1, None
                if errors >= MAX_READ_ERRORS:
                    yield self._event("error", f"{type(error).__name__}: {error} ({errors} reads in a row failed)")
                    return
                self.log.warning("Reading Trino query %s failed (%s); retrying", self.query_id, error)
                await asyncio.sleep(self.poll_interval)
                continue
            errors = 0
            if status.stats.get("state") != state:
                state = status.stats.get("state")
                self.log.info("Trino query %s is %s", self.query_id, state)
            if status.next_uri is None:
                break
            self.next_uri = status.next_uri
            await asyncio.sleep(self.poll_interval)
        yield self._event("success", "FINISHED", update_type=status.update_type, update_count=status.update_count)

    async def on_kill(self) -> None:
        """The task was killed while deferred: cancel the query on Trino, then run the clean-up."""
        request = await asyncio.to_thread(self._request)
        self.log.info("Cancelling Trino query %s: its Airflow task was killed", self.query_id)
        await asyncio.to_thread(request.delete, self.next_uri)
        for statement in self.cleanup_sql:
            await asyncio.to_thread(self._run_quietly, statement)

    def _run_quietly(self, statement: str) -> None:
        from airflow_dataops.hooks.virtualized_data import VirtualizedDataHook

        try:
            VirtualizedDataHook(virtualized_data_conn_id=self.conn_id).run(statement)
        except Exception as error:
            self.log.error("Clean-up %r failed: %s; run it by hand", statement, error)
