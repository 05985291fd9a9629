"""A DB-API connection that tells its hook what each statement did, for common.sql's DbApiHook.

common.sql's ``DbApiHook.run`` (and so ``get_records``, ``SQLExecuteQueryOperator`` and
the check operators) drives whatever ``get_conn()`` returns: it takes a cursor, calls
``execute`` and fetches. That is the seam the virtualized-data hook uses, instead of
overriding the hook's private ``_run_command``: the connection it returns wraps the
engine's own (the trino client's, or the embedded engine's), and its cursor

- registers itself as the statement running now, so the hook's ``cancel`` can stop it
  from another thread (a task's ``on_kill``);
- runs the trino client's blocking calls in a helper thread, so ``execution_timeout``
  and SIGTERM interrupt them at once (the embedded cursor is interruptible by itself);
- reports each executed statement to the hook once (query id, tables read and written).

Everything else goes to the wrapped object unchanged.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, TypeVar

from airflow_dataops.runtime.interruptible import run_interruptibly

T = TypeVar("T")


class StatementObserver(Protocol):
    """What the cursor reports to (the hook)."""

    def statement_started(self, cursor: Any) -> None:
        """``cursor`` is about to run a statement (it is what a cancel now stops)."""

    def statement_done(self, sql: str, cursor: Any) -> None:
        """``sql`` ran on ``cursor``, the engine's own cursor (query id, row count...)."""

    def cursor_closed(self, cursor: Any) -> None:
        """``cursor`` is closed: nothing of it can run any more."""


class ObservedCursor:
    """The engine's cursor, reporting each statement to the observer."""

    def __init__(self, cursor: Any, observer: StatementObserver, interruptible: bool) -> None:
        self._cursor = cursor
        self._observer = observer
        self._interruptible = interruptible

    def _call(self, call: Callable[[], T]) -> T:
        if self._interruptible:
            return run_interruptibly(call, self._cursor.cancel)
        return call()

    def execute(self, sql: str, parameters: Any = None) -> ObservedCursor:
        """Run one statement; the observer hears of it once it succeeded."""
        self._observer.statement_started(self._cursor)
        if parameters:
            self._call(lambda: self._cursor.execute(sql, parameters))
        else:
            self._call(lambda: self._cursor.execute(sql))
        self._observer.statement_done(sql, self._cursor)
        return self

    def executemany(self, sql: str, seq_of_parameters: Any) -> None:
        """Run one statement for each set of parameters; reported once."""
        self._observer.statement_started(self._cursor)
        self._call(lambda: self._cursor.executemany(sql, seq_of_parameters))
        self._observer.statement_done(sql, self._cursor)

    def fetchone(self) -> Any:
        return self._call(self._cursor.fetchone)

    def fetchmany(self, size: int | None = None) -> Any:
        return self._call(lambda: self._cursor.fetchmany(size) if size else self._cursor.fetchmany())

    def fetchall(self) -> Any:
        return self._call(self._cursor.fetchall)

    def close(self) -> None:
        self._observer.cursor_closed(self._cursor)
        self._cursor.close()

    def __iter__(self) -> Any:
        return iter(self.fetchone, None)

    def __getattr__(self, name: str) -> Any:
        """``description``, ``rowcount``, ``query_id``, ``cancel``...: the engine cursor's own."""
        return getattr(self._cursor, name)


class ObservedConnection:
    """The engine's DB-API connection, handing out observed cursors.

    ``autocommit`` is the wrapper's own flag (DbApiHook sets and reads it): on both engines
    each statement commits on its own, so ``commit`` has nothing pending either way.
    """

    def __init__(self, connection: Any, observer: StatementObserver, interruptible: bool) -> None:
        self._connection = connection
        self._observer = observer
        self._interruptible = interruptible
        self.autocommit = True

    @property
    def raw(self) -> Any:
        """The engine's own connection (the trino client's, or the embedded engine's)."""
        return self._connection

    def cursor(self, *args: Any, **kwargs: Any) -> ObservedCursor:
        return ObservedCursor(self._connection.cursor(*args, **kwargs), self._observer, self._interruptible)

    def commit(self) -> None:
        self._connection.commit()

    def rollback(self) -> None:
        self._connection.rollback()

    def close(self) -> None:
        self._connection.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._connection, name)
