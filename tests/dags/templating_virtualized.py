"""Test DAGs: every templated argument of VirtualizedQueryOperator, rendered then used.

Run by tests/test_operator_templating.py through dag.test() on the embedded engine
(connection ``vd_tpl``, defined by the test over real files: ``lake.sales.orders`` holds
the amounts 10.0, 5.0 and 7.5). Each value comes from an upstream task (an ``XComArg``)
or from a Jinja template over the run's params or its date, and the table written shows
what it rendered to: its name, or how many orders the query kept.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from airflow.sdk import DAG, task

from airflow_dataops.operators.virtualized_data import VirtualizedQueryOperator

ORDERS_OVER = "SELECT * FROM lake.sales.orders WHERE amount >= ?"


def dag(dag_id: str, **params: Any) -> DAG:
    """A manual test DAG with ``params`` the runs override."""
    return DAG(dag_id, start_date=datetime(2026, 1, 1), schedule=None, tags=["test"], params=params)


@task
def chosen_table() -> str:
    """An upstream task that decides where the result goes."""
    return "warehouse.marts.from_upstream"


@task
def written_query() -> str:
    """An upstream task that writes the query."""
    return "SELECT * FROM lake.sales.orders WHERE amount >= 10"


@task
def bounds() -> list[float]:
    """An upstream task that computes the query's parameters."""
    return [7.0]


with dag("tpl_vd_from_upstream"):
    VirtualizedQueryOperator(
        task_id="target_table", conn_id="vd_tpl", sql=ORDERS_OVER, parameters=[0], target_table=chosen_table()
    )
    VirtualizedQueryOperator(
        task_id="sql", conn_id="vd_tpl", sql=written_query(), target_table="warehouse.marts.sql_from_upstream"
    )
    VirtualizedQueryOperator(
        task_id="parameters",
        conn_id="vd_tpl",
        sql=ORDERS_OVER,
        parameters=bounds(),
        target_table="warehouse.marts.parameters_from_upstream",
    )

# --8<-- [start:howto_virtualized_templated_target]
with dag("tpl_vd_from_jinja", column="amount", bounds=[0]):
    VirtualizedQueryOperator(
        task_id="target_table",
        conn_id="vd_tpl",
        sql="SELECT * FROM lake.sales.orders",
        target_table="warehouse.marts.orders_{{ ds_nodash }}",  # one table per day
    )
    VirtualizedQueryOperator(
        task_id="sql",
        conn_id="vd_tpl",
        # A template chooses names (values go in parameters): one row per distinct value.
        sql="SELECT DISTINCT {{ params.column }} FROM lake.sales.orders",
        target_table="warehouse.marts.sql_from_params",
    )
    # Rendered to the string "[9]" without native rendering: read as a list.
    VirtualizedQueryOperator(
        task_id="parameters",
        conn_id="vd_tpl",
        sql=ORDERS_OVER,
        parameters="{{ params.bounds }}",
        target_table="warehouse.marts.parameters_from_params",
    )
# --8<-- [end:howto_virtualized_templated_target]

with dag("tpl_vd_bad_rendered_target", target="warehouse.marts.x; DROP TABLE y"):
    VirtualizedQueryOperator(
        task_id="write", conn_id="vd_tpl", sql="SELECT 1 AS one", target_table="{{ params.target }}"
    )
