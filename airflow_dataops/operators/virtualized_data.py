"""VirtualizedQueryOperator: run Trino SQL where the data lives, write the result where it belongs.

For reading results into a task, use :class:`~airflow_dataops.hooks.virtualized_data.VirtualizedDataHook`
(``iter_batches``) or common.sql's ``SQLExecuteQueryOperator``, which work with the same
connection. This operator is for the statements that move no rows through the worker:

- with ``target_table``, the query is materialized into that table inside the engine,
  atomically, and the table is emitted as an Airflow asset
  (``trino://host:port/catalog/schema/table``) so data-aware DAGs can wait for it;
- without it, the statements run as they are (INSERT ... SELECT, DELETE, DDL).

Killing the task cancels the query on the engine. With ``deferrable=True`` on a Trino
connection, the task submits the query and gives its worker slot back while Trino runs
it (:class:`~airflow_dataops.triggers.virtualized_data.TrinoQueryTrigger`); the embedded
engine runs inside the worker, so there it simply runs.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar

from airflow.providers.common.compat.sdk import AirflowException, BaseOperator, conf
from airflow.sdk import Asset, AssetAlias

from airflow_dataops.core import facts
from airflow_dataops.core.sql.tables import TableName
from airflow_dataops.links.supercluster import MlflowRunLink, TrinoQueryLink
from airflow_dataops.operators._openlineage import OpenLineageFacets

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_dataops.hooks.virtualized_data import VirtualizedDataHook

#: The hook is imported when the task runs, not when the DAG is parsed: common.sql's
#: DbApiHook costs about 85 ms to import, paid by every parse of a DAG file otherwise.
DEFAULT_CONN_ID = "virtualized_data_default"


def table_alias(conn_id: str, target_table: str) -> AssetAlias:
    """The asset alias under which a materialization announces its table.

    The concrete asset's URI depends on the connection (the Trino host), which is only
    read at run time; DAGs that consume the table schedule on the concrete asset, e.g.
    ``Asset("trino://trino.example.com:443/lake/marts/campaign")``.
    """
    return AssetAlias(name=f"virtualized_data/{conn_id}/{target_table}")


class VirtualizedQueryOperator(OpenLineageFacets, BaseOperator):
    """Run Trino SQL on the connection's engine; optionally materialize it into ``target_table``.

    :param sql: Trino SQL (a query when ``target_table`` is given; else any statements).
        Templated; a path ending in ``.sql`` is read as a template.
    :param target_table: ``catalog.schema.table`` to write the query's result into. Templated,
        then checked: only plain identifiers are accepted, and they are quoted in the SQL.
    :param conn_id: a ``virtualized_data`` connection.
    :param parameters: values for ``?`` placeholders (never format values into ``sql``).
    :param deferrable: on Trino, wait for the query in the triggerer instead of a worker slot.
    :param poll_interval: seconds between two polls of a deferred query.
    """

    _openlineage_builder = "query_lineage"
    operator_extra_links = (TrinoQueryLink(), MlflowRunLink())

    template_fields: Sequence[str] = ("sql", "target_table", "parameters")
    template_ext: Sequence[str] = (".sql",)
    template_fields_renderers: ClassVar[dict[str, str]] = {"sql": "sql"}
    ui_color = "#dde7f7"

    def __init__(
        self,
        *,
        sql: str,
        target_table: str | None = None,
        conn_id: str = DEFAULT_CONN_ID,
        parameters: Sequence[Any] | None = None,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        poll_interval: float = 2.0,
        **kwargs: Any,
    ) -> None:
        if deferrable and parameters:
            raise ValueError(
                f"task {kwargs.get('task_id')!r}: a deferred Trino query cannot take parameters. "
                "Fix: use deferrable=False, or put the values in the SQL through a vetted template"
            )
        if not 0 < poll_interval <= 60:
            raise ValueError(
                f"task {kwargs.get('task_id')!r}: poll_interval={poll_interval} is outside (0, 60] seconds. "
                "Fix: Trino abandons a query whose client is silent for minutes; poll every few seconds"
            )
        if target_table:
            outlets = list(kwargs.pop("outlets", None) or [])
            kwargs["outlets"] = [*outlets, table_alias(conn_id, target_table)]
        super().__init__(**kwargs)
        self.sql = sql
        self.target_table = target_table
        self.conn_id = conn_id
        self.parameters = parameters
        self.deferrable = deferrable
        self.poll_interval = poll_interval
        self._alias_name = table_alias(conn_id, target_table).name if target_table else None

    @cached_property
    def hook(self) -> VirtualizedDataHook:
        """The hook of ``conn_id`` (kept, so ``on_kill`` cancels the query this task started)."""
        from airflow_dataops.hooks.virtualized_data import VirtualizedDataHook

        return VirtualizedDataHook(virtualized_data_conn_id=self.conn_id)

    def execute(self, context: Context) -> dict[str, Any]:
        """Materialize or run the SQL; defer on Trino when asked to."""
        table = TableName.parse(self.target_table) if self.target_table else None
        if self.deferrable:
            if self.hook.engine == "trino":
                return self._defer(context, table)
            self.log.info("The embedded engine runs inside the worker: running without deferring")
        if table is None:
            self.hook.run(self.sql, parameters=self.parameters)
            return self._result(context, {"conn_id": self.conn_id})
        rows = self.hook.materialize(self.sql, str(table), self.parameters)
        return self._result(context, self._announce(context, table, rows))

    def _defer(self, context: Context, table: TableName | None) -> dict[str, Any]:
        """Submit the query to Trino and hand the waiting to the triggerer (unless it is already done)."""
        from airflow_dataops.triggers.virtualized_data import TrinoQueryTrigger

        cleanup, staging = [], None
        sql = self.sql
        if table is not None:
            staging = self.hook.staging_table(table)
            self.hook.run(f"CREATE SCHEMA IF NOT EXISTS {table.quoted_schema()}")
            sql = f"CREATE TABLE {staging.quoted()} AS {self.sql}"
            cleanup = [f"DROP TABLE IF EXISTS {staging.quoted()}"]
        submitted = self.hook.submit(sql)
        self.log.info("Trino query %s runs; this task now waits in the triggerer", submitted["query_id"])
        staging_name = str(staging) if staging else None
        event = {"status": "success", "query_id": submitted["query_id"], "message": "FINISHED", "staging": staging_name}
        if submitted["next_uri"] is None:  # finished on submission: nothing to wait for
            return self.execute_complete(context, event)
        self.defer(
            trigger=TrinoQueryTrigger(
                conn_id=self.conn_id,
                query_id=submitted["query_id"],
                next_uri=submitted["next_uri"],
                poll_interval=self.poll_interval,
                cleanup_sql=cleanup,
                staging=staging_name,
            ),
            method_name="execute_complete",
        )

    def execute_complete(self, context: Context, event: dict[str, Any]) -> dict[str, Any]:
        """Resume after the trigger: swap the staging table in, or fail with Trino's message."""
        staging = event.get("staging")
        if event["status"] != "success":
            if staging:
                self.hook._drop_quietly(TableName.parse(staging, "staging table"))
            raise AirflowException(f"Trino query {event['query_id']} {event['status']}: {event['message']}")
        self.log.info("Trino query %s finished", event["query_id"])
        if not staging or not self.target_table:
            done = {"conn_id": self.conn_id, "query_id": event["query_id"], "update_count": event.get("update_count")}
            return self._result(context, done)
        table = TableName.parse(self.target_table)
        rows = self.hook.swap_in(TableName.parse(staging, "staging table"), table)
        self.log.info("Materialized %d rows into %s", rows, table)
        return self._result(context, {**self._announce(context, table, rows), "query_id": event["query_id"]})

    def _result(self, context: Context, result: dict[str, Any]) -> dict[str, Any]:
        """The task's return value, naming the (last) Trino query it ran, if any."""
        if "query_id" not in result and self.hook.query_ids:
            result = {**result, "query_id": self.hook.query_ids[-1]}
        return self.publish(context, facts.RESULT, result)

    def _announce(self, context: Context, table: TableName, rows: int) -> dict[str, Any]:
        """Emit the written table as an asset event (through the task's alias) and return what was written."""
        uri = self.hook.table_asset_uri(table)
        if self._alias_name:
            context["outlet_events"][AssetAlias(name=self._alias_name)].add(Asset(uri=uri), extra={"rows": rows})
        return {"table": str(table), "rows": rows, "asset_uri": uri}

    def on_kill(self) -> None:
        """Cancel the query this task is running, and drop a staging table it was writing."""
        self.hook.cancel()
