"""The embedded engine on real DuckDB: federated joins over attached sources, bounded reads, atomic writes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from airflow_dataops.core.errors import InvalidInputError
from airflow_dataops.core.sql.translation import trino_to_duckdb
from airflow_dataops.runtime.embedded_sql import EmbeddedEngine, Source


@pytest.fixture
def engine(tmp_path: Path) -> EmbeddedEngine:
    import duckdb

    (tmp_path / "crm" / "public").mkdir(parents=True)
    (tmp_path / "crm" / "public" / "customers.csv").write_text("id,name\n1,Ada\n2,Grace\n3,Linus\n")
    (tmp_path / "lake" / "sales").mkdir(parents=True)
    duckdb.sql(
        "COPY (SELECT * FROM (VALUES (1, 10.0), (1, 5.0), (3, 7.5)) AS t(customer_id, amount)) "
        f"TO '{tmp_path / 'lake' / 'sales' / 'orders.parquet'}' (FORMAT parquet)"
    )
    sources = [
        Source("crm", "csv", str(tmp_path / "crm")),
        Source("lake", "parquet", str(tmp_path / "lake")),
        Source("warehouse", "duckdb", str(tmp_path / "warehouse.duckdb")),
    ]
    return EmbeddedEngine(sources)


def records(engine: EmbeddedEngine, sql: str) -> list[tuple[Any, ...]]:
    """All rows of Trino ``sql`` on ``engine`` (bounded reads go through the hook's cursor)."""
    return list(engine.connection.execute(trino_to_duckdb(sql)).fetchall())


FEDERATED = """
SELECT c.name, sum(o.amount) AS total
FROM crm.public.customers AS c JOIN lake.sales.orders AS o ON o.customer_id = c.id
GROUP BY c.name ORDER BY c.name
"""


def test_a_federated_join_across_a_csv_and_a_parquet_source(engine: EmbeddedEngine) -> None:
    assert records(engine, FEDERATED) == [("Ada", 15.0), ("Linus", 7.5)]


def test_materialize_writes_inside_the_engine_and_replaces_atomically(engine: EmbeddedEngine) -> None:
    assert engine.materialize(FEDERATED, "warehouse.marts.customer_totals") == 2
    assert records(engine, "SELECT count(*) FROM warehouse.marts.customer_totals") == [(2,)]
    failing = "SELECT c.name, CAST(c.name AS INTEGER) AS total FROM crm.public.customers AS c"
    with pytest.raises(Exception, match="Could not convert"):
        engine.materialize(failing, "warehouse.marts.customer_totals")
    # the failed write left the previous table whole, and nothing new
    assert records(engine, "SELECT count(*) FROM warehouse.marts.customer_totals") == [(2,)]
    with pytest.raises(Exception, match="Could not convert"):
        engine.materialize(failing, "warehouse.marts.never_created")
    tables = records(engine, "SELECT table_name FROM information_schema.tables WHERE table_catalog = 'warehouse'")
    assert tables == [("customer_totals",)]


def test_a_sqlite_source_joins_with_a_parquet_one(tmp_path: Path) -> None:
    import sqlite3

    import duckdb

    with sqlite3.connect(tmp_path / "crm.sqlite") as crm:
        crm.execute("CREATE TABLE customers (id INTEGER, name TEXT)")
        crm.executemany("INSERT INTO customers VALUES (?, ?)", [(1, "Ada"), (3, "Linus")])
    (tmp_path / "lake" / "sales").mkdir(parents=True)
    orders = tmp_path / "lake" / "sales" / "orders.parquet"
    duckdb.sql(f"COPY (SELECT 1 AS customer_id, 10.0 AS amount) TO '{orders}' (FORMAT parquet)")
    engine = EmbeddedEngine(
        [Source("crm", "sqlite", str(tmp_path / "crm.sqlite")), Source("lake", "parquet", str(tmp_path / "lake"))]
    )
    sql = (
        "SELECT c.name, sum(o.amount) FROM crm.main.customers AS c "
        "JOIN lake.sales.orders AS o ON o.customer_id = c.id GROUP BY c.name"
    )
    assert records(engine, sql) == [("Ada", 10.0)]


def test_bad_sources_are_named() -> None:
    with pytest.raises(InvalidInputError, match="'mysql' is unknown"):
        Source("db", "mysql", "/x")
    with pytest.raises(InvalidInputError, match="is not a file"):
        EmbeddedEngine([Source("crm", "sqlite", "/no/such.sqlite")])
    with pytest.raises(InvalidInputError, match="is not a folder"):
        EmbeddedEngine([Source("lake", "parquet", "/no/such/folder")])
