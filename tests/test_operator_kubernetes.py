"""SuperclusterPodOperator end to end: real Airflow (dag.test), real KubernetesPodOperator code and
real kubernetes clients, against simulated clusters speaking the Kubernetes API on loopback."""

from __future__ import annotations

import functools
import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from conftest import TEST_DAGS_FOLDER
from kube_clusters import SimulatedCluster, start_test_clusters

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def clusters(airflow_db: Path) -> Iterator[dict[str, SimulatedCluster]]:
    started = start_test_clusters()
    parsed_dags()
    saved = dict(os.environ)
    for cluster in started.values():
        key, value = cluster.connection_env()
        os.environ[key] = value
    try:
        yield started
    finally:
        os.environ.clear()
        os.environ.update(saved)
        for cluster in started.values():
            cluster.stop()


@pytest.fixture
def fresh(clusters: dict[str, SimulatedCluster]) -> dict[str, SimulatedCluster]:
    """Clusters with no pods, no faults, an empty request log, and no cached probe."""
    from airflow_dataops.hooks import supercluster

    for cluster in clusters.values():
        cluster.control("reset", {})
    supercluster.probe_cache().clear()
    return clusters


@functools.cache
def parsed_dags() -> dict[str, Any]:
    """The pod test DAGs, parsed once: a test times its run, not the parse of the DAG files."""
    from airflow.dag_processing.dagbag import DagBag

    import airflow_dataops.operators.kubernetes  # noqa: F401  # pre-imported, as the dag-processor does

    dags: dict[str, Any] = {}
    for name in ("supercluster_pods.py", "supercluster_policy.py"):
        bag = DagBag(dag_folder=str(TEST_DAGS_FOLDER / name), bundle_path=TEST_DAGS_FOLDER)
        assert not bag.import_errors, bag.import_errors
        dags.update(bag.dags)
    return dags


def run(dag_id: str, **conf: Any) -> Any:
    """Run a parsed DAG; every run states all its params (``dag.test`` keeps the last run's conf)."""
    dag = parsed_dags()[dag_id]
    if "seconds" in dag.params:
        conf = {"seconds": 0.5, "exit_code": 0, **conf}
    return dag.test(run_conf=conf or None)


def test_runs_on_the_cheapest_cluster(fresh: dict[str, SimulatedCluster]) -> None:
    dag_run = run("sc_sync")
    assert dag_run.state == "success"
    created = [r for r in fresh["cheap"].requests() if r.startswith("POST")]
    assert len(created) == 1


def creates(cluster: SimulatedCluster) -> list[str]:
    return [r for r in cluster.requests() if r.startswith("POST /api/v1/namespaces/")]


def counts(clusters: dict[str, SimulatedCluster]) -> dict[str, int]:
    """How many pods each cluster was asked to create."""
    return {name: len(creates(cluster)) for name, cluster in clusters.items()}


def assert_nothing_left(clusters: dict[str, SimulatedCluster]) -> None:
    """No pod is left on any cluster (every path cleans up after itself)."""
    for cluster in clusters.values():
        assert cluster.pods() == [], f"pods left on {cluster.name}: {cluster.pods()}"


def when_running(
    cluster: SimulatedCluster, action: Callable[[dict[str, Any]], None], timeout: float = 60
) -> threading.Thread:
    """In the background, wait until a pod runs on ``cluster``, then act on it."""

    def watch() -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            running = [p for p in cluster.pods() if p["phase"] == "Running"]
            if running:
                action(running[0])
                return
            time.sleep(0.1)

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


def when_pending(cluster: SimulatedCluster, action: Callable[[], None], timeout: float = 120) -> threading.Thread:
    """In the background, wait until a pod exists on ``cluster``, then call ``action``."""

    def watch() -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if cluster.pods():
                action()
                return
            time.sleep(0.1)

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


def placement(dag_run: Any, key: str = "placement") -> Any:
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        row = session.query(XComModel).filter_by(dag_id=dag_run.dag_id, run_id=dag_run.run_id, key=key).first()
        return row.value if row else None


@pytest.mark.parametrize("dag_id", ["sc_sync", "sc_deferrable"])
def test_decision_is_logged_pushed_and_applied(fresh: dict[str, SimulatedCluster], dag_id: str) -> None:
    dag_run = run(dag_id)
    assert dag_run.state == "success"
    decision = placement(dag_run)
    assert decision["chosen"] == "cheap"
    assert [c["target"] for c in decision["candidates"]] == ["cheap", "middle", "dear"]
    assert decision["excluded"] == {"vault": "not entitled (team -, tags ['test'])"}
    assert counts(fresh) == {"cheap": 1, "middle": 0, "dear": 0}
    # The target's namespace override was applied to the pod the parent built.
    assert creates(fresh["cheap"]) == ["POST /api/v1/namespaces/jobs/pods"]
    assert_nothing_left(fresh)


def test_pod_spec_carries_the_targets_overrides(fresh: dict[str, SimulatedCluster]) -> None:
    seen: list[dict[str, Any]] = []
    waiter = when_running(fresh["cheap"], seen.append)
    assert run("sc_sync", seconds=2).state == "success"
    waiter.join()
    (pod,) = seen
    assert pod["namespace"] == "jobs"
    assert pod["labels"]["airflow-dataops/target"] == "cheap"
    assert pod["spec"]["serviceAccountName"] == "runner"
    env = {e["name"]: e.get("value") for e in pod["spec"]["containers"][0]["env"]}
    assert env["TARGET_REGION"] == "eu-west-3"


@pytest.mark.parametrize("dag_id", ["sc_sync", "sc_deferrable"])
def test_fails_over_when_the_pod_is_not_scheduled_in_time(fresh: dict[str, SimulatedCluster], dag_id: str) -> None:
    fresh["cheap"].control("faults", {"hold_pending": True})
    stopwatch = Stopwatch(fresh["middle"])
    waiter = when_pending(fresh["cheap"], stopwatch.mark)
    dag_run = run(dag_id)
    waiter.join()
    assert dag_run.state == "success"
    assert counts(fresh) == {"cheap": 1, "middle": 1, "dear": 0}
    # From the pod's creation: the 3 s schedule timeout plus at most 10 s, never a fixed multi-minute wait.
    assert stopwatch.seconds() <= 3 + 10
    assert_nothing_left(fresh)
    # What ran in the end, for lineage and the UI: the target, the failover, the image's digest.
    from kube_api_server import image_id

    outcome = placement(dag_run, "placement_outcome")
    assert outcome["ran_on"] == "middle"
    assert [f["target"] for f in outcome["failovers"]] == ["cheap"]
    assert outcome["image"] == "python:3.11-slim"
    assert outcome["image_digest"] == image_id("python:3.11-slim").split("@")[1]


@pytest.mark.parametrize("dag_id", ["sc_sync", "sc_deferrable"])
def test_fails_over_when_the_pod_is_evicted(fresh: dict[str, SimulatedCluster], dag_id: str) -> None:
    waiter = when_running(fresh["cheap"], lambda pod: fresh["cheap"].control("evict", {"name": pod["name"]}))
    dag_run = run(dag_id, seconds=4)
    waiter.join()
    assert dag_run.state == "success"
    assert counts(fresh) == {"cheap": 1, "middle": 1, "dear": 0}
    assert_nothing_left(fresh)


def test_fails_over_when_the_api_drops_the_create(fresh: dict[str, SimulatedCluster]) -> None:
    fresh["cheap"].control("faults", {"drop_pod_creates": True})
    dag_run = run("sc_sync")
    assert dag_run.state == "success"
    assert counts(fresh)["middle"] == 1
    assert_nothing_left(fresh)


def test_a_failing_command_is_not_moved_elsewhere(fresh: dict[str, SimulatedCluster]) -> None:
    dag_run = run("sc_sync", exit_code=3)
    assert dag_run.state == "failed"
    assert counts(fresh) == {"cheap": 1, "middle": 0, "dear": 0}
    assert_nothing_left(fresh)


def test_failover_is_bounded_and_says_so(fresh: dict[str, SimulatedCluster]) -> None:
    for cluster in fresh.values():
        cluster.control("faults", {"hold_pending": True})
    dag_run = run("sc_sync")
    assert dag_run.state == "failed"
    assert counts(fresh) == {"cheap": 1, "middle": 1, "dear": 1}  # max_failovers=2: three targets tried
    assert_nothing_left(fresh)


def test_a_retry_reattaches_to_the_live_pod_by_uid(fresh: dict[str, SimulatedCluster]) -> None:
    dag_run = run("sc_retry", seconds=3)
    assert dag_run.state == "success"
    assert counts(fresh)["cheap"] == 1, "the retry must reuse the pod, not create a second one"
    assert placement(dag_run)["reattached"]["target"] == "cheap"
    assert_nothing_left(fresh)


def test_a_down_cluster_is_skipped_before_any_pod(fresh: dict[str, SimulatedCluster]) -> None:
    fresh["cheap"].control("faults", {"latency_ms": 10_000})  # no answer within the probe timeout
    dag_run = run("sc_sync")
    assert dag_run.state == "success"
    decision = placement(dag_run)
    assert decision["chosen"] == "middle"
    assert decision["excluded"]["cheap"].startswith("unreachable (no answer within")
    fresh["cheap"].control("faults", {"latency_ms": 0})
    assert not creates(fresh["cheap"])


@pytest.mark.parametrize(
    ("dag_id", "message"),
    [
        ("sc_not_entitled", "vault: not entitled (team analytics"),
        ("sc_unknown_connection", "the Airflow connection 'k8s_does_not_exist' does not exist"),
        ("sc_no_fit", "nodes too small"),
    ],
)
def test_bad_input_fails_before_any_pod(
    fresh: dict[str, SimulatedCluster], dag_id: str, message: str, capfd: pytest.CaptureFixture[str]
) -> None:
    dag_run = run(dag_id)
    assert dag_run.state == "failed"
    assert message in capfd.readouterr().out
    assert counts(fresh) == {"cheap": 0, "middle": 0, "dear": 0}


def test_mapped_tasks_are_each_placed(fresh: dict[str, SimulatedCluster]) -> None:
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    dag_run = run("sc_mapped")
    assert dag_run.state == "success"
    with create_session() as session:
        rows = session.query(XComModel).filter_by(run_id=dag_run.run_id, dag_id="sc_mapped", key="placement").all()
    assert sorted(row.map_index for row in rows) == [0, 1]
    assert {row.value["chosen"] for row in rows} == {"cheap"}
    assert all(row.value["policies"] == ["cheapest", "fastest_start"] for row in rows)
    assert counts(fresh) == {"cheap": 2, "middle": 0, "dear": 0}
    assert_nothing_left(fresh)


def test_the_cluster_policy_routes_existing_dags_without_edits(fresh: dict[str, SimulatedCluster]) -> None:
    from airflow.dag_processing.dagbag import DagBag

    from airflow_dataops.operators.kubernetes import SuperclusterPodOperator

    dags = DagBag(dag_folder=str(TEST_DAGS_FOLDER), bundle_path=TEST_DAGS_FOLDER).dags
    assert type(dags["legacy_routed"].get_task("existing_task")) is SuperclusterPodOperator
    assert type(dags["legacy_untouched"].get_task("existing_task")).__name__ == "KubernetesPodOperator"
    dag_run = run("legacy_routed")
    assert dag_run.state == "success"
    assert placement(dag_run)["chosen"] == "cheap"
    assert counts(fresh) == {"cheap": 1, "middle": 0, "dear": 0}
    assert_nothing_left(fresh)


def test_spread_places_away_from_the_target_running_our_pods(fresh: dict[str, SimulatedCluster]) -> None:
    """``spread`` counts this provider's pods the probe sees on each target (label airflow-dataops/target)."""
    from kubernetes import client as k8s
    from kubernetes.client import ApiClient, Configuration

    from airflow_dataops.core.placement.decision import Requirements
    from airflow_dataops.hooks.supercluster import SuperclusterHook

    cheap = fresh["cheap"]
    configuration = Configuration(host=cheap.url, api_key={"authorization": f"Bearer {cheap.token}"})
    api = k8s.CoreV1Api(ApiClient(configuration))
    pod = k8s.V1Pod(
        metadata=k8s.V1ObjectMeta(name="earlier-task", labels={"airflow-dataops/target": "cheap"}),
        spec=k8s.V1PodSpec(containers=[k8s.V1Container(name="base", image="python:3.11", command=["sleep", "30"])]),
    )
    api.create_namespaced_pod("jobs", pod)
    try:
        hook = SuperclusterHook(TEST_DAGS_FOLDER / "supercluster.yaml", probe_timeout=5)
        needs = Requirements(cpu=0.5, memory_gib=0.5, dag_tags=frozenset({"test"}))
        assert hook.decide(needs, ["cheapest"]).chosen.target == "cheap"
        spread = hook.decide(needs, ["spread", "cheapest"])
        assert spread.chosen.target == "middle"  # cheap runs one of ours; middle is the cheapest of the rest
        assert [c.scores["spread"] for c in spread.candidates] == [0.0, 0.0, 1.0]
    finally:
        api.delete_namespaced_pod("earlier-task", "jobs")
    assert_nothing_left(fresh)


def test_decisions_read_the_snapshot_the_prober_keeps(
    fresh: dict[str, SimulatedCluster], venv_bin: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``airflow dataops probe`` writes the machine's snapshot; a decision then asks no cluster."""
    import subprocess

    from airflow_dataops.core.placement.decision import Requirements
    from airflow_dataops.hooks.supercluster import SuperclusterHook, probe_cache

    declaration = TEST_DAGS_FOLDER / "supercluster.yaml"
    monkeypatch.setenv("AIRFLOW__DATAOPS__LIVE_STATE_SNAPSHOT", str(tmp_path / "live-state.json"))
    done = subprocess.run(
        [str(venv_bin / "airflow"), "dataops", "probe", str(declaration)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "probed 4 targets into" in done.stdout
    assert "unreachable: none" in done.stdout
    asked = {name: len(cluster.requests()) for name, cluster in fresh.items()}
    decision = SuperclusterHook(declaration).decide(
        Requirements(cpu=0.5, memory_gib=0.5, dag_tags=frozenset({"test"})), ["cheapest"]
    )
    assert decision.chosen.target == "cheap"
    assert {name: len(cluster.requests()) for name, cluster in fresh.items()} == asked  # no cluster was asked
    probe_cache().clear()

    monkeypatch.delenv("AIRFLOW__DATAOPS__LIVE_STATE_SNAPSHOT")
    refused = subprocess.run(
        [str(venv_bin / "airflow"), "dataops", "probe", str(declaration)], capture_output=True, text=True, check=False
    )
    assert refused.returncode == 2
    assert "[dataops] live_state_snapshot is not set" in refused.stderr


@pytest.mark.parametrize("form", ["dict", "json", "yaml"])
def test_the_probe_reads_every_form_of_inline_kubeconfig_and_names_a_refusal(
    fresh: dict[str, SimulatedCluster], form: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A connection's kube_config as JSON object, JSON string or YAML string; a bad token is the target's reason."""
    import json

    import yaml

    from airflow_dataops.core.placement.decision import Requirements
    from airflow_dataops.hooks.supercluster import SuperclusterHook, probe_cache

    cheap = fresh["cheap"]
    kubeconfig = cheap.kubeconfig()
    inline: Any = {"dict": kubeconfig, "json": json.dumps(kubeconfig), "yaml": yaml.safe_dump(kubeconfig)}[form]
    key = "kube_config" if form != "yaml" else "extra__kubernetes__kube_config"  # the prefixed form too
    monkeypatch.setenv("AIRFLOW_CONN_K8S_CHEAP", json.dumps({"conn_type": "kubernetes", "extra": {key: inline}}))
    needs = Requirements(cpu=0.5, memory_gib=0.5, dag_tags=frozenset({"test"}))
    declaration = TEST_DAGS_FOLDER / "supercluster.yaml"
    assert SuperclusterHook(declaration).decide(needs, ["cheapest"]).chosen.target == "cheap"
    probe_cache().clear()

    kubeconfig["users"][0]["user"]["token"] = "not-the-token"
    monkeypatch.setenv("AIRFLOW_CONN_K8S_CHEAP", json.dumps({"conn_type": "kubernetes", "extra": {key: kubeconfig}}))
    decision = SuperclusterHook(declaration).decide(needs, ["cheapest"])
    assert decision.chosen.target == "middle"
    assert decision.excluded["cheap"] == (
        "unreachable (KubernetesApiRefusal: the API answered 401 Unauthorized: Unauthorized; "
        "check the token or client certificate in the connection's kubeconfig)"
    )
    probe_cache().clear()


# ----------------------------------------------------------------------------- the fault matrix
# docs/meta-orchestrator.md#fault-matrix: one test per row, in both modes where the row applies
# to both. Every row ends with the pod run to completion exactly once and no pod left anywhere.

MODES = ["sc_sync", "sc_deferrable"]
#: The deadline of every call to a target (the test DAGs' probe_timeout, the default).
DEADLINE = 5.0
QUOTA = 'pods "work" is forbidden: exceeded quota: compute, requested: cpu=1, used: cpu=2, limited: cpu=2'


def faults_recorded(dag_run: Any) -> list[tuple[str, str]]:
    """The (target, fault) of each failover, as stored for lineage and the UI."""
    return [(f["target"], f["fault"]) for f in placement(dag_run, "placement_outcome")["failovers"]]


def assert_ran_once(clusters: dict[str, SimulatedCluster], where: str) -> None:
    """Exactly one pod ran to a successful end, on ``where``, and no pod is left on any cluster."""
    completed = {name: cluster.completed() for name, cluster in clusters.items()}
    assert sum(len(pods) for pods in completed.values()) == 1, completed
    assert len(completed[where]) == 1, completed
    assert_nothing_left(clusters)


class Stopwatch:
    """The time from a fault (``mark``) to the first pod created on ``cluster`` (watched in the background)."""

    def __init__(self, cluster: SimulatedCluster) -> None:
        self.fault_at: float | None = None
        self.created_at: float | None = None
        self._thread = threading.Thread(target=self._watch, args=(cluster,), daemon=True)
        self._thread.start()

    def mark(self) -> None:
        self.fault_at = time.monotonic()

    def _watch(self, cluster: SimulatedCluster) -> None:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline and self.created_at is None:
            if cluster.pods():
                self.created_at = time.monotonic()
            time.sleep(0.1)

    def seconds(self) -> float:
        self._thread.join(timeout=5)
        assert self.fault_at is not None, "no fault"
        assert self.created_at is not None, "no pod created elsewhere"
        return self.created_at - self.fault_at


@pytest.mark.parametrize("code", [403, 500])
def test_a_target_refusing_the_probe_is_skipped_before_any_pod(fresh: dict[str, SimulatedCluster], code: int) -> None:
    fresh["cheap"].control("faults", {"answers": [{"method": "GET", "path": "/api/v1/nodes", "code": code}]})
    dag_run = run("sc_sync")
    assert dag_run.state == "success"
    decision = placement(dag_run)
    assert decision["chosen"] == "middle"
    assert f"the API answered {code}" in decision["excluded"]["cheap"]
    assert not creates(fresh["cheap"])
    assert_ran_once(fresh, "middle")


@pytest.mark.parametrize("dag_id", MODES)
@pytest.mark.parametrize(
    ("code", "fault"),
    [
        (503, "create refused (503 server error)"),
        (403, "create refused (403 Forbidden: quota or policy)"),
        (409, "create refused (409 Conflict)"),
    ],
)
def test_fails_over_when_the_create_is_refused(
    fresh: dict[str, SimulatedCluster], dag_id: str, code: int, fault: str
) -> None:
    refusal = {"method": "POST", "path": "/api/v1/namespaces/jobs/pods", "code": code, "message": QUOTA}
    fresh["cheap"].control("faults", {"answers": [refusal]})
    dag_run = run(dag_id)
    assert dag_run.state == "success"
    # One create asked of the refusing target: failover is the retry, not the parent's five.
    assert counts(fresh) == {"cheap": 1, "middle": 1, "dear": 0}
    assert faults_recorded(dag_run) == [("cheap", fault)]
    assert_ran_once(fresh, "middle")


@pytest.mark.parametrize("dag_id", MODES)
def test_fails_over_when_the_image_cannot_be_pulled_there(fresh: dict[str, SimulatedCluster], dag_id: str) -> None:
    fresh["cheap"].control("faults", {"image_pull_fails": True})
    dag_run = run(dag_id)
    assert dag_run.state == "success"
    assert counts(fresh) == {"cheap": 1, "middle": 1, "dear": 0}
    ((target, fault),) = faults_recorded(dag_run)
    assert target == "cheap"
    assert "ErrImagePull" in fault
    assert_ran_once(fresh, "middle")


@pytest.mark.parametrize("dag_id", MODES)
@pytest.mark.parametrize(
    ("action", "fault"),
    [
        ("vanish", "pod vanished (the API answered 404 Not Found)"),
        ("disrupt", "pod disrupted: NodeLost"),
        ("preempt", "pod"),  # disrupted (Preempting) or vanished, as the operator saw it first
    ],
)
def test_fails_over_when_the_cluster_takes_the_pod_away(
    fresh: dict[str, SimulatedCluster], dag_id: str, action: str, fault: str
) -> None:
    cheap = fresh["cheap"]
    waiter = when_running(cheap, lambda pod: cheap.control(action, {"name": pod["name"]}))
    dag_run = run(dag_id, seconds=4)
    waiter.join()
    assert dag_run.state == "success"
    assert counts(fresh) == {"cheap": 1, "middle": 1, "dear": 0}
    ((target, recorded),) = faults_recorded(dag_run)
    assert target == "cheap"
    assert recorded.startswith(fault), recorded
    assert_ran_once(fresh, "middle")


@pytest.mark.parametrize("fault", ["hang", "down"])
def test_fails_over_quickly_and_quietly_when_the_api_fails_mid_run(
    fresh: dict[str, SimulatedCluster], fault: str, capfd: pytest.CaptureFixture[str]
) -> None:
    """The API hangs (connection open, no answer) or drops every connection while the pod runs.

    The pod moves within the deadline plus 10 s, the log says so in one line, the parent's
    retry loops stay silent, and the pod left on the failed target is deleted once it answers again.
    """
    cheap, middle = fresh["cheap"], fresh["middle"]
    stopwatch = Stopwatch(middle)

    def fail(pod: dict[str, Any]) -> None:
        cheap.control("faults", {fault: True})
        stopwatch.mark()

    waiter = when_running(cheap, fail)
    # The outage is short: the target answers again once the pod runs elsewhere.
    recovery = when_running(middle, lambda pod: cheap.control("faults", {fault: False}))
    capfd.readouterr()
    dag_run = run("sc_sync", seconds=6)
    waiter.join()
    recovery.join()
    assert dag_run.state == "success"
    assert stopwatch.seconds() <= DEADLINE + 10
    ((target, recorded),) = faults_recorded(dag_run)
    assert target == "cheap"
    assert recorded.startswith("Kubernetes API"), recorded
    out = capfd.readouterr().out
    assert out.count("Failover 1/3: target cheap failed the pod") == 1
    assert "Traceback" not in out
    assert "Retrying" not in out
    # The pod on cheap kept running while cheap's API was away (its kubelet does not need the
    # API), so it may have completed too: the task's result is middle's, and nothing is left.
    completed = {name: cluster.completed() for name, cluster in fresh.items()}
    assert len(completed["middle"]) == 1, completed
    assert completed["dear"] == [], completed
    assert_nothing_left(fresh)


def test_the_fault_before_a_deferral_is_recorded_as_it_was(fresh: dict[str, SimulatedCluster]) -> None:
    """Deferrable: a failover after the trigger's timeout is recorded with the real fault."""
    fresh["cheap"].control("faults", {"hold_pending": True})
    dag_run = run("sc_deferrable")
    assert dag_run.state == "success"
    ((target, fault),) = faults_recorded(dag_run)
    assert target == "cheap"
    assert fault.startswith("pod not running in time"), fault
    assert_ran_once(fresh, "middle")


def test_an_unknown_target_in_preference_is_refused_at_parse(tmp_path: Path) -> None:
    """A typo in ``preference`` fails the DAG's parse, naming the task and the declared targets."""
    from airflow.dag_processing.dagbag import DagBag

    import airflow_dataops.operators.kubernetes  # noqa: F401  # pre-imported, as the dag-processor does

    (tmp_path / "supercluster.yaml").write_text((TEST_DAGS_FOLDER / "supercluster.yaml").read_text())
    dag_file = tmp_path / "typo.py"
    dag_file.write_text(
        "from datetime import datetime\n"
        "from airflow.sdk import DAG\n"
        "from airflow_dataops.operators.kubernetes import SuperclusterPodOperator\n"
        "with DAG('typo', start_date=datetime(2026, 1, 1), schedule=None):\n"
        "    SuperclusterPodOperator(task_id='work', image='python:3.11', policies=['preference'],\n"
        "                            preference=['middle', 'cheep'])\n"
    )
    bag = DagBag(dag_folder=str(dag_file), bundle_path=tmp_path)
    assert not bag.dags
    (error,) = bag.import_errors.values()
    assert "task 'work', field 'preference': 'cheep' is not a target of" in error
    assert "use the names of its targets: cheap, middle, dear, vault" in error

    dag_file.write_text(dag_file.read_text().replace("'cheep'", "'cheap'"))
    assert list(DagBag(dag_folder=str(dag_file), bundle_path=tmp_path).dags) == ["typo"]
