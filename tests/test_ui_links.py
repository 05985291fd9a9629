"""The extra links, computed by Airflow itself when a try ends (dag.test()), read back from XCom."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from conftest import TEST_DAGS_FOLDER

pytestmark = pytest.mark.slow


def links_of(dag_run: Any, task_id: str) -> dict[str, Any]:
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        rows = session.query(XComModel).filter_by(dag_id=dag_run.dag_id, run_id=dag_run.run_id, task_id=task_id)
        return {r.key: XComModel.deserialize_value(r) for r in rows if r.key.startswith("_link_")}


@pytest.fixture(scope="module")
def dag_run(airflow_db: Path) -> Any:
    from airflow.dag_processing.dagbag import DagBag

    patch = pytest.MonkeyPatch()
    patch.setenv("AIRFLOW__API__BASE_URL", "https://airflow.example.com")
    patch.setenv("AIRFLOW_CONN_MLFLOW_DEFAULT", json.dumps({"conn_type": "mlflow", "host": "http://127.0.0.1:9"}))
    trino = {"engine": "trino", "catalog": "lake", "protocol": "https"}
    trino_conn = {"conn_type": "trino", "host": "trino.example.com", "port": 8443, "extra": trino}
    patch.setenv("AIRFLOW_CONN_VD_LINKS_TRINO", json.dumps({**trino_conn, "login": "etl"}))
    embedded = {"engine": "embedded", "catalogs": {}}
    patch.setenv("AIRFLOW_CONN_VD_LINKS_EMBEDDED", json.dumps({"conn_type": "virtualized_data", "extra": embedded}))
    patch.setenv("AIRFLOW__DATAOPS__LINEAGE_SPOOL", str(airflow_db / "ui-links-spool"))
    try:
        dag = DagBag(dag_folder=str(TEST_DAGS_FOLDER), bundle_path=TEST_DAGS_FOLDER).dags["ui_links"]
        run = dag.test()
    finally:
        patch.undo()
    assert run.state == "success"
    return run


def test_the_links_point_at_the_run_the_query_and_the_target(dag_run: Any) -> None:
    from urllib.parse import parse_qs, urlsplit

    links = links_of(dag_run, "on_trino")
    mlflow = urlsplit(links["_link_MlflowRunLink"])
    assert (mlflow.scheme, mlflow.netloc, mlflow.path) == ("https", "airflow.example.com", "/dataops/mlflow/run")
    assert parse_qs(mlflow.query) == {
        "dag_id": ["ui_links"], "run_id": [dag_run.run_id], "task_id": ["on_trino"], "map_index": ["-1"],
        "try_number": ["1"],
    }  # fmt: skip
    assert links["_link_TrinoQueryLink"] == "https://trino.example.com:8443/ui/query.html?20260101_120000_00042_abcde"
    assert links["_link_SuperclusterTargetLink"] == "https://airflow.example.com/dataops/#target-cheap"


def test_the_embedded_engine_has_no_query_page(dag_run: Any) -> None:
    assert links_of(dag_run, "embedded")["_link_TrinoQueryLink"] == ""
