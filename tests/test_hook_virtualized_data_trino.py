"""VirtualizedDataHook and VirtualizedQueryOperator on Trino: the real trino client against the protocol test server.

The connections are the trino provider's own ``trino`` connections (``AIRFLOW_CONN_*``),
which the hook hands to the provider's TrinoHook. The server (tests/trino_server.py)
speaks Trino's HTTP protocol over TLS on loopback, checks Basic, JWT and
client-certificate credentials, and records what each query carried; it answers with
real results from the embedded engine.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from airflow_dataops.runtime.embedded_sql import Source
from sql_data import ENDLESS, FEDERATED, cancel_while_running, write_sources
from test_operator_quantum import run, xcom
from tls_certs import Certificates, make_certificates
from trino_server import TrinoTestServer, start_trino_server

PASSWORD = "s3cret-not-in-logs"
TOKEN = "token-not-in-logs"
TASK = {
    "AIRFLOW_CTX_DAG_ID": "daily_sales",
    "AIRFLOW_CTX_TASK_ID": "totals",
    "AIRFLOW_CTX_DAG_RUN_ID": "scheduled__2026-11-21",
    "AIRFLOW_CTX_TRY_NUMBER": "2",
    "AIRFLOW_CTX_DAG_OWNER": "ana",
}


@pytest.fixture(scope="module")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> Certificates:
    return make_certificates(tmp_path_factory.mktemp("tls"), client_cn="etl-service")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, certificates: Certificates) -> Iterator[TrinoTestServer]:
    declared = write_sources(tmp_path_factory.mktemp("sources"), big_rows=200_000)
    sources = [Source(s["catalog"], s["kind"], s["path"]) for s in declared]
    with start_trino_server(
        sources,
        users={"etl": PASSWORD},
        jwt_tokens=[TOKEN],
        tls=certificates.server,
        client_ca=certificates.ca,
        page_bytes=4096,
    ) as running:
        yield running


def connection(server: TrinoTestServer, certificates: Certificates, **extra: Any) -> str:
    """A ``trino`` connection to the test server: https, TLS verified against the test CA, Basic auth."""
    fields: dict[str, Any] = {"login": "etl", "password": PASSWORD}
    if extra.get("auth") in ("jwt", "certs"):
        fields = {"login": "etl"}
    return json.dumps(
        {
            "conn_type": "trino",
            "host": server.host,
            "port": server.port,
            **fields,
            "extra": {"catalog": "lake", "protocol": "https", "verify": str(certificates.ca), **extra},
        }
    )


@pytest.fixture(autouse=True)
def trino_conn(server: TrinoTestServer, certificates: Certificates, monkeypatch: pytest.MonkeyPatch) -> None:
    """``vd_trino``: a trino connection, TLS verified against the test CA, Basic auth, client tags; a clean server."""
    server.reset()
    # requests lets these override the client's verify= (see tests/test_trino_server.py)
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    monkeypatch.setenv(
        "AIRFLOW_CONN_VD_TRINO",
        connection(
            server,
            certificates,
            impersonate_as_owner=True,
            session_properties={"query_max_run_time": "1h"},
            roles={"lake": "analyst"},
            client_tags=["team:growth"],
        ),
    )


def hook(conn_id: str = "vd_trino") -> Any:
    from airflow_dataops.hooks.virtualized_data import VirtualizedDataHook

    return VirtualizedDataHook(virtualized_data_conn_id=conn_id)


def test_queries_carry_the_task_identity_owner_and_session(
    server: TrinoTestServer, monkeypatch: Any, capfd: pytest.CaptureFixture[str]
) -> None:
    for name, value in TASK.items():
        monkeypatch.setenv(name, value)
    assert hook().get_records(FEDERATED) == [["Ada", 15.0], ["Linus", 7.5]]
    (query,) = server.queries()
    assert f"Trino query {query['id']}" in capfd.readouterr().out  # the task log leads to the query
    assert query["principal"] == "etl"  # authenticated with the connection's login ...
    assert query["user"] == "ana"  # ... querying as the DAG owner
    assert query["auth_scheme"] == "basic"
    assert query["client_tags"] == ["team:growth"]
    info = json.loads(query["client_info"])  # TrinoHook names the task in the client info
    assert (info["dag_id"], info["task_id"], info["dag_run_id"], info["try_number"], info["dag_owner"]) == (
        "daily_sales", "totals", "scheduled__2026-11-21", "2", "ana"
    )  # fmt: skip
    assert query["session_properties"] == {"query_max_run_time": "1h"}
    assert query["roles"] == {"lake": "ROLE{analyst}"}
    assert query["source"] == "airflow"
    assert query["catalog"] == "lake"
    assert PASSWORD not in json.dumps(server.queries())


@pytest.mark.parametrize(
    ("extra", "principal", "scheme"),
    [({"auth": "jwt", "jwt__token": TOKEN}, None, "bearer"), ({"auth": "certs"}, "etl-service", "certificate")],
)
def test_jwt_and_client_certificate_authentication(
    server: TrinoTestServer,
    certificates: Certificates,
    monkeypatch: pytest.MonkeyPatch,
    extra: dict[str, Any],
    principal: str | None,
    scheme: str,
) -> None:
    if extra["auth"] == "certs":
        extra = {
            **extra,
            "certs__client_cert_path": str(certificates.client.cert),
            "certs__client_key_path": str(certificates.client.key),
        }
    monkeypatch.setenv("AIRFLOW_CONN_VD_OTHER", connection(server, certificates, **extra))
    assert hook("vd_other").get_first("SELECT count(*) FROM crm.public.customers") == [3]
    (query,) = server.queries()
    assert query["auth_scheme"] == scheme
    assert query["principal"] == principal  # an opaque token names no one; a certificate its CN


def test_refusals_happen_before_any_query(
    server: TrinoTestServer, certificates: Certificates, monkeypatch: Any
) -> None:
    from trino.exceptions import HttpError, TrinoAuthError

    monkeypatch.setenv("AIRFLOW_CONN_VD_OTHER", connection(server, certificates).replace(PASSWORD, "wrong-password"))
    with pytest.raises(HttpError, match="401"):
        hook("vd_other").get_records("SELECT 1")
    monkeypatch.setenv("AIRFLOW_CONN_VD_OTHER", connection(server, certificates, protocol="http"))
    with pytest.raises(TrinoAuthError, match="TLS/SSL is required for authentication"):
        hook("vd_other").get_records("SELECT 1")
    monkeypatch.setenv("AIRFLOW_CONN_VD_OTHER", connection(server, certificates, verify=True))
    with pytest.raises(Exception, match="CERTIFICATE_VERIFY_FAILED"):  # TLS is verified by default
        hook("vd_other").get_records("SELECT 1")
    assert server.queries() == []


def test_trino_errors_reach_the_task_with_their_name_and_position(server: TrinoTestServer) -> None:
    from trino.exceptions import TrinoUserError

    with pytest.raises(TrinoUserError, match="SYNTAX_ERROR") as syntax:
        hook().get_records("SELECT name\nFROM crm.public.customers WHERE")
    assert syntax.value.error_location is not None
    assert syntax.value.error_location[0] == 2
    with pytest.raises(TrinoUserError, match="TABLE_NOT_FOUND"):
        hook().get_records("SELECT * FROM crm.public.nope")
    with pytest.raises(TrinoUserError, match="CATALOG_NOT_FOUND"):
        hook().get_records("SELECT * FROM nowhere.public.nope")


def test_an_unreachable_engine_is_named(certificates: Certificates, monkeypatch: pytest.MonkeyPatch) -> None:
    from trino.exceptions import TrinoConnectionError

    closed = json.dumps({"conn_type": "trino", "host": "127.0.0.1", "port": 9, "login": "etl"})
    monkeypatch.setenv("AIRFLOW_CONN_VD_OTHER", closed)
    with pytest.raises(TrinoConnectionError, match=r"127\.0\.0\.1.*9"):
        hook("vd_other").get_records("SELECT 1")


def test_typed_arrow_batches_over_many_pages(server: TrinoTestServer) -> None:
    import decimal

    sql = (
        "SELECT x, CAST(x AS DECIMAL(12, 2)) AS amount, 'n-' || CAST(x AS VARCHAR) AS name "
        "FROM warehouse.main.big WHERE x < 20000"
    )
    batches = list(hook().iter_batches(sql, rows_per_batch=3000))
    assert sum(b.num_rows for b in batches) == 20_000
    assert max(b.num_rows for b in batches) <= 3000
    assert str(batches[0].schema.field("amount").type).startswith("decimal128")
    rows = sorted(x for b in batches for x in b.column("x").to_pylist())
    assert rows == list(range(20_000))
    first = batches[0].to_pylist()[0]
    assert first["amount"] == decimal.Decimal(first["x"])
    assert first["name"] == f"n-{first['x']}"
    assert server.queries()[0]["pages_served"] > 10


def test_stopping_a_read_early_cancels_the_query(server: TrinoTestServer) -> None:
    batches = hook().iter_batches("SELECT x FROM warehouse.main.big", rows_per_batch=1000)
    next(batches)
    batches.close()
    (query,) = server.queries()
    assert query["canceled"]


def test_cancel_stops_a_running_query(server: TrinoTestServer) -> None:
    server.control(hold=True)
    _, errors = cancel_while_running(hook(), ENDLESS, after=1.5)
    (record,) = server.queries()
    assert record["canceled"]
    assert errors


def _tables(schema: str) -> list[str]:
    return sorted(r[0] for r in hook().get_records(f"SHOW TABLES FROM warehouse.{schema}"))


def test_materialize_swaps_a_complete_table_in_and_cleans_up_on_failure(server: TrinoTestServer) -> None:
    assert hook().materialize(FEDERATED, "warehouse.marts.customer_totals") == 2
    assert hook().get_records("SELECT count(*) FROM warehouse.marts.customer_totals") == [[2]]
    failing = "SELECT name, CAST(name AS INTEGER) AS total FROM crm.public.customers"
    with pytest.raises(Exception, match="INVALID_CAST_ARGUMENT"):
        hook().materialize(failing, "warehouse.marts.customer_totals")
    assert _tables("marts") == ["customer_totals"]  # the old table is whole; the staging table is gone
    assert hook().get_records("SELECT count(*) FROM warehouse.marts.customer_totals") == [[2]]


@pytest.mark.slow
def test_operators_materialize_and_read_through_dag_test(airflow_db: Path, server: TrinoTestServer) -> None:
    dag_run = run("vd_materialize_trino")
    assert dag_run.state == "success"
    uri = f"trino://{server.host}:{server.port}/warehouse/marts/customer_totals"
    written = xcom(dag_run, "totals")
    (ctas,) = [q["id"] for q in server.queries() if q["sql"].startswith("CREATE TABLE")]
    assert written == {"table": "warehouse.marts.customer_totals", "rows": 2, "asset_uri": uri, "query_id": ctas}
    assert xcom(dag_run, "count") == [[2]]  # the trino client returns rows as lists
    infos = [json.loads(q["client_info"]) for q in server.queries()]  # TrinoHook's client info names the task
    assert {i["dag_id"] for i in infos} == {"vd_materialize_trino"}
    assert {i["task_id"] for i in infos} == {"totals", "count"}


@pytest.mark.slow
def test_a_deferred_query_runs_while_the_triggerer_waits(airflow_db: Path, server: TrinoTestServer) -> None:
    server.control(hold=True)  # the query "runs" until released: the trigger must keep following it
    threading.Timer(3.0, server.control, kwargs={"hold": False}).start()
    started = time.monotonic()
    dag_run = run("vd_deferred_trino")
    assert time.monotonic() - started > 3
    assert dag_run.state == "success"
    written = xcom(dag_run, "totals")
    assert written["rows"] == 2
    assert written["query_id"]
    assert _tables("marts") == ["customer_totals"]
    creates = [q for q in server.queries() if q["sql"].startswith("CREATE TABLE")]
    assert len(creates) == 1
    assert creates[0]["state"] == "FINISHED"
    assert not creates[0]["canceled"]


@pytest.mark.slow
def test_a_timed_out_materialize_cancels_the_query_and_drops_the_staging_table(
    airflow_db: Path, server: TrinoTestServer
) -> None:
    server.control(hold=True)  # the query runs until the 3 s timeout kills the task ...
    threading.Timer(6.0, server.control, kwargs={"hold": False}).start()  # ... then the clean-up may run
    started = time.monotonic()
    dag_run = run("vd_timeout_trino")
    assert dag_run.state == "failed"
    assert time.monotonic() - started < 40
    canceled = [q["sql"] for q in server.queries() if q["canceled"]]
    assert canceled  # the statement running at the timeout was cancelled on the server
    leftovers = _tables("marts") if "marts" in _schemas() else []
    assert not [t for t in leftovers if "staging" in t]


def _schemas() -> list[str]:
    return [r[0] for r in hook().get_records("SHOW SCHEMAS FROM warehouse")]
