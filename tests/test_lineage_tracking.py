"""The two ways a record reaches MLflow, held to MLflow's own client as the oracle.

The same records are written through MLflow's REST API (a real ``mlflow server``) and
through MLflow's client (a local SQLite store), each twice, then read back with
``MlflowClient``: the runs must carry the same tags, params, metrics, status, nesting and
dataset inputs, and a second write must change nothing.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from airflow_dataops.core.lineage import LineageRecord, dataset
from mlflow_server import MlflowServer, start_mlflow_server

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MlflowServer]:
    running = start_mlflow_server(tmp_path_factory.mktemp("mlflow"))
    yield running
    running.stop()


def records() -> list[LineageRecord]:
    parent = LineageRecord.build(
        key="dagrun:d/r1", experiment="airflow/d", run_name="r1", status="FINISHED", start_ms=1_000, end_ms=9_000,
        tags={"airflow.dag_id": "d"}, params={"conf": {"x": 1}},
    )  # fmt: skip
    child = LineageRecord.build(
        key="ti:d/r1/t/-1/1", parent_key="dagrun:d/r1", experiment="airflow/d", run_name="t try 1",
        status="FAILED", start_ms=2_000, end_ms=5_000,
        tags={"airflow.task_id": "t", **{f"tag.{i}": i for i in range(150)}},  # more than one batch
        params={f"template.p{i}": "v" * i for i in range(120)},
        metrics={"duration_s": 3.0},
        datasets=[dataset("trino://h/c/s/in", "input"), dataset("trino://h/c/s/out", "output", "ti:d/r1/t/-1/1")],
    )  # fmt: skip
    return [parent, child]


def written(monkeypatch: pytest.MonkeyPatch, host: str) -> dict[str, Any]:
    """Write every record twice through the hook of a connection to ``host``; read the runs back."""
    from mlflow import MlflowClient

    from airflow_dataops.hooks.mlflow import MlflowHook

    monkeypatch.setenv("AIRFLOW_CONN_MLFLOW_TRACKING_TEST", json.dumps({"conn_type": "mlflow", "host": host}))
    hook = MlflowHook("mlflow_tracking_test")
    for _ in range(2):
        for record in records():
            hook.write(record)
    client = MlflowClient(tracking_uri=host)
    experiment = client.get_experiment_by_name("airflow/d")
    assert experiment is not None
    runs = {run.data.tags["airflow_dataops.key"]: run for run in client.search_runs([experiment.experiment_id])}
    parent_id = runs["dagrun:d/r1"].info.run_id
    return {
        key: {
            "status": run.info.status,
            "times": (run.info.start_time, run.info.end_time),
            "tags": {k: v for k, v in run.data.tags.items() if not k.startswith("mlflow.") or k == "mlflow.runName"},
            "parent": run.data.tags.get("mlflow.parentRunId") == parent_id,
            "params": run.data.params,
            "metrics": run.data.metrics,
            "inputs": sorted(
                (d.dataset.name, d.dataset.digest, d.dataset.source, [(t.key, t.value) for t in d.tags])
                for d in (run.inputs.dataset_inputs if run.inputs else [])
            ),
        }
        for key, run in runs.items()
    }


def test_rest_and_client_write_the_same_runs(
    server: MlflowServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from airflow_dataops.hooks.mlflow import MlflowHook
    from airflow_dataops.lineage.tracking import ClientTracking, RestTracking

    monkeypatch.setenv("AIRFLOW_CONN_MLFLOW_KIND", json.dumps({"conn_type": "mlflow", "host": server.url}))
    assert isinstance(MlflowHook("mlflow_kind").tracking, RestTracking)
    monkeypatch.setenv(
        "AIRFLOW_CONN_MLFLOW_KIND", json.dumps({"conn_type": "mlflow", "host": f"sqlite:///{tmp_path / 'kind.db'}"})
    )
    assert isinstance(MlflowHook("mlflow_kind").tracking, ClientTracking)

    over_rest = written(monkeypatch, server.url)
    with_client = written(monkeypatch, f"sqlite:///{tmp_path / 'mlflow.db'}")
    assert set(over_rest) == {"dagrun:d/r1", "ti:d/r1/t/-1/1"}  # a second write of each made no new run
    assert over_rest == with_client
    child = over_rest["ti:d/r1/t/-1/1"]
    assert child["parent"]
    assert (child["status"], child["times"]) == ("FAILED", (2_000, 5_000))
    assert (len(child["params"]), child["tags"]["tag.149"]) == (120, "149")
    assert [name for name, *_ in child["inputs"]] == ["trino://h/c/s/in", "trino://h/c/s/out"]


@pytest.mark.parametrize(
    ("send_timeout", "overtime", "waited"),
    [("10", "20", 10.0), ("60", "20", 18.0), ("60", "90", 60.0), ("5", "1", 0.0)],
)
def test_a_task_stops_sending_before_the_supervisor_ends_it(
    monkeypatch: pytest.MonkeyPatch, send_timeout: str, overtime: str, waited: float
) -> None:
    """Airflow's supervisor kills a successful task ``task_success_overtime`` s after it reported."""
    from airflow_dataops.lineage.settings import send_timeout as wait

    monkeypatch.setenv("AIRFLOW__DATAOPS__LINEAGE_SEND_TIMEOUT", send_timeout)
    monkeypatch.setenv("AIRFLOW__CORE__TASK_SUCCESS_OVERTIME", overtime)
    assert wait() == waited


def test_airflow_still_has_the_supervisors_overtime_option() -> None:
    """Contract: the option the send wait is capped by exists, with the default the docs name."""
    from airflow.providers.common.compat.sdk import conf

    assert conf.getfloat("core", "task_success_overtime") == 20.0
