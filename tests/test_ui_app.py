"""The overview app inside Airflow's own API app (plugin loading, auth manager, routes), through a TestClient.

The targets are probed for real (a simulated cluster, a refused port, a missing
connection); the task records are given directly (reading them from Airflow's database
is proven by tests/test_ui_browser.py, after a real run).
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from html import unescape
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from airflow_dataops.ui.overview import TaskRun
from kube_clusters import start_cluster
from ui_supercluster import down_connection_env, write_declaration

NOW = datetime.now(UTC)
PLACEMENT = {
    "chosen": "cheap",
    "policies": ["cheapest"],
    "candidates": [
        {"target": "cheap", "pool": "general", "hourly_price": 0.011, "headroom": 0.5, "data_local": False,
         "scores": {"cheapest": 0.011}},
        {"target": "down", "pool": "general", "hourly_price": 0.045, "headroom": 0.75, "data_local": False,
         "scores": {"cheapest": 0.045}},
    ],
    "excluded": {"ghost": "unreachable (KeyError: no connection)"},
}  # fmt: skip
pytestmark = pytest.mark.slow  # Airflow's API app and a simulated cluster take about 20 s to start

RUNS = [
    TaskRun("pods", "run-1", "train", start=NOW - timedelta(hours=2), end=NOW, state="success",
            placement=PLACEMENT, ran_on="down"),
    TaskRun("quantum", "run-2", "sample", start=NOW - timedelta(minutes=1), end=NOW, state="success",
            quantum_cost=1.5, quantum_backend="sv1", quantum_budget={"max_cost": 2.0, "run_budget": 1.0}),
]  # fmt: skip


@pytest.fixture(scope="module")
def client(airflow_db: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    from airflow.api_fastapi.app import create_app, purge_cached_app

    cheap = start_cluster("cheap", "k8s_ui_cheap", cpu="4", memory="8Gi")
    try:
        with pytest.MonkeyPatch.context() as env:
            for key, value in (cheap.connection_env(), down_connection_env()):
                env.setenv(key, value)
            env.setenv("AIRFLOW_DATAOPS_SUPERCLUSTER", str(write_declaration(tmp_path_factory.mktemp("sc"), cheap)))
            env.setenv("AIRFLOW__DATAOPS__QUANTUM_DAILY_BUDGET", "1.25")
            env.delenv("AIRFLOW_CONN_MLFLOW_DEFAULT", raising=False)
            with TestClient(create_app("core")) as test_client:
                yield test_client
    finally:
        purge_cached_app()
        cheap.stop()


@pytest.fixture
def records(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    from airflow_dataops.ui import _records

    asked: list[Any] = []

    def task_runs(session: Any, since: datetime, dag_ids: Any) -> list[TaskRun]:
        asked.append((since, dag_ids))
        return list(RUNS)

    monkeypatch.setattr(_records, "task_runs", task_runs)
    return asked


def token(role: str | None) -> dict[str, str]:
    from airflow.api_fastapi.app import get_auth_manager
    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser

    jwt = get_auth_manager().generate_jwt(SimpleAuthManagerUser(username=f"u-{role}", role=role))
    return {"Authorization": f"Bearer {jwt}"}


def test_the_plugin_registers_the_app_and_the_nav_entry(client: TestClient) -> None:
    answer = client.get("/api/v2/plugins", headers=token("admin"))
    assert answer.status_code == 200
    (plugin,) = [p for p in answer.json()["plugins"] if p["name"] == "airflow_dataops"]
    assert [a["url_prefix"] for a in plugin["fastapi_apps"]] == ["/dataops"]
    (view,) = plugin["external_views"]
    assert (view["href"], view["url_route"], view["destination"]) == ("/dataops/", "supercluster", "nav")


def test_only_dag_readers_may_read(client: TestClient, records: list[Any]) -> None:
    assert client.get("/dataops/").status_code == 401
    assert client.get("/dataops/api/overview", headers=token(None)).status_code == 403
    assert client.get("/dataops/", headers=token("viewer")).status_code == 200
    assert not records[1:], "a refused reader must not reach the records"


def test_nothing_can_be_changed_through_it(client: TestClient) -> None:
    for method in ("POST", "PUT", "PATCH", "DELETE"):
        for path in ("/dataops/", "/dataops/api/overview", "/dataops/mlflow/run"):
            assert client.request(method, path, headers=token("admin")).status_code == 405, (method, path)


def test_the_overview_probes_every_target_and_shows_the_unreachable_ones(client: TestClient, records: Any) -> None:
    started = time.monotonic()
    answer = client.get("/dataops/api/overview", headers=token("viewer"))
    assert answer.status_code == 200
    assert time.monotonic() - started < 10, "a dead target must not hold the page beyond the probe timeout"
    data = answer.json()
    (declaration,) = data["declarations"]  # AIRFLOW_DATAOPS_SUPERCLUSTER names one
    targets = {t["name"]: t for t in declaration["targets"]}
    assert list(targets) == ["local", "cheap", "down", "ghost"]
    assert targets["local"]["health"] == "not probed"
    assert targets["cheap"]["health"] == "reachable"
    assert targets["cheap"]["pools"][0]["free"] == {"cpu": 4.0, "memory_gib": 8.0, "gpus": 0}
    assert (targets["cheap"]["running_tasks"], targets["cheap"]["load"]) == (0, 0.0)
    assert targets["cheap"]["prices"]["gpu_hour"] == {"nvidia-a100": 2.5}
    assert targets["down"]["health"] == "unreachable"
    assert "refused" in targets["down"]["reason"].lower() or "connect" in targets["down"]["reason"].lower()
    assert targets["ghost"]["health"] == "unreachable"
    assert "k8s_ui_missing" in targets["ghost"]["reason"]
    # The pod failed over from cheap to down: 2 h at down's $0.045/h, counted for down.
    (decision,) = data["decisions"]
    assert (decision["chosen"], decision["ran_on"]) == ("cheap", "down")
    assert decision["failovers"] == [{"target": "cheap", "fault": None}]
    assert decision["spend"] == pytest.approx(0.09)
    assert targets["down"]["spend_today"] == pytest.approx(0.09)
    assert data["spend"]["per_dag"]["pods"]["today"]["pods"] == pytest.approx(0.09)
    assert data["quantum"]["daily_budget"] == 1.25
    assert data["quantum"]["spent_today"] == 1.5
    assert data["quantum"]["runs"][0]["over_budget"] is True
    assert data["mlflow"]["browsable"] is False


def test_the_page_renders_the_same_data(client: TestClient, records: Any) -> None:
    html = client.get("/dataops/", headers=token("viewer")).text
    assert "data-target='down' data-health='unreachable'" in html
    assert "data-target='cheap' data-health='reachable'" in html
    assert "cheap &rarr; <b>down</b>" in html
    assert "  excluded ghost: unreachable (KeyError: no connection)" in html
    assert "<b class='over'>$1.5000</b> of a daily budget of $1.2500" in html
    assert "Lineage to MLflow is off" in html


def test_a_bad_declaration_is_shown_not_raised(client: TestClient, records: Any, tmp_path: Path) -> None:
    bad = tmp_path / "supercluster.yaml"
    bad.write_text("version: 1\ntargets:\n  - name: x\n    concurrancy: 3\n")
    os.environ["AIRFLOW_DATAOPS_SUPERCLUSTER"], saved = str(bad), os.environ["AIRFLOW_DATAOPS_SUPERCLUSTER"]
    try:
        html = client.get("/dataops/", headers=token("viewer")).text
    finally:
        os.environ["AIRFLOW_DATAOPS_SUPERCLUSTER"] = saved
    assert "class='error declaration-error'" in html
    assert "concurrancy" in html
    assert "Recent placement decisions" in html


def test_the_mlflow_redirect_says_why_there_is_no_run(client: TestClient) -> None:
    query = {"dag_id": "pods", "run_id": "run-1", "task_id": "train"}
    answer = client.get("/dataops/mlflow/run", params=query, headers=token("viewer"), follow_redirects=False)
    assert answer.status_code == 404
    assert "no usable MLflow connection 'mlflow_default'" in unescape(answer.text)


def test_every_declaration_of_the_bundles_has_its_rows(
    client: TestClient, records: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from conftest import DAGS_FOLDER, TEST_DAGS_FOLDER

    monkeypatch.delenv("AIRFLOW_DATAOPS_SUPERCLUSTER")  # the deployment's bundles decide
    data = client.get("/dataops/api/overview", headers=token("viewer")).json()
    shown = {Path(d["path"]): [t["name"] for t in d["targets"]] for d in data["declarations"]}
    expected = [DAGS_FOLDER / "supercluster.yaml", *sorted(TEST_DAGS_FOLDER.glob("supercluster*.yaml"))]
    assert sorted(shown) == sorted(path.resolve() for path in expected)
    assert shown[(TEST_DAGS_FOLDER / "supercluster_restricted.yaml").resolve()]  # not only the default one
    html = client.get("/dataops/", headers=token("viewer")).text
    for names in shown.values():
        for name in names:  # every target a "Supercluster target" link may name has its anchor
            assert f"id='target-{name}'" in html
    assert len(re.findall(r"id='(target-[^']+)'", html)) == len(set(re.findall(r"id='(target-[^']+)'", html)))
