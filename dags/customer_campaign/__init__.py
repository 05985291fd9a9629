"""Business logic of the showcase pipeline, kept free of Airflow.

The showcase DAG (``dags/showcase_customer_campaign.py``) wires these functions into
TaskGroups. Keeping the steps here, as plain functions over files and SQL, means they can be
unit-tested without Airflow and later moved onto the provider's operators (a pod on
the supercluster, a quantum task, a federated query) one step at a time.

Heavy libraries (numpy, scikit-learn) are imported inside the functions so that
parsing the DAG never pays for them.
"""

from __future__ import annotations

import json

#: The ``showcase_data`` connection of the demo: the embedded engine over a lake folder
#: (CSV files, read in place) and a DuckDB warehouse, both under $DATAOPS_SHOWCASE_DIR.
#: ``make demo`` and the tests define it as ``AIRFLOW_CONN_SHOWCASE_DATA``; in production
#: the same connection id would point at a Trino cluster with the same catalogs.
SHOWCASE_DATA_CONNECTION = json.dumps(
    {
        "conn_type": "virtualized_data",
        "extra": {
            "engine": "embedded",
            "sources": [
                {"catalog": "lake", "kind": "csv", "path": "$DATAOPS_SHOWCASE_DIR/lake"},
                {"catalog": "warehouse", "kind": "duckdb", "path": "$DATAOPS_SHOWCASE_DIR/warehouse.duckdb"},
            ],
        },
    }
)
