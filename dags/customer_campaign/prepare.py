"""Finer steps of the business step "prepare customer data", as Trino SQL.

The raw extraction lands in the ``lake`` catalog; cleaning runs as SQL inside the engine
and writes ``warehouse.crm.customers_clean``, so no row passes through the worker until
the features are built. ``sql`` is a :class:`~airflow_dataops.hooks.virtualized_data.VirtualizedDataHook`
(the embedded engine in the demo; the same SQL runs on a Trino cluster).
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any, Protocol

from customer_campaign.dataset import COLUMNS, NUMERIC_COLUMNS

RAW = "lake.crm.customers"
CLEAN = "warehouse.crm.customers_clean"


class SqlEngine(Protocol):
    """What these steps need from the virtualized-data hook."""

    def get_records(self, sql: str) -> Any:
        """All rows of a small result."""

    def materialize(self, sql: str, target: str, parameters: Any = None) -> int:
        """Write a query's result into a table inside the engine; return its row count."""

    def iter_batches(self, sql: str) -> Any:
        """A result as Arrow record batches."""


def detect_missing_values(sql: SqlEngine, table: str = RAW) -> dict[str, int]:
    """Count empty cells per column, so the run log says how dirty the input was."""
    counts = ", ".join(f"count(*) - count({column}) AS {column}" for column in COLUMNS)
    (row,) = sql.get_records(f"SELECT {counts} FROM {table}")
    return dict(zip(COLUMNS, (int(v) for v in row), strict=True))


def impute_sql(source: str = RAW) -> str:
    """The query that fills numeric gaps with the column median and regions with the most frequent one.

    Medians resist the outliers a customer base always has (``approx_percentile``, as a
    Trino cluster computes it). Materialized into ``CLEAN`` inside the engine.
    """
    medians = ", ".join(f"round(approx_percentile({c}, 0.5), 2) AS {c}" for c in NUMERIC_COLUMNS)
    filled = ", ".join(f"coalesce(c.{c}, f.{c}) AS {c}" for c in NUMERIC_COLUMNS)
    return f"""
        WITH fills AS (SELECT {medians} FROM {source}),
        usual_region AS (
            SELECT region FROM {source} WHERE region IS NOT NULL
            GROUP BY region ORDER BY count(*) DESC, region LIMIT 1
        )
        SELECT c.customer_id, {filled}, coalesce(c.region, r.region) AS region
        FROM {source} AS c CROSS JOIN fills AS f CROSS JOIN usual_region AS r
    """


def scale_features(sql: SqlEngine, clean_out: Path, features_out: Path, table: str = CLEAN) -> dict[str, Any]:
    """Standardise the numeric columns (zero mean, unit variance) for K-Means.

    K-Means measures Euclidean distance, so unscaled income (in k$) would dominate age
    or visits. The clean table is read in Arrow batches and written where the K-Means pod
    reads it (a CSV of the clean customers and the feature matrix); the scaler's
    parameters are written beside the matrix.
    """
    import numpy as np

    rows: list[tuple[Any, ...]] = []
    for batch in sql.iter_batches(f"SELECT {', '.join(COLUMNS)} FROM {table} ORDER BY customer_id"):
        rows.extend(zip(*(batch.column(c).to_pylist() for c in COLUMNS), strict=True))
    clean_out.parent.mkdir(parents=True, exist_ok=True)
    with clean_out.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        writer.writerows(rows)
    positions = [COLUMNS.index(c) for c in NUMERIC_COLUMNS]
    matrix = np.asarray([[float(row[p]) for p in positions] for row in rows])
    mean, std = matrix.mean(axis=0), matrix.std(axis=0)
    std[std == 0] = 1.0
    features_out.parent.mkdir(parents=True, exist_ok=True)
    np.save(features_out, (matrix - mean) / std)
    scaler = {"mean": mean.round(4).tolist(), "std": std.round(4).tolist()}
    features_out.with_suffix(".scaler.json").write_text(json.dumps(scaler, indent=2))
    return scaler
