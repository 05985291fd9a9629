"""SQL that does not parse as Trino SQL: inline on several lines, in a .sql file, and on one line."""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import DAG

from airflow_dataops.operators.virtualized_data import VirtualizedQueryOperator

with DAG("broken_sql", start_date=datetime(2026, 1, 1), schedule=None):
    VirtualizedQueryOperator(
        task_id="inline",
        conn_id="lakehouse",
        sql="""
SELECT region, sum(amount) AS total
FROM lake.sales.orders
WHERE amount > = 10
GROUP BY region
""",
        target_table="warehouse.marts.totals",
    )
    VirtualizedQueryOperator(task_id="from_file", conn_id="lakehouse", sql="report.sql")
    VirtualizedQueryOperator(task_id="one_line", conn_id="lakehouse", sql="SELECT (1 FROM t")
