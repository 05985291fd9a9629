"""Trino SQL on DuckDB: each verified construct gives Trino's documented result; the rest fails clearly."""

from __future__ import annotations

import datetime
from typing import Any

import pytest

from airflow_dataops.core.sql.translation import SqlTranslationError, trino_to_duckdb

# (Trino SQL, the result Trino documents for it)
CORPUS: list[tuple[str, Any]] = [
    ("SELECT date_diff('day', DATE '2024-01-01', DATE '2024-03-01')", 60),
    ("SELECT date_trunc('month', TIMESTAMP '2024-05-17 10:00:00')", datetime.datetime(2024, 5, 1)),
    ("SELECT try_cast('x' AS INTEGER)", None),
    ("SELECT CAST('12' AS BIGINT) + 1", 13),
    ("SELECT sum(x) FROM UNNEST(ARRAY[1, 2, 3]) AS t(x)", 6),
    ("SELECT approx_distinct(x) FROM UNNEST(ARRAY[1, 2, 2, 3]) AS t(x)", 3),
    ("SELECT approx_percentile(x, 0.5) FROM UNNEST(ARRAY[1, 2, 3, 4, 5]) AS t(x)", 3),
    ("SELECT regexp_like('abc', 'b')", True),
    ("SELECT json_extract_scalar('{\"a\": 1}', '$.a')", "1"),
    ("SELECT transform(ARRAY[1, 2], x -> x * 2)", [2, 4]),
    ("SELECT coalesce(NULL, 'a') || upper('b') || lower('C')", "aBc"),
    ("SELECT substr('abcdef', 2, 3)", "bcd"),
    ("SELECT 1 > 2 AND 2 > 1 OR 3 > 2", True),
    ("SELECT CASE WHEN 2 > 1 THEN 'yes' ELSE 'no' END", "yes"),
    ("SELECT EXISTS (SELECT 1 WHERE 1 > 2)", False),
    ("SELECT count_if(x > 1) FROM UNNEST(ARRAY[1, 2, 3]) AS t(x)", 2),
    ("SELECT max(r) FROM (SELECT row_number() OVER (ORDER BY x) AS r FROM UNNEST(ARRAY[5, 6, 7]) AS t(x))", 3),
    ("SELECT sum(r) FROM (SELECT rank() OVER (ORDER BY x) AS r FROM UNNEST(ARRAY[1, 1, 2]) AS t(x))", 5),
    ("SELECT sum(r) FROM (SELECT dense_rank() OVER (ORDER BY x) AS r FROM UNNEST(ARRAY[1, 1, 2]) AS t(x))", 4),
]


@pytest.mark.parametrize(("sql", "expected"), CORPUS)
def test_verified_constructs_give_trinos_result_on_duckdb(sql: str, expected: Any) -> None:
    import duckdb

    row = duckdb.connect().execute(trino_to_duckdb(sql)).fetchone()
    assert row is not None
    assert row[0] == expected


def test_three_part_names_address_attached_catalogs() -> None:
    import duckdb

    connection = duckdb.connect()
    connection.execute("ATTACH ':memory:' AS lake")
    connection.execute("CREATE SCHEMA lake.sales")
    connection.execute("CREATE TABLE lake.sales.orders AS SELECT 1 AS id, 9.5 AS amount")
    sql = trino_to_duckdb("SELECT sum(amount) FROM lake.sales.orders")
    assert connection.execute(sql).fetchone() == (9.5,)


@pytest.mark.parametrize(
    ("sql", "construct"),
    [
        ("SELECT date_add('day', 3, DATE '2024-01-30')", "date_add"),  # DuckDB would return a TIMESTAMP
        ("SELECT format_datetime(TIMESTAMP '2024-05-17 10:00:00', 'yyyy-MM-dd')", "format_datetime"),
        ("SELECT levenshtein_distance('kitten', 'sitting')", "levenshtein_distance"),  # Trino's name, not sqlglot's
    ],
)
def test_unverified_constructs_fail_naming_them(sql: str, construct: str) -> None:
    with pytest.raises(SqlTranslationError, match=rf"{construct}\(\.\.\.\) is not in the subset verified"):
        trino_to_duckdb(sql)


def test_invalid_sql_names_the_position() -> None:
    with pytest.raises(SqlTranslationError, match="not valid Trino SQL"):
        trino_to_duckdb("SELECT FROM WHERE (")
