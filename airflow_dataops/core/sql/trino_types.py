"""Trino column types as Arrow types, so query results stream as typed Arrow batches.

The Trino client maps JSON values to Python values (``Decimal``, ``datetime``, ``UUID``,
tuples for rows, dicts for maps); Arrow needs the column type to build a batch without
guessing, and guessing is wrong for maps (a dict would become a struct) and for
decimals. The type text is the one Trino reports for each column, e.g.
``map(varchar, array(row(x bigint, y double)))``.
"""

from __future__ import annotations

from typing import Any

_SIMPLE = {
    "boolean": "bool_",
    "tinyint": "int8",
    "smallint": "int16",
    "integer": "int32",
    "bigint": "int64",
    "real": "float32",
    "double": "float64",
    "varchar": "string",
    "char": "string",
    "json": "string",
    "varbinary": "binary",
    "date": "date32",
    "uuid": "uuid",
}


def _split_top_level(text: str) -> list[str]:
    """Split ``a, b(c, d), e`` at the commas that are not inside parentheses."""
    parts, depth, start = [], 0, 0
    for index, char in enumerate(text):
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == "," and depth == 0:
            parts.append(text[start:index].strip())
            start = index + 1
    parts.append(text[start:].strip())
    return parts


def arrow_type(type_text: str) -> Any:
    """The Arrow type of a Trino column type; ``ValueError`` for a type this module does not know."""
    import pyarrow as pa

    text = type_text.strip()
    base, _, rest = text.partition("(")
    base = base.strip().lower()
    arguments = _split_top_level(rest[: rest.rfind(")")]) if rest else []
    if base in _SIMPLE:
        return getattr(pa, _SIMPLE[base])()
    if base == "decimal":
        precision, scale = (int(a) for a in arguments)
        return pa.decimal128(precision, scale)
    if base.startswith("timestamp"):
        return pa.timestamp("us", tz="UTC" if "with time zone" in text.lower() else None)
    if base.startswith("time"):
        return pa.time64("us")
    if base == "array":
        return pa.list_(arrow_type(arguments[0]))
    if base == "map":
        return pa.map_(arrow_type(arguments[0]), arrow_type(arguments[1]))
    if base == "row":
        fields = []
        for position, field in enumerate(arguments):
            name, _, field_type = field.partition(" ")
            if not field_type:  # an anonymous field: ``row(integer, varchar)``
                name, field_type = f"field{position}", name
            fields.append(pa.field(name.strip('"'), arrow_type(field_type)))
        return pa.struct(fields)
    raise ValueError(f"Trino type {type_text!r} has no Arrow mapping")


def arrow_schema(columns: list[tuple[str, str]]) -> Any:
    """The Arrow schema of ``(name, trino type)`` columns."""
    import pyarrow as pa

    return pa.schema([pa.field(name, arrow_type(type_text)) for name, type_text in columns])
