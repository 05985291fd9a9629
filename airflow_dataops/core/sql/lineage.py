"""Which tables a SQL statement reads and writes, for lineage (OpenLineage, Airflow assets).

Parsed with sqlglot's Trino dialect; names are completed with the session's catalog and
schema, as Trino resolves them. Common table expressions are not tables and are left
out. A statement that cannot be parsed yields no lineage rather than an error: lineage
must never fail a query that the engine itself accepts.
"""

from __future__ import annotations

from dataclasses import dataclass

from airflow_dataops.core.sql.tables import TableName


@dataclass(frozen=True)
class StatementLineage:
    """Tables read and written by one statement, fully qualified."""

    inputs: tuple[TableName, ...]
    outputs: tuple[TableName, ...]


def _qualified(node: object, catalog: str | None, schema: str | None) -> TableName | None:
    from sqlglot import exp

    assert isinstance(node, exp.Table)
    parts = [node.catalog or catalog, node.db or schema, node.name]
    if not all(parts):
        return None
    try:
        return TableName.parse(".".join(str(p) for p in parts), "table")
    except ValueError:
        return None


def statement_lineage(sql: str, catalog: str | None = None, schema: str | None = None) -> StatementLineage:
    """Inputs and outputs of every statement in ``sql`` (Trino dialect)."""
    import sqlglot
    from sqlglot import exp
    from sqlglot.errors import SqlglotError

    inputs: dict[TableName, None] = {}
    outputs: dict[TableName, None] = {}
    try:
        statements = sqlglot.parse(sql, read="trino")
    except SqlglotError:
        return StatementLineage((), ())
    for statement in statements:
        if statement is None:
            continue
        ctes = {cte.alias_or_name.lower() for cte in statement.find_all(exp.CTE)}
        written = None
        if isinstance(statement, (exp.Create, exp.Insert, exp.Merge, exp.Delete, exp.Update)):
            target = statement.this
            written = target.this if isinstance(target, exp.Schema) else target
            if isinstance(written, exp.Table) and (name := _qualified(written, catalog, schema)):
                outputs[name] = None
        for table in statement.find_all(exp.Table):
            if table is written or (not table.db and table.name.lower() in ctes):
                continue
            if name := _qualified(table, catalog, schema):
                inputs[name] = None
    return StatementLineage(tuple(inputs), tuple(outputs))
