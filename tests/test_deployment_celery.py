"""The provider under CeleryExecutor: two workers that share nothing on disk, a real Redis broker.

Each worker has its own ``AIRFLOW_HOME``, as separate machines (or pods) would: its logs,
its lineage spool and anything else it writes stay on its own disk. What the workers
share is what real deployments share: the metadata database, the broker, the XCom
backend's store and the clusters. The tests show that tasks spread over both workers,
that no lineage record waits on a worker's disk once its task has ended (so deleting a
worker's home right after its tasks loses nothing: counted in MLflow), and that the
quantum facts and a deferred pod's failover work when the try resumes on any worker.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from airflow_deployment import AirflowDeployment, running_deployment
from kube_clusters import SimulatedCluster
from mlflow_server import MlflowServer
from test_deployment import blocked_seconds, clusters, mlflow, pod_creates, wait_for_lineage, xcom_backend_env

pytestmark = [pytest.mark.slow, pytest.mark.deployment]
__all__ = ["clusters", "mlflow"]  # test_deployment's fixtures, here for this module's Celery deployment
TEST_DAGS = Path(__file__).parent / "dags"
WORKERS = 2


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory, mlflow: MlflowServer) -> Iterator[AirflowDeployment]:
    root = tmp_path_factory.mktemp("celery")
    shared = {
        **xcom_backend_env(root),
        # Ephemeral workers: a task waits longer for a busy MLflow rather than leave records on its disk.
        "AIRFLOW__DATAOPS__LINEAGE_SEND_TIMEOUT": "60",
        "AIRFLOW__CORE__TASK_SUCCESS_OVERTIME": "90",  # the supervisor would end the task after 20 s
    }
    with running_deployment(
        root, TEST_DAGS, executor="CeleryExecutor", workers=WORKERS, worker_concurrency=4, extra_env=shared
    ) as started:
        started.client.set_connection("lineage_secret", "generic", password="celery-secret-5e1")
        started.client.set_connection("mlflow_default", "mlflow", host=mlflow.url)
        yield started


def workers_that_ran(deployment: AirflowDeployment, dag_id: str, run_id: str) -> dict[int, int]:
    """How many task tries each worker ran for a run, read from the task logs on its own disk."""
    counts = {}
    for number in range(WORKERS):
        folder = deployment.worker_home(number) / "logs" / f"dag_id={dag_id}" / f"run_id={run_id}"
        counts[number] = len(list(folder.rglob("attempt=*.log"))) if folder.exists() else 0
    return counts


def spooled(deployment: AirflowDeployment) -> list[Path]:
    """The lineage records waiting (or claimed by a sender) on the workers' own disks."""
    return [
        path
        for number in range(WORKERS)
        for path in (deployment.worker_home(number) / "dataops" / "lineage-spool").glob("*.json*")
    ]


def wait_until_the_task_processes_are_done(deployment: AirflowDeployment, timeout: float = 120) -> list[Path]:
    """What still waits on the workers' disks once no task process of theirs is sending any more.

    A task reports success before its listener sends; the process ends after the send
    (within ``lineage_send_timeout``), so the spool is looked at until it is empty or the
    time a task may take to send has passed.
    """
    deadline = time.monotonic() + timeout
    while (left := spooled(deployment)) and time.monotonic() < deadline:
        time.sleep(1)
    return left


def test_tasks_spread_over_both_workers_and_no_lineage_waits_on_their_disks(
    deployment: AirflowDeployment, mlflow: MlflowServer
) -> None:
    run_id = deployment.client.trigger("lineage_fanout")
    assert deployment.client.wait_for_run("lineage_fanout", run_id) == "success"
    ran = workers_that_ran(deployment, "lineage_fanout", run_id)
    assert sum(ran.values()) == 9
    assert all(count > 0 for count in ran.values()), f"one worker ran everything: {ran}"
    assert wait_until_the_task_processes_are_done(deployment) == []  # every task sent its records before it ended
    for number in range(WORKERS):  # the workers' machines disappear, as ephemeral pods do
        shutil.rmtree(deployment.worker_home(number) / "dataops", ignore_errors=True)
    runs = wait_for_lineage(mlflow, "lineage_fanout", run_id, {"part", "total"}, timeout=60)
    parts = mlflow_task_runs(mlflow, "lineage_fanout", run_id)
    assert sorted(parts) == [f"part[{i}]" for i in range(8)] + ["total"]
    assert runs["total"].data.tags["mlflow.parentRunId"] == runs["<dag run>"].info.run_id
    deployment.check_alive()


def mlflow_task_runs(server: MlflowServer, dag_id: str, run_id: str) -> list[str]:
    """Every task try MLflow holds for a DAG run, as ``task_id`` or ``task_id[map_index]``."""
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=server.url)
    experiment = client.get_experiment_by_name(f"airflow/{dag_id}")
    assert experiment is not None
    found = client.search_runs([experiment.experiment_id], filter_string=f"tags.`airflow.run_id` = '{run_id}'")
    names = []
    for run in found:
        tags = run.data.tags
        if "airflow.task_id" in tags:
            index = int(tags.get("airflow.map_index", "-1"))
            names.append(tags["airflow.task_id"] + (f"[{index}]" if index >= 0 else ""))
    return sorted(names)


def test_quantum_facts_reach_lineage_and_the_page_from_any_worker(
    deployment: AirflowDeployment, mlflow: MlflowServer
) -> None:
    run_id = deployment.client.trigger("q_bell")
    assert deployment.client.wait_for_run("q_bell", run_id) == "success"
    runs = wait_for_lineage(mlflow, "q_bell", run_id, {"bell"})
    backend = runs["bell"].data.tags["dataops.quantum_backend"]
    page = deployment.client.get_json("/dataops/api/overview")
    (quantum,) = [r for r in page["quantum"]["runs"] if r["run_id"] == run_id]
    assert quantum["tasks"][0]["backend"] == backend  # the services' machine read the worker's facts


def test_a_deferred_pod_fails_over_and_resumes_on_a_worker(
    deployment: AirflowDeployment, clusters: dict[str, SimulatedCluster]
) -> None:
    for cluster in clusters.values():
        cluster.control("reset", {})
    clusters["cheap"].control("faults", {"hold_pending": True})
    run_id = deployment.client.trigger("sc_deferrable", {"seconds": 8})  # 8 s: see test_deployment.py
    assert deployment.client.wait_for_run("sc_deferrable", run_id) == "success"
    assert {name: pod_creates(cluster) for name, cluster in clusters.items()} == {"cheap": 1, "middle": 1, "dear": 0}
    for cluster in clusters.values():
        assert cluster.pods() == [], f"pods left on {cluster.name}"
    page = deployment.client.get_json("/dataops/api/overview")
    (decision,) = [d for d in page["decisions"] if d["run_id"] == run_id]
    assert decision["ran_on"] == "middle"
    assert max(blocked_seconds(deployment), default=0.0) < 1.0
