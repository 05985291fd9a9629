"""common.sql's operators, hook lineage and OpenLineage SQL extraction on the virtualized-data connections.

On the embedded engine (a ``virtualized_data`` connection) common.sql drives
VirtualizedDataHook; on Trino (a ``trino`` connection to tests/trino_server.py, TLS and
Basic auth) it drives the trino provider's TrinoHook, and VirtualizedDataHook reaches the
same server through it. Real DuckDB, real files, the real trino client, real Airflow.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from airflow_dataops.runtime.embedded_sql import Source
from sql_data import FEDERATED, embedded_connection, write_sources
from test_operator_quantum import run
from tls_certs import Certificates, make_certificates
from trino_server import TrinoTestServer, start_trino_server

PASSWORD = "s3cret-not-in-logs"
TOTALS = "warehouse.marts.checked_totals"
CTAS = f"CREATE TABLE {TOTALS} AS {FEDERATED}"


@pytest.fixture(scope="module")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> Certificates:
    return make_certificates(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, certificates: Certificates) -> Iterator[TrinoTestServer]:
    declared = write_sources(tmp_path_factory.mktemp("trino-sources"))
    sources = [Source(s["catalog"], s["kind"], s["path"]) for s in declared]
    with start_trino_server(sources, users={"etl": PASSWORD}, tls=certificates.server) as running:
        yield running


def trino_connection(server: TrinoTestServer, certificates: Certificates, **fields: Any) -> str:
    """A ``trino`` connection as a DAG already has one: https, TLS verified against the test CA, Basic auth."""
    extra = {"catalog": "lake", "protocol": "https", "verify": str(certificates.ca)}
    conn = {"conn_type": "trino", "host": server.host, "port": server.port, "login": "etl", "password": PASSWORD}
    return json.dumps({**conn, "extra": extra, **fields})


@pytest.fixture(autouse=True)
def connections(
    tmp_path: Path, server: TrinoTestServer, certificates: Certificates, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``vd_embedded`` over fresh files, ``vd_trino`` to a clean server."""
    server.reset()
    # requests lets these override the connection's verify (see tests/test_trino_server.py)
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    sources = write_sources(tmp_path / "embedded")
    monkeypatch.setenv("AIRFLOW_CONN_VD_EMBEDDED", embedded_connection(sources, asset_authority="trino.test:443"))
    monkeypatch.setenv("AIRFLOW_CONN_VD_TRINO", trino_connection(server, certificates))


def hook(conn_id: str) -> Any:
    from airflow_dataops.hooks.virtualized_data import VirtualizedDataHook

    return VirtualizedDataHook(virtualized_data_conn_id=conn_id)


def states(dag_run: Any) -> dict[str, str]:
    return {ti.task_id: str(ti.state) for ti in dag_run.get_task_instances()}


@pytest.mark.slow
@pytest.mark.parametrize("engine", ["embedded", "trino"])
def test_sql_execute_query_and_the_check_operators_pass_and_fail_as_the_data_says(
    airflow_db: Path, engine: str
) -> None:
    load = run(f"common_sql_load_{engine}")
    assert states(load) == {"load": "success"}
    assert hook(f"vd_{engine}").get_records(f"SELECT name, total FROM {TOTALS} ORDER BY name") in (
        [("Ada", 15.0), ("Linus", 7.5)],  # DuckDB's rows
        [["Ada", 15.0], ["Linus", 7.5]],  # the trino client's
    )
    passing = run(f"common_sql_checks_{engine}")
    assert passing.state == "success"
    assert states(passing) == {"columns": "success", "table": "success", "value": "success"}
    failing = run(f"common_sql_failing_{engine}")
    assert failing.state == "failed"
    assert states(failing) == {"columns": "failed", "table": "failed", "value": "failed"}


@pytest.mark.slow
def test_the_trino_dags_ran_through_trinohook_on_the_existing_trino_connection(
    airflow_db: Path, server: TrinoTestServer
) -> None:
    assert run("common_sql_load_trino").state == "success"
    queries = server.queries()
    assert [q["sql"].split()[0] for q in queries] == ["CREATE", "DROP", "CREATE"]
    assert {(q["principal"], q["auth_scheme"], q["state"]) for q in queries} == {("etl", "basic", "FINISHED")}
    assert json.loads(queries[-1]["client_info"])["dag_id"] == "common_sql_load_trino"  # TrinoHook's client info
    assert PASSWORD not in json.dumps(server.queries())


@pytest.mark.parametrize("engine", ["embedded", "trino"])
def test_hook_lineage_records_each_query_once(engine: str) -> None:
    from airflow.providers.common.compat.lineage.hook import get_hook_lineage_collector

    the_hook = hook(f"vd_{engine}")
    the_hook.run(["CREATE SCHEMA IF NOT EXISTS warehouse.marts", f"DROP TABLE IF EXISTS {TOTALS}", CTAS])
    assert the_hook.get_first(f"SELECT count(*) FROM {TOTALS}")[0] == 2
    collected = get_hook_lineage_collector().collected_assets  # type: ignore[no-untyped-call]
    authority = "trino.test:443" if engine == "embedded" else the_hook.asset_authority()
    read = {i.asset.uri: i.count for i in collected.inputs if i.context is the_hook}
    written = {o.asset.uri: o.count for o in collected.outputs if o.context is the_hook}
    assert read == {
        f"trino://{authority}/crm/public/customers": 1,
        f"trino://{authority}/lake/sales/orders": 1,
        f"trino://{authority}/warehouse/marts/checked_totals": 2,  # the DROP's IF EXISTS, then the count
    }
    assert written == {f"trino://{authority}/warehouse/marts/checked_totals": 1}
    jobs = [e.value for e in collected.extra if e.context is the_hook and e.key == "sql_job"]
    assert [j["sql"] for j in jobs] == [
        "CREATE SCHEMA IF NOT EXISTS warehouse.marts", f"DROP TABLE IF EXISTS {TOTALS}", CTAS,
        f"SELECT count(*) FROM {TOTALS}",
    ]  # fmt: skip
    if engine == "trino":  # each statement names its Trino query, once
        assert [j["job_id"] for j in jobs] == the_hook.query_ids
        assert len(set(the_hook.query_ids)) == 4


def test_openlineage_extracts_the_datasets_of_a_query_on_the_embedded_engine() -> None:
    from airflow.providers.common.sql.operators.sql import SQLExecuteQueryOperator

    hook("vd_embedded").run(["CREATE SCHEMA IF NOT EXISTS warehouse.marts", CTAS])
    task = SQLExecuteQueryOperator(
        task_id="totals", conn_id="vd_embedded", sql=f"INSERT INTO {TOTALS} SELECT name, total FROM {TOTALS}"
    )
    lineage = task.get_openlineage_facets_on_complete(task_instance=None)
    assert lineage is not None
    assert [(d.namespace, d.name) for d in lineage.inputs] == [("trino://trino.test:443", TOTALS)]
    assert [(d.namespace, d.name) for d in lineage.outputs] == [("trino://trino.test:443", TOTALS)]
    fields = lineage.inputs[0].facets["schema"].fields  # read from the engine's information schema
    assert [(f.name, f.type) for f in fields] == [("name", "VARCHAR"), ("total", "DECIMAL(38,1)")]
    assert lineage.job_facets["sql"].query.startswith("INSERT INTO")


def test_openlineage_names_a_trino_table_alike_through_either_hook(server: TrinoTestServer, monkeypatch: Any) -> None:
    from airflow.providers.common.sql.operators.sql import SQLExecuteQueryOperator
    from airflow.providers.openlineage.sqlparser import SQLParser
    from airflow.providers.trino.hooks.trino import TrinoHook

    # TrinoHook's URI holds the extras, which the trino SQLAlchemy dialect that OpenLineage builds from it cannot
    # read when verify is set (it expects JSON): a connection without it, still to the same server
    plain = {
        "conn_type": "trino",
        "host": server.host,
        "port": server.port,
        "login": "etl",
        "extra": {"catalog": "lake"},
    }
    monkeypatch.setenv("AIRFLOW_CONN_VD_TRINO_PLAIN", json.dumps(plain))
    task = SQLExecuteQueryOperator(task_id="totals", conn_id="vd_trino_plain", sql=CTAS)
    assert isinstance(task.get_db_hook(), TrinoHook)  # a trino connection: common.sql uses the provider's hook
    upstream = task.get_openlineage_facets_on_complete(task_instance=None)
    ours = hook("vd_trino")
    conn = ours.connection
    parser = SQLParser(ours.get_openlineage_database_dialect(conn), ours.get_openlineage_default_schema())
    mine = parser.generate_openlineage_metadata_from_sql(
        sql=CTAS, hook=ours, database_info=ours.get_openlineage_database_info(conn),
        sqlalchemy_engine=ours.get_sqlalchemy_engine(),  # the server has no information_schema: parsed names
    )  # fmt: skip
    expected_in = {(f"trino://{ours.asset_authority()}", t) for t in ("crm.public.customers", "lake.sales.orders")}
    assert upstream is not None
    assert {(d.namespace, d.name) for d in upstream.inputs} == expected_in
    assert {(d.namespace, d.name) for d in mine.inputs} == expected_in
    assert [(d.namespace, d.name) for d in mine.outputs] == [(f"trino://{ours.asset_authority()}", TOTALS)]
    assert ours.table_asset_uri(TOTALS) == f"trino://{ours.asset_authority()}/warehouse/marts/checked_totals"


def test_the_trino_query_is_an_external_query_facet() -> None:
    """common.sql's operators merge it into their facets (``get_openlineage_database_specific_lineage``)."""
    assert hook("vd_embedded").get_openlineage_database_specific_lineage(None) is None
    the_hook = hook("vd_trino")
    the_hook.get_records("SELECT count(*) FROM crm.public.customers")
    facet = the_hook.get_openlineage_database_specific_lineage(None).run_facets["externalQuery"]
    assert (facet.externalQueryId, facet.source) == (the_hook.query_ids[-1], f"trino://{the_hook.asset_authority()}")


def test_test_connection_on_both_engines(server: TrinoTestServer, certificates: Certificates, monkeypatch: Any) -> None:
    assert hook("vd_embedded").test_connection() == (True, "Connection successfully tested")
    assert hook("vd_trino").test_connection() == (True, "Connection successfully tested")
    monkeypatch.setenv("AIRFLOW_CONN_VD_BAD", trino_connection(server, certificates, password="wrong"))
    ok, message = hook("vd_bad").test_connection()
    assert not ok
    assert "401" in message
    assert "wrong" not in message
    bad_source = {"sources": [{"catalog": "lake", "kind": "parquet", "path": "/no/such/folder"}]}
    monkeypatch.setenv("AIRFLOW_CONN_VD_BAD", json.dumps({"conn_type": "virtualized_data", "extra": bad_source}))
    ok, message = hook("vd_bad").test_connection()
    assert not ok
    assert "/no/such/folder is not a folder" in message


def test_a_virtualized_data_connection_to_trino_is_refused_with_the_migration(
    server: TrinoTestServer, monkeypatch: Any
) -> None:
    from airflow_dataops.core.errors import InvalidInputError

    legacy = {"conn_type": "virtualized_data", "host": server.host, "port": server.port, "login": "etl"}
    monkeypatch.setenv("AIRFLOW_CONN_VD_OLD", json.dumps({**legacy, "extra": {"impersonate_dag_owner": True}}))
    with pytest.raises(InvalidInputError, match=r"make it a trino connection .*rename impersonate_dag_owner"):
        hook("vd_old").get_records("SELECT 1")
    assert server.queries() == []
