"""A DB-API 2 face for the embedded engine, so common.sql's DbApiHook machinery drives it.

DbApiHook opens a connection, takes cursors, executes statements and commits. DuckDB's
own connection nearly fits; what it lacks here is that the SQL arrives in Trino's
dialect. Every statement is therefore translated (or refused, naming the construct)
before DuckDB sees it. Each statement commits on its own (DuckDB's autocommit), so
``commit`` and ``rollback`` have nothing to do outside :meth:`EmbeddedEngine.materialize`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from airflow_dataops.core.sql.translation import trino_to_duckdb
from airflow_dataops.runtime.embedded_sql import EmbeddedEngine, Source
from airflow_dataops.runtime.interruptible import run_interruptibly


class _Interrupter:
    """Stops whatever the engine is running (DuckDB's interrupt is safe from another thread)."""

    def __init__(self, connection: Any) -> None:
        self._connection = connection

    def cancel(self) -> None:
        self._connection.interrupt()


class EmbeddedCursor:
    """A DB-API cursor that runs Trino SQL on DuckDB."""

    arraysize = 1000
    query_id = None

    def __init__(self, connection: Any) -> None:
        self._cursor = connection.cursor()

    @property
    def description(self) -> Any:
        return self._cursor.description

    @property
    def rowcount(self) -> int:
        return -1

    def execute(self, sql: str, parameters: Sequence[Any] | None = None) -> EmbeddedCursor:
        statement, values = trino_to_duckdb(sql), list(parameters) if parameters else None
        self._interruptibly(lambda: self._cursor.execute(statement, values))
        return self

    def _interruptibly(self, call: Any) -> Any:
        return run_interruptibly(call, self._cursor.interrupt)

    def executemany(self, sql: str, seq_of_parameters: Sequence[Sequence[Any]]) -> None:
        statement, values = trino_to_duckdb(sql), [list(p) for p in seq_of_parameters]
        self._interruptibly(lambda: self._cursor.executemany(statement, values))

    def fetchone(self) -> Any:
        return self._interruptibly(self._cursor.fetchone)

    def fetchmany(self, size: int | None = None) -> list[Any]:
        return list(self._interruptibly(lambda: self._cursor.fetchmany(size or self.arraysize)))

    def fetchall(self) -> list[Any]:
        return list(self._interruptibly(self._cursor.fetchall))

    def arrow_batches(self, sql: str, parameters: Sequence[Any] | None, rows_per_batch: int) -> Iterator[Any]:
        """The result of ``sql`` as Arrow record batches, produced one at a time by DuckDB (no full result)."""
        statement, values = trino_to_duckdb(sql), list(parameters) if parameters else None
        reader = self._interruptibly(lambda: self._cursor.sql(statement, params=values).to_arrow_reader(rows_per_batch))
        while True:
            try:
                yield self._interruptibly(reader.read_next_batch)
            except StopIteration:
                return

    def cancel(self) -> None:
        self._cursor.interrupt()

    def close(self) -> None:
        self._cursor.close()


class EmbeddedConnection:
    """A DB-API connection over an :class:`EmbeddedEngine`, with a default catalog and schema."""

    autocommit = True

    def __init__(self, sources: Sequence[Source], catalog: str | None = None, schema: str | None = None) -> None:
        self.engine = EmbeddedEngine(sources, catalog=catalog, schema=schema)
        self.interruptible = _Interrupter(self.engine.connection)

    def cursor(self) -> EmbeddedCursor:
        return EmbeddedCursor(self.engine.connection)

    def commit(self) -> None:
        """Each statement already committed."""

    def rollback(self) -> None:
        """Nothing is pending: each statement committed or failed whole."""

    def close(self) -> None:
        self.engine.close()
