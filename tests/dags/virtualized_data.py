"""Test DAGs for the virtualized-data hook and operator, run through dag.test() by tests/test_*virtualized*.

The connections are defined by the tests (``AIRFLOW_CONN_*``): ``vd_embedded`` is an
embedded engine over real files, ``vd_trino`` points at the Trino protocol test server.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.providers.common.sql.operators.sql import SQLExecuteQueryOperator
from airflow.sdk import DAG

from airflow_dataops.operators.virtualized_data import VirtualizedQueryOperator

# --8<-- [start:howto_virtualized_federated_sql]
FEDERATED = """
SELECT c.name, sum(o.amount) AS total
FROM crm.public.customers AS c JOIN lake.sales.orders AS o ON o.customer_id = c.id
GROUP BY c.name
"""
# --8<-- [end:howto_virtualized_federated_sql]
ENDLESS = (
    "SELECT count(*) AS n FROM warehouse.main.big AS a CROSS JOIN warehouse.main.big AS b "
    "WHERE (a.x * 7 + b.x) % 1000003 = 17"
)


def dag(dag_id: str) -> DAG:
    """A manual test DAG whose target table is a param (so it goes through templating)."""
    return DAG(
        dag_id,
        start_date=datetime(2026, 1, 1),
        schedule=None,
        tags=["test"],
        params={"target": "warehouse.marts.customer_totals"},
    )


for engine in ("embedded", "trino"):
    # --8<-- [start:howto_virtualized_materialize]
    with dag(f"vd_materialize_{engine}"):
        totals = VirtualizedQueryOperator(
            task_id="totals", conn_id=f"vd_{engine}", sql=FEDERATED, target_table="{{ params.target }}"
        )
        count = SQLExecuteQueryOperator(
            task_id="count", conn_id=f"vd_{engine}", sql="SELECT count(*) FROM {{ params.target }}"
        )
        totals >> count
    # --8<-- [end:howto_virtualized_materialize]

    # --8<-- [start:howto_virtualized_timeout]
    with dag(f"vd_timeout_{engine}"):
        VirtualizedQueryOperator(
            task_id="endless",
            conn_id=f"vd_{engine}",
            sql=ENDLESS,
            target_table="{{ params.target }}",
            execution_timeout=timedelta(seconds=3),
        )
    # --8<-- [end:howto_virtualized_timeout]

# --8<-- [start:howto_virtualized_deferrable]
with dag("vd_deferred_trino"):
    VirtualizedQueryOperator(
        task_id="totals", conn_id="vd_trino", sql=FEDERATED, target_table="{{ params.target }}",
        deferrable=True, poll_interval=0.2,
    )  # fmt: skip
# --8<-- [end:howto_virtualized_deferrable]
