"""airflow-dataops: make ordinary Airflow DAGs supercluster-aware.

Layout, as in Airflow's own providers:

* ``airflow_dataops.core`` -- the pure core (placement, pricing, circuit handling).
  It never imports Airflow, so it can be read, tested and reused on its own.
* ``hooks``, ``operators``, ``sensors``, ``triggers``, ``plugins`` -- thin Airflow
  adapters over the core, added as the features land.
* ``get_provider_info`` -- what ``airflow providers get airflow-dataops`` shows.

Importing any of these never loads the heavy SDKs (qiskit, braket, mlflow, trino,
duckdb, boto3): they are optional extras, loaded on first use through
:func:`airflow_dataops.core.optional.import_optional`.
"""

from __future__ import annotations

__all__ = ["__version__"]

__version__ = "0.1.0"
