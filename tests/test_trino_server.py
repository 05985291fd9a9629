"""The Trino test server (tests/trino_server.py) against the real ``trino`` client, without mocks.

Whatever later tests conclude about code that talks to Trino is only as good as this
server's likeness to Trino, so it is checked here with the client itself: paging,
every type the client maps, each error kind, cancellation, authentication over TLS,
and what the server records about the session.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import hmac
import json
import math
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import requests
import trino
from trino.exceptions import TrinoConnectionError, TrinoExternalError, TrinoQueryError, TrinoUserError

from airflow_dataops.runtime.embedded_sql import Source
from tls_certs import Certificates, make_certificates
from trino_server import TrinoTestServer, start_trino_server

ORDERS = 20_000
PAGE_BYTES = 4096
PASSWORD = "correct horse battery staple"


@pytest.fixture(scope="module")
def sources(tmp_path_factory: pytest.TempPathFactory) -> list[Source]:
    """A Parquet lake, a CSV CRM and a DuckDB warehouse holding a row of every type (and a row of NULLs)."""
    import duckdb

    root = tmp_path_factory.mktemp("sources")
    (root / "lake" / "sales").mkdir(parents=True)
    (root / "crm" / "public").mkdir(parents=True)
    (root / "crm" / "public" / "customers.csv").write_text("id,name\n1,Ada\n2,Grace\n")
    duckdb.sql(
        f"COPY (SELECT range AS id, 'name-' || range AS name FROM range({ORDERS})) "
        f"TO '{root / 'lake' / 'sales' / 'orders.parquet'}' (FORMAT parquet)"
    )
    with duckdb.connect(str(root / "warehouse.duckdb")) as warehouse:
        warehouse.execute(
            """
            CREATE TABLE all_types AS SELECT
                true AS b, 1::TINYINT AS ti, 2::SMALLINT AS si, 3::INTEGER AS i, 4::BIGINT AS bi,
                0.1::REAL AS r, 2.5::DOUBLE AS d, 'nan'::DOUBLE AS d_nan, 'inf'::DOUBLE AS d_inf,
                '-inf'::DOUBLE AS d_minf, 12.30::DECIMAL(10, 2) AS dec, 'héllo' AS v, '\\x00\\xFFab'::BLOB AS vb,
                '{"a": [1, 2]}'::JSON AS j, DATE '2024-01-02' AS dt, TIME '03:04:05.123456' AS t,
                TIMESTAMP '2024-01-02 03:04:05.123456' AS ts, TIMESTAMPTZ '2024-01-02 03:04:05.5+00' AS tstz,
                '6625ba91-a55c-46ff-85ca-4ae4a94517ef'::UUID AS u, [1, NULL, 3] AS arr,
                MAP {'a': 1, 'b': NULL} AS m, MAP {1: DATE '2024-01-01'} AS m_int,
                {'x': 1, 'y': 'z', 'inner': {'days': [DATE '2024-01-01']}} AS rw,
                TIMETZ '03:04:05.25+02:00' AS ttz, TIMESTAMP_MS '2024-01-02 03:04:05.123' AS ts_ms,
                INTERVAL '3 days 04:05:06.789' AS span, 170141183460469231731687303715884105727::HUGEINT AS huge
            """
        )
        warehouse.execute("INSERT INTO all_types DEFAULT VALUES")
        warehouse.execute("CREATE TABLE numbers AS SELECT range AS n FROM range(100000)")
    return [
        Source("lake", "parquet", str(root / "lake")),
        Source("crm", "csv", str(root / "crm")),
        Source("warehouse", "duckdb", str(root / "warehouse.duckdb")),
    ]


@pytest.fixture(scope="module")
def server(sources: list[Source]) -> Iterator[TrinoTestServer]:
    """Plain HTTP, no authentication, small pages (so that a few thousand rows take many pages)."""
    with start_trino_server(sources, page_bytes=PAGE_BYTES) as running:
        yield running


@pytest.fixture(autouse=True)
def fresh(server: TrinoTestServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A server without earlier queries or controls; ``verify=`` as given.

    requests lets ``REQUESTS_CA_BUNDLE``/``CURL_CA_BUNDLE`` override a session's
    ``verify`` (the client's ``verify=`` argument), so they are removed here.
    """
    server.reset()
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    yield
    while _CONNECTIONS:
        _CONNECTIONS.pop().close()


@pytest.fixture
def http() -> Iterator[requests.Session]:
    """A bare HTTP session, to look at the protocol itself."""
    with requests.Session() as session:
        session.headers["X-Trino-User"] = "raw"
        yield session


@pytest.fixture(scope="module")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> Certificates:
    return make_certificates(tmp_path_factory.mktemp("tls"), client_cn="etl-service")


def _jwt(subject: str) -> str:
    """A signed HS256 JWT, as an identity provider would issue."""

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    header = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    claims = b64(json.dumps({"sub": subject, "exp": int(time.time()) + 3600}).encode())
    signature = hmac.new(b"idp-secret", f"{header}.{claims}".encode(), hashlib.sha256).digest()
    return f"{header}.{claims}.{b64(signature)}"


JWT = _jwt("svc-airflow")


@pytest.fixture(scope="module")
def secure(sources: list[Source], certificates: Certificates) -> Iterator[TrinoTestServer]:
    """HTTPS with Basic, JWT and client-certificate authentication, as a production coordinator.

    Without the DuckDB warehouse: a DuckDB file is attached by one process at a time.
    """
    with start_trino_server(
        [s for s in sources if s.kind != "duckdb"],
        users={"alice": PASSWORD},
        jwt_tokens=[JWT],
        tls=certificates.server,
        client_ca=certificates.ca,
    ) as running:
        yield running


def connect(server: TrinoTestServer, **options: Any) -> Any:
    """A real client connection to ``server`` (``options`` override the defaults)."""
    defaults: dict[str, Any] = {
        "host": server.host,
        "port": server.port,
        "user": "alice",
        "http_scheme": server.scheme,
        "max_attempts": 1,
    }
    if server.ca is not None:
        defaults["verify"] = str(server.ca)
    connection = trino.dbapi.connect(**{**defaults, **options})  # type: ignore[no-untyped-call]
    _CONNECTIONS.append(connection)
    return connection


_CONNECTIONS: list[Any] = []  # closed after each test


def wait_for(condition: Callable[[], Any], timeout: float = 10.0) -> Any:
    """Poll until ``condition()`` is truthy; return its value."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError("timed out waiting")


def test_a_large_result_comes_in_many_pages_with_rows_and_order_intact(server: TrinoTestServer) -> None:
    cursor = connect(server).cursor()
    cursor.execute("SELECT id, name FROM lake.sales.orders ORDER BY id")
    rows = cursor.fetchall()
    assert rows == [[i, f"name-{i}"] for i in range(ORDERS)]
    assert [d[:2] for d in cursor.description] == [("id", "bigint"), ("name", "varchar")]
    record = server.query(cursor.query_id)
    assert record["state"] == "FINISHED"
    assert record["rows_served"] == ORDERS
    assert record["pages_served"] > ORDERS * 15 // PAGE_BYTES  # about 15 bytes of JSON per row


def test_the_protocol_queues_then_pages_by_size_with_increasing_tokens(
    server: TrinoTestServer, http: requests.Session
) -> None:
    first = http.post(f"{server.url}/v1/statement", data="SELECT id FROM lake.sales.orders ORDER BY id").json()
    assert first["stats"]["state"] == "QUEUED"
    assert "data" not in first
    assert "columns" not in first
    assert f"/v1/statement/queued/{first['id']}/" in first["nextUri"]
    queued = http.get(first["nextUri"]).json()
    uri, pages, tokens = queued["nextUri"], [], []
    while uri:
        tokens.append(int(uri.rsplit("/", 1)[1]))
        page = http.get(uri).json()
        if tokens[-1] == 2:  # a retried GET gets the same page; a token out of sequence is gone
            assert http.get(uri).json()["data"] == page["data"]
            assert http.get(uri.rsplit("/", 1)[0] + "/9").status_code == 410
        pages.append(page)
        uri = page.get("nextUri")
    assert tokens == list(range(len(tokens)))
    data = [p["data"] for p in pages if "data" in p]
    assert [row[0] for page in data for row in page] == list(range(ORDERS))
    assert all(len(json.dumps(page, separators=(",", ":"))) <= PAGE_BYTES + 2 for page in data)
    assert pages[-1]["stats"]["state"] == "FINISHED"
    assert "data" not in pages[-1]
    assert pages[-1]["columns"] == [
        {"name": "id", "type": "bigint", "typeSignature": {"rawType": "bigint", "arguments": []}}
    ]


def test_the_server_does_not_run_ahead_of_a_slow_client(server: TrinoTestServer) -> None:
    cursor = connect(server).cursor()
    cursor.execute("SELECT id, name FROM lake.sales.orders")
    assert cursor.fetchone() == [0, "name-0"]
    time.sleep(0.5)  # the server's thread would produce everything by now, were it not bounded
    record = server.query(cursor.query_id)
    assert record["rows_served"] < record["rows_produced"] < ORDERS // 4
    cursor.cancel()


def test_every_type_round_trips_to_the_python_types_of_the_client(server: TrinoTestServer) -> None:
    cursor = connect(server, timezone="America/New_York").cursor()
    cursor.execute("SELECT * FROM warehouse.main.all_types")
    values, nulls = cursor.fetchall()
    types = {d[0]: d[1] for d in cursor.description}
    row = dict(zip(types, values, strict=True))
    new_york = ZoneInfo("America/New_York")
    expected = {
        "b": (True, "boolean"),
        "ti": (1, "tinyint"),
        "si": (2, "smallint"),
        "i": (3, "integer"),
        "bi": (4, "bigint"),
        "r": (0.1, "real"),
        "d": (2.5, "double"),
        "d_inf": (float("inf"), "double"),
        "d_minf": (float("-inf"), "double"),
        "dec": (Decimal("12.30"), "decimal(10,2)"),
        "v": ("héllo", "varchar"),
        "vb": (b"\x00\xffab", "varbinary"),
        "j": ('{"a": [1, 2]}', "json"),
        "dt": (datetime.date(2024, 1, 2), "date"),
        "t": (datetime.time(3, 4, 5, 123456), "time(6)"),
        "ts": (datetime.datetime(2024, 1, 2, 3, 4, 5, 123456), "timestamp(6)"),
        "tstz": (datetime.datetime(2024, 1, 1, 22, 4, 5, 500000, tzinfo=new_york), "timestamp(6) with time zone"),
        "u": (uuid.UUID("6625ba91-a55c-46ff-85ca-4ae4a94517ef"), "uuid"),
        "arr": ([1, None, 3], "array(integer)"),
        "m": ({"a": 1, "b": None}, "map(varchar, integer)"),
        "m_int": ({1: datetime.date(2024, 1, 1)}, "map(integer, date)"),
        "ttz": (
            datetime.time(3, 4, 5, 250000, tzinfo=datetime.timezone(datetime.timedelta(hours=2))),
            "time(6) with time zone",
        ),
        "ts_ms": (datetime.datetime(2024, 1, 2, 3, 4, 5, 123000), "timestamp(3)"),
        "span": (datetime.timedelta(days=3, hours=4, minutes=5, seconds=6, milliseconds=789), "interval day to second"),
        "huge": (Decimal(2**127 - 1), "decimal(38,0)"),
    }
    for name, (value, trino_type) in expected.items():
        assert (row[name], types[name]) == (value, trino_type), name
        assert type(row[name]) is type(value), name
    assert math.isnan(row["d_nan"])
    assert types["d_nan"] == "double"
    assert row["tstz"].tzinfo == new_york
    assert types["rw"] == "row(x integer, y varchar, inner row(days array(date)))"
    assert row["rw"] == (1, "z", ([datetime.date(2024, 1, 1)],))
    assert (row["rw"].x, row["rw"].y, row["rw"].inner.days) == (1, "z", [datetime.date(2024, 1, 1)])
    assert nulls == [None] * len(types)


def test_unnamed_columns_get_trino_names(server: TrinoTestServer) -> None:
    cursor = connect(server).cursor()
    cursor.execute("SELECT 1 + 1, count(*) AS Orders, max(id) FROM lake.sales.orders")
    assert cursor.fetchall() == [[2, ORDERS, ORDERS - 1]]
    assert [d[0] for d in cursor.description] == ["_col0", "orders", "_col2"]


def test_update_statements_report_their_type_and_count(server: TrinoTestServer) -> None:
    cursor = connect(server).cursor()

    def run(sql: str) -> tuple[Any, str | None, int]:
        cursor.execute(sql)
        return cursor.fetchall(), cursor.update_type, cursor.rowcount

    assert run("CREATE SCHEMA warehouse.staging") == ([[True]], "CREATE SCHEMA", -1)
    ctas = "CREATE TABLE warehouse.staging.small AS SELECT id FROM lake.sales.orders WHERE id < 10"
    assert run(ctas) == ([[10]], "CREATE TABLE", 10)
    assert run("INSERT INTO warehouse.staging.small SELECT 10") == ([[1]], "INSERT", 1)
    rename = "ALTER TABLE warehouse.staging.small RENAME TO warehouse.staging.renamed"
    assert run(rename) == ([[True]], "RENAME TABLE", -1)
    assert run("SELECT count(*) FROM warehouse.staging.renamed") == ([[11]], None, -1)
    with pytest.raises(TrinoUserError) as exists:
        cursor.execute(ctas.replace("small", "renamed"))
    assert exists.value.error_name == "TABLE_ALREADY_EXISTS"
    assert run("DROP TABLE warehouse.staging.renamed") == ([[True]], "DROP TABLE", -1)
    assert run("DROP SCHEMA warehouse.staging") == ([[True]], "DROP SCHEMA", -1)
    assert server.query(cursor.query_id)["update_type"] == "DROP SCHEMA"


@pytest.mark.parametrize(
    ("sql", "name", "code", "location"),
    [
        ("SELECT id FROM orders WHERE\n  name = )", "SYNTAX_ERROR", 1, (2, 10)),
        ("SELEC 1", "SYNTAX_ERROR", 1, (1, 1)),
        ("SELECT 1;", "SYNTAX_ERROR", 1, (1, 9)),
        ("SELECT * FROM nope", "TABLE_NOT_FOUND", 46, (1, 15)),
        ("SELECT * FROM nope.sales.orders", "CATALOG_NOT_FOUND", 44, (1, 15)),
        ("SELECT * FROM lake.nope.orders", "SCHEMA_NOT_FOUND", 45, (1, 15)),
        ("SELECT nope FROM orders", "COLUMN_NOT_FOUND", 47, (1, 8)),
        ("SELECT sequence(1, 3)", "NOT_SUPPORTED", 13, None),
        ("SELECT CAST(name AS INTEGER) FROM orders", "INVALID_CAST_ARGUMENT", 9, None),
    ],
)
def test_errors_carry_trino_names_codes_and_locations(
    server: TrinoTestServer, sql: str, name: str, code: int, location: tuple[int, int] | None
) -> None:
    cursor = connect(server, catalog="lake", schema="sales").cursor()
    with pytest.raises(TrinoUserError) as raised:
        cursor.execute(sql)  # the client waits for the first rows: a failure arrives here
    error = raised.value
    assert error.query_id is not None
    assert (error.error_name, error.error_code, error.error_type) == (name, code, "USER_ERROR")
    assert error.error_location == location
    assert server.query(error.query_id)["error_name"] == name
    if location:
        assert error.message.startswith(f"line {location[0]}:{location[1]}: ")
    if name == "SYNTAX_ERROR":
        assert error.error_exception == "io.trino.sql.parser.ParsingException"
    if name == "NOT_SUPPORTED":  # the translation's own explanation is kept
        assert "sequence(...) is not in the subset verified" in error.message


def test_unqualified_names_need_a_session_catalog_and_schema(server: TrinoTestServer) -> None:
    with pytest.raises(TrinoUserError) as raised:
        connect(server).cursor().execute("SELECT * FROM orders")
    assert raised.value.error_name == "MISSING_CATALOG_NAME"
    with pytest.raises(TrinoUserError) as raised:
        connect(server, catalog="lake").cursor().execute("SELECT * FROM orders")
    assert raised.value.error_name == "MISSING_SCHEMA_NAME"
    cursor = connect(server, catalog="lake").cursor()
    cursor.execute("SELECT count(*) FROM sales.orders")
    assert cursor.fetchall() == [[ORDERS]]


def test_injected_failures_reach_the_client_as_their_kind(server: TrinoTestServer) -> None:
    cursor = connect(server).cursor()
    server.control(fail_next="GENERIC_INTERNAL_ERROR")
    with pytest.raises(TrinoQueryError) as internal:
        cursor.execute("SELECT 1")
    assert not isinstance(internal.value, TrinoUserError)
    assert (internal.value.error_name, internal.value.error_type) == ("GENERIC_INTERNAL_ERROR", "INTERNAL_ERROR")
    server.control(fail_next={"name": "HIVE_METASTORE_ERROR", "code": 16777216, "type": "EXTERNAL"})
    with pytest.raises(TrinoExternalError) as external:
        cursor.execute("SELECT 1")
    assert external.value.error_code == 16777216
    cursor.execute("SELECT 1")  # only the next query fails
    assert cursor.fetchall() == [[1]]


def test_cancel_while_held_reports_user_canceled(server: TrinoTestServer) -> None:
    server.control(hold=True)
    cursor = connect(server).cursor()
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            cursor.execute("SELECT id FROM lake.sales.orders")
            outcome["rows"] = cursor.fetchall()
        except TrinoUserError as error:
            outcome["error"] = error

    thread = threading.Thread(target=run)
    thread.start()
    held = wait_for(lambda: [q for q in server.queries() if q["state"] == "RUNNING" and q["held"]])[0]
    assert held["pages_served"] == 0  # held: the client only got pages without data
    cursor.cancel()
    thread.join(10)
    assert outcome["error"].error_name == "USER_CANCELED"
    record = server.query(held["id"])
    assert (record["canceled"], record["state"], record["error_name"]) == (True, "FAILED", "USER_CANCELED")
    server.control(hold=False)


def test_cancel_interrupts_the_engine_work(server: TrinoTestServer) -> None:
    forever = (
        "SELECT sum(a.n + b.n + c.n) FROM warehouse.main.numbers AS a "
        "CROSS JOIN warehouse.main.numbers AS b CROSS JOIN warehouse.main.numbers AS c"
    )
    cursor = connect(server).cursor()
    errors: list[TrinoUserError] = []

    def run() -> None:
        try:
            cursor.execute(forever)
            cursor.fetchall()  # if the cancel came between two polls, the next one reports it
        except TrinoUserError as error:
            errors.append(error)

    thread = threading.Thread(target=run)
    thread.start()
    running = wait_for(lambda: [q for q in server.queries() if q["state"] == "RUNNING" and q["executing"]])[0]
    time.sleep(0.3)  # well into the cross join
    canceled_at = time.monotonic()
    cursor.cancel()
    record = wait_for(lambda: (q := server.query(running["id"]))["executing"] is False and q)
    assert time.monotonic() - canceled_at < 3
    assert (record["canceled"], record["interrupted"], record["error_name"]) == (True, True, "USER_CANCELED")
    thread.join(10)
    assert [e.error_name for e in errors] == ["USER_CANCELED"]


def test_page_delay_slows_every_page(server: TrinoTestServer) -> None:
    cursor = connect(server).cursor()
    server.control(page_delay=0.2)
    started = time.monotonic()
    cursor.execute("SELECT count(*) FROM crm.public.customers")
    assert cursor.fetchall() == [[2]]
    assert time.monotonic() - started >= 0.4  # a page with the row, then the last page


def test_a_delete_on_next_uri_cancels_and_later_gets_say_so(server: TrinoTestServer, http: requests.Session) -> None:
    server.control(hold=True)
    first = http.post(f"{server.url}/v1/statement", data="SELECT id FROM lake.sales.orders").json()
    executing = http.get(first["nextUri"]).json()["nextUri"]
    assert http.delete(executing).status_code == 204
    after = http.get(executing).json()
    assert after["stats"]["state"] == "FAILED"
    assert "nextUri" not in after
    assert (after["error"]["errorName"], after["error"]["errorCode"]) == ("USER_CANCELED", 3)
    assert server.query(first["id"])["canceled"] is True


def test_session_headers_are_recorded(server: TrinoTestServer) -> None:
    connection = connect(
        server,
        user="etl",
        source="airflow-dataops",
        catalog="lake",
        schema="sales",
        client_tags=["etl", "nightly"],
        session_properties={"query_max_run_time": "1h", "note": "a b,c"},
        roles={"lake": "analyst"},
        timezone="Europe/Paris",
        extra_credential=[("warehouse.token", "do-not-record")],
        http_headers={"X-Trino-Client-Info": "dag=orders;run=1"},
    )
    cursor = connection.cursor()
    cursor.execute("SELECT count(*) FROM orders")
    assert cursor.fetchall() == [[ORDERS]]
    record = server.query(cursor.query_id)
    assert {key: record[key] for key in ("user", "principal", "auth_scheme", "source", "catalog", "schema")} == {
        "user": "etl",
        "principal": None,
        "auth_scheme": None,
        "source": "airflow-dataops",
        "catalog": "lake",
        "schema": "sales",
    }
    assert record["client_tags"] == ["etl", "nightly"]
    assert record["client_info"] == "dag=orders;run=1"
    assert record["session_properties"] == {"query_max_run_time": "1h", "note": "a b,c"}
    assert record["roles"] == {"lake": "ROLE{analyst}"}
    assert record["time_zone"] == "Europe/Paris"
    assert record["extra_credentials"] == ["warehouse.token"]
    assert "do-not-record" not in json.dumps(server.queries())


def test_use_and_set_session_change_the_client_session(server: TrinoTestServer) -> None:
    connection = connect(server, catalog="lake", schema="sales")
    cursor = connection.cursor()
    cursor.execute("USE warehouse.main")
    assert cursor.fetchall() == [[True]]
    cursor.execute("SET SESSION query_max_run_time = '2h'")
    cursor.fetchall()
    cursor.execute("SELECT count(*) FROM all_types")  # unqualified: resolved in warehouse.main now
    assert cursor.fetchall() == [[2]]
    record = server.query(cursor.query_id)
    assert (record["catalog"], record["schema"]) == ("warehouse", "main")
    assert record["session_properties"] == {"query_max_run_time": "2h"}
    cursor.execute("SHOW TABLES")
    assert cursor.fetchall() == [["all_types"], ["numbers"]]


def test_parameters_are_bound_through_execute_immediate(server: TrinoTestServer) -> None:
    cursor = connect(server).cursor()
    cursor.execute("SELECT name, ? FROM lake.sales.orders WHERE id = ?", ["it's", 7])
    assert cursor.fetchall() == [["name-7", "it's"]]


def test_basic_authentication_over_tls_and_impersonation(secure: TrinoTestServer) -> None:
    cursor = connect(secure, user="bob", auth=trino.auth.BasicAuthentication("alice", PASSWORD)).cursor()
    cursor.execute("SELECT count(*) FROM crm.public.customers")
    assert cursor.fetchall() == [[2]]
    record = secure.query(cursor.query_id)
    assert (record["user"], record["principal"], record["auth_scheme"]) == ("bob", "alice", "basic")
    assert PASSWORD not in json.dumps(secure.queries())


@pytest.mark.parametrize(
    "auth",
    [
        None,
        trino.auth.BasicAuthentication("alice", "wrong"),
        trino.auth.BasicAuthentication("mallory", PASSWORD),
        trino.auth.JWTAuthentication(_jwt("svc-airflow")[:-4] + "AAAA"),
    ],
    ids=["none", "wrong-password", "unknown-user", "unknown-token"],
)
def test_missing_or_wrong_credentials_get_401(secure: TrinoTestServer, auth: Any) -> None:
    with pytest.raises(trino.exceptions.HttpError, match="error 401"):
        connect(secure, auth=auth).cursor().execute("SELECT 1")


def test_a_401_names_the_accepted_schemes(secure: TrinoTestServer, http: requests.Session) -> None:
    response = http.post(f"{secure.url}/v1/statement", data="SELECT 1", verify=str(secure.ca))
    assert response.status_code == 401
    assert 'Basic realm="Trino"' in response.headers["WWW-Authenticate"]
    assert 'Bearer realm="Trino"' in response.headers["WWW-Authenticate"]


def test_jwt_authentication_records_the_subject(secure: TrinoTestServer) -> None:
    cursor = connect(secure, user="airflow", auth=trino.auth.JWTAuthentication(JWT)).cursor()
    cursor.execute("SELECT 1")
    assert cursor.fetchall() == [[1]]
    record = secure.query(cursor.query_id)
    assert (record["user"], record["principal"], record["auth_scheme"]) == ("airflow", "svc-airflow", "bearer")
    assert JWT not in json.dumps(secure.queries())


def test_tls_is_refused_without_the_ca(secure: TrinoTestServer) -> None:
    cursor = connect(secure, verify=True, auth=trino.auth.BasicAuthentication("alice", PASSWORD)).cursor()
    with pytest.raises(TrinoConnectionError, match="CERTIFICATE_VERIFY_FAILED"):
        cursor.execute("SELECT 1")


def test_mutual_tls_authenticates_with_the_client_certificate(
    secure: TrinoTestServer, certificates: Certificates, tmp_path: Path
) -> None:
    client = certificates.client
    auth = trino.auth.CertificateAuthentication(str(client.cert), str(client.key))
    cursor = connect(secure, user="etl", auth=auth).cursor()
    cursor.execute("SELECT 1")
    assert cursor.fetchall() == [[1]]
    record = secure.query(cursor.query_id)
    assert (record["user"], record["principal"], record["auth_scheme"]) == ("etl", "etl-service", "certificate")
    stranger = make_certificates(tmp_path, client_cn="stranger").client  # signed by another CA
    auth = trino.auth.CertificateAuthentication(str(stranger.cert), str(stranger.key))
    with pytest.raises(TrinoConnectionError):
        connect(secure, user="etl", auth=auth).cursor().execute("SELECT 1")
