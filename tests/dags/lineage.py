"""Test DAG for the MLflow lineage listener, run by tests/test_lineage_mlflow.py through dag.test().

It never mentions MLflow: the provider's plugin traces it. One templated argument holds a
connection password, which must reach MLflow redacted.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from airflow.sdk import DAG, task

from airflow_dataops.operators.virtualized_data import VirtualizedQueryOperator


# --8<-- [start:howto_lineage_plain]
@task
def extract(secret: str, rows: Any) -> int:
    """A task whose rendered arguments include a secret."""
    return int(rows) * 2 if secret else 0


@task
def load(count: Any) -> str:
    """A second task, so the DAG run has two nested runs."""
    return f"loaded {count}"


with DAG("lineage_plain", start_date=datetime(2026, 1, 1), schedule=None, tags=["test"]):
    load(extract("{{ conn.lineage_secret.password }}", "{{ 21 }}"))
# --8<-- [end:howto_lineage_plain]


# --8<-- [start:howto_lineage_sql]
@task
def report() -> int:
    """Reads the table the first task wrote, and one of the tables it read (lineage per task)."""
    from airflow_dataops.hooks.virtualized_data import VirtualizedDataHook

    return len(
        VirtualizedDataHook("vd_embedded").get_records(
            "SELECT t.name FROM warehouse.marts.customer_totals AS t JOIN crm.public.customers AS c ON c.name = t.name"
        )
    )


with DAG("lineage_sql", start_date=datetime(2026, 1, 1), schedule=None, tags=["test"], params={"min_amount": 0}):
    # the vd_embedded connection is defined by the test (an embedded engine over real files)
    totals = VirtualizedQueryOperator(
        task_id="totals",
        conn_id="vd_embedded",
        sql=(
            "SELECT c.name, sum(o.amount) AS total FROM crm.public.customers AS c "
            "JOIN lake.sales.orders AS o ON o.customer_id = c.id "
            "WHERE o.amount > {{ params.min_amount }} GROUP BY c.name"
        ),
        target_table="warehouse.marts.customer_totals",
    )
    totals >> report()
# --8<-- [end:howto_lineage_sql]


@task
def part(number: int) -> int:
    """One of several tasks that run at once, on whichever worker takes it."""
    import time

    time.sleep(2)
    return number * number


@task
def total(parts: Any) -> int:
    """Collects the mapped tasks' results."""
    return sum(parts)


with DAG("lineage_fanout", start_date=datetime(2026, 1, 1), schedule=None, tags=["test"]):
    total(part.expand(number=list(range(8))))
