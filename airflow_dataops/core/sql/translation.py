"""Trino SQL on the embedded engine (DuckDB): translated by sqlglot, within a verified subset.

DAG authors write Trino SQL; on a machine without Trino the same SQL runs on DuckDB.
sqlglot does the translation (we write no SQL rewriter). sqlglot translates more than
is *equivalent*: ``date_add('day', 3, DATE ...)`` becomes a DuckDB expression that
returns a TIMESTAMP where Trino returns a DATE. A silently different result is worse
than an error, so only the constructs listed in ``VERIFIED`` are accepted: each is
checked by ``tests/test_core_sql_translation.py``, which runs the translation on DuckDB
and compares with Trino's documented result. Anything else fails before running, with
an error naming the construct.
"""

from __future__ import annotations

import re
from typing import Any

from airflow_dataops.core.errors import InvalidInputError

#: sqlglot expression types whose Trino -> DuckDB translation is verified equivalent.
VERIFIED = frozenset(
    {
        # boolean logic and conditionals (sqlglot models these as functions)
        "And", "Or", "Case", "Exists",
        # aggregates, approximations, ranking windows
        "Count", "CountIf", "Sum", "Avg", "Min", "Max", "ApproxDistinct", "ApproxQuantile",
        "RowNumber", "Rank", "DenseRank",
        # casts, conditionals, arithmetic, strings
        "Cast", "TryCast", "Coalesce", "If", "Abs", "Round", "Lower", "Upper", "Length", "Concat", "Substring",
        # dates and times
        "DateDiff", "TimestampTrunc", "CurrentDate",
        # arrays, JSON, regular expressions
        "Array", "Unnest", "Transform", "JSONExtractScalar", "RegexpLike",
    }
)  # fmt: skip


class SqlTranslationError(InvalidInputError):
    """The SQL cannot run on the embedded engine as it would on Trino; nothing was run."""

    def __init__(self, problem: str, fix: str) -> None:
        super().__init__("the SQL", "sql", problem, fix)


def _trino_name(node: Any) -> str:
    """The function's name as the author wrote it in Trino SQL, not sqlglot's internal one."""
    call = re.match(r"^([A-Za-z_][A-Za-z0-9_]*)\(", node.sql(dialect="trino"))
    return call.group(1) if call else str(node.sql_name())


def trino_to_duckdb(sql: str) -> str:
    """The DuckDB text of Trino ``sql``, or :class:`SqlTranslationError` naming what is not supported."""
    import sqlglot
    from sqlglot import exp
    from sqlglot.errors import ErrorLevel, ParseError, UnsupportedError

    try:
        statements = sqlglot.parse(sql, read="trino")
    except ParseError as error:
        first = error.errors[0] if error.errors else {}
        where = f"line {first.get('line')}, column {first.get('col')}: " if first else ""
        raise SqlTranslationError(
            f"it is not valid Trino SQL ({where}{first.get('description', error)})", "fix the statement"
        ) from None
    for statement in statements:
        if statement is None:
            continue
        for node in statement.walk():
            if isinstance(node, exp.Func) and type(node).__name__ not in VERIFIED:
                name = node.name if isinstance(node, exp.Anonymous) else _trino_name(node)
                raise SqlTranslationError(
                    f"{name.lower()}(...) is not in the subset verified to give the same result on the embedded "
                    "engine as on Trino",
                    "run this query on Trino, or rewrite it with supported functions (see docs)",
                )
    try:
        return ";\n".join(
            s.sql(dialect="duckdb", unsupported_level=ErrorLevel.RAISE) for s in statements if s is not None
        )
    except UnsupportedError as error:
        raise SqlTranslationError(f"sqlglot cannot translate it: {error}", "run this query on Trino") from None
