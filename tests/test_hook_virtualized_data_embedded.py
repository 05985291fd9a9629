"""VirtualizedDataHook and VirtualizedQueryOperator on the embedded engine: real DuckDB, real files, real Airflow."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from sql_data import ENDLESS, FEDERATED, cancel_while_running, embedded_connection, write_sources
from test_operator_quantum import run, xcom


@pytest.fixture
def sources(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[dict[str, str]]:
    declared = write_sources(tmp_path, big_rows=200_000)
    monkeypatch.setenv("AIRFLOW_CONN_VD_EMBEDDED", embedded_connection(declared, asset_authority="trino.test:443"))
    return declared


def hook() -> Any:
    from airflow_dataops.hooks.virtualized_data import VirtualizedDataHook

    return VirtualizedDataHook(virtualized_data_conn_id="vd_embedded")


def test_the_connection_picks_the_embedded_engine_and_runs_a_federated_join(sources: Any) -> None:
    assert hook().engine == "embedded"
    assert hook().get_records(FEDERATED) == [("Ada", 15.0), ("Linus", 7.5)]


def test_reads_stream_as_arrow_batches_and_pandas_chunks(sources: Any) -> None:
    sizes = [b.num_rows for b in hook().iter_batches("SELECT x FROM warehouse.main.big", rows_per_batch=30_000)]
    assert sum(sizes) == 200_000
    assert max(sizes) <= 30_000
    frames = list(hook().iter_dataframes("SELECT x FROM warehouse.main.big WHERE x < 25", rows_per_chunk=10))
    assert [len(f) for f in frames] == [10, 10, 5]
    assert sorted(x for f in frames for x in f["x"]) == list(range(25))


def test_trino_sql_is_translated_or_refused_naming_the_construct(sources: Any) -> None:
    from airflow_dataops.core.sql.translation import SqlTranslationError

    assert hook().get_first("SELECT date_diff('day', DATE '2026-01-01', DATE '2026-03-01')") == (59,)
    with pytest.raises(SqlTranslationError, match=r"levenshtein_distance\(...\) is not in the subset"):
        hook().get_records("SELECT levenshtein_distance(name, 'Ada') FROM crm.public.customers")


def test_materialize_replaces_the_table_atomically(sources: Any) -> None:
    assert hook().materialize(FEDERATED, "warehouse.marts.customer_totals") == 2
    failing = "SELECT name, CAST(name AS INTEGER) AS total FROM crm.public.customers"
    with pytest.raises(Exception, match="Could not convert"):
        hook().materialize(failing, "warehouse.marts.customer_totals")
    assert hook().get_records("SELECT count(*) FROM warehouse.marts.customer_totals") == [(2,)]


@pytest.mark.parametrize("target", ["warehouse.marts.x; DROP TABLE big", "warehouse.marts", 'warehouse."m".t'])
def test_an_unsafe_target_name_is_refused_before_any_sql(sources: Any, target: str) -> None:
    from airflow_dataops.core.sql.tables import UnsafeTableNameError

    with pytest.raises(UnsafeTableNameError, match="target table"):
        hook().materialize("SELECT 1 AS x", target)
    assert hook().get_records("SELECT count(*) FROM warehouse.main.big") == [(200_000,)]


def test_cancel_stops_a_running_query_at_once(sources: Any) -> None:
    stopped_after, errors = cancel_while_running(hook(), ENDLESS, after=1.0)
    assert stopped_after < 2
    assert "Interrupt" in repr(errors[0])


def test_connection_errors_name_the_field_and_the_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    from airflow_dataops.core.errors import InvalidInputError
    from airflow_dataops.hooks.virtualized_data import VirtualizedDataHook

    monkeypatch.setenv("AIRFLOW_CONN_VD_BAD", '{"conn_type": "virtualized_data", "extra": {"engine": "spark"}}')
    with pytest.raises(InvalidInputError, match=r"'vd_bad', field 'extra.engine': 'spark' is not an engine"):
        VirtualizedDataHook(virtualized_data_conn_id="vd_bad").get_conn()
    monkeypatch.setenv("AIRFLOW_CONN_VD_BAD", '{"conn_type": "virtualized_data", "extra": {"sources": [{"kind": 1}]}}')
    with pytest.raises(InvalidInputError, match=r"extra.sources\[0\]', field|extra.sources\[0\]"):
        VirtualizedDataHook(virtualized_data_conn_id="vd_bad").get_conn()


@pytest.mark.slow
def test_operators_materialize_and_read_through_dag_test(airflow_db: Path, sources: Any) -> None:
    from airflow.models.asset import AssetEvent
    from airflow.utils.session import create_session

    dag_run = run("vd_materialize_embedded")
    assert dag_run.state == "success"
    written = xcom(dag_run, "totals")
    uri = "trino://trino.test:443/warehouse/marts/customer_totals"
    assert written == {"table": "warehouse.marts.customer_totals", "rows": 2, "asset_uri": uri}
    assert xcom(dag_run, "count")[0]["__data__"] == [2]  # SQLExecuteQueryOperator, same connection (a tuple)
    with create_session() as session:
        events = [e for e in session.query(AssetEvent).all() if e.asset.uri == uri]
    assert events
    assert events[-1].extra["rows"] == 2


@pytest.mark.slow
def test_a_timed_out_materialize_stops_the_query_and_leaves_no_table(airflow_db: Path, sources: Any) -> None:
    started = time.monotonic()
    dag_run = run("vd_timeout_embedded")
    assert dag_run.state == "failed"
    assert time.monotonic() - started < 30  # the query alone would run for minutes
    assert hook().get_records(
        "SELECT count(*) FROM information_schema.tables WHERE table_catalog = 'warehouse' AND table_schema = 'marts'"
    ) == [(0,)]


def test_every_query_reports_the_tables_it_read_and_wrote_as_lineage(sources: Any) -> None:
    from airflow.providers.common.compat.lineage.hook import get_hook_lineage_collector

    the_hook = hook()
    the_hook.get_records(FEDERATED)
    the_hook.materialize(FEDERATED, "warehouse.marts.customer_totals")
    collected = get_hook_lineage_collector().collected_assets  # type: ignore[no-untyped-call]
    inputs = {i.asset.uri for i in collected.inputs if i.context is the_hook}
    outputs = {o.asset.uri for o in collected.outputs if o.context is the_hook}
    assert inputs == {"trino://trino.test:443/crm/public/customers", "trino://trino.test:443/lake/sales/orders"}
    assert outputs == {"trino://trino.test:443/warehouse/marts/customer_totals"}
    assert {i.asset.uri: i.count for i in collected.inputs if i.context is the_hook} == dict.fromkeys(inputs, 2)
    jobs = [e.value for e in collected.extra if e.context is the_hook and e.key == "sql_job"]
    assert [{k: j[k] for k in ("sql", "row_count") if k in j} for j in jobs] == [
        {"sql": FEDERATED},  # common.sql's run reports it (no row count from a SELECT)
        {"sql": f'CREATE TABLE "warehouse"."marts"."customer_totals" AS {FEDERATED}', "row_count": 2},
    ]
