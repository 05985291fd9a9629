"""Metrics through Airflow's own Stats, read back from a StatsD listener, and notifications through notifiers.

End to end (slow): ``tests/dags/metrics_notifications.py`` runs through ``dag.test()``
in a process of its own (Airflow builds its Stats client from ``[metrics]`` once per
process, so StatsD is switched on there by environment), against two simulated
Kubernetes clusters, with an ``mlflow`` connection to a closed port so that every
lineage record stays in the spool. The StatsD listener on loopback collects what that
process sent; the test notifiers (real ``BaseNotifier`` subclasses) write to a file.

Fast: the adapter never lets a failing metric backend or notifier reach the task.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from conftest import REPO_ROOT, TEST_DAGS_FOLDER
from kube_clusters import start_cluster
from loopback import free_port
from statsd_listener import Received, StatsdListener

PREFIX = "airflow.dataops"  # Airflow's [metrics] statsd_prefix, then ours
RUN_DAGS = (
    "import json, sys\n"
    "from airflow.dag_processing.dagbag import DagBag\n"
    "bag = DagBag(dag_folder=sys.argv[1], bundle_path=sys.argv[2])\n"
    "print('STATES ' + json.dumps({d: str(bag.dags[d].test().state) for d in sys.argv[3:]}))\n"
)


@dataclass
class Run:
    states: dict[str, str]
    output: str
    listener: StatsdListener
    notifications: list[dict[str, Any]]

    def metric(self, name: str) -> list[Received]:
        return self.listener.named(f"{PREFIX}.{name}")

    def events(self, kind: str) -> list[dict[str, Any]]:
        return [n for n in self.notifications if n["event"]["event"] == kind]


@pytest.fixture(scope="module")
def run(airflow_db: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    folder = tmp_path_factory.mktemp("metrics")
    listener = StatsdListener()
    clusters = [start_cluster("cheap", "k8s_cheap", cpu="2", memory="4Gi"), start_cluster("middle", "k8s_middle")]
    clusters[0].control("faults", {"hold_pending": True})  # never scheduled: fail over after 3 s
    notifications = folder / "notifications.jsonl"
    env = {
        **os.environ,
        **dict(cluster.connection_env() for cluster in clusters),
        "AIRFLOW__METRICS__STATSD_ON": "True",
        "AIRFLOW__METRICS__STATSD_HOST": "127.0.0.1",
        "AIRFLOW__METRICS__STATSD_PORT": str(listener.port),
        "AIRFLOW__METRICS__STATSD_INFLUXDB_ENABLED": "True",  # tags ride in the name, for the listener to see
        "AIRFLOW_CONN_MLFLOW_DEFAULT": json.dumps({"conn_type": "mlflow", "host": f"http://127.0.0.1:{free_port()}"}),
        "AIRFLOW__DATAOPS__LINEAGE_SPOOL": str(folder / "spool"),
        "AIRFLOW__DATAOPS__LINEAGE_BACKLOG_THRESHOLD": "2",
        "AIRFLOW__DATAOPS__LINEAGE_BACKLOG_NOTIFIER": "file_notifier.BACKLOG_NOTIFIER",
        "DATAOPS_TEST_NOTIFICATIONS": str(notifications),
        "PYTHONPATH": os.pathsep.join([str(REPO_ROOT / "tests"), str(REPO_ROOT / "dags")]),
    }
    try:
        done = subprocess.run(
            [sys.executable, "-c", RUN_DAGS, str(TEST_DAGS_FOLDER / "metrics_notifications.py"), str(TEST_DAGS_FOLDER),
             "m_failover", "m_budget"],
            env=env, capture_output=True, text=True, timeout=300, check=False,
        )  # fmt: skip
        listener.settle()  # the last datagrams may still be on their way
        output = done.stdout + done.stderr
        (folder / "run.log").write_text(output)
        states_line = [line for line in done.stdout.splitlines() if line.startswith("STATES ")]
        assert states_line, output[-5000:]
        lines = notifications.read_text().splitlines() if notifications.exists() else []
        yield Run(json.loads(states_line[-1][7:]), output, listener, [json.loads(line) for line in lines])
    finally:
        listener.close()
        for cluster in clusters:
            cluster.stop()


# ----------------------------------------------------------------------------- metrics


@pytest.mark.slow
def test_a_placement_decision_is_counted_for_the_chosen_target(run: Run) -> None:
    (decision,) = run.metric("placement.decisions.cheap")
    assert (decision.kind, decision.value) == ("c", 1)
    assert decision.tags == {"target": "cheap", "pool": "general", "dag_id": "m_failover", "task_id": "work"}
    assert not run.metric("placement.decisions.middle"), "a failover is not a second decision"


@pytest.mark.slow
def test_a_failover_is_counted_from_the_target_that_failed(run: Run) -> None:
    assert run.states["m_failover"] == "success"
    (failover,) = run.metric("failovers.cheap")
    assert (failover.kind, failover.value) == ("c", 1)
    assert failover.tags["to_target"] == "middle"
    assert failover.tags["fault"] == "not_running_in_time"
    assert not run.metric("failovers.middle")


@pytest.mark.slow
def test_probe_latency_is_timed_per_target(run: Run) -> None:
    for target in ("cheap", "middle"):
        (probe,) = run.metric(f"probe.latency.{target}")
        assert probe.kind == "ms"
        assert 0 < probe.value < 5000  # answered within the probe timeout
        assert probe.tags == {"target": target, "outcome": "reachable"}


@pytest.mark.slow
def test_quantum_spend_is_counted_per_backend(run: Run) -> None:
    (spend,) = run.metric("quantum.spend_microusd.aer_simulator")
    assert (spend.kind, spend.value) == ("c", 3_000_000)  # $3 charged back for the local run
    assert spend.tags == {"backend": "aer_simulator", "dag_id": "m_budget", "task_id": "first"}
    (cost,) = run.metric("quantum.cost_usd.aer_simulator")
    assert (cost.kind, cost.value) == ("g", 3.0)


@pytest.mark.slow
def test_budget_refusals_are_counted_by_budget(run: Run) -> None:
    assert run.states["m_budget"] == "failed"
    (by_run,) = run.metric("quantum.budget_refusals.run_budget")
    assert by_run.tags == {
        "budget": "run_budget",
        "backend": "aer_simulator",
        "dag_id": "m_budget",
        "task_id": "second",
    }
    (by_task,) = run.metric("quantum.budget_refusals.max_cost")
    assert by_task.tags["task_id"] == "qpu"
    assert by_task.tags["backend"] == "qpu_ionq_Forte-1"  # the ARN, cut to what a metric tag may hold
    assert not run.metric("quantum.spend_microusd.qpu_ionq_Forte-1"), "a refused task spends nothing"


@pytest.mark.slow
def test_the_lineage_backlog_is_a_gauge_of_the_records_waiting(run: Run) -> None:
    backlog = run.metric("lineage.backlog")
    assert {b.kind for b in backlog} == {"g"}
    # two DAG runs: 1 + 3 task tries and 2 DAG runs, none delivered (MLflow is down)
    assert sorted(b.value for b in backlog) == [1, 2, 3, 4, 5, 6]


# ----------------------------------------------------------------------------- notifications


@pytest.mark.slow
def test_the_failover_notifier_is_told_where_the_pod_went_and_why(run: Run) -> None:
    (told,) = run.events("failover")
    assert told["message"] == "work: cheap -> middle"  # the notifier's template rendered with the event
    event = told["event"]
    assert (event["dag_id"], event["task_id"]) == ("m_failover", "work")
    assert (event["failed_target"], event["next_target"]) == ("cheap", "middle")
    assert event["fault"].startswith("pod not running in time")
    assert event["targets_tried"] == ["cheap"]
    # the broken notifier before it was logged, and neither failed the task
    assert "The failover notifier BrokenNotifier failed (the task goes on): the chat service is down" in run.output
    assert run.states["m_failover"] == "success"


@pytest.mark.slow
def test_the_budget_refusal_notifier_gets_estimate_and_budget(run: Run) -> None:
    told = {n["event"]["task_id"]: n for n in run.events("budget_refusal")}
    assert set(told) == {"second", "qpu"}
    by_run = told["second"]["event"]
    assert (by_run["budget"], by_run["estimate"], by_run["limit"]) == ("run_budget", 3.0, 2.0)
    assert told["second"]["message"].startswith("second: m_budget.second: refused before submission, estimated $3.0000")
    by_task = told["qpu"]["event"]
    assert (by_task["budget"], by_task["backend"]) == ("max_cost", FORTE)
    assert (by_task["estimate"], by_task["limit"]) == (8.3, 1.0)  # the cheapest candidate's estimate, and max_cost


@pytest.mark.slow
def test_the_spool_notifier_is_told_once_per_level_as_the_backlog_grows(run: Run) -> None:
    told = run.events("lineage_backlog")
    # threshold 2: at 2 and at 4 records waiting, not once per record
    assert [(n["event"]["level"], n["event"]["waiting"]) for n in told] == [(2, 2), (4, 4)]
    assert [n["message"] for n in told] == ["backlog: 2 waiting", "backlog: 4 waiting"]
    assert all(n["event"]["spool"].endswith("spool") for n in told)


FORTE = "arn:aws:braket:us-east-1::device/qpu/ionq/Forte-1"


# ----------------------------------------------------------------------------- never failing the task


def test_a_failing_metrics_backend_is_logged_not_raised(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from airflow_dataops import observability

    class Unreachable:
        @staticmethod
        def incr(*args: Any, **kwargs: Any) -> None:
            raise OSError("no route to the metrics backend")

    monkeypatch.setattr(observability, "_stats", lambda: Unreachable)
    with caplog.at_level(logging.WARNING, logger="airflow_dataops.observability"):
        observability.placement_decided({}, "cheap", "general")
    assert "Metric dataops.placement.decisions.cheap not emitted: no route to the metrics backend" in caplog.text


def test_a_failing_notifier_is_logged_and_the_next_one_still_called(caplog: pytest.LogCaptureFixture) -> None:
    from airflow_dataops import observability

    received: list[dict[str, Any]] = []

    def broken(context: Any) -> None:
        raise RuntimeError("webhook answered 500")

    with caplog.at_level(logging.WARNING, logger="airflow_dataops.observability"):
        observability.notify([broken, received.append], {"run_id": "r1"}, {"event": "failover", "summary": "s"})
    assert "The failover notifier function failed (the task goes on): webhook answered 500" in caplog.text
    assert received == [{"run_id": "r1", "dataops_event": {"event": "failover", "summary": "s"}}]


def test_a_notifier_renders_each_event_afresh(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Notifiers render their templates in place: a second failover of one try must not repeat the first."""
    from airflow_dataops import observability
    from file_notifier import NOTIFICATIONS_ENV, FileNotifier

    monkeypatch.setenv(NOTIFICATIONS_ENV, str(tmp_path / "n.jsonl"))
    notifier = FileNotifier("{{ dataops_event.failed_target }}")
    for failed in ("cheap", "middle"):
        observability.notify(notifier, {}, {"event": "failover", "failed_target": failed})
    lines = [json.loads(line)["message"] for line in (tmp_path / "n.jsonl").read_text().splitlines()]
    assert lines == ["cheap", "middle"]
    assert notifier.message == "{{ dataops_event.failed_target }}"


def test_backlog_notifications_once_per_level_and_again_after_draining(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from airflow_dataops.lineage.backlog import report_backlog
    from file_notifier import NOTIFICATIONS_ENV

    sink = tmp_path / "n.jsonl"
    monkeypatch.setenv(NOTIFICATIONS_ENV, str(sink))
    monkeypatch.setenv("AIRFLOW__DATAOPS__LINEAGE_BACKLOG_THRESHOLD", "3")
    monkeypatch.setenv("AIRFLOW__DATAOPS__LINEAGE_BACKLOG_NOTIFIER", "file_notifier.BACKLOG_NOTIFIER")
    for waiting in (1, 2, 3, 4, 5, 3, 6, 7, 1, 4):  # drained to 1, then growing again
        report_backlog(str(tmp_path), waiting, None)
    told = [json.loads(line)["event"] for line in sink.read_text().splitlines()]
    assert [(e["level"], e["waiting"]) for e in told] == [(3, 3), (6, 6), (3, 4)]


def test_a_bad_backlog_notifier_setting_is_logged_not_raised(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from airflow_dataops.lineage.backlog import report_backlog

    monkeypatch.setenv("AIRFLOW__DATAOPS__LINEAGE_BACKLOG_THRESHOLD", "1")
    monkeypatch.setenv("AIRFLOW__DATAOPS__LINEAGE_BACKLOG_NOTIFIER", "no_such_module.notifier")
    with caplog.at_level(logging.WARNING, logger="airflow_dataops.lineage.backlog"):
        report_backlog(str(tmp_path), 5, None)
    assert "no notification sent: No module named 'no_such_module'" in caplog.text
