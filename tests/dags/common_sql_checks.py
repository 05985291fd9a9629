"""Test DAGs: common.sql's operators on the connections of the virtualized-data hook, run by tests/test_common_sql.py.

``vd_embedded`` is a ``virtualized_data`` connection (the embedded engine, through
VirtualizedDataHook); ``vd_trino`` is a ``trino`` connection to the Trino protocol test
server, which common.sql hands to the trino provider's TrinoHook, as for any DAG that
already uses one. The same Trino SQL and the same checks run on both.
"""

from __future__ import annotations

from datetime import datetime

from airflow.providers.common.sql.operators.sql import (
    SQLColumnCheckOperator,
    SQLExecuteQueryOperator,
    SQLTableCheckOperator,
    SQLValueCheckOperator,
)
from airflow.sdk import DAG

TOTALS = "warehouse.marts.checked_totals"
SCHEMA = "CREATE SCHEMA IF NOT EXISTS warehouse.marts"

# --8<-- [start:howto_common_sql_checks]
LOAD = f"""
CREATE TABLE {TOTALS} AS
SELECT c.name, sum(o.amount) AS total
FROM crm.public.customers AS c JOIN lake.sales.orders AS o ON o.customer_id = c.id
GROUP BY c.name
"""


def checks(conn_id: str, *, passing: bool) -> None:
    """The three check operators on ``TOTALS``; ``passing=False`` expects what the data does not hold."""
    rows, smallest = (2, 7.5) if passing else (3, 100)
    SQLColumnCheckOperator(
        task_id="columns",
        conn_id=conn_id,
        table=TOTALS,
        column_mapping={"total": {"min": {"geq_to": smallest}}, "name": {"null_check": {"equal_to": 0}}},
    )
    SQLTableCheckOperator(
        task_id="table", conn_id=conn_id, table=TOTALS, checks={"rows": {"check_statement": f"COUNT(*) = {rows}"}}
    )
    SQLValueCheckOperator(task_id="value", conn_id=conn_id, sql=f"SELECT count(*) FROM {TOTALS}", pass_value=rows)


# --8<-- [end:howto_common_sql_checks]

for engine in ("embedded", "trino"):
    for passing in (True, False):
        dag_id = f"common_sql_{'checks' if passing else 'failing'}_{engine}"
        with DAG(dag_id, start_date=datetime(2026, 1, 1), schedule=None, tags=["test"]):
            checks(f"vd_{engine}", passing=passing)
    with DAG(f"common_sql_load_{engine}", start_date=datetime(2026, 1, 1), schedule=None, tags=["test"]):
        SQLExecuteQueryOperator(
            task_id="load", conn_id=f"vd_{engine}", sql=[SCHEMA, f"DROP TABLE IF EXISTS {TOTALS}", LOAD]
        )
