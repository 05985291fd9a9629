"""VirtualizedQueryOperator: run Trino SQL where the data lives, write the result where it belongs.

For reading results into a task, use :class:`~airflow_dataops.hooks.virtualized_data.VirtualizedDataHook`
(``iter_batches``) or common.sql's ``SQLExecuteQueryOperator``, which work with the same
connection. This operator is for the statements that move no rows through the worker:

- with ``target_table``, the query is materialized into that table inside the engine,
  atomically, and the table is emitted as an Airflow asset
  (``trino://host:port/catalog/schema/table``) so data-aware DAGs can wait for it. The
  asset is the rendered table's, emitted when it is written, through an asset alias the
  task declares: named after the table when ``target_table`` is a literal, after the
  task when it is templated (its table is only known at run time);
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
from airflow_dataops.core.errors import InvalidInputError
from airflow_dataops.core.sql.tables import TableName
from airflow_dataops.links.supercluster import MlflowRunLink, TrinoQueryLink
from airflow_dataops.operators._openlineage import OpenLineageFacets
from airflow_dataops.operators._templating import invalid, is_templated, shown, structure_from_text

if TYPE_CHECKING:
    from airflow.sdk import Context, XComArg

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


def task_alias(conn_id: str, dag_id: str, task_id: str) -> AssetAlias:
    """The asset alias of a task whose ``target_table`` is templated: one alias, whatever table a run writes.

    A templated table (``sales_{{ ds_nodash }}``, an upstream task's choice) is known only
    when the task runs, but an alias must be declared when the DAG is parsed. So the alias
    names the task (``virtualized_data/<conn_id>/<dag_id>/<task_id>``: two segments after
    the connection, where a table alias has one) and each run attaches the table it wrote.
    """
    return AssetAlias(name=f"virtualized_data/{conn_id}/{dag_id}/{task_id}")


class VirtualizedQueryOperator(OpenLineageFacets, BaseOperator):
    """Run Trino SQL on the connection's engine; optionally materialize it into ``target_table``.

    :param sql: Trino SQL (a query when ``target_table`` is given; else any statements).
        (templated; a path ending in ``.sql`` is read as a template)
    :param target_table: ``catalog.schema.table`` to write the query's result into.
        (templated) Checked as given when it is a literal, when the DAG is parsed; else
        once rendered, before any SQL runs: only plain identifiers are accepted, and they
        are quoted in the SQL. A literal table is declared as the alias
        ``virtualized_data/<conn_id>/<table>``, a templated one as
        ``virtualized_data/<conn_id>/<dag_id>/<task_id>`` (see :func:`task_alias`).
    :param conn_id: a ``virtualized_data`` connection.
    :param parameters: values for ``?`` placeholders (never format values into ``sql``).
        (templated: a Jinja string or an ``XComArg`` may render to a list, or to its JSON
        or Python text)
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
        sql: str | XComArg,
        target_table: str | XComArg | None = None,
        conn_id: str = DEFAULT_CONN_ID,
        parameters: Sequence[Any] | str | XComArg | None = None,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        poll_interval: float = 2.0,
        **kwargs: Any,
    ) -> None:
        if not 0 < poll_interval <= 60:
            raise ValueError(
                f"task {kwargs.get('task_id')!r}: poll_interval={poll_interval} is outside (0, 60] seconds. "
                "Fix: Trino abandons a query whose client is silent for minutes; poll every few seconds"
            )
        super().__init__(**kwargs)
        #: What each templated argument was given as, quoted when its rendered value is refused.
        given = {"sql": sql, "target_table": target_table, "parameters": parameters}
        self._templates = {name: value for name, value in given.items() if is_templated(value)}
        # Template fields hold the template until Airflow renders them, then what it rendered to.
        self.sql: Any = sql
        self.target_table: Any = target_table
        self.conn_id = conn_id
        self.parameters: Any = parameters
        self.deferrable = deferrable
        self.poll_interval = poll_interval
        for name, value in given.items():
            if name not in self._templates:
                self._checked(name, value)
        self._alias_name: str | None = None
        if target_table and "target_table" not in self._templates:
            self._alias_name = table_alias(conn_id, str(target_table)).name
        elif target_table and self.get_dag() is not None:
            self._alias_name = task_alias(conn_id, self.dag_id, self.task_id).name
        # A task created outside a DAG (added to one later) with a templated table declares no
        # alias: its asset event is not emitted (logged), less lineage rather than a failed task.
        if self._alias_name:
            self.outlets = [*self.outlets, AssetAlias(name=self._alias_name)]

    @cached_property
    def hook(self) -> VirtualizedDataHook:
        """The hook of ``conn_id`` (kept, so ``on_kill`` cancels the query this task started)."""
        from airflow_dataops.hooks.virtualized_data import VirtualizedDataHook

        return VirtualizedDataHook(virtualized_data_conn_id=self.conn_id)

    def _checked(self, argument: str, value: Any) -> Any:
        """``value`` of ``argument`` as the operator uses it, or an error naming the task, argument and fix.

        Run on literals when the DAG is parsed and on rendered values when the task starts.
        """
        template = self._templates.get(argument)
        if argument == "sql":
            if not isinstance(value, str) or not value.strip():
                fix = "give Trino SQL text, or a path to a .sql file in the DAG's folder"
                raise invalid(self.task_id, "sql", f"{shown(value)} is not SQL text", fix, template)
            return value
        if argument == "target_table":
            if value is None or value == "":
                return None
            try:
                return TableName.parse(value if isinstance(value, str) else repr(value))
            except InvalidInputError as error:
                problem = f"{shown(value)}: {error.problem}"
                raise invalid(self.task_id, "target_table", problem, error.fix, template) from None
        value = structure_from_text(value)
        if value is not None and not isinstance(value, list | tuple):
            fix = "give the values of the '?' placeholders in order, e.g. [1, 'a']"
            raise invalid(self.task_id, "parameters", f"{shown(value)} is not a list", fix, template)
        if value and self.deferrable:
            fix = "use deferrable=False, or put the values in the SQL through a vetted template"
            raise invalid(self.task_id, "parameters", "a deferred Trino query cannot take parameters", fix, template)
        return list(value) if value is not None else None

    def execute(self, context: Context) -> dict[str, Any]:
        """Check the rendered arguments; materialize or run the SQL; defer on Trino when asked to."""
        self.sql = self._checked("sql", self.sql)
        table = self._checked("target_table", self.target_table)
        self.parameters = self._checked("parameters", self.parameters)
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
        else:
            self.log.warning(
                "No asset event for %s: the task was created outside a DAG with a templated target_table, so it "
                "declares no asset alias; create it inside its DAG to have the table's asset emitted",
                uri,
            )
        return {"table": str(table), "rows": rows, "asset_uri": uri}

    def on_kill(self) -> None:
        """Cancel the query this task is running, and drop a staging table it was writing."""
        self.hook.cancel()
