"""The pure core of airflow-dataops: decisions only, no Airflow and no I/O.

Everything that decides (where a pod runs, what a quantum task costs, whether SQL is
Trino SQL the embedded engine may run, what a lineage record holds) lives here as plain
Python over plain data, so that it is deterministic, cheap to import and testable
without an Airflow installation:

- ``errors``: the one error type every domain raises for unusable input;
- ``facts``: the schema of every fact a task shares with the listener, the UI and OpenLineage;
- ``placement/``: the supercluster model, its declaration, requirements and the placement decision;
- ``quantum/``: circuits, devices and prices;
- ``sql/``: the Trino-to-DuckDB translation, table names, SQL lineage and Trino types;
- ``lineage``: the records sent to MLflow; ``metrics``: metric names.

What blocks, spawns, probes or runs an engine lives in :mod:`airflow_dataops.runtime`;
the Airflow-facing packages are thin adapters over both. ``tests/test_architecture.py``
enforces the rule.
"""
