"""A Trino coordinator for tests: the client protocol (v1, direct) on loopback, answered by the embedded engine.

There is no Trino on the test machines, yet the code under test talks to Trino through
the real ``trino`` client, so this process speaks the protocol that client speaks and
answers with real results:

- ``POST /v1/statement`` queues a query and answers ``QUEUED`` without data, as Trino
  does; the client then follows ``nextUri``: ``/v1/statement/queued/{id}/{slug}/{n}``
  dispatches the query, ``/v1/statement/executing/{id}/{slug}/{token}`` returns the
  result page by page (tokens increase; repeating the last token returns the same page,
  as a client retry needs; any other token is ``410 Gone``). The last response has no
  ``nextUri``. ``DELETE`` on a ``nextUri`` cancels (``204``).
- The SQL runs on :class:`airflow_dataops.runtime.embedded_sql.EmbeddedEngine` (DuckDB,
  the sources attached as catalogs), translated by ``trino_to_duckdb``, in a thread per
  query with its own DuckDB cursor. Rows are fetched in small chunks, JSON-encoded
  there, and handed to the page handler through a bounded queue, so a 10-million-row
  result streams with bounded memory. Pages are cut at ``page_bytes`` of JSON.
- Columns carry Trino's type names and type signatures (``varchar`` with its length
  argument, ``decimal(p,s)``, ``timestamp(6) with time zone``, ``array``/``map``/``row``
  nested); values are encoded as Trino's JSON protocol encodes them (decimals and
  non-finite doubles as strings, varbinary in base64, temporal values as text, rows as
  arrays, maps as objects).
- Failures are Trino's ``QueryError`` (name, code, type, location, ``failureInfo``):
  ``SYNTAX_ERROR`` with line and column, ``CATALOG_NOT_FOUND``/``SCHEMA_NOT_FOUND``/
  ``TABLE_NOT_FOUND`` (names are checked against the engine's catalog before running,
  as Trino's analyzer does), ``NOT_SUPPORTED`` for what the translation refuses,
  ``USER_CANCELED`` after a cancel, ``GENERIC_INTERNAL_ERROR`` for the unexpected.
- Update statements report ``updateType``/``updateCount`` (CREATE TABLE AS, INSERT,
  DELETE, UPDATE: a ``rows`` column; other DDL: a ``result`` column, ``true``).
  ``USE``, ``SET SESSION``/``RESET SESSION``, ``SHOW CATALOGS|SCHEMAS|TABLES`` and
  ``DESCRIBE`` are answered by the coordinator itself, with the session headers Trino
  sends (``X-Trino-Set-Catalog``...); ``EXECUTE IMMEDIATE '...' USING ...`` (how the
  client sends parameters) is bound before running.
- Authentication when configured: HTTP Basic (``users``), bearer tokens
  (``jwt_tokens``; a JWT's ``sub`` is the principal), client certificates (mutual TLS
  with ``client_ca``; the certificate's CN is the principal). Anything else gets
  ``401`` with ``WWW-Authenticate``. The principal and the session user
  (``X-Trino-User``) are recorded separately, so impersonation is visible.

Where it is not Trino: only the direct protocol (a requested spooling encoding is
ignored, as by a Trino without spooling); DuckDB has no ``char(n)``, so results never
have that type; nanosecond timestamps and times come back truncated to microseconds,
and intervals with months count 30 days a month (DuckDB's Python values); session
properties and roles are recorded, not validated; no transactions, no
``information_schema``; credentials are accepted over plain HTTP too (as with
``http-server.authentication.allow-insecure-over-http``); a JWT is trusted because it is
in ``jwt_tokens``, its signature is not checked. ``hold`` withholds the data from the
client, the engine still runs (so a cancel has work to interrupt).

Tests steer it through ``/_test/*`` (no authentication): ``GET /_test/queries`` (what
each query carried and what became of it; never a secret), ``POST /_test/control``
(``hold``: new queries stay ``RUNNING`` without data until released or canceled;
``fail_next``: the next query fails with that error; ``page_delay``: seconds before each
page; ``page_bytes``), ``POST /_test/reset``.

Run: ``python tests/trino_server.py`` with the configuration as one JSON line on stdin
(sources, users, tokens, TLS paths: secrets stay off the command line); it prints
``PORT <n>`` when ready and exits when its stdin closes, so it never outlives the test
process that started it. :func:`start_trino_server` does all this and returns a
:class:`TrinoTestServer` handle.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import datetime
import hmac
import json
import math
import os
import queue
import re
import secrets
import select
import ssl
import struct
import subprocess
import sys
import threading
import time
import traceback
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from operator import itemgetter
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import duckdb
    from aiohttp import web
    from duckdb.sqltypes import DuckDBPyType
    from sqlglot import exp

    from airflow_dataops.runtime.embedded_sql import EmbeddedEngine, Source
    from tls_certs import TlsFiles

SERVER = Path(__file__).resolve()
HOST = "127.0.0.1"

# --------------------------------------------------------------------------------------
# The handle, used in the test (or benchmark) process. Standard library only, so that
# importing it does not weigh on a client whose memory is being measured.
# --------------------------------------------------------------------------------------


@dataclass
class TrinoTestServer:
    """A running server process and how to reach and steer it."""

    process: subprocess.Popen[bytes]
    host: str
    port: int
    scheme: str
    ca: Path | None = None

    @property
    def url(self) -> str:
        """Base URL of the coordinator (``http(s)://127.0.0.1:<port>``)."""
        return f"{self.scheme}://{self.host}:{self.port}"

    def _call(self, method: str, action: str, body: dict[str, Any] | None = None) -> Any:
        context = ssl.create_default_context(cafile=str(self.ca)) if self.scheme == "https" else None
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(
            f"{self.url}/_test/{action}", data=data, method=method, headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=10, context=context) as response:
            return json.loads(response.read())

    def queries(self) -> list[dict[str, Any]]:
        """Every query so far, oldest first (see ``Query.record`` for the fields)."""
        return list(self._call("GET", "queries"))

    def query(self, query_id: str) -> dict[str, Any]:
        """The record of one query."""
        for record in self.queries():
            if record["id"] == query_id:
                return record
        raise KeyError(query_id)

    def control(self, **settings: Any) -> dict[str, Any]:
        """Change ``hold``, ``fail_next``, ``page_delay`` or ``page_bytes``; returns all controls."""
        return dict(self._call("POST", "control", settings))

    def reset(self) -> None:
        """Cancel what runs, forget every query, restore the controls."""
        self._call("POST", "reset", {})

    def stop(self) -> None:
        """Kill the process (idempotent)."""
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=10)
        if self.process.stdin is not None and not self.process.stdin.closed:
            self.process.stdin.close()

    def __enter__(self) -> TrinoTestServer:
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()


def start_trino_server(
    sources: Sequence[Source],
    *,
    users: dict[str, str] | None = None,
    jwt_tokens: Sequence[str] | None = None,
    tls: TlsFiles | None = None,
    client_ca: Path | None = None,
    page_bytes: int = 1 << 20,
    startup_timeout: float = 30.0,
) -> TrinoTestServer:
    """Start a server process over ``sources`` and return its handle once it listens.

    ``users`` (name -> password) enables HTTP Basic, ``jwt_tokens`` bearer tokens,
    ``client_ca`` client certificates signed by that CA (needs ``tls``). Without any of
    them, requests are not authenticated (as a Trino without authentication).
    """
    if client_ca is not None and tls is None:
        raise ValueError("client certificates need TLS: pass tls= as well as client_ca=")
    config = {
        "sources": [{"catalog": s.catalog, "kind": s.kind, "path": str(s.path)} for s in sources],
        "users": dict(users or {}),
        "jwt_tokens": list(jwt_tokens or []),
        "tls": {"cert": str(tls.cert), "key": str(tls.key)} if tls else None,
        "client_ca": str(client_ca) if client_ca else None,
        "page_bytes": page_bytes,
    }
    process = subprocess.Popen(
        [sys.executable, str(SERVER)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert process.stdin is not None
    assert process.stdout is not None
    process.stdin.write(json.dumps(config).encode() + b"\n")
    process.stdin.flush()  # stdin stays open: the server exits when it closes
    ready, _, _ = select.select([process.stdout], [], [], startup_timeout)
    line = process.stdout.readline().decode() if ready else ""
    process.stdout.close()
    if not line.startswith("PORT "):
        process.kill()
        process.wait(timeout=10)
        process.stdin.close()
        raise RuntimeError(f"the Trino test server did not start (exit code {process.returncode}): {line!r}")
    return TrinoTestServer(process, HOST, int(line.split()[1]), "https" if tls else "http", tls.ca if tls else None)


# --------------------------------------------------------------------------------------
# Errors, as Trino reports them.
# --------------------------------------------------------------------------------------

_USER_ERRORS = [
    "GENERIC_USER_ERROR", "SYNTAX_ERROR", "ABANDONED_QUERY", "USER_CANCELED", "PERMISSION_DENIED", "NOT_FOUND",
    "FUNCTION_NOT_FOUND", "INVALID_FUNCTION_ARGUMENT", "DIVISION_BY_ZERO", "INVALID_CAST_ARGUMENT",
    "OPERATOR_NOT_FOUND", "INVALID_VIEW", "ALREADY_EXISTS", "NOT_SUPPORTED", "INVALID_SESSION_PROPERTY",
    "INVALID_WINDOW_FRAME", "CONSTRAINT_VIOLATION", "TRANSACTION_CONFLICT", "INVALID_TABLE_PROPERTY",
    "NUMERIC_VALUE_OUT_OF_RANGE", "UNKNOWN_TRANSACTION", "NOT_IN_TRANSACTION", "TRANSACTION_ALREADY_ABORTED",
    "READ_ONLY_VIOLATION", "MULTI_CATALOG_WRITE_CONFLICT", "AUTOCOMMIT_WRITE_CONFLICT",
    "UNSUPPORTED_ISOLATION_LEVEL", "INCOMPATIBLE_CLIENT", "SUBQUERY_MULTIPLE_ROWS", "PROCEDURE_NOT_FOUND",
    "INVALID_PROCEDURE_ARGUMENT", "QUERY_REJECTED", "AMBIGUOUS_FUNCTION_CALL", "INVALID_SCHEMA_PROPERTY",
    "SCHEMA_NOT_EMPTY", "QUERY_TEXT_TOO_LARGE", "UNSUPPORTED_SUBQUERY", "EXCEEDED_FUNCTION_MEMORY_LIMIT",
    "ADMINISTRATIVELY_KILLED", "INVALID_COLUMN_PROPERTY", "QUERY_HAS_TOO_MANY_STAGES",
    "INVALID_SPATIAL_PARTITIONING", "INVALID_ANALYZE_PROPERTY", "TYPE_NOT_FOUND", "CATALOG_NOT_FOUND",
    "SCHEMA_NOT_FOUND", "TABLE_NOT_FOUND", "COLUMN_NOT_FOUND", "ROLE_NOT_FOUND", "SCHEMA_ALREADY_EXISTS",
    "TABLE_ALREADY_EXISTS", "COLUMN_ALREADY_EXISTS", "ROLE_ALREADY_EXISTS", "DUPLICATE_NAMED_QUERY",
    "DUPLICATE_COLUMN_NAME", "MISSING_COLUMN_NAME", "MISSING_CATALOG_NAME", "MISSING_SCHEMA_NAME", "TYPE_MISMATCH",
    "INVALID_LITERAL", "COLUMN_TYPE_UNKNOWN", "MISMATCHED_COLUMN_ALIASES", "AMBIGUOUS_NAME",
    "INVALID_COLUMN_REFERENCE", "MISSING_GROUP_BY", "MISSING_ORDER_BY", "MISSING_OVER", "NESTED_AGGREGATION",
    "NESTED_WINDOW", "EXPRESSION_NOT_IN_DISTINCT", "TOO_MANY_GROUPING_SETS", "FUNCTION_NOT_WINDOW",
    "FUNCTION_NOT_AGGREGATE", "EXPRESSION_NOT_AGGREGATE", "EXPRESSION_NOT_SCALAR", "EXPRESSION_NOT_CONSTANT",
    "INVALID_ARGUMENTS", "TOO_MANY_ARGUMENTS", "INVALID_PRIVILEGE", "DUPLICATE_PROPERTY", "INVALID_PARAMETER_USAGE"
]  # fmt: skip
_INTERNAL_ERRORS = [
    "GENERIC_INTERNAL_ERROR", "TOO_MANY_REQUESTS_FAILED", "PAGE_TOO_LARGE", "PAGE_TRANSPORT_ERROR",
    "PAGE_TRANSPORT_TIMEOUT", "NO_NODES_AVAILABLE", "REMOTE_TASK_ERROR", "COMPILER_ERROR", "REMOTE_TASK_MISMATCH",
    "SERVER_SHUTTING_DOWN"
]  # fmt: skip
_RESOURCE_ERRORS = [
    "GENERIC_INSUFFICIENT_RESOURCES", "EXCEEDED_GLOBAL_MEMORY_LIMIT", "QUERY_QUEUE_FULL", "EXCEEDED_TIME_LIMIT",
    "CLUSTER_OUT_OF_MEMORY", "EXCEEDED_CPU_LIMIT", "EXCEEDED_SPILL_LIMIT", "EXCEEDED_LOCAL_MEMORY_LIMIT"
]  # fmt: skip
#: Trino's ``StandardErrorCode``: name -> (code, type), numbered as in ``io.trino.spi``.
ERROR_CODES: dict[str, tuple[int, str]] = {
    **{name: (code, "USER_ERROR") for code, name in enumerate(_USER_ERRORS)},
    **{name: (0x10000 + code, "INTERNAL_ERROR") for code, name in enumerate(_INTERNAL_ERRORS)},
    **{name: (0x20000 + code, "INSUFFICIENT_RESOURCES") for code, name in enumerate(_RESOURCE_ERRORS)},
}


_PARSING_EXCEPTION = "io.trino.sql.parser.ParsingException"


class TrinoError(Exception):
    """A query failure as Trino reports it: a named error code, a message, maybe a location."""

    def __init__(
        self,
        name: str,
        message: str,
        location: tuple[int, int] | None = None,
        *,
        code: int | None = None,
        kind: str | None = None,
        java_type: str = "io.trino.spi.TrinoException",
    ) -> None:
        known = ERROR_CODES.get(name, (ERROR_CODES["GENERIC_INTERNAL_ERROR"][0], "INTERNAL_ERROR"))
        self.name = name
        self.code = known[0] if code is None else code
        self.kind = known[1] if kind is None else kind
        self.location = location
        self.java_type = java_type
        # Trino prefixes analysis and parsing errors with their position.
        self.message = f"line {location[0]}:{location[1]}: {message}" if location else message
        super().__init__(self.message)

    def to_json(self) -> dict[str, Any]:
        """The ``QueryError`` object of a FAILED ``QueryResults``."""
        location = {"lineNumber": self.location[0], "columnNumber": self.location[1]} if self.location else None
        failure: dict[str, Any] = {"type": self.java_type, "message": self.message, "suppressed": [], "stack": []}
        error: dict[str, Any] = {
            "message": self.message,
            "errorCode": self.code,
            "errorName": self.name,
            "errorType": self.kind,
            "failureInfo": failure,
        }
        if location:
            failure["errorLocation"] = error["errorLocation"] = location
        return error


def injected_failure(spec: str | dict[str, Any]) -> TrinoError:
    """The error a ``fail_next`` control asks for: a standard name, or ``{name, code, type, message}``."""
    if isinstance(spec, str):
        if spec not in ERROR_CODES:
            raise ValueError(f"{spec!r} is not a Trino standard error name")
        return TrinoError(spec, f"{spec} injected by the test server (fail_next)")
    name = str(spec["name"])
    message = str(spec.get("message", f"{name} injected by the test server (fail_next)"))
    return TrinoError(name, message, code=spec.get("code"), kind=spec.get("type"))


def _position(sql: str, offset: int) -> tuple[int, int]:
    """1-based (line, column) of character ``offset`` of ``sql``."""
    line = sql.count("\n", 0, offset) + 1
    return line, offset - (sql.rfind("\n", 0, offset) + 1) + 1


def _locate(sql: str, word: str) -> tuple[int, int] | None:
    """Where the first token spelled ``word`` (any case) is in ``sql``."""
    import sqlglot
    from sqlglot.errors import TokenError

    try:
        tokens = sqlglot.tokenize(sql, read="trino")
    except TokenError:
        return None
    for token in tokens:
        if token.text.lower() == word.lower():
            return _position(sql, token.start)
    return None


#: DuckDB failures that have a Trino counterpart: exception class, message pattern, Trino error name.
_DUCKDB_ERRORS: list[tuple[str, str, str]] = [
    ("ParserException", r"", "SYNTAX_ERROR"),
    ("CatalogException", r"Table with name .* does not exist because schema", "SCHEMA_NOT_FOUND"),
    ("CatalogException", r"(Table|View) with name .* does not exist", "TABLE_NOT_FOUND"),
    ("CatalogException", r"Schema with name .* does not exist", "SCHEMA_NOT_FOUND"),
    ("CatalogException", r"Catalog .* does not exist", "CATALOG_NOT_FOUND"),
    ("CatalogException", r"Table with name .* already exists", "TABLE_ALREADY_EXISTS"),
    ("CatalogException", r"Schema with name .* already exists", "SCHEMA_ALREADY_EXISTS"),
    ("CatalogException", r"Function with name .* does not exist", "FUNCTION_NOT_FOUND"),
    ("BinderException", r"Referenced column .* not found", "COLUMN_NOT_FOUND"),
    ("BinderException", r"No function matches", "FUNCTION_NOT_FOUND"),
    ("BinderException", r"", "TYPE_MISMATCH"),
    ("ConversionException", r"", "INVALID_CAST_ARGUMENT"),
    ("InvalidInputException", r"Division by zero", "DIVISION_BY_ZERO"),
    ("OutOfRangeException", r"", "NUMERIC_VALUE_OUT_OF_RANGE"),
    ("ConstraintException", r"", "CONSTRAINT_VIOLATION"),
    ("OutOfMemoryException", r"", "EXCEEDED_LOCAL_MEMORY_LIMIT"),
]


def from_duckdb(error: Exception, sql: str) -> TrinoError:
    """The Trino error for a DuckDB exception raised while running ``sql``."""
    message = str(error).split("\n", 1)[0]
    classes = {cls.__name__ for cls in type(error).__mro__}
    name = next((n for cls, pattern, n in _DUCKDB_ERRORS if cls in classes and re.search(pattern, message)), None)
    if name is None:
        return TrinoError("GENERIC_INTERNAL_ERROR", message)
    quoted = re.search(r'"([^"]+)"', message)
    location = _locate(sql, quoted.group(1).split(".")[-1]) if quoted else None
    if name == "SYNTAX_ERROR":
        token = quoted.group(1) if quoted else "<EOF>"
        return TrinoError(
            name, f"mismatched input '{token}'. {message}", location or (1, 1), java_type=_PARSING_EXCEPTION
        )
    if name == "COLUMN_NOT_FOUND" and quoted:
        return TrinoError(name, f"Column '{quoted.group(1)}' cannot be resolved", location)
    return TrinoError(name, message, location)


# --------------------------------------------------------------------------------------
# Types: DuckDB result types as Trino types, and their values as Trino's JSON encodes them.
# --------------------------------------------------------------------------------------

Encoder = Callable[[Any], Any]
UNBOUNDED_VARCHAR = 2147483647


@dataclass(frozen=True)
class TrinoType:
    """A Trino type: display name, client type signature, and the encoder of non-null values (None: as is)."""

    display: str
    signature: dict[str, Any]
    encode: Encoder | None = None

    def column(self, name: str) -> dict[str, Any]:
        """The ``columns`` entry of a result."""
        return {"name": name, "type": self.display, "typeSignature": self.signature}


def _signature(raw: str, *arguments: dict[str, Any]) -> dict[str, Any]:
    return {"rawType": raw, "arguments": list(arguments)}


def _long(value: int) -> dict[str, Any]:
    return {"kind": "LONG", "value": value}


def _nonfinite(value: float) -> str:
    return "NaN" if value != value else ("Infinity" if value > 0 else "-Infinity")


def _double(value: float) -> float | str:
    return value if math.isfinite(value) else _nonfinite(value)


def _real(value: float) -> float | str:
    """A REAL as Java prints a float (shortest text that reads back as the same 32-bit value)."""
    if not math.isfinite(value):
        return _nonfinite(value)
    for digits in range(6, 10):
        text = float(f"{value:.{digits}g}")
        if struct.unpack("<f", struct.pack("<f", text))[0] == value:
            return text
    return value


def _decimal(value: Decimal | int) -> str:
    return format(value, "f") if isinstance(value, Decimal) else str(value)


def _base64(value: bytes) -> str:
    return base64.b64encode(value).decode("ascii")


def _iso(value: datetime.date) -> str:
    return value.isoformat()


def _text(value: object) -> str:
    return str(value)


_TIMESPEC = {0: "seconds", 3: "milliseconds", 6: "microseconds", 9: "microseconds"}


def _time_text(value: datetime.time, precision: int) -> str:
    text = value.replace(tzinfo=None).isoformat(timespec=_TIMESPEC[precision])
    return text + "000" if precision == 9 else text


def _time(precision: int) -> Encoder:
    return lambda value: _time_text(value, precision)


def _offset(delta: datetime.timedelta | None) -> str:
    minutes = int((delta or datetime.timedelta()).total_seconds() // 60)
    sign = "-" if minutes < 0 else "+"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def _time_tz(value: datetime.time) -> str:
    return _time_text(value, 6) + _offset(value.utcoffset())


def _timestamp(precision: int) -> Encoder:
    def encode(value: datetime.datetime) -> str:
        text = value.isoformat(" ", timespec=_TIMESPEC[precision])
        return text + "000" if precision == 9 else text

    return encode


def _zone(name: str) -> datetime.tzinfo:
    """A session time zone: an IANA name or a ``+hh:mm`` offset."""
    from zoneinfo import ZoneInfo

    match = re.fullmatch(r"([+-])(\d{1,2}):(\d{2})", name)
    if match:
        delta = datetime.timedelta(hours=int(match.group(2)), minutes=int(match.group(3)))
        return datetime.timezone(-delta if match.group(1) == "-" else delta)
    return ZoneInfo(name)


def _timestamp_tz(zone: str) -> Encoder:
    """Instants shown in the session time zone, followed by its name, as Trino renders them."""
    tz = _zone(zone)

    def encode(value: datetime.datetime) -> str:
        return value.astimezone(tz).replace(tzinfo=None).isoformat(" ", timespec="microseconds") + " " + zone

    return encode


def _interval(value: datetime.timedelta) -> str:
    """``interval day to second`` as ``[-]D HH:MM:SS.mmm``."""
    millis = value // datetime.timedelta(milliseconds=1)
    sign, millis = ("-" if millis < 0 else ""), abs(millis)
    days, millis = divmod(millis, 86_400_000)
    hours, millis = divmod(millis, 3_600_000)
    minutes, millis = divmod(millis, 60_000)
    seconds, millis = divmod(millis, 1000)
    return f"{sign}{days} {hours:02d}:{minutes:02d}:{seconds:02d}.{millis:03d}"


def _primitive(raw: str, encode: Encoder | None = None) -> TrinoType:
    return TrinoType(raw, _signature(raw), encode)


VARCHAR = TrinoType("varchar", _signature("varchar", _long(UNBOUNDED_VARCHAR)))
TEXT = TrinoType(VARCHAR.display, VARCHAR.signature, _text)
BOOLEAN = _primitive("boolean")
BIGINT = _primitive("bigint")

#: DuckDB type ids whose Trino type has no parameters.
_SIMPLE: dict[str, TrinoType] = {
    "boolean": BOOLEAN,
    "tinyint": _primitive("tinyint"),
    "smallint": _primitive("smallint"),
    "integer": _primitive("integer"),
    "bigint": BIGINT,
    "utinyint": _primitive("smallint"),
    "usmallint": _primitive("integer"),
    "uinteger": BIGINT,
    "float": _primitive("real", _real),
    "double": _primitive("double", _double),
    "blob": _primitive("varbinary", _base64),
    "date": _primitive("date", _iso),
    "uuid": _primitive("uuid", _text),
    "varchar": VARCHAR,
    "enum": VARCHAR,
    "bit": TEXT,
    "bignum": TEXT,
    "varint": TEXT,
    "union": TEXT,
    "null": _primitive("unknown"),
    "interval": _primitive("interval day to second", _interval),
}


def _decimal_type(precision: int, scale: int) -> TrinoType:
    return TrinoType(f"decimal({precision},{scale})", _signature("decimal", _long(precision), _long(scale)), _decimal)


def _temporal(raw: str, precision: int, encode: Encoder, suffix: str = "") -> TrinoType:
    return TrinoType(f"{raw}({precision}){suffix}", _signature(raw + suffix, _long(precision)), encode)


def _field_name(name: str) -> str:
    return name if re.fullmatch(r"[a-z_][a-z0-9_]*", name) else '"' + name.replace('"', '""') + '"'


def _nullable(encode: Encoder | None) -> Encoder | None:
    if encode is None:
        return None
    return lambda value: None if value is None else encode(value)


def _array_type(element: TrinoType) -> TrinoType:
    item = _nullable(element.encode)

    def encode(value: Sequence[Any]) -> list[Any]:
        return [item(v) for v in value] if item is not None else list(value)

    argument = {"kind": "TYPE", "value": element.signature}
    # Lists (and the tuples of fixed-size arrays) of plain values go to JSON as they are.
    return TrinoType(f"array({element.display})", _signature("array", argument), encode if item else None)


def _map_key(value: Any) -> str:
    """JSON object keys are strings: Trino writes a map key as its text."""
    if isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":"))


def _map_type(key: TrinoType, value: TrinoType, hashable_keys: bool) -> TrinoType:
    encode_key = key.encode or (lambda k: k)
    encode_value = _nullable(value.encode) or (lambda v: v)

    def encode(entries: dict[Any, Any]) -> dict[str, Any]:
        # DuckDB returns a dict, or {"key": [...], "value": [...]} when keys are not hashable in Python.
        pairs = entries.items() if hashable_keys else zip(entries["key"], entries["value"], strict=True)
        return {_map_key(encode_key(k)): encode_value(v) for k, v in pairs}

    arguments = ({"kind": "TYPE", "value": key.signature}, {"kind": "TYPE", "value": value.signature})
    return TrinoType(f"map({key.display}, {value.display})", _signature("map", *arguments), encode)


def _row_type(fields: list[tuple[str, TrinoType]]) -> TrinoType:
    encoders = [(name, _nullable(t.encode)) for name, t in fields]

    def encode(value: dict[str, Any]) -> list[Any]:
        return [value[name] if enc is None else enc(value[name]) for name, enc in encoders]

    display = ", ".join(f"{_field_name(name)} {t.display}" for name, t in fields)
    arguments = [
        {"kind": "NAMED_TYPE", "value": {"fieldName": {"name": name}, "typeSignature": t.signature}}
        for name, t in fields
    ]
    return TrinoType(f"row({display})", _signature("row", *arguments), encode)


_TIMESTAMPS = {"timestamp_s": 0, "timestamp_ms": 3, "timestamp": 6, "timestamp_ns": 9}


def _timestamp_type(precision: int) -> Callable[[str], TrinoType]:
    return lambda _: _temporal("timestamp", precision, _timestamp(precision))


def _composite_type(duck: DuckDBPyType, zone: str) -> TrinoType | None:
    """The Trino type of a parametrised or nested DuckDB type (None: not one of those)."""
    kind, children = duck.id, dict(duck.children) if duck.id in _WITH_CHILDREN else {}
    if kind == "decimal":
        return _decimal_type(int(str(children["precision"])), int(str(children["scale"])))
    if kind in ("list", "array"):
        return _array_type(trino_type(_child(children, "child"), zone))
    if kind == "map":
        key, value = _child(children, "key"), _child(children, "value")
        return _map_type(trino_type(key, zone), trino_type(value, zone), key.id not in _NESTED)
    if kind == "struct":
        return _row_type([(str(name), trino_type(_child(children, name), zone)) for name in children])
    return _SCALARS[kind](zone) if kind in _SCALARS else None


def _child(children: dict[str, Any], name: str) -> DuckDBPyType:
    """A child type of a nested DuckDB type (``children`` also holds non-type parameters)."""
    from duckdb.sqltypes import DuckDBPyType

    child = children[name]
    assert isinstance(child, DuckDBPyType), f"{name} is not a type: {child!r}"
    return child


_WITH_CHILDREN = ("decimal", "list", "array", "map", "struct", "union", "enum")
_NESTED = ("list", "array", "map", "struct")  # map keys of these types come back as {"key": [...], "value": [...]}
_SCALARS: dict[str, Callable[[str], TrinoType]] = {
    "hugeint": lambda _: _decimal_type(38, 0),
    "uhugeint": lambda _: _decimal_type(38, 0),
    "ubigint": lambda _: _decimal_type(20, 0),
    "time": lambda _: _temporal("time", 6, _time(6)),
    "time_ns": lambda _: _temporal("time", 9, _time(9)),
    "time with time zone": lambda _: _temporal("time", 6, _time_tz, " with time zone"),
    "timestamp with time zone": lambda zone: _temporal("timestamp", 6, _timestamp_tz(zone), " with time zone"),
    **{kind: _timestamp_type(precision) for kind, precision in _TIMESTAMPS.items()},
}


def trino_type(duck: DuckDBPyType, zone: str) -> TrinoType:
    """The Trino type of a DuckDB result type; timestamps with time zone are shown in ``zone``."""
    if str(duck) == "JSON":  # DuckDB's JSON is a VARCHAR with an alias
        return _primitive("json")
    composite = _composite_type(duck, zone)
    if composite is not None:
        return composite
    return _SIMPLE.get(duck.id, TEXT)


def encode_rows(rows: list[tuple[Any, ...]], encoders: list[Encoder | None]) -> bytes:
    """``rows`` as the JSON array elements of a ``data`` field, without the outer brackets.

    Rows go to JSON as DuckDB returned them unless a column needs its values encoded;
    only then are they taken apart into columns (the common case of numbers and text
    stays a single C-level pass).
    """
    needed = [
        (index, encode)
        for index, encode in enumerate(encoders)
        if encode is not None and not (encode is _double and _all_finite(map(itemgetter(index), rows)))
    ]
    if needed:
        columns: list[Sequence[Any]] = list(zip(*rows, strict=True))
        for index, encode in needed:
            columns[index] = [None if v is None else encode(v) for v in columns[index]]
        rows = list(zip(*columns, strict=True))
    return dumps(rows)[1:-1]


def _all_finite(values: Iterable[Any]) -> bool:
    """True when no value is NaN or infinite (nor None): one C-level sum instead of a call per value.

    NaN and infinities propagate through a sum; an overflow of finite values only
    sends the column down the per-value path, which is exact.
    """
    try:
        return math.isfinite(sum(values))
    except TypeError:  # a None
        return False


def dumps(value: Any) -> bytes:
    """Compact JSON: orjson when installed (the trino client uses it too), else the standard library."""
    try:
        import orjson
    except ImportError:
        return json.dumps(value, separators=(",", ":"), allow_nan=False).encode()
    return orjson.dumps(value)


# --------------------------------------------------------------------------------------
# Sessions, name resolution and statement analysis.
# --------------------------------------------------------------------------------------


@dataclass
class Session:
    """What the client's ``X-Trino-*`` headers and the authentication say about a query."""

    user: str
    principal: str | None = None
    auth_scheme: str | None = None
    original_user: str | None = None
    source: str | None = None
    catalog: str | None = None
    schema: str | None = None
    client_tags: list[str] = field(default_factory=list)
    client_info: str | None = None
    properties: dict[str, str] = field(default_factory=dict)
    roles: dict[str, str] = field(default_factory=dict)
    time_zone: str = "UTC"
    extra_credentials: list[str] = field(default_factory=list)


def _header_pairs(value: str | None, separator: str = ",") -> dict[str, str]:
    """``a=1,b=x%20y`` as a dict, values URL-decoded (how the client encodes session headers)."""
    pairs: dict[str, str] = {}
    for item in (value or "").split(separator):
        if "=" in item:
            name, text = item.split("=", 1)
            pairs[name.strip()] = urllib.parse.unquote_plus(text.strip())
    return pairs


def parse_session(headers: Any, principal: str | None, scheme: str | None) -> Session:
    """The session of a ``POST /v1/statement``; ``ValueError`` for what Trino answers with 400."""
    user = headers.get("X-Trino-User") or principal
    if not user:
        raise ValueError("User must be set")
    zone = headers.get("X-Trino-Time-Zone") or "UTC"
    try:
        _zone(zone)
    except Exception:
        raise ValueError(f"Time zone not supported: {zone}") from None
    tags = [t.strip() for t in (headers.get("X-Trino-Client-Tags") or "").split(",") if t.strip()]
    return Session(
        user=user,
        principal=principal,
        auth_scheme=scheme,
        original_user=headers.get("X-Trino-Original-User"),
        source=headers.get("X-Trino-Source"),
        catalog=headers.get("X-Trino-Catalog") or None,
        schema=headers.get("X-Trino-Schema") or None,
        client_tags=tags,
        client_info=headers.get("X-Trino-Client-Info"),
        properties=_header_pairs(headers.get("X-Trino-Session")),
        roles=_header_pairs(headers.get("X-Trino-Role")),
        time_zone=zone,
        extra_credentials=sorted(_header_pairs(headers.get("X-Trino-Extra-Credential"))),
    )


def quote_identifier(name: str) -> str:
    """A DuckDB identifier, quoted so that any name is safe."""
    return '"' + name.replace('"', '""') + '"'


class Catalogs:
    """The catalogs, schemas and tables of the engine as Trino's metadata sees them, and name resolution."""

    def __init__(self, cursor: duckdb.DuckDBPyConnection) -> None:
        databases = cursor.execute("SELECT database_name FROM duckdb_databases() WHERE NOT internal").fetchall()
        self.catalogs = {str(row[0]) for row in databases}
        self.schemas = {
            (c, s)
            for c, s in cursor.execute("SELECT database_name, schema_name FROM duckdb_schemas()").fetchall()
            if c in self.catalogs
        }
        relations = (
            "SELECT database_name, schema_name, table_name FROM duckdb_tables() UNION ALL "
            "SELECT database_name, schema_name, view_name FROM duckdb_views() WHERE NOT internal"
        )
        self.tables = {(c, s, t) for c, s, t in cursor.execute(relations).fetchall() if c in self.catalogs}

    def catalog_of(self, catalog: str | None, where: tuple[int, int] | None) -> str:
        """A catalog name (the session's when None), checked to exist."""
        if catalog is None:
            raise TrinoError("MISSING_CATALOG_NAME", "Catalog must be specified when session catalog is not set", where)
        if catalog not in self.catalogs:
            raise TrinoError("CATALOG_NOT_FOUND", f"Catalog '{catalog}' not found", where)
        return catalog

    def schema_of(self, parts: list[str], session: Session, where: tuple[int, int] | None) -> tuple[str, str]:
        """``[catalog.]schema`` resolved with the session catalog, both checked to exist."""
        catalog = self.catalog_of(parts[0] if len(parts) == 2 else session.catalog, where)
        schema = parts[-1]
        if (catalog, schema) not in self.schemas:
            raise TrinoError("SCHEMA_NOT_FOUND", f"Schema '{schema}' does not exist", where)
        return catalog, schema

    def table_of(self, table: exp.Table, session: Session) -> tuple[str, str, str, tuple[int, int] | None]:
        """A table reference resolved with the session catalog and schema (its schema checked to exist)."""
        parts = [p.name.lower() for p in table.parts]
        where = _where(table)
        if len(parts) == 1:
            if session.schema is None:
                if session.catalog is None:
                    message = "Catalog must be specified when session catalog is not set"
                    raise TrinoError("MISSING_CATALOG_NAME", message, where)
                raise TrinoError(
                    "MISSING_SCHEMA_NAME", "Schema must be specified when session schema is not set", where
                )
            parts.insert(0, session.schema)
        catalog, schema = self.schema_of(parts[:-1], session, where)
        return catalog, schema, parts[-1], where

    def must_exist(self, table: exp.Table, session: Session) -> tuple[str, str, str]:
        catalog, schema, name, where = self.table_of(table, session)
        if schema == "information_schema":
            raise TrinoError("NOT_SUPPORTED", "information_schema is not available on the embedded engine", where)
        if (catalog, schema, name) not in self.tables:
            raise TrinoError("TABLE_NOT_FOUND", f"Table '{catalog}.{schema}.{name}' does not exist", where)
        return catalog, schema, name

    def must_not_exist(self, table: exp.Table, session: Session, *, allowed: bool) -> None:
        catalog, schema, name, where = self.table_of(table, session)
        if (catalog, schema, name) in self.tables and not allowed:
            raise TrinoError("TABLE_ALREADY_EXISTS", f"Table '{catalog}.{schema}.{name}' already exists", where)


def _where(node: exp.Expr) -> tuple[int, int] | None:
    """Where a parsed node starts in the SQL text (sqlglot keeps offsets on identifiers)."""
    from sqlglot import exp

    starts = [
        (int(i.meta["start"]), int(i.meta["line"]), int(i.meta["col"]) - (int(i.meta["end"]) - int(i.meta["start"])))
        for i in node.find_all(exp.Identifier)
        if i.meta.get("start") is not None
    ]
    return min(starts)[1:] if starts else None


@dataclass
class Plan:
    """How to answer a statement: DuckDB SQL to run, or a result the coordinator computed itself."""

    update_type: str | None = None
    sql: str | None = None
    #: "rows": stream the result; "count": one row, the count of written rows; "done": one row, ``true``.
    result: str = "rows"
    names: list[str] | None = None
    columns: list[tuple[str, TrinoType]] | None = None
    rows: list[tuple[Any, ...]] | None = None
    headers: dict[str, str] = field(default_factory=dict)


#: The words a Trino statement can start with (its grammar's ``statement`` rule).
STATEMENT_STARTS = [
    "ALTER", "ANALYZE", "CALL", "COMMENT", "COMMIT", "CREATE", "DEALLOCATE", "DELETE", "DENY", "DESC", "DESCRIBE",
    "DROP", "EXECUTE", "EXPLAIN", "GRANT", "INSERT", "MERGE", "PREPARE", "REFRESH", "RESET", "REVOKE", "ROLLBACK",
    "SELECT", "SET", "SHOW", "START", "TABLE", "TRUNCATE", "UPDATE", "USE", "VALUES", "WITH", "("
]  # fmt: skip


def _syntax_error(message: str, where: tuple[int, int]) -> TrinoError:
    return TrinoError("SYNTAX_ERROR", message, where, java_type=_PARSING_EXCEPTION)


def _check_tokens(sql: str, tokens: list[Any]) -> None:
    """What Trino's grammar refuses before any parsing: an unknown first word, a ``;`` (one statement, no end)."""
    from sqlglot import TokenType  # every sqlglot we allow exports it here (tokenizer_core is newer)

    if tokens and tokens[0].text.upper() not in STATEMENT_STARTS:
        expected = ", ".join(f"'{word}'" for word in STATEMENT_STARTS)
        where = _position(sql, tokens[0].start)
        raise _syntax_error(f"mismatched input '{tokens[0].text}'. Expecting: {expected}", where)
    for token in tokens:
        if token.token_type == TokenType.SEMICOLON:
            raise _syntax_error("mismatched input ';'. Expecting: <EOF>", _position(sql, token.start))


def parse(sql: str) -> exp.Expr:
    """The single statement of ``sql`` (Trino syntax), or ``SYNTAX_ERROR`` where the text goes wrong."""
    import sqlglot
    from sqlglot.errors import ParseError, TokenError

    try:
        _check_tokens(sql, sqlglot.tokenize(sql, read="trino"))
        statements = [s for s in sqlglot.parse(sql, read="trino") if s is not None]
    except TokenError as error:
        raise _syntax_error(str(error), (1, 1)) from None
    except ParseError as error:
        first = error.errors[0] if error.errors else {}
        highlight = str(first.get("highlight") or "")
        line, end = int(first.get("line") or 1), int(first.get("col") or 1)
        column = max(1, end - len(highlight) + 1) if "\n" not in highlight else end
        reason = str(first.get("description", error))
        raise _syntax_error(
            f"mismatched input '{highlight}'. {reason}" if highlight else reason, (line, column)
        ) from None
    if not statements:
        raise TrinoError("SYNTAX_ERROR", "mismatched input '<EOF>'", (1, 1), java_type=_PARSING_EXCEPTION)
    return statements[0]


_EXECUTE_IMMEDIATE = re.compile(r"\s*EXECUTE\s+IMMEDIATE\s+'((?:[^']|'')*)'\s*(?:USING\s+(.+))?", re.I | re.S)


def bind_parameters(sql: str) -> str:
    """``EXECUTE IMMEDIATE '<sql>' USING <values>`` (how the client sends parameters) as plain SQL."""
    from sqlglot import exp

    match = _EXECUTE_IMMEDIATE.fullmatch(sql)
    if match is None:
        return sql
    statement = parse(match.group(1).replace("''", "'"))
    values = parse(f"SELECT {match.group(2)}").expressions if match.group(2) else []
    placeholders = list(statement.find_all(exp.Placeholder, bfs=False))
    if len(placeholders) != len(values):
        raise TrinoError(
            "INVALID_PARAMETER_USAGE",
            f"Incorrect number of parameters: expected {len(placeholders)} but found {len(values)}",
        )
    for placeholder, value in zip(placeholders, values, strict=True):
        placeholder.replace(value)
    return statement.sql(dialect="trino")


def _names(text: str) -> list[str]:
    return [p.strip().strip('"').lower() for p in text.split(".")]


def _fixed(names: list[str], rows: list[tuple[Any, ...]]) -> Plan:
    """A result computed by the coordinator: varchar columns, as Trino's SHOW and DESCRIBE return."""
    return Plan(columns=[(name, VARCHAR) for name in names], rows=rows)


def _use(target: str, session: Session, catalogs: Catalogs) -> Plan:
    catalog, schema = catalogs.schema_of(_names(target), session, None)
    return Plan(
        update_type="USE", result="done", headers={"X-Trino-Set-Catalog": catalog, "X-Trino-Set-Schema": schema}
    )


def _set_session(name: str, value: str) -> Plan:
    text = value.strip()
    if text.startswith("'") and text.endswith("'"):
        text = text[1:-1].replace("''", "'")
    return Plan(
        update_type="SET SESSION",
        result="done",
        headers={"X-Trino-Set-Session": f"{name}={urllib.parse.quote_plus(text)}"},
    )


def _reset_session(name: str) -> Plan:
    return Plan(update_type="RESET SESSION", result="done", headers={"X-Trino-Clear-Session": name})


def _describe(target: str, session: Session, catalogs: Catalogs, cursor: duckdb.DuckDBPyConnection) -> Plan:
    from sqlglot import exp

    parsed = parse(f"SELECT * FROM {target}")
    table = parsed.find(exp.Table)
    assert table is not None
    catalog, schema, name = catalogs.must_exist(table, session)
    cursor.execute(f"SELECT * FROM {'.'.join(map(quote_identifier, (catalog, schema, name)))} LIMIT 0")
    rows = [(d[0], trino_type(d[1], session.time_zone).display, "", "") for d in cursor.description or []]
    return _fixed(["Column", "Type", "Extra", "Comment"], rows)


def _show(what: str, target: str | None, session: Session, catalogs: Catalogs) -> Plan:
    if what == "CATALOGS":
        return _fixed(["Catalog"], [(c,) for c in sorted(catalogs.catalogs)])
    if what == "SCHEMAS":
        catalog = catalogs.catalog_of(_names(target)[0] if target else session.catalog, None)
        return _fixed(["Schema"], [(s,) for c, s in sorted(catalogs.schemas) if c == catalog])
    if target is None and session.schema is None:
        raise TrinoError("MISSING_SCHEMA_NAME", "Schema must be specified when session schema is not set")
    catalog, schema = catalogs.schema_of(_names(target) if target else [str(session.schema)], session, None)
    tables = sorted(t for c, s, t in catalogs.tables if (c, s) == (catalog, schema))
    return _fixed(["Table"], [(t,) for t in tables])


#: Statements the coordinator answers itself (DuckDB has no equivalent, or a different one).
_NATIVE: list[tuple[re.Pattern[str], Callable[..., Plan]]] = [
    (re.compile(r"USE\s+(\S+)", re.I), lambda m, s, c, _: _use(m.group(1), s, c)),
    (re.compile(r"SET\s+SESSION\s+([\w.]+)\s*=\s*(.+)", re.I | re.S), lambda m, *_: _set_session(*m.groups())),
    (re.compile(r"RESET\s+SESSION\s+([\w.]+)", re.I), lambda m, *_: _reset_session(m.group(1))),
    (
        re.compile(r"SHOW\s+(CATALOGS|SCHEMAS|TABLES)(?:\s+(?:FROM|IN)\s+(\S+))?", re.I),
        lambda m, s, c, _: _show(m.group(1).upper(), m.group(2), s, c),
    ),
    (
        re.compile(r"(?:DESCRIBE|DESC|SHOW\s+COLUMNS\s+FROM)\s+(\S+)", re.I),
        lambda m, s, c, cursor: _describe(m.group(1), s, c, cursor),
    ),
]


def _output_names(statement: exp.Expr) -> list[str] | None:
    """Trino's names for the result columns: aliases and column names, ``_colN`` for expressions."""
    from sqlglot import exp

    select = statement
    while isinstance(select, (exp.SetOperation, exp.Subquery)):
        select = select.this
    if not isinstance(select, exp.Select):
        return None
    names = []
    for index, projection in enumerate(select.expressions):
        if isinstance(projection, exp.Star) or (isinstance(projection, exp.Column) and projection.is_star):
            return None  # DuckDB expands the star with the right names
        named = isinstance(projection, (exp.Alias, exp.Column, exp.Dot))
        names.append(projection.alias_or_name.lower() if named else f"_col{index}")
    return names


def _check_names(statement: exp.Expr, session: Session, catalogs: Catalogs) -> None:
    """Trino's analyzer checks every name before running; so do we, with its error names and messages."""
    from sqlglot import exp

    skip: set[int] = set()
    kind = str(statement.args.get("kind") or "").upper()
    if isinstance(statement, exp.Create) and kind in ("TABLE", "VIEW"):
        target = statement.this.this if isinstance(statement.this, exp.Schema) else statement.this
        allowed = bool(statement.args.get("exists") or statement.args.get("replace"))
        catalogs.must_not_exist(target, session, allowed=allowed)
        skip.add(id(target))
    elif isinstance(statement, (exp.Create, exp.Drop)) and kind == "SCHEMA":
        _check_schema_statement(statement, session, catalogs)
        return
    elif isinstance(statement, exp.Drop) and not statement.args.get("exists"):
        for table in statement.args.get("tables") or []:
            catalogs.must_exist(table, session)
    for rename in statement.find_all(exp.AlterRename):
        source, target = catalogs.table_of(statement.this, session), catalogs.table_of(rename.this, session)
        if source[:2] != target[:2]:
            raise TrinoError("NOT_SUPPORTED", "Table rename across schemas is not supported", target[3])
        catalogs.must_not_exist(rename.this, session, allowed=False)
        skip.add(id(rename.this))
    ctes = {cte.alias_or_name.lower() for cte in statement.find_all(exp.CTE)}
    for table in statement.find_all(exp.Table):
        named = isinstance(table.this, exp.Identifier)
        is_cte = not table.db and table.name.lower() in ctes
        if named and not is_cte and id(table) not in skip and not isinstance(statement, exp.Drop):
            catalogs.must_exist(table, session)


def _check_schema_statement(statement: exp.Expr, session: Session, catalogs: Catalogs) -> None:
    from sqlglot import exp

    target = statement.this if isinstance(statement, exp.Create) else statement.args["tables"][0]
    parts = [p.lower() for p in (target.catalog, target.db) if p]
    where = _where(target)
    catalog = catalogs.catalog_of(parts[0] if len(parts) == 2 else session.catalog, where)
    exists = (catalog, parts[-1]) in catalogs.schemas
    if_exists = bool(statement.args.get("exists"))
    if isinstance(statement, exp.Create) and exists and not if_exists:
        raise TrinoError("SCHEMA_ALREADY_EXISTS", f"Schema '{catalog}.{parts[-1]}' already exists", where)
    if isinstance(statement, exp.Drop) and not exists and not if_exists:
        raise TrinoError("SCHEMA_NOT_FOUND", f"Schema '{catalog}.{parts[-1]}' does not exist", where)


#: sqlglot statement class -> (Trino update type, result); CREATE/DROP/ALTER are refined by kind.
_UPDATES: dict[str, tuple[str, str]] = {
    "Insert": ("INSERT", "count"),
    "Delete": ("DELETE", "count"),
    "Update": ("UPDATE", "count"),
    "Merge": ("MERGE", "count"),
    "TruncateTable": ("TRUNCATE TABLE", "done"),
}
_ALTER_ACTIONS = {
    "AlterRename": "RENAME TABLE",
    "RenameColumn": "RENAME COLUMN",
    "ColumnDef": "ADD COLUMN",
    "Drop": "DROP COLUMN",
    "AlterColumn": "SET COLUMN TYPE",
}
_REFUSED = ("Transaction", "Commit", "Rollback", "Command", "Describe", "Set", "Use")


def _classify(statement: exp.Expr) -> Plan:
    """What kind of answer the statement gets: a result to stream, a row count, or ``true``."""
    from sqlglot import exp

    name, kind = type(statement).__name__, str(statement.args.get("kind") or "").upper()
    if name in _UPDATES:
        update_type, result = _UPDATES[name]
        return Plan(update_type=update_type, result=result)
    if isinstance(statement, exp.Create):
        if kind == "TABLE" and statement.args.get("expression") is not None:
            return Plan(update_type="CREATE TABLE", result="count")
        return Plan(update_type=f"CREATE {kind}", result="done")
    if isinstance(statement, exp.Drop):
        return Plan(update_type=f"DROP {kind}", result="done")
    if isinstance(statement, exp.Alter):
        actions = statement.args.get("actions") or []
        action = type(actions[0]).__name__ if actions else ""
        return Plan(update_type=_ALTER_ACTIONS.get(action, f"ALTER {kind}"), result="done")
    if name in _REFUSED:
        first = statement.sql(dialect="trino").split(" ", 1)[0].upper() or name.upper()
        raise TrinoError("NOT_SUPPORTED", f"{first} statements are not supported by the embedded engine")
    return Plan(names=_output_names(statement))


def analyse(sql: str, session: Session, cursor: duckdb.DuckDBPyConnection, catalogs: Catalogs) -> Plan:
    """The plan of ``sql``: names checked, SQL translated; raises :class:`TrinoError` as Trino would."""
    from airflow_dataops.core.sql.translation import SqlTranslationError, trino_to_duckdb

    text = bind_parameters(sql.strip())
    for pattern, native in _NATIVE:
        match = pattern.fullmatch(text)
        if match:
            return native(match, session, catalogs, cursor)
    statement = parse(text)
    plan = _classify(statement)
    _check_names(statement, session, catalogs)
    try:
        plan.sql = trino_to_duckdb(text)
    except SqlTranslationError as error:
        raise TrinoError("NOT_SUPPORTED", str(error)) from None
    return plan


def prepare_cursor(cursor: duckdb.DuckDBPyConnection, session: Session, catalogs: Catalogs) -> None:
    """Apply the session to the query's own connection: time zone, then catalog and schema (Trino's ``USE``)."""
    import duckdb

    # DuckDB then computes in the session zone (current_timestamp, casts); it may refuse an offset zone.
    with contextlib.suppress(duckdb.Error):
        cursor.execute(f"SET TimeZone = '{session.time_zone.replace(chr(39), chr(39) * 2)}'")
    if session.catalog is None:
        return
    if session.schema is not None and (session.catalog, session.schema) in catalogs.schemas:
        cursor.execute(f"USE {quote_identifier(session.catalog)}.{quote_identifier(session.schema)}")
    elif session.catalog in catalogs.catalogs:
        cursor.execute(f"USE {quote_identifier(session.catalog)}")


# --------------------------------------------------------------------------------------
# Queries: executed in a thread each, streamed to the page handler through a bounded queue.
# --------------------------------------------------------------------------------------

MAX_WAIT = 1.0  # seconds a GET waits for data before answering without (Trino's default maxWait)
CHUNKS_BUFFERED = 8  # chunks of about page_bytes / 4: two pages ahead at most
MAX_ROWS_PER_FETCH = 50_000


class _Canceled(Exception):
    """The query was canceled while its thread was producing."""


class Query:
    """One statement: its session, its execution state and what was served of it."""

    def __init__(
        self, query_id: str, sql: str, session: Session, *, held: bool, page_bytes: int, fail: TrinoError | None
    ) -> None:
        self.id, self.slug, self.sql, self.session = query_id, "x" + secrets.token_hex(16), sql, session
        self.held, self.page_bytes, self.fail_with = held, page_bytes, fail
        self.created, self.started, self.ended = time.time(), 0.0, 0.0
        self.state = "QUEUED"
        self.columns: list[dict[str, Any]] | None = None
        self.update_type: str | None = None
        self.update_count: int | None = None
        self.headers: dict[str, str] = {}
        self.error: TrinoError | None = None
        self.canceled = False
        self.interrupted = False  # the cancel stopped DuckDB in the middle of its work
        self.chunks: queue.Queue[tuple[bytes, int]] = queue.Queue(maxsize=CHUNKS_BUFFERED)
        self.pending: tuple[bytes, int] | None = None
        self.producer_done = False
        self.rows_produced = self.bytes_produced = self.rows_served = self.pages_served = 0
        self.cpu_seconds = 0.0
        self.token = -1
        self.last_page: bytes | None = None
        self.cursor: duckdb.DuckDBPyConnection | None = None
        self.cursor_lock = threading.Lock()
        self.thread: threading.Thread | None = None
        self.changed = asyncio.Event()
        self.serving = asyncio.Lock()

    @property
    def done(self) -> bool:
        """Finished or failed: a cancel no longer changes anything."""
        return self.state in ("FINISHED", "FAILED") or self.error is not None

    @property
    def exhausted(self) -> bool:
        """Everything the thread produced has been served."""
        return self.producer_done and self.pending is None and self.chunks.empty()

    def fail(self, error: TrinoError) -> None:
        if not self.canceled and self.error is None:
            self.error = error

    def stats(self) -> dict[str, Any]:
        """``StatementStats`` as the client receives them."""
        now = time.time()
        started, ended = self.started or now, self.ended or now
        state = self.state if self.error is None and not self.canceled else "FAILED"
        scheduled, completed = state != "QUEUED", int(self.producer_done)
        stats: dict[str, Any] = {
            "state": state,
            "queued": state == "QUEUED",
            "scheduled": scheduled,
            "nodes": 1,
            "totalSplits": 1,
            "queuedSplits": int(not scheduled),
            "runningSplits": int(scheduled and not completed),
            "completedSplits": completed,
            "cpuTimeMillis": int(self.cpu_seconds * 1000),
            "wallTimeMillis": int(max(0.0, ended - started) * 1000),
            "queuedTimeMillis": int((started - self.created) * 1000),
            "elapsedTimeMillis": int((ended - self.created) * 1000),
            "processedRows": self.rows_produced,
            "processedBytes": self.bytes_produced,
            "physicalInputBytes": 0,
            "peakMemoryBytes": 0,
            "spilledBytes": 0,
        }
        if scheduled:
            stats["progressPercentage"] = 100.0 * completed
        return stats

    def record(self) -> dict[str, Any]:
        """What ``GET /_test/queries`` shows: never a password, token or key."""
        s = self.session
        error = self.error or (TrinoError("USER_CANCELED", "Query was canceled") if self.canceled else None)
        return {
            "id": self.id,
            "sql": self.sql,
            "state": "FAILED" if error else self.state,
            "user": s.user,
            "original_user": s.original_user,
            "principal": s.principal,
            "auth_scheme": s.auth_scheme,
            "source": s.source,
            "catalog": s.catalog,
            "schema": s.schema,
            "client_tags": s.client_tags,
            "client_info": s.client_info,
            "session_properties": s.properties,
            "roles": s.roles,
            "time_zone": s.time_zone,
            "extra_credentials": s.extra_credentials,
            "update_type": self.update_type,
            "update_count": self.update_count,
            "error_name": error.name if error else None,
            "rows_produced": self.rows_produced,
            "rows_served": self.rows_served,
            "pages_served": self.pages_served,
            "canceled": self.canceled,
            "interrupted": self.interrupted,
            "held": self.held,
            "executing": self.thread is not None and self.thread.is_alive(),
        }


class Coordinator:
    """The queries, the controls, and the engine they run on."""

    def __init__(self, engine: EmbeddedEngine, page_bytes: int, loop: asyncio.AbstractEventLoop) -> None:
        self.engine, self.loop = engine, loop
        self.default_page_bytes = page_bytes
        self.node = "".join(secrets.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(5))
        self.queries: dict[str, Query] = {}
        self.sequence = 0
        self.controls: dict[str, Any] = {}
        self.cursor_lock = threading.Lock()
        self.reset_controls()

    def reset_controls(self) -> None:
        self.controls = {"hold": False, "fail_next": None, "page_delay": 0.0, "page_bytes": self.default_page_bytes}

    def create(self, sql: str, session: Session) -> Query:
        """A new QUEUED query (Trino's id format: ``YYYYMMDD_HHMMSS_sequence_node``)."""
        self.sequence += 1
        query_id = f"{time.strftime('%Y%m%d_%H%M%S', time.gmtime())}_{self.sequence:05d}_{self.node}"
        spec, self.controls["fail_next"] = self.controls["fail_next"], None
        query = Query(
            query_id,
            sql,
            session,
            held=bool(self.controls["hold"]),
            page_bytes=int(self.controls["page_bytes"]),
            fail=injected_failure(spec) if spec else None,
        )
        self.queries[query_id] = query
        return query

    def notify(self, query: Query) -> None:
        """Wake whoever waits on ``query`` (callable from any thread)."""
        with contextlib.suppress(RuntimeError):  # the loop is closed: the server is stopping
            self.loop.call_soon_threadsafe(query.changed.set)

    def dispatch(self, query: Query) -> None:
        """Start the query's thread (on its first ``queued`` GET, as Trino dispatches)."""
        if query.thread is not None or query.canceled:
            return
        with self.cursor_lock:
            query.cursor = self.engine.connection.cursor()
        query.thread = threading.Thread(target=execute, args=(self, query), name=f"query-{query.id}", daemon=True)
        query.thread.start()

    def cancel(self, query: Query) -> None:
        """Mark canceled, interrupt DuckDB, unblock the thread: what Trino does on ``DELETE``."""
        if query.done or query.canceled:
            return
        query.canceled = True
        query.ended = time.time()
        with query.cursor_lock:
            if query.cursor is not None:
                query.cursor.interrupt()
        query.pending = None
        while not query.chunks.empty():
            query.chunks.get_nowait()
        query.changed.set()

    def release(self) -> None:
        for query in self.queries.values():
            if query.held:
                query.held = False
                query.changed.set()


def execute(coordinator: Coordinator, query: Query) -> None:
    """The query's thread: analyse, run on its own cursor, stream encoded chunks into the queue."""
    import duckdb

    assert query.cursor is not None
    cursor, clock = query.cursor, time.thread_time()
    query.started = time.time()
    try:
        if query.fail_with is not None:
            raise query.fail_with
        catalogs = Catalogs(cursor)
        prepare_cursor(cursor, query.session, catalogs)
        plan = analyse(query.sql, query.session, cursor, catalogs)
        query.update_type, query.headers = plan.update_type, plan.headers
        query.state = "RUNNING"
        coordinator.notify(query)
        produce(coordinator, query, cursor, plan)
    except TrinoError as error:
        query.fail(error)
    except _Canceled:
        pass
    except duckdb.InterruptException:
        query.interrupted = query.canceled
        query.fail(TrinoError("GENERIC_INTERNAL_ERROR", "DuckDB was interrupted"))
    except duckdb.Error as error:
        query.fail(from_duckdb(error, query.sql))
    except Exception as error:
        query.fail(TrinoError("GENERIC_INTERNAL_ERROR", f"{type(error).__name__}: {error}"))
    finally:
        query.cpu_seconds = time.thread_time() - clock
        with query.cursor_lock:
            query.cursor = None
            cursor.close()
        if query.state == "QUEUED":
            query.state = "RUNNING"
        query.producer_done = True
        coordinator.notify(query)


def _put(coordinator: Coordinator, query: Query, payload: bytes, rows: int) -> None:
    """Hand a chunk to the page handler, waiting while the queue is full (that is the memory bound)."""
    while True:
        if query.canceled:
            raise _Canceled
        try:
            query.chunks.put((payload, rows), timeout=0.1)
            break
        except queue.Full:
            continue
    query.rows_produced += rows
    query.bytes_produced += len(payload)
    coordinator.notify(query)


def produce(coordinator: Coordinator, query: Query, cursor: duckdb.DuckDBPyConnection, plan: Plan) -> None:
    """Run the plan and queue its rows as JSON chunks of about a quarter page each."""
    if plan.sql is None and plan.rows is None:  # answered by the coordinator: one row, true
        plan.columns, plan.rows = [("result", BOOLEAN)], [(True,)]
    if plan.rows is not None:
        assert plan.columns is not None
        query.columns = [t.column(name) for name, t in plan.columns]
        if plan.rows:
            _put(coordinator, query, encode_rows(plan.rows, [t.encode for _, t in plan.columns]), len(plan.rows))
        return
    assert plan.sql is not None
    cursor.execute(plan.sql)
    if plan.result != "rows":
        row = cursor.fetchone() if plan.result == "count" else None
        query.update_count = int(row[0]) if row else (0 if plan.result == "count" else None)
        name, column_type = ("rows", BIGINT) if plan.result == "count" else ("result", BOOLEAN)
        query.columns = [column_type.column(name)]
        _put(coordinator, query, dumps([query.update_count if plan.result == "count" else True]), 1)
        return
    _stream(coordinator, query, cursor, plan)


def _stream(coordinator: Coordinator, query: Query, cursor: duckdb.DuckDBPyConnection, plan: Plan) -> None:
    description = cursor.description or []
    types = [trino_type(d[1], query.session.time_zone) for d in description]
    names = plan.names if plan.names and len(plan.names) == len(types) else [str(d[0]).lower() for d in description]
    query.columns = [t.column(name) for name, t in zip(names, types, strict=True)]
    coordinator.notify(query)
    encoders = [t.encode for t in types]
    target = max(1, query.page_bytes // 4)
    batch = 16  # small until the size of a row is known
    while not query.canceled:
        rows = cursor.fetchmany(batch)
        if not rows:
            return
        payload = encode_rows(rows, encoders)
        _put(coordinator, query, payload, len(rows))
        # Next fetch sized so that its JSON is about ``target`` bytes.
        batch = min(MAX_ROWS_PER_FETCH, max(1, int(target * len(rows) / max(1, len(payload)))))
    raise _Canceled


# --------------------------------------------------------------------------------------
# HTTP: the statement resource, authentication, and the test controls.
# --------------------------------------------------------------------------------------


@dataclass
class Authenticator:
    """Trino's authenticators, tried in order: certificate, password (Basic), JWT (Bearer)."""

    users: dict[str, str]
    tokens: list[str]
    certificates: bool

    @property
    def required(self) -> bool:
        return bool(self.users or self.tokens or self.certificates)

    def identify(self, authorization: str, peer: dict[str, Any] | None) -> tuple[str | None, str | None] | None:
        """(principal, scheme), or None when authentication is required and failed."""
        if not self.required:
            return None, None
        common_name = _common_name(peer) if self.certificates else None
        if common_name:
            return common_name, "certificate"
        scheme, _, credentials = authorization.partition(" ")
        if scheme.lower() == "basic" and self.users:
            try:
                user, _, password = base64.b64decode(credentials).decode("utf-8").partition(":")
            except ValueError:
                return None
            if user in self.users and hmac.compare_digest(self.users[user].encode(), password.encode()):
                return user, "basic"
        if scheme.lower() == "bearer" and any(
            hmac.compare_digest(t.encode(), credentials.encode()) for t in self.tokens
        ):
            return _jwt_subject(credentials), "bearer"
        return None

    def challenges(self) -> list[str]:
        return [c for c, on in (('Basic realm="Trino"', self.users), ('Bearer realm="Trino"', self.tokens)) if on]


def _common_name(peer: dict[str, Any] | None) -> str | None:
    for rdn in (peer or {}).get("subject", ()):
        for key, value in rdn:
            if key == "commonName":
                return str(value)
    return None


def _jwt_subject(token: str) -> str | None:
    """The ``sub`` claim when the token is a JWT (the signature is not checked: the token list is the trust)."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except ValueError:
        return None
    subject = claims.get("sub") if isinstance(claims, dict) else None
    return str(subject) if subject is not None else None


class StatementApi:
    """The ``/v1/statement`` protocol and the ``/_test`` controls over one coordinator."""

    def __init__(self, coordinator: Coordinator, authenticator: Authenticator) -> None:
        self.coordinator = coordinator
        self.authenticator = authenticator

    @staticmethod
    def _text(status: int, text: str, headers: Any = None) -> web.Response:
        from aiohttp import web

        return web.Response(status=status, text=text, headers=headers)

    def _base(self, request: web.Request) -> str:
        return f"{request.scheme}://{request.host}"

    def _find(self, request: web.Request) -> Query | web.Response:
        """The query a follow-up request names, or the response refusing it (404, or 401 from authenticate)."""
        query = self.coordinator.queries.get(request.match_info["query_id"])
        if query is None or query.slug != request.match_info["slug"]:
            return self._text(404, "Query not found")
        identity = self.authenticate(request)
        return query if isinstance(identity, tuple) else identity

    def _results(self, query: Query, base: str, next_uri: str | None = None, data: list[bytes] | None = None) -> bytes:
        """A ``QueryResults`` document; ``data`` are pre-encoded row chunks, spliced in as they are."""
        head: dict[str, Any] = {"id": query.id, "infoUri": f"{base}/ui/query.html?{query.id}"}
        if next_uri:
            head["nextUri"] = next_uri
        if query.columns is not None:
            head["columns"] = query.columns
        tail: dict[str, Any] = {"stats": query.stats(), "warnings": []}
        error = query.error or (TrinoError("USER_CANCELED", "Query was canceled") if query.canceled else None)
        if error is not None:
            tail["error"] = error.to_json()
        if query.update_type is not None:
            tail["updateType"] = query.update_type
        if query.update_count is not None:
            tail["updateCount"] = query.update_count
        if data is None:
            return dumps({**head, **tail})
        return dumps(head)[:-1] + b',"data":[' + b",".join(data) + b"]," + dumps(tail)[1:]

    def _json(self, body: bytes, headers: dict[str, str] | None = None) -> web.Response:
        from aiohttp import web

        return web.Response(body=body, content_type="application/json", headers=headers)

    def authenticate(self, request: web.Request) -> tuple[str | None, str | None] | web.Response:
        from multidict import CIMultiDict

        peer = request.transport.get_extra_info("peercert") if request.transport else None
        identity = self.authenticator.identify(request.headers.get("Authorization", ""), peer)
        if identity is not None:
            return identity
        headers: CIMultiDict[str] = CIMultiDict()
        for challenge in self.authenticator.challenges():
            headers.add("WWW-Authenticate", challenge)
        return self._text(401, "Unauthorized", headers)

    async def post_statement(self, request: web.Request) -> web.Response:
        identity = self.authenticate(request)
        if not isinstance(identity, tuple):
            return identity
        try:
            sql = (await request.read()).decode("utf-8")
            if not sql.strip():
                raise ValueError("SQL statement is empty")
            session = parse_session(request.headers, *identity)
        except ValueError as error:
            return self._text(400, str(error))
        query = self.coordinator.create(sql, session)
        base = self._base(request)
        return self._json(self._results(query, base, f"{base}/v1/statement/queued/{query.id}/{query.slug}/1"))

    async def get_queued(self, request: web.Request) -> web.Response:
        query = self._find(request)
        if not isinstance(query, Query):
            return query
        self.coordinator.dispatch(query)
        await self._wait(query, lambda: query.state != "QUEUED" or query.canceled or query.error is not None)
        base = self._base(request)
        if query.canceled or query.error is not None:
            return self._json(self._results(query, base), query.headers)
        if query.state == "QUEUED":
            token = int(request.match_info["token"]) + 1
            return self._json(self._results(query, base, f"{base}/v1/statement/queued/{query.id}/{query.slug}/{token}"))
        return self._json(self._results(query, base, f"{base}/v1/statement/executing/{query.id}/{query.slug}/0"))

    async def _wait(self, query: Query, ready: Callable[[], bool], deadline: float | None = None) -> bool:
        """Long poll: wait until ``ready()`` or the deadline; True when ready."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + MAX_WAIT if deadline is None else deadline
        while True:
            query.changed.clear()
            if ready():
                return True
            remaining = deadline - loop.time()
            if remaining <= 0:
                return False
            try:
                await asyncio.wait_for(query.changed.wait(), remaining)
            except TimeoutError:
                return ready()

    async def get_executing(self, request: web.Request) -> web.Response:
        query = self._find(request)
        if not isinstance(query, Query):
            return query
        token = int(request.match_info["token"])
        async with query.serving:
            if token == query.token and query.last_page is not None:
                return self._json(query.last_page, query.headers)  # a retry: the same page again
            if token != query.token + 1:
                return self._text(410, f"Invalid token {token}: the next is {query.token + 1}")
            if self.coordinator.controls["page_delay"]:
                await asyncio.sleep(float(self.coordinator.controls["page_delay"]))
            page = await self._next_page(query, self._base(request), token)
            query.token, query.last_page = token, page
            return self._json(page, query.headers)

    def _take(self, query: Query, parts: list[bytes]) -> tuple[int, bool]:
        """Move queued chunks into ``parts`` up to the page size: (rows taken, page full)."""
        size, rows = sum(len(p) for p in parts), 0
        while True:
            if query.pending is not None:
                chunk, query.pending = query.pending, None
            else:
                try:
                    chunk = query.chunks.get_nowait()
                except queue.Empty:
                    return rows, False
            if parts and size + len(chunk[0]) > query.page_bytes:
                query.pending = chunk
                return rows, True
            parts.append(chunk[0])
            size, rows = size + len(chunk[0]), rows + chunk[1]
            if size >= query.page_bytes:
                return rows, True

    async def _next_page(self, query: Query, base: str, token: int) -> bytes:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + MAX_WAIT
        parts: list[bytes] = []
        rows = 0
        while not (query.canceled or query.error is not None):
            if query.held:
                if not await self._wait(query, lambda: not query.held or query.canceled, deadline):
                    break
                continue
            taken, full = self._take(query, parts)
            rows += taken
            if full or query.exhausted:
                break
            if not await self._wait(query, lambda: not query.chunks.empty() or query.producer_done, deadline):
                break
        if query.canceled or query.error is not None:
            query.state, query.ended = "FAILED", query.ended or time.time()
            return self._results(query, base)
        next_uri = f"{base}/v1/statement/executing/{query.id}/{query.slug}/{token + 1}"
        if parts:
            query.rows_served += rows
            query.pages_served += 1
            return self._results(query, base, next_uri, parts)
        if query.exhausted:
            query.state, query.ended = "FINISHED", time.time()
            return self._results(query, base)
        return self._results(query, base, next_uri)

    async def delete_statement(self, request: web.Request) -> web.Response:
        query = self._find(request)
        if not isinstance(query, Query):
            return query
        self.coordinator.cancel(query)
        return self._text(204, "")

    async def info(self, _: web.Request) -> web.Response:
        body = {
            "nodeVersion": {"version": "airflow-dataops-test"},
            "environment": "test",
            "coordinator": True,
            "starting": False,
            "uptime": "0.00s",
        }
        return self._json(dumps(body))

    async def control_queries(self, _: web.Request) -> web.Response:
        return self._json(dumps([q.record() for q in self.coordinator.queries.values()]))

    async def control_settings(self, request: web.Request) -> web.Response:
        if request.method == "GET":
            return self._json(dumps(self.coordinator.controls))
        body = await request.json()
        unknown = set(body) - set(self.coordinator.controls)
        if unknown:
            return self._text(400, f"unknown controls: {sorted(unknown)}")
        try:
            if body.get("fail_next"):
                injected_failure(body["fail_next"])
            if "page_bytes" in body and int(body["page_bytes"]) < 1:
                raise ValueError("page_bytes must be positive")
        except (ValueError, KeyError, TypeError) as error:
            return self._text(400, str(error))
        self.coordinator.controls.update(body)
        if body.get("hold") is False:
            self.coordinator.release()
        return self._json(dumps(self.coordinator.controls))

    async def control_reset(self, _: web.Request) -> web.Response:
        for query in list(self.coordinator.queries.values()):
            self.coordinator.cancel(query)
        self.coordinator.queries.clear()
        self.coordinator.reset_controls()
        return self._json(b"{}")


def make_app(api: StatementApi) -> web.Application:
    """The aiohttp application: Trino's routes and the test controls."""
    from aiohttp import web

    app = web.Application(client_max_size=64 << 20)
    statement = "/v1/statement/{stage}/{query_id}/{slug}/{token:\\d+}"
    queued = statement.replace("{stage}", "queued")
    executing = statement.replace("{stage}", "executing")
    app.add_routes(
        [
            web.post("/v1/statement", api.post_statement),
            web.get(queued, api.get_queued),
            web.delete(queued, api.delete_statement),
            web.get(executing, api.get_executing),
            web.delete(executing, api.delete_statement),
            web.get("/v1/info", api.info),
            web.get("/_test/queries", api.control_queries),
            web.get("/_test/control", api.control_settings),
            web.post("/_test/control", api.control_settings),
            web.post("/_test/reset", api.control_reset),
        ]
    )
    return app


def _tls_context(config: dict[str, Any]) -> ssl.SSLContext | None:
    """HTTPS with the given certificate; with ``client_ca``, client certificates are asked for and verified.

    Optional rather than required (as Trino asks for them): a client without one can still
    authenticate otherwise, and the test controls stay reachable.
    """
    if not config.get("tls"):
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(config["tls"]["cert"], config["tls"]["key"])
    if config.get("client_ca"):
        context.load_verify_locations(config["client_ca"])
        context.verify_mode = ssl.CERT_OPTIONAL
    return context


async def serve(config: dict[str, Any]) -> None:
    """Listen on a free loopback port, announce it on stdout, serve until stdin closes."""
    import logging

    from aiohttp import web

    from airflow_dataops.runtime.embedded_sql import EmbeddedEngine, Source

    logging.getLogger("sqlglot").setLevel(logging.ERROR)  # its parser's fallback warnings are not ours
    engine = EmbeddedEngine([Source(**source) for source in config["sources"]])
    coordinator = Coordinator(engine, int(config.get("page_bytes") or 1 << 20), asyncio.get_running_loop())
    authenticator = Authenticator(
        dict(config.get("users") or {}), list(config.get("jwt_tokens") or []), bool(config.get("client_ca"))
    )
    runner = web.AppRunner(make_app(StatementApi(coordinator, authenticator)), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, HOST, 0, ssl_context=_tls_context(config)).start()
    print(f"PORT {runner.addresses[0][1]}", flush=True)
    threading.Thread(target=_warm_up, daemon=True).start()
    await asyncio.Event().wait()


def _warm_up() -> None:
    """Import the SQL translator ahead of the first query (it takes a few hundred milliseconds)."""
    import sqlglot

    sqlglot.parse_one("SELECT 1", read="trino")


def _exit_when_stdin_closes() -> None:
    """The starting process holds our stdin: when it goes (even killed), so do we."""
    sys.stdin.buffer.read()
    os._exit(0)


def main() -> None:
    """Command-line entry point: the configuration is the first line of stdin."""
    config = json.loads(sys.stdin.buffer.readline())
    threading.Thread(target=_exit_when_stdin_closes, daemon=True).start()
    try:
        asyncio.run(serve(config))
    except BaseException:
        # Not a normal exit: the stdin thread still reads, and interpreter shutdown would wait for it.
        traceback.print_exc()
        sys.stderr.flush()
        os._exit(1)


if __name__ == "__main__":
    main()
