"""The operator's small parts, without a cluster: overrides, fault classification, policy selection."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest


def test_image_mirror_rewrites_every_registry_form() -> None:
    from airflow_dataops.operators._pod_overrides import mirrored

    assert mirrored("python:3.11", "mirror.corp:5000") == "mirror.corp:5000/library/python:3.11"
    assert mirrored("bitnami/spark:3", "mirror.corp") == "mirror.corp/bitnami/spark:3"
    assert mirrored("ghcr.io/org/job:1", "mirror.corp/") == "mirror.corp/org/job:1"
    assert mirrored("localhost/job", "m") == "m/job"


def test_faults_come_from_the_whole_exception_chain() -> None:
    from airflow.providers.cncf.kubernetes.utils.pod_manager import PodLaunchTimeoutException
    from kubernetes.client.exceptions import ApiException, NotFoundException

    from airflow_dataops.operators._failover import fault_of

    # What the parent's cleanup raises in its ``finally`` hides the launch timeout behind it.
    cleanup_error = RuntimeError("Pod x returned a failure.")
    cleanup_error.__context__ = PodLaunchTimeoutException("Pod took too long to be scheduled")
    assert fault_of(cleanup_error, None) == "pod not running in time: Pod took too long to be scheduled"
    # Classified by status: the client raises subclasses (NotFoundException, ...), never a bare ApiException.
    assert fault_of(NotFoundException(status=404), None) == "pod vanished (the API answered 404 Not Found)"
    assert fault_of(ApiException(status=403), None) == "API refused (403 Forbidden: quota or policy)"
    assert fault_of(ApiException(status=422), None) is None
    assert fault_of(RuntimeError("exit code 3"), None) is None


def test_the_tasks_own_execution_timeout_is_not_a_cluster_fault() -> None:
    from airflow_dataops.operators._failover import fault_of_event

    own = {"status": "timeout", "message": "Pod ns/p reached the task's execution_timeout deadline."}
    assert fault_of_event(own, RuntimeError("timeout"), None) is None
    pending = {"status": "timeout", "message": "Pod took too long to be scheduled on the cluster"}
    assert fault_of_event(pending, RuntimeError("timeout"), None) == f"pod not running in time: {pending['message']}"


def test_placement_arguments_are_checked_at_parse_time() -> None:
    from airflow_dataops.operators.kubernetes import SuperclusterPodOperator

    with pytest.raises(ValueError, match="unknown placement policy"):
        SuperclusterPodOperator(task_id="t", image="i", policies=["cheapest", "greenest"])
    with pytest.raises(ValueError, match="'kubernetes_conn_id' cannot be set"):
        SuperclusterPodOperator(task_id="t", image="i", kubernetes_conn_id="k8s")
    with pytest.raises(ValueError, match="max_failovers must be >= 0"):
        SuperclusterPodOperator(task_id="t", image="i", max_failovers=-1)


def test_policy_selects_plain_kpo_by_tag_queue_or_label_only() -> None:
    from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator
    from airflow.sdk import DAG

    from airflow_dataops.operators.kubernetes import SuperclusterPodOperator
    from airflow_dataops.policies import make_task_policy

    policy = make_task_policy(tags=("route-me",), queues=("multi",), policies=("fastest_start",))
    with DAG("d", start_date=datetime(2026, 1, 1), schedule=None, tags=["other"]):
        by_queue = KubernetesPodOperator(task_id="q", image="i", queue="multi")
        by_label = KubernetesPodOperator(task_id="l", image="i", labels={"airflow-dataops/route": "true"})
        untouched = KubernetesPodOperator(task_id="u", image="i")
    for task in (by_queue, by_label, untouched):
        policy(task)
    assert isinstance(by_queue, SuperclusterPodOperator)
    assert by_queue.placement.policies == ("fastest_start",)
    assert isinstance(by_label, SuperclusterPodOperator)
    assert type(untouched) is KubernetesPodOperator
    with DAG("e", start_date=datetime(2026, 1, 1), schedule=None):
        in_cluster = KubernetesPodOperator(task_id="c", image="i", queue="multi", in_cluster=True)
    policy(in_cluster)
    assert in_cluster.in_cluster is None, "a routed task must reach its target, not the cluster it runs in"


def _pod_task_state(task: Any) -> dict[str, Any]:
    """What a built task carries that matters for running it (its whole state, minus object identities)."""
    skip = {"_dag", "task_group", "upstream_task_ids", "downstream_task_ids", "_BaseOperator__init_kwargs"}
    return {key: value for key, value in vars(task).items() if key not in skip}


def test_a_task_built_directly_equals_one_built_through_init() -> None:
    """The fast construction (as KubernetesPodOperator, then adopted) gives what __init__ gives."""
    from airflow.sdk import DAG

    from airflow_dataops.operators.kubernetes import SuperclusterPodOperator

    class WithOwnInit(SuperclusterPodOperator):  # built the ordinary way, through __init__
        def __init__(self, **kwargs: Any) -> None:
            super().__init__(**kwargs)

    def notify(context: Any) -> None: ...

    arguments: dict[str, Any] = {
        "image": "python:3.11-slim",
        "cmds": ["python", "-c", "print(1)"],
        "policies": ["data_local", "cheapest"],
        "reads": ["s3://lake/a"],
        "gpu_type": "a100",
        "max_failovers": 1,
        "on_failover_callback": notify,
    }
    # default_args may also carry what pins one cluster: both ways clear it.
    defaults = {"team": "ml", "retries": 2, "in_cluster": True}
    with DAG("same", start_date=datetime(2026, 1, 1), schedule=None, default_args=defaults):
        direct = SuperclusterPodOperator(task_id="t", **arguments)
    with DAG("same", start_date=datetime(2026, 1, 1), schedule=None, default_args=defaults):
        through_init = WithOwnInit(task_id="t", **arguments)
    assert type(direct) is SuperclusterPodOperator
    assert type(through_init) is WithOwnInit
    assert direct.placement.team == "ml", "placement arguments come from default_args too"
    assert direct.retries == 2
    assert direct.in_cluster is None
    assert through_init.in_cluster is None
    assert _pod_task_state(direct) == _pod_task_state(through_init)
    assert direct.dag.task_dict["t"] is direct


def test_placement_arguments_merge_default_args_as_airflow_does() -> None:
    from airflow.sdk import DAG, TaskGroup

    from airflow_dataops.operators.kubernetes import SuperclusterPodOperator

    def notify(context: Any) -> None: ...

    dag_defaults = {"team": "ml", "policies": ["fastest_start"], "on_failover_callback": notify}
    group_defaults: Any = {"team": "research"}
    with (
        DAG("defaults", start_date=datetime(2026, 1, 1), schedule=None, default_args=dag_defaults),
        TaskGroup("group", default_args=group_defaults),
    ):
        grouped = SuperclusterPodOperator(task_id="grouped", image="i")
        own = SuperclusterPodOperator(task_id="own", image="i", default_args={"max_failovers": 0})
        explicit = SuperclusterPodOperator(task_id="explicit", image="i", team="ops", policies=["cheapest"])
    assert (grouped.placement.team, grouped.placement.policies) == ("research", ("fastest_start",))
    assert grouped.on_failover_callback is notify
    assert (own.placement.team, own.placement.max_failovers) == ("research", 0)
    assert (explicit.placement.team, explicit.placement.policies) == ("ops", ("cheapest",))


def test_a_reads_xcomarg_makes_its_producer_upstream() -> None:
    from airflow.sdk import DAG, task

    from airflow_dataops.operators.kubernetes import SuperclusterPodOperator

    with DAG("xcom_reads", start_date=datetime(2026, 1, 1), schedule=None):

        @task
        def locate() -> str:
            return "s3://lake/today"

        pod = SuperclusterPodOperator(task_id="pod", image="i", reads=[locate()])  # type: ignore[list-item]
    assert pod.upstream_task_ids == {"locate"}


def test_a_policy_name_given_as_a_string_is_refused_with_the_fix() -> None:
    from airflow_dataops.operators.kubernetes import SuperclusterPodOperator

    with pytest.raises(ValueError, match=r"task 't': policies must be a list of names.*write \['cheapest'\]"):
        SuperclusterPodOperator(task_id="t", image="i", policies="cheapest")


def test_routed_tasks_take_placement_arguments_from_default_args() -> None:
    """A DAG's default_args reach tasks the cluster policy routes (a failover notifier, a team)."""
    from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator
    from airflow.sdk import DAG

    from airflow_dataops.operators.kubernetes import SuperclusterPodOperator
    from airflow_dataops.policies import make_task_policy

    def notify(context: Any) -> None: ...

    policy = make_task_policy(tags=("route-me",), policies=("fastest_start",))
    defaults = {"on_failover_callback": notify, "team": "ml", "policies": ["cheapest"]}
    with DAG("routed", start_date=datetime(2026, 1, 1), schedule=None, tags=["route-me"], default_args=defaults):
        task = KubernetesPodOperator(task_id="existing", image="i")
    policy(task)
    assert isinstance(task, SuperclusterPodOperator)
    assert task.on_failover_callback is notify
    assert task.placement.team == "ml"
    assert task.placement.policies == ("fastest_start",), "what the policy sets wins over default_args"
