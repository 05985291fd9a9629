"""Table names that are safe to put into SQL, and the asset URI that names a table.

A table name often arrives through templating (``"{{ params.target }}"``), so it is user
input: it must never be spliced into SQL as text. :class:`TableName` accepts only
``catalog.schema.table`` made of plain identifiers, and renders each part quoted, so a
value like ``x; DROP TABLE y`` is refused before any SQL is built.

The same three parts name the table as an Airflow asset, with the URI scheme of Airflow's
Trino provider (``trino://host:port/catalog/schema/table``), so data-aware scheduling
sees one table whether the embedded engine or a Trino cluster wrote it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from airflow_dataops.core.errors import InvalidInputError

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_AUTHORITY = re.compile(r"^[A-Za-z0-9.-]+:[0-9]{1,5}$")


class UnsafeTableNameError(InvalidInputError):
    """A table name is not ``catalog.schema.table`` of plain identifiers; no SQL was built."""


@dataclass(frozen=True)
class TableName:
    """A fully qualified table: the only form written into SQL, always quoted."""

    catalog: str
    schema: str
    table: str

    @classmethod
    def parse(cls, text: str, what: str = "target table") -> TableName:
        """``catalog.schema.table`` -> TableName, or :class:`UnsafeTableNameError` naming the bad part."""
        parts = str(text).split(".")
        if len(parts) != 3:
            raise UnsafeTableNameError(
                f"{what} {text!r}", "name", "is not catalog.schema.table", "name it in full, e.g. lake.sales.orders"
            )
        for part in parts:
            if not _IDENTIFIER.match(part):
                raise UnsafeTableNameError(
                    f"{what} {text!r}",
                    "name",
                    f"part {part!r} is not a plain identifier (letters, digits, '_', not starting with a digit)",
                    "rename the table, or check the template that produced this name",
                )
        return cls(parts[0].lower(), parts[1].lower(), parts[2].lower())

    def __str__(self) -> str:
        return f"{self.catalog}.{self.schema}.{self.table}"

    def quoted(self) -> str:
        """The SQL form: each part double-quoted (Trino and DuckDB agree on this)."""
        return ".".join(f'"{part}"' for part in (self.catalog, self.schema, self.table))

    def quoted_schema(self) -> str:
        """``"catalog"."schema"``, for CREATE SCHEMA."""
        return f'"{self.catalog}"."{self.schema}"'

    def sibling(self, table: str) -> TableName:
        """A table in the same schema (a staging table beside its target)."""
        return TableName.parse(f"{self.catalog}.{self.schema}.{table}", "staging table")

    def asset_uri(self, authority: str) -> str:
        """``trino://authority/catalog/schema/table``, the URI Airflow's Trino provider uses for tables."""
        if not _AUTHORITY.match(authority):
            raise InvalidInputError(
                f"asset authority {authority!r}", "authority", "is not host:port", "write it as trino.example.com:443"
            )
        return f"trino://{authority}/{self.catalog}/{self.schema}/{self.table}"
