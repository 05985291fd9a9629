"""Test DAG for the MLflow lineage listener, run by tests/test_lineage_mlflow.py through dag.test().

It never mentions MLflow: the provider's plugin traces it. One templated argument holds a
connection password, which must reach MLflow redacted.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from airflow.sdk import DAG, task


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
