"""MLflow lineage through the real Airflow and a real MLflow tracking server on loopback.

Nothing is patched: the provider's plugin installs the listener, dag.test() runs the DAG,
and what reached MLflow is read back with MLflow's client. The server runs MLflow's own
basic-auth app, so every test also proves the connection's credentials reach it (and only
through the hook: no MLFLOW_TRACKING_* variable is set).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mlflow_server import MlflowServer, start_mlflow_server
from test_operator_quantum import run

pytestmark = pytest.mark.slow
SECRET = "pw-never-in-mlflow-7d1"
ADMIN_PASSWORD = "mlflow-admin-pw-3c9"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MlflowServer]:
    running = start_mlflow_server(tmp_path_factory.mktemp("mlflow"), admin_password=ADMIN_PASSWORD)
    yield running
    running.stop()


def mlflow_connection(server: MlflowServer, password: str = ADMIN_PASSWORD) -> str:
    return json.dumps({"conn_type": "mlflow", "host": server.url, "login": "admin", "password": password})


@pytest.fixture
def configured(server: MlflowServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An mlflow connection to the server, a fresh spool, and the connection whose password must not leak."""
    monkeypatch.setenv("AIRFLOW_CONN_MLFLOW_DEFAULT", mlflow_connection(server))
    monkeypatch.setenv("AIRFLOW__DATAOPS__LINEAGE_SPOOL", str(tmp_path / "spool"))
    monkeypatch.setenv("AIRFLOW_CONN_LINEAGE_SECRET", json.dumps({"conn_type": "generic", "password": SECRET}))
    return tmp_path / "spool"


def reader() -> Any:
    """MLflow's client with the connection's credentials (the server refuses anonymous reads)."""
    from airflow_dataops.hooks.mlflow import MlflowHook

    return MlflowHook().client


def runs_of(server: MlflowServer, dag_run: Any) -> list[Any]:
    client = reader()
    experiment = client.get_experiment_by_name(f"airflow/{dag_run.dag_id}")
    assert experiment is not None
    found = client.search_runs([experiment.experiment_id], filter_string=f"tags.`airflow.run_id` = '{dag_run.run_id}'")
    return list(found)


def send_all() -> int:
    from airflow_dataops.lineage.delivery import send_spool

    return send_spool()


def test_a_dag_run_and_its_tasks_become_nested_mlflow_runs(
    airflow_db: Path, server: MlflowServer, configured: Path
) -> None:
    dag_run = run("lineage_plain")
    assert dag_run.state == "success"
    send_all()
    runs = {r.data.tags.get("airflow.task_id", "<dag run>"): r for r in runs_of(server, dag_run)}
    assert set(runs) == {"<dag run>", "extract", "load"}
    parent = runs["<dag run>"]
    assert parent.info.status == "FINISHED"
    for task_id in ("extract", "load"):
        nested = runs[task_id]
        assert nested.data.tags["mlflow.parentRunId"] == parent.info.run_id
        assert nested.data.tags["airflow.try_number"] == "1"
        assert nested.data.tags["airflow.state"] == "success"
        assert nested.data.tags["airflow.executor"]  # the task's executor, else [core] executor
        assert nested.data.metrics["duration_s"] >= 0
    params = runs["extract"].data.params
    assert "***" in params["template.op_args"]
    everything = json.dumps([{**r.data.params, **r.data.tags} for r in runs.values()])
    assert SECRET not in everything
    assert ADMIN_PASSWORD not in everything


def test_records_wait_on_disk_while_mlflow_is_down_and_arrive_once(
    airflow_db: Path, server: MlflowServer, configured: Path
) -> None:
    from airflow_dataops.lineage.spool import Spool

    server.stop()
    try:
        dag_run = run("lineage_plain")
        assert dag_run.state == "success"  # lineage never fails a task
        send_all()
        assert Spool(configured).pending() == 3  # the DAG run and its two tasks, kept
        problem = Spool(configured).problem() or ""
        assert f"{server.url} does not answer" in problem
        assert "connection 'mlflow_default'" in problem
    finally:
        server.start()
    import subprocess
    import sys

    sent = subprocess.run(
        [sys.executable, "-m", "airflow_dataops.lineage", "send"], capture_output=True, text=True, check=False
    )  # the documented command, in a process of its own
    assert "sent 3 lineage records to the 'mlflow_default' connection; 0 still wait" in sent.stdout
    assert sent.returncode == 0
    assert send_all() == 0
    assert Spool(configured).problem() is None
    runs = runs_of(server, dag_run)
    assert sorted(r.data.tags.get("airflow.task_id", "") for r in runs) == ["", "extract", "load"]
    # a replay of the same records changes nothing
    from airflow_dataops.hooks.mlflow import MlflowHook
    from airflow_dataops.lineage.listener import dag_run_record

    MlflowHook().write(dag_run_record(dag_run, "success"))
    assert len(runs_of(server, dag_run)) == 3


def test_the_periodic_sender_delivers_what_waits_until_stopped(
    airflow_db: Path, server: MlflowServer, configured: Path
) -> None:
    import signal
    import subprocess
    import sys

    from airflow_dataops.lineage.delivery import BackgroundSender
    from airflow_dataops.lineage.spool import Spool

    server.stop()
    try:
        dag_run = run("lineage_plain")
        BackgroundSender.flush()  # the DAG run's record is spooled by this process's background thread
        assert Spool(configured).pending() == 3
        periodic = subprocess.Popen(
            [sys.executable, "-m", "airflow_dataops.lineage", "send", "--every", "0.5"],
            stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
    finally:
        server.start()
    deadline = time.monotonic() + 120
    while Spool(configured).pending() and time.monotonic() < deadline:
        time.sleep(0.2)
    periodic.send_signal(signal.SIGTERM)
    out, _ = periodic.communicate(timeout=60)
    assert periodic.returncode == 0
    assert "sent 3 lineage records" in out
    assert len(runs_of(server, dag_run)) == 3


def test_tables_read_and_written_become_mlflow_datasets(
    airflow_db: Path, server: MlflowServer, configured: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sql_data import embedded_connection, write_sources

    sources = write_sources(tmp_path / "data")
    monkeypatch.setenv("AIRFLOW_CONN_VD_EMBEDDED", embedded_connection(sources, asset_authority="trino.test:443"))
    dag_run = run("lineage_sql")
    assert dag_run.state == "success"
    send_all()
    (task_run,) = [r for r in runs_of(server, dag_run) if r.data.tags.get("airflow.task_id") == "totals"]
    run_inputs = reader().get_run(task_run.info.run_id).inputs
    assert run_inputs is not None
    seen = {
        (d.dataset.source, {t.key: t.value for t in d.tags}["mlflow.data.context"]) for d in run_inputs.dataset_inputs
    }
    assert seen == {
        ("trino://trino.test:443/crm/public/customers", "input"),
        ("trino://trino.test:443/lake/sales/orders", "input"),
        ("trino://trino.test:443/warehouse/marts/customer_totals", "output"),
    }
    assert task_run.data.tags["dataops.table"] == "warehouse.marts.customer_totals"
    assert task_run.data.tags["dataops.rows"] == "2"


def test_deliveries_are_listed_and_two_of_them_diffed(
    airflow_db: Path, server: MlflowServer, configured: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import subprocess
    import sys

    from airflow.dag_processing.dagbag import DagBag

    from conftest import TEST_DAGS_FOLDER
    from sql_data import embedded_connection, write_sources

    sources = write_sources(tmp_path / "data")
    monkeypatch.setenv("AIRFLOW_CONN_VD_EMBEDDED", embedded_connection(sources))
    dag = DagBag(dag_folder=str(TEST_DAGS_FOLDER), bundle_path=TEST_DAGS_FOLDER).dags["lineage_sql"]
    first = dag.test(run_conf={"min_amount": 0})
    second = dag.test(run_conf={"min_amount": 6})  # a different SQL text ran
    send_all()

    def cli(*args: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "airflow_dataops.lineage", *args], capture_output=True, text=True, check=True
        )
        return done.stdout

    listed = cli("deliveries", "lineage_sql")
    assert listed.index(second.run_id) < listed.index(first.run_id)  # newest first
    out = cli("diff", "lineage_sql", first.run_id, second.run_id)  # (Airflow may log to stdout in tests)
    changes = [line for line in out.splitlines() if line.startswith(("~ ", "+ ", "- "))]
    assert len(changes) == 1
    assert changes[0].startswith("~ totals: version.sql_sha256 ")
    assert "no versions differ" in cli("diff", "lineage_sql", first.run_id, first.run_id)


def test_a_server_killed_during_a_run_loses_and_duplicates_nothing(
    airflow_db: Path, server: MlflowServer, configured: Path
) -> None:
    import threading

    from airflow_dataops.lineage.spool import Spool

    def kill_when_the_first_record_is_sent() -> None:
        for _ in range(600):
            if len(runs_of_dag("lineage_plain")) > before:  # this run's first records arrived
                break
            time.sleep(0.05)
        server.stop()

    def runs_of_dag(dag_id: str) -> list[Any]:
        client = reader()
        try:
            experiment = client.get_experiment_by_name(f"airflow/{dag_id}")
            return list(client.search_runs([experiment.experiment_id])) if experiment else []
        except Exception:
            return []

    before = len(runs_of_dag("lineage_plain"))
    killer = threading.Thread(target=kill_when_the_first_record_is_sent)
    killer.start()
    try:
        dag_run = run("lineage_plain")
    finally:
        killer.join()
        assert dag_run.state == "success"
        server.start()
    send_all()
    assert Spool(configured).pending() == 0
    assert sorted(r.data.tags.get("airflow.task_id", "") for r in runs_of(server, dag_run)) == ["", "extract", "load"]
    assert len(runs_of_dag("lineage_plain")) == before + 3


def test_refused_credentials_never_fail_a_task_and_the_next_task_log_says_why(
    airflow_db: Path,
    server: MlflowServer,
    configured: Path,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    from airflow_dataops.lineage.spool import Spool

    monkeypatch.setenv("AIRFLOW_CONN_MLFLOW_DEFAULT", mlflow_connection(server, password="wrong-pw-5e1"))
    dag_run = run("lineage_plain")
    assert dag_run.state == "success"
    send_all()
    spool = Spool(configured)
    assert spool.pending() == 3
    problem = spool.problem() or ""
    assert "MLflow refused the credentials" in problem
    assert "check the login and password (or token) of connection 'mlflow_default'" in problem
    assert "wrong-pw-5e1" not in problem
    capfd.readouterr()
    caplog.clear()
    from airflow_dataops.lineage.delivery import BackgroundSender

    run("lineage_plain")  # its tasks' logs carry the warning
    BackgroundSender.flush()  # the DAG run's record is spooled by the background sender, as in a scheduler
    logged = "".join(capfd.readouterr()) + caplog.text
    assert "MLflow lineage is not delivered: MLflow refused the credentials" in logged
    assert "wrong-pw-5e1" not in logged
    for record in configured.iterdir():  # the spool holds records, never the connection's secret
        assert "wrong-pw-5e1" not in record.read_text(errors="replace")

    monkeypatch.setenv("AIRFLOW_CONN_MLFLOW_DEFAULT", mlflow_connection(server))
    assert send_all() == 6
    assert spool.problem() is None
    assert {r.data.tags.get("airflow.task_id", "") for r in runs_of(server, dag_run)} == {"", "extract", "load"}
