"""The embedded engine: Trino SQL on DuckDB over local sources, for a machine without Trino.

Each source becomes a catalog, so that the three-part names of Trino
(``catalog.schema.table``) work unchanged:

- ``parquet`` / ``csv``: a folder laid out ``<schema>/<table>.parquet`` (or ``.csv``);
  every file becomes a view, read in place (no copy);
- ``duckdb``: a DuckDB database file, attached (writable: results can be materialized
  into it);
- ``sqlite``: a SQLite database file, attached read-only through DuckDB's
  ``sqlite_scanner`` extension, loaded from its pip package.

Only DuckDB's built-in readers and extensions installed as Python packages are used;
nothing is downloaded at run time. SQL goes through :func:`airflow_dataops.core.sql.translation.trino_to_duckdb`
first, so a construct that would give a different result is refused.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from airflow_dataops.core.errors import InvalidInputError
from airflow_dataops.core.sql.tables import TableName
from airflow_dataops.core.sql.translation import trino_to_duckdb
from airflow_dataops.runtime.interruptible import run_interruptibly

KINDS = ("parquet", "csv", "duckdb", "sqlite")
#: DuckDB extensions a source kind needs, and the Python package that carries each one.
PACKAGED_EXTENSIONS = {"sqlite": ("sqlite_scanner", "duckdb_extension_sqlite_scanner")}


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

    def __init__(self, sources: Sequence[Source], catalog: str | None = None, schema: str | None = None) -> None:
        import duckdb

        # Extensions must come from the worker's installation, never from the network.
        self.connection = duckdb.connect(config={"autoinstall_known_extensions": False})
        self.connection.execute("SET enable_progress_bar = false")  # it would write into the task log
        for source in sources:
            self._attach(source)
        if catalog:
            self._use(catalog, schema, {s.catalog for s in sources})

    def _use(self, catalog: str, schema: str | None, catalogs: set[str]) -> None:
        """Resolve unqualified names against ``catalog.schema``, as Trino's session catalog does."""
        if catalog not in catalogs:
            raise InvalidInputError(
                f"catalog {catalog!r}", "catalog", "is not one of the sources", f"use one of {sorted(catalogs)}"
            )
        target = TableName.parse(f"{catalog}.{schema or 'main'}.x", "default schema")
        self.connection.execute(f"CREATE SCHEMA IF NOT EXISTS {target.quoted_schema()}")
        self.connection.execute(f"USE {target.quoted_schema()}")

    def _attach(self, source: Source) -> None:
        root = Path(source.path)
        if source.kind == "sqlite":
            if not root.is_file():
                raise InvalidInputError(
                    f"source {source.catalog!r}", "path", f"{root} is not a file", "point it at a SQLite database file"
                )
            self._load_packaged_extension(source)
            self.connection.execute(f"ATTACH {_quoted(root)} AS {source.catalog} (TYPE sqlite, READ_ONLY)")
            return
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

    def _load_packaged_extension(self, source: Source) -> None:
        """LOAD the DuckDB extension ``source.kind`` needs from its pip package (never from the network).

        Extension binaries are built for one DuckDB version; the package holds them under
        ``extensions/v<version>/``, so a mismatch is named instead of failing obscurely.
        """
        import importlib.util

        import duckdb

        extension, module = PACKAGED_EXTENSIONS[source.kind]
        package = module.replace("_", "-")
        spec = importlib.util.find_spec(module)
        if spec is None or spec.origin is None:
            raise InvalidInputError(
                f"source {source.catalog!r}", "kind", f"{source.kind} needs the DuckDB extension {extension}, "
                f"which is not installed", f"pip install 'airflow-dataops[data]' (it brings {package})",
            )  # fmt: skip
        binary = Path(spec.origin).parent / "extensions" / f"v{duckdb.__version__}" / f"{extension}.duckdb_extension"
        if not binary.is_file():
            raise InvalidInputError(
                f"source {source.catalog!r}", "kind", f"the installed {package} has no build for DuckDB "
                f"{duckdb.__version__}", f"install {package}=={duckdb.__version__}",
            )  # fmt: skip
        self.connection.execute(f"LOAD {_quoted(binary)}")

    def materialize(self, sql: str, target: str, parameters: Sequence[Any] | None = None) -> int:
        """Write the result of ``sql`` to ``target`` (``catalog.schema.table``) atomically; return the row count.

        Inside the engine (no round trip through Python), in one transaction: a failure
        anywhere leaves the previous table, or none, never a partial one.
        """
        table = TableName.parse(target)
        select = trino_to_duckdb(sql)
        connection = self.connection

        def write() -> int:
            connection.execute("BEGIN TRANSACTION")
            try:
                connection.execute(f"CREATE SCHEMA IF NOT EXISTS {table.quoted_schema()}")
                connection.execute(f"CREATE OR REPLACE TABLE {table.quoted()} AS {select}", parameters or None)
                count = connection.execute(f"SELECT count(*) FROM {table.quoted()}").fetchone()
                connection.execute("COMMIT")
            except BaseException:
                connection.execute("ROLLBACK")
                raise
            return int(count[0]) if count else 0

        return run_interruptibly(write, connection.interrupt)

    def close(self) -> None:
        """Detach everything."""
        self.connection.close()
