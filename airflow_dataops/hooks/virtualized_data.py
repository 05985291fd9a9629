"""VirtualizedDataHook: federated SQL through Trino, or the same SQL on an embedded engine.

A DAG reads data where it lives and writes results where they belong, without copying
data through the worker. The connection decides the engine:

- a ``trino`` connection (the trino provider's own type): a Trino cluster, reached
  through the provider's ``TrinoHook``, which builds the client connection (auth, TLS,
  impersonation, session properties, client tags, the task's identity in the client
  info) exactly as it does for ``SQLExecuteQueryOperator``. A DAG's existing ``trino``
  connection works unchanged.
- a ``virtualized_data`` connection: DuckDB in the worker, with catalogs mapped to local
  sources declared in the connection (:mod:`airflow_dataops.runtime.embedded_sql`). DAG
  authors still write Trino SQL; it is translated within a verified subset or refused
  with the construct named.

The hook is a common.sql ``DbApiHook``, so ``SQLExecuteQueryOperator`` and every
common.sql operator work with it; it extends the parent only at public seams
(``get_conn``, ``get_uri``, the ``get_openlineage_*`` methods). On top it reads in
bounded memory (Arrow record batches, pandas chunks), materializes a query into a
table inside the engine atomically, cancels the running query when the task is killed,
leaves long Trino queries to the triggerer, and reports the tables each query reads and
writes as lineage.
"""

from __future__ import annotations

import gc
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property
from itertools import islice
from typing import TYPE_CHECKING, Any

from airflow.providers.common.sql.hooks.sql import DbApiHook

from airflow_dataops.core.errors import InvalidInputError
from airflow_dataops.core.sql.lineage import StatementLineage, statement_lineage
from airflow_dataops.core.sql.tables import TableName
from airflow_dataops.hooks._observed_dbapi import ObservedConnection
from airflow_dataops.runtime.interruptible import run_interruptibly

if TYPE_CHECKING:
    from airflow.providers.trino.hooks.trino import TrinoHook
    from airflow.sdk import Connection

ENGINES = ("trino", "embedded")
DEFAULT_ROWS_PER_BATCH = 50_000
#: The trino client's default ports (``trino.constants``), without importing it.
TRINO_PORTS = {"http": 8080, "https": 443}
#: Columns of Trino's ``information_schema.columns`` that OpenLineage reads (as TrinoHook).
INFORMATION_SCHEMA_COLUMNS = [
    "table_schema", "table_name", "column_name", "ordinal_position", "data_type", "table_catalog",
]  # fmt: skip
#: Schemas and catalogs holding metadata, not data: reading them is not lineage.
METADATA_SCHEMAS = ("information_schema", "pg_catalog")
METADATA_CATALOGS = ("system",)
#: Extras of the former Trino form of ``virtualized_data`` and their names on a ``trino`` connection.
RENAMED_TRINO_EXTRAS = {"impersonate_dag_owner": "impersonate_as_owner"}


class VirtualizedDataError(InvalidInputError):
    """The connection or the call cannot work; the message names the field and the fix."""


@contextmanager
def _cyclic_gc_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector for a block that allocates many acyclic objects."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _boolish(value: Any) -> Any:
    """``"true"``/``"false"`` as booleans, anything else (a CA bundle path) as it is: TrinoHook's reading."""
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return value


def _is_metadata(table: TableName) -> bool:
    return table.schema in METADATA_SCHEMAS or table.catalog in METADATA_CATALOGS


@dataclass(frozen=True)
class TrinoSettings:
    """Where a ``trino`` connection's coordinator answers (for links to its query pages), and its catalog."""

    host: str
    port: int
    http_scheme: str
    catalog: str


class VirtualizedDataHook(DbApiHook):
    """Run Trino SQL on a Trino cluster or on the embedded engine, as the connection says.

    :param virtualized_data_conn_id: a ``trino`` connection (the trino provider's) or a
        ``virtualized_data`` connection (the embedded engine).
    """

    conn_name_attr = "virtualized_data_conn_id"
    default_conn_name = "virtualized_data_default"
    conn_type = "virtualized_data"
    hook_name = "Virtualized data (embedded engine; Trino through a trino connection)"
    strip_semicolon = True
    supports_autocommit = True
    _test_connection_sql = "SELECT 1"
    #: Both the trino client and DuckDB take ``?`` (common.sql's default ``%s`` fits neither).
    _placeholder = "?"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        #: The cursor of the statement running now, so :meth:`cancel` can stop it from another thread.
        self._running: Any = None
        #: The staging table being written, so :meth:`cancel` can drop it.
        self._staging: TableName | None = None
        #: The Trino query ids this hook ran, oldest first (the operator returns the last one).
        self.query_ids: list[str] = []

    # --- which engine, with what ------------------------------------------------------

    def _fail(self, field_name: str, problem: str, fix: str) -> VirtualizedDataError:
        return VirtualizedDataError(f"connection {self.get_conn_id()!r}", field_name, problem, fix)

    @cached_property
    def engine(self) -> str:
        """``trino`` for a ``trino`` connection, ``embedded`` for a ``virtualized_data`` one.

        A ``virtualized_data`` connection that still points at Trino (the form before
        0.x: a host, or ``engine: trino``) is refused with the migration spelled out,
        before anything is sent.
        """
        conn, extra = self.connection, self.connection.extra_dejson
        if conn.conn_type == "trino":
            return "trino"
        if conn.conn_type != "virtualized_data":
            raise self._fail(
                "conn_type", f"is {conn.conn_type!r}", "use a trino connection, or a virtualized_data one (embedded)"
            )
        engine = str(extra.get("engine") or ("trino" if conn.host else "embedded")).lower()
        if engine == "trino":
            renamed = ", ".join(f"{old} -> {new}" for old, new in RENAMED_TRINO_EXTRAS.items() if old in extra)
            raise self._fail(
                "conn_type",
                "virtualized_data no longer reaches Trino (it is the embedded engine's type)",
                "make it a trino connection (conn_type trino, the trino provider's): same host, port, login, "
                "password and extras; set protocol https (a trino connection defaults to http)"
                + (f"; rename {renamed}" if renamed else ""),
            )
        if engine not in ENGINES:
            raise self._fail("extra.engine", f"{engine!r} is not an engine", "use embedded, or a trino connection")
        return engine

    @cached_property
    def trino_hook(self) -> TrinoHook:
        """The trino provider's hook for this ``trino`` connection: it builds every Trino client connection."""
        if self.engine != "trino":
            raise self._fail("conn_type", "is virtualized_data: the embedded engine", "use a trino connection")
        from airflow.providers.trino.hooks.trino import TrinoHook

        return TrinoHook(trino_conn_id=self.get_conn_id())  # type: ignore[no-untyped-call]

    @property
    def trino_settings(self) -> TrinoSettings:
        """Host, port and scheme of the coordinator, as the trino client derives them from the connection."""
        if self.engine != "trino":
            raise self._fail("conn_type", "is virtualized_data: the embedded engine", "use a trino connection")
        conn = self.connection
        scheme = str(conn.extra_dejson.get("protocol", "http")).lower()
        port = int(conn.port or TRINO_PORTS.get(scheme, TRINO_PORTS["http"]))
        return TrinoSettings(str(conn.host), port, scheme, str(self.default_catalog))

    def principal(self) -> str:
        """The authenticated principal (the connection's login), not the impersonated session user."""
        return str(self.connection.login or "airflow")

    def _trino_connection(self) -> Any:
        """A trino client connection, built by TrinoHook from the connection."""
        return self.trino_hook.get_conn()

    def trino_request(self) -> Any:
        """A ``trino.client.TrinoRequest`` of this connection, for following a query by its URI.

        The deferrable operator submits with it and its trigger polls with it. It is built
        from the trino client connection TrinoHook made (same user, auth, headers, session
        properties, client tags, scheme and timeouts); the three settings that connection
        keeps to itself (TLS verification, roles, time zone) are read from the same extras,
        with TrinoHook's meaning.
        """
        import requests
        import trino.client

        conn, extra = self._trino_connection(), self.connection.extra_dejson
        conn.close()  # only its settings are needed
        session = trino.client.ClientSession(
            user=conn.user,
            catalog=conn.catalog,
            schema=conn.schema,
            source=conn.source,
            properties=conn.session_properties,
            headers=conn.http_headers,
            extra_credential=conn.extra_credential,
            client_tags=conn.client_tags,
            roles=extra.get("roles") or None,
            timezone=extra.get("timezone") or None,
        )
        http_session = requests.Session()
        http_session.verify = _boolish(extra.get("verify", True))
        return trino.client.TrinoRequest(
            conn.host, conn.port, session, http_session, conn.http_scheme, conn.auth,
            max_attempts=conn.max_attempts, request_timeout=conn.request_timeout,
        )  # fmt: skip

    def _embedded_connection(self) -> Any:
        from airflow_dataops.hooks._embedded_dbapi import EmbeddedConnection

        extra = self.connection.extra_dejson
        return EmbeddedConnection(
            self._embedded_sources(extra), catalog=extra.get("catalog"), schema=self.connection.schema or None
        )

    def _embedded_sources(self, extra: dict[str, Any]) -> list[Any]:
        from airflow_dataops.runtime.embedded_sql import Source

        declared = extra.get("sources") or []
        if not isinstance(declared, list):
            raise self._fail("extra.sources", "is not a list", 'give [{"catalog": ..., "kind": ..., "path": ...}]')
        sources = []
        for position, item in enumerate(declared):
            if not isinstance(item, dict) or not {"catalog", "kind", "path"} <= set(item):
                raise self._fail(
                    f"extra.sources[{position}]", "lacks catalog, kind or path", "give all three for every source"
                )
            path = os.path.expanduser(os.path.expandvars(str(item["path"])))
            sources.append(Source(str(item["catalog"]), str(item["kind"]), path))
        return sources

    def source_path(self, catalog: str) -> str:
        """The folder or file behind ``catalog`` of the embedded engine (where files land for it)."""
        for source in self._embedded_sources(self.connection.extra_dejson):
            if source.catalog == catalog:
                return str(source.path)
        raise self._fail("extra.sources", f"declares no catalog {catalog!r}", "add it to the connection's sources")

    def get_conn(self) -> Any:
        """A DB-API connection to the connection's engine, whose cursors report to this hook.

        common.sql's ``run`` (``get_records``, ``SQLExecuteQueryOperator``, the check
        operators) drives it: each statement can be cancelled by :meth:`cancel`, logs its
        Trino query id and reports its tables as lineage (see :mod:`._observed_dbapi`).
        """
        if self.engine == "trino":
            return ObservedConnection(self._trino_connection(), self, interruptible=True)
        return ObservedConnection(self._embedded_connection(), self, interruptible=False)

    def get_uri(self) -> str:
        """TrinoHook's URI for a ``trino`` connection; the embedded engine has none (it is not a server)."""
        if self.engine == "trino":
            return self.trino_hook.get_uri()
        raise self._fail("conn_type", "is the embedded engine, which has no URI", "use get_conn, get_records or run")

    def get_sqlalchemy_engine(self, engine_kwargs: dict[str, Any] | None = None) -> Any:
        """A SQLAlchemy engine of Trino's dialect whose connections are :meth:`get_conn`'s.

        OpenLineage compiles its information-schema query with it. Trino's dialect fits both
        engines, since the embedded engine takes Trino SQL; the connections come from
        :meth:`get_conn` (TrinoHook's for Trino) rather than from a URI, because the trino
        dialect cannot read the URI TrinoHook writes when ``verify`` or ``session_properties``
        are set (it expects JSON values there).
        """
        from sqlalchemy import create_engine

        return create_engine("trino://", creator=self.get_conn, **(engine_kwargs or {}))

    @property
    def default_catalog(self) -> str | None:
        """The catalog unqualified names resolve against (a ``trino`` connection's default: hive, as TrinoHook)."""
        if self.engine == "trino":
            return str(self.connection.extra_dejson.get("catalog", "hive"))
        return self.connection.extra_dejson.get("catalog")

    @property
    def default_schema(self) -> str | None:
        """The schema unqualified names resolve against: the connection's (embedded default: main)."""
        if self.engine == "embedded" and self.default_catalog:
            return self.connection.schema or "main"
        return self.connection.schema or None

    # --- statements -------------------------------------------------------------------

    def statement_started(self, cursor: Any) -> None:
        """A cursor of :meth:`get_conn` starts a statement: it is the one :meth:`cancel` stops."""
        self._running = cursor

    def statement_done(self, sql: str, cursor: Any) -> None:
        """A cursor of :meth:`get_conn` ran ``sql``: name its Trino query and report its tables.

        common.sql's ``run`` reports the statement itself (``send_sql_hook_lineage``: SQL,
        query id, row count); this adds the tables it read and wrote, once.
        """
        lineage = self._lineage(sql)
        if lineage is None:  # a metadata query (information_schema...): neither the task's query nor lineage
            return
        self._log_query_id(cursor)
        self._add_assets(lineage)

    def cursor_closed(self, cursor: Any) -> None:
        """A cursor of :meth:`get_conn` is closed: nothing is left to cancel on it."""
        if self._running is cursor:
            self._running = None

    def _log_query_id(self, cursor: Any) -> None:
        """Name the Trino query in the task log (and in ``query_ids``), so a try leads to it in Trino's UI."""
        if getattr(cursor, "query_id", None):
            self.query_ids.append(str(cursor.query_id))
            self.log.info("Trino query %s (%s)", cursor.query_id, getattr(cursor, "info_uri", ""))

    def cancel(self) -> None:
        """Stop the statement running now (called by operators' ``on_kill``); a no-op when none runs."""
        running, staging = self._running, self._staging
        if running is not None:
            self.log.info("Cancelling the running query on the %s engine", self.engine)
            self._cancel_quietly(running)
        if staging is not None:
            self._drop_quietly(staging)

    def iter_batches(
        self, sql: str, parameters: Any = None, rows_per_batch: int = DEFAULT_ROWS_PER_BATCH
    ) -> Iterator[Any]:
        """The result of ``sql`` as ``pyarrow.RecordBatch`` of at most ``rows_per_batch`` rows.

        Memory stays bounded by one batch (plus the Trino client's current page) whatever
        the result size. Stopping early, or failing, cancels the query on the engine so
        nothing keeps running.
        """
        conn = self._trino_connection() if self.engine == "trino" else self._embedded_connection()
        cursor = conn.cursor()
        self._running, finished, rows_read = cursor, False, 0
        try:
            if self.engine == "embedded":
                batches = cursor.arrow_batches(sql, parameters, rows_per_batch)
            else:
                run_interruptibly(lambda: cursor.execute(sql, parameters or None), cursor.cancel)
                batches = self._trino_batches(cursor, rows_per_batch)
            for batch in batches:
                rows_read += batch.num_rows
                yield batch
            finished = True
        finally:
            self._running = None
            if not finished:
                self._cancel_quietly(cursor)
            conn.close()
        self._log_query_id(cursor)
        self.log.info("Read %d rows in batches of at most %d", rows_read, rows_per_batch)
        self._report_statement(sql, query_id=getattr(cursor, "query_id", None), row_count=rows_read)

    @staticmethod
    def _trino_batches(cursor: Any, rows_per_batch: int) -> Iterator[Any]:
        """Rows of the Trino client, page after page, as typed Arrow batches (types from Trino's columns).

        Python's cyclic garbage collector is paused while a batch is built: the client
        makes a list per row, and the collector would otherwise walk the whole batch again
        and again (it took 40% of the read time). Rows hold no cycles, so reference
        counting frees them all; the collector's state is restored before each batch is
        handed over. Columns are taken by index, not by ``zip(*rows)``, which is ten times
        slower for 50,000 rows.
        """
        import pyarrow as pa

        from airflow_dataops.core.sql.trino_types import arrow_schema

        schema = arrow_schema([(d[0], d[1]) for d in cursor.description])
        rows = iter(cursor.genall())
        while True:
            with _cyclic_gc_paused():
                chunk = run_interruptibly(lambda: list(islice(rows, rows_per_batch)), cursor.cancel)
                if not chunk:
                    return
                columns = [pa.array([row[i] for row in chunk], type=f.type) for i, f in enumerate(schema)]
                del chunk
            yield pa.RecordBatch.from_arrays(columns, schema=schema)

    def iter_dataframes(self, sql: str, parameters: Any = None, rows_per_chunk: int = DEFAULT_ROWS_PER_BATCH) -> Any:
        """The result of ``sql`` as pandas DataFrames of at most ``rows_per_chunk`` rows (bounded memory)."""
        for batch in self.iter_batches(sql, parameters, rows_per_chunk):
            yield batch.to_pandas()

    def _cancel_quietly(self, cursor: Any) -> None:
        try:
            cursor.cancel()
        except Exception as error:  # the query may already be gone; the original error matters more
            self.log.warning("Could not cancel the query: %s", error)

    def materialize(self, sql: str, target: str, parameters: Any = None) -> int:
        """Write the result of the query ``sql`` into ``target`` (``catalog.schema.table``); return its row count.

        The rows never pass through the worker: the engine runs CREATE TABLE ... AS. It is
        atomic for readers of ``target``: either the new table or the old one, never a
        partial one. On the embedded engine one transaction does it; on Trino the result
        is written to a staging table beside the target and swapped in by rename, and the
        staging table is dropped if anything fails or the task is killed.
        """
        table = TableName.parse(target)
        queries = len(self.query_ids)
        if self.engine == "embedded":
            rows = self._materialize_embedded(sql, table, parameters)
        else:
            rows = self._materialize_trino(sql, table, parameters)
        self.log.info("Materialized %d rows into %s", rows, table)
        query_id = self.query_ids[-1] if len(self.query_ids) > queries else None
        self._report_statement(f"CREATE TABLE {table.quoted()} AS {sql}", query_id=query_id, row_count=rows)
        return rows

    def _materialize_embedded(self, sql: str, table: TableName, parameters: Any) -> int:
        conn = self._embedded_connection()
        self._running = conn.interruptible
        try:
            return int(conn.engine.materialize(sql, str(table), parameters))
        finally:
            self._running = None
            conn.close()

    def staging_table(self, table: TableName) -> TableName:
        """A fresh staging table beside ``table``: a failed or concurrent write never touches the target."""
        return table.sibling(f"{table.table}__staging_{secrets.token_hex(4)}")

    def _materialize_trino(self, sql: str, table: TableName, parameters: Any) -> int:
        staging = self.staging_table(table)
        conn = self._trino_connection()
        cursor = conn.cursor()
        self._running, self._staging = cursor, staging
        try:
            self._trino_execute(cursor, f"CREATE SCHEMA IF NOT EXISTS {table.quoted_schema()}")
            self.log.info("Writing the result into the staging table %s", staging)
            self._trino_execute(cursor, f"CREATE TABLE {staging.quoted()} AS {sql}", parameters)
            self._log_query_id(cursor)
            return self.swap_in(staging, table, cursor)
        except BaseException:
            self._cancel_quietly(cursor)
            self._drop_quietly(staging)
            raise
        finally:
            self._running = self._staging = None
            conn.close()

    def swap_in(self, staging: TableName, table: TableName, cursor: Any = None) -> int:
        """Replace ``table`` by the complete ``staging`` table (drop, then rename); return the row count.

        Readers see the old table until the drop and the new one after the rename: a
        short window without the table, never a partial one. Connectors that support
        ``CREATE OR REPLACE TABLE`` could close that window; Hive cannot.
        """
        cursor = cursor or self._trino_connection().cursor()
        rows = self._trino_execute(cursor, f"SELECT count(*) FROM {staging.quoted()}")[0][0]
        self._trino_execute(cursor, f"DROP TABLE IF EXISTS {table.quoted()}")
        self._trino_execute(cursor, f"ALTER TABLE {staging.quoted()} RENAME TO {table.quoted()}")
        return int(rows)

    @staticmethod
    def _trino_execute(cursor: Any, sql: str, parameters: Any = None) -> Any:
        def execute() -> Any:
            cursor.execute(sql, parameters) if parameters else cursor.execute(sql)
            return cursor.fetchall()

        return run_interruptibly(execute, cursor.cancel)

    def _drop_quietly(self, staging: TableName) -> None:
        """Drop a staging table on a connection of its own (the query's may be broken)."""
        try:
            conn = self._trino_connection()
            self._trino_execute(conn.cursor(), f"DROP TABLE IF EXISTS {staging.quoted()}")
            conn.close()
        except Exception as error:
            self.log.error("Could not drop the staging table %s: %s; drop it by hand", staging, error)

    # --- Trino queries that outlive the worker (deferrable operator) -------------------

    def submit(self, sql: str) -> dict[str, Any]:
        """Send ``sql`` to Trino and return at once with what is needed to follow it.

        Returns ``query_id``, ``next_uri`` (None when it already finished) and ``info_uri``.
        """
        if self.engine != "trino":
            raise self._fail("engine", "is embedded: there is no server to leave the query on", "run it in the task")
        request = self.trino_request()
        status = request.process(request.post(sql))
        self.log.info("Trino query %s submitted: %s", status.id, status.info_uri)
        return {"query_id": status.id, "next_uri": status.next_uri, "info_uri": status.info_uri}

    # --- lineage and assets -------------------------------------------------------------

    def asset_authority(self) -> str:
        """``host:port`` naming this connection's tables in asset URIs and OpenLineage namespaces.

        For a ``trino`` connection, the authority TrinoHook gives OpenLineage, so a table is
        the same dataset whichever operator (ours or common.sql's on TrinoHook) touched it.
        The embedded engine takes ``asset_authority`` from the connection (set it to the
        Trino deployment the DAG runs on in production, so the asset URIs are the same on a
        laptop), else ``localhost:8080``.
        """
        if self.engine == "trino":
            return DbApiHook.get_openlineage_authority_part(self.connection, default_port=TRINO_PORTS["http"])
        # `or`: the connection form saves an empty field as null.
        return str(self.connection.extra_dejson.get("asset_authority") or "localhost:8080")

    def table_asset_uri(self, table: str | TableName) -> str:
        """``trino://host:port/catalog/schema/table`` for ``table``."""
        name = table if isinstance(table, TableName) else TableName.parse(table, "table")
        return name.asset_uri(self.asset_authority())

    def _lineage(self, sql: str) -> StatementLineage | None:
        """The tables ``sql`` reads and writes; None for a query of metadata only (information_schema...)."""
        try:
            lineage = statement_lineage(sql, self.default_catalog, self.default_schema)
        except Exception as error:  # lineage degrades to less lineage, never to a failed query
            self.log.warning("The tables of the query are unknown: %s", error)
            return StatementLineage((), ())
        tables = (*lineage.inputs, *lineage.outputs)
        if tables and all(_is_metadata(t) for t in tables):
            return None
        return StatementLineage(
            tuple(t for t in lineage.inputs if not _is_metadata(t)),
            tuple(t for t in lineage.outputs if not _is_metadata(t)),
        )

    def _add_assets(self, lineage: StatementLineage) -> None:
        """Tell Airflow's hook-lineage collector which tables a statement read and wrote.

        OpenLineage (and any other hook-lineage reader, such as the MLflow listener) turns
        them into input and output datasets. Lineage never fails a query: a problem here is
        logged.
        """
        try:
            from airflow.providers.common.compat.lineage.hook import get_hook_lineage_collector

            collector = get_hook_lineage_collector()  # type: ignore[no-untyped-call]
            for table in lineage.inputs:
                collector.add_input_asset(context=self, uri=self.table_asset_uri(table))
            for table in lineage.outputs:
                collector.add_output_asset(context=self, uri=self.table_asset_uri(table))
        except Exception as error:
            self.log.warning("Lineage of the query was not reported: %s", error)

    def _report_statement(self, sql: str, query_id: str | None, row_count: int | None) -> None:
        """Report a statement this hook ran outside common.sql's ``run`` (a read in batches, a materialize).

        Its tables, and the statement itself as common.sql reports the ones it runs
        (``send_sql_hook_lineage``: SQL, query id, row count), once each.
        """
        lineage = self._lineage(sql)
        if lineage is not None:
            self._add_assets(lineage)
        from airflow.providers.common.sql.hooks.lineage import send_sql_hook_lineage

        send_sql_hook_lineage(
            context=self, sql=sql, job_id=query_id, row_count=row_count,
            default_db=self.default_catalog, default_schema=self.default_schema,
        )  # fmt: skip

    # --- OpenLineage (common.sql's SQL operators and their SQL parser) ---------------------

    def get_openlineage_database_info(self, connection: Connection) -> Any:
        """Where the tables live, for OpenLineage's SQL parser: TrinoHook's answer, or the embedded engine's.

        The embedded engine names its tables as the Trino deployment it stands in for
        (``trino://<asset_authority>``); its information schema is DuckDB's single
        ``information_schema.columns`` across all catalogs, so it is not queried per catalog.
        """
        if self.engine == "trino":
            return self.trino_hook.get_openlineage_database_info(connection)  # type: ignore[no-untyped-call]
        from airflow.providers.openlineage.sqlparser import DatabaseInfo

        return DatabaseInfo(
            scheme="trino",
            authority=self.asset_authority(),
            information_schema_columns=INFORMATION_SCHEMA_COLUMNS,
            database=self.default_catalog,
            is_information_schema_cross_db=False,
        )

    def get_openlineage_database_dialect(self, connection: Connection) -> str:
        """``trino`` on both engines: DAG authors write Trino SQL whichever engine runs it."""
        return "trino"

    def get_openlineage_default_schema(self) -> str | None:
        """The schema unqualified names resolve against, as for the hook's own lineage.

        The connection's schema (the embedded engine: ``main`` by default); a ``trino``
        connection without one falls back to TrinoHook's default.
        """
        if self.default_schema:
            return self.default_schema
        return self.trino_hook.get_openlineage_default_schema() if self.engine == "trino" else None  # type: ignore[no-untyped-call]

    def get_openlineage_database_specific_lineage(self, task_instance: Any) -> Any:
        """The Trino query the task ran last, as OpenLineage's ``externalQuery`` run facet (none when embedded)."""
        if not self.query_ids:
            return None
        from airflow.providers.openlineage.extractors import OperatorLineage
        from openlineage.client.facet_v2 import external_query_run

        facet = external_query_run.ExternalQueryRunFacet(
            externalQueryId=self.query_ids[-1], source=f"trino://{self.asset_authority()}"
        )
        return OperatorLineage(run_facets={"externalQuery": facet})
