"""The embedded engine: Trino SQL on DuckDB over local sources, for a machine without Trino.

Each source becomes a catalog, so that the three-part names of Trino
(``catalog.schema.table``) work unchanged:

- ``parquet`` / ``csv``: a folder laid out ``<schema>/<table>.parquet`` (or ``.csv``);
  every file becomes a view, read in place (no copy);
- ``duckdb``: a DuckDB database file, attached (writable: results can be materialized
  into it).

Only DuckDB's built-in readers are used (Parquet, CSV, JSON); nothing is downloaded at
run time. SQL goes through :func:`airflow_dataops.core.sql_translation.trino_to_duckdb`
first, so a construct that would give a different result is refused.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from airflow_dataops.core.sql_translation import SqlTranslationError, trino_to_duckdb
from airflow_dataops.core.supercluster import InvalidInputError

KINDS = ("parquet", "csv", "duckdb")
_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")


@dataclass(frozen=True)
class Source:
    """A catalog of the embedded engine."""

    catalog: str
    kind: str
    path: str

    def __post_init__(self) -> None:
        if not _NAME.match(self.catalog):
            raise InvalidInputError(
                f"source {self.catalog!r}", "catalog", "is not a valid name", "use lower-case letters, digits, '_'"
            )
        if self.kind not in KINDS:
            raise InvalidInputError(
                f"source {self.catalog!r}", "kind", f"{self.kind!r} is unknown", f"use one of {', '.join(KINDS)}"
            )


def _quoted(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


class EmbeddedEngine:
    """A DuckDB connection with the sources attached as catalogs."""

    def __init__(self, sources: Sequence[Source]) -> None:
        import duckdb

        self.connection = duckdb.connect()
        for source in sources:
            self._attach(source)

    def _attach(self, source: Source) -> None:
        root = Path(source.path)
        if source.kind == "duckdb":
            self.connection.execute(f"ATTACH {_quoted(root)} AS {source.catalog}")
            return
        if not root.is_dir():
            raise InvalidInputError(
                f"source {source.catalog!r}", "path", f"{root} is not a folder", "point it at <schema>/<table> files"
            )
        self.connection.execute(f"ATTACH ':memory:' AS {source.catalog}")
        reader = "read_parquet" if source.kind == "parquet" else "read_csv_auto"
        for schema in sorted(p for p in root.iterdir() if p.is_dir()):
            self.connection.execute(f"CREATE SCHEMA IF NOT EXISTS {source.catalog}.{schema.name}")
            for table in sorted(schema.glob(f"*.{source.kind}")):
                view = f"{source.catalog}.{schema.name}.{table.stem}"
                self.connection.execute(f"CREATE VIEW {view} AS SELECT * FROM {reader}({_quoted(table)})")

    def batches(self, sql: str, rows_per_batch: int = 100_000) -> Iterator[Any]:
        """The result of Trino ``sql`` as Arrow record batches of at most ``rows_per_batch`` rows."""
        # A relation streamed as Arrow: DuckDB produces one batch at a time, memory stays bounded.
        yield from self.connection.sql(trino_to_duckdb(sql)).to_arrow_reader(rows_per_batch)

    def records(self, sql: str) -> list[tuple[Any, ...]]:
        """All rows of Trino ``sql`` (for small results)."""
        return list(self.connection.execute(trino_to_duckdb(sql)).fetchall())

    def materialize(self, sql: str, target: str) -> int:
        """Write the result of ``sql`` to ``target`` (``catalog.schema.table``) atomically; return the row count.

        Inside the engine (no round trip through Python), in one transaction: a failure
        anywhere leaves the previous table, or none, never a partial one.
        """
        parts = target.split(".")
        if len(parts) != 3 or not all(_NAME.match(p) for p in parts):
            raise SqlTranslationError(f"target {target!r} is not catalog.schema.table", "name the table in full")
        select = trino_to_duckdb(sql)
        catalog, schema = parts[0], parts[1]
        self.connection.execute("BEGIN TRANSACTION")
        try:
            self.connection.execute(f"CREATE SCHEMA IF NOT EXISTS {catalog}.{schema}")
            self.connection.execute(f"CREATE OR REPLACE TABLE {target} AS {select}")
            count = self.connection.execute(f"SELECT count(*) FROM {target}").fetchone()
            self.connection.execute("COMMIT")
        except BaseException:
            self.connection.execute("ROLLBACK")
            raise
        return int(count[0]) if count else 0

    def close(self) -> None:
        """Detach everything."""
        self.connection.close()
