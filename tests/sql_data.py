"""Real data for the SQL tests: a CSV catalog, a Parquet catalog and a writable DuckDB catalog."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

FEDERATED = """
SELECT c.name, sum(o.amount) AS total
FROM crm.public.customers AS c JOIN lake.sales.orders AS o ON o.customer_id = c.id
GROUP BY c.name ORDER BY c.name
"""
#: A query that runs for minutes unless it is stopped (a 4e10-row cross join).
ENDLESS = (
    "SELECT count(*) AS n FROM warehouse.main.big AS a CROSS JOIN warehouse.main.big AS b "
    "WHERE (a.x * 7 + b.x) % 1000003 = 17"
)


def write_sources(root: Path, big_rows: int = 0) -> list[dict[str, str]]:
    """Create the three sources under ``root``; return them as a connection's ``sources`` extra.

    ``big_rows`` fills ``warehouse.main.big`` (one column ``x``) for long-running queries.
    """
    import duckdb

    (root / "crm" / "public").mkdir(parents=True, exist_ok=True)
    (root / "crm" / "public" / "customers.csv").write_text("id,name\n1,Ada\n2,Grace\n3,Linus\n")
    (root / "lake" / "sales").mkdir(parents=True, exist_ok=True)
    duckdb.sql(
        "COPY (SELECT * FROM (VALUES (1, 10.0), (1, 5.0), (3, 7.5)) AS t(customer_id, amount)) "
        f"TO '{root / 'lake' / 'sales' / 'orders.parquet'}' (FORMAT parquet)"
    )
    if big_rows:
        with duckdb.connect(str(root / "warehouse.duckdb")) as warehouse:
            warehouse.execute(f"CREATE OR REPLACE TABLE big AS SELECT range AS x FROM range({int(big_rows)})")
    return [
        {"catalog": "crm", "kind": "csv", "path": str(root / "crm")},
        {"catalog": "lake", "kind": "parquet", "path": str(root / "lake")},
        {"catalog": "warehouse", "kind": "duckdb", "path": str(root / "warehouse.duckdb")},
    ]


def embedded_connection(sources: list[dict[str, str]], **extra: Any) -> str:
    """The ``AIRFLOW_CONN_*`` value of an embedded-engine connection over ``sources``."""
    return json.dumps({"conn_type": "virtualized_data", "extra": {"engine": "embedded", "sources": sources, **extra}})


def cancel_while_running(hook: Any, sql: str, after: float) -> tuple[float, list[Exception]]:
    """Run ``sql`` through ``hook`` in a thread, call ``hook.cancel()`` after ``after`` seconds.

    Returns how long the query took to stop after the cancel, and what the query raised.
    """
    import threading
    import time

    errors: list[Exception] = []

    def query() -> None:
        try:
            hook.get_records(sql)
        except Exception as error:
            errors.append(error)

    worker = threading.Thread(target=query)
    worker.start()
    time.sleep(after)
    started = time.monotonic()
    hook.cancel()
    worker.join(10)
    assert not worker.is_alive(), "the query went on after cancel()"
    return time.monotonic() - started, errors
