"""The operator's small parts, without a cluster: overrides, fault classification, policy selection."""

from __future__ import annotations

from datetime import datetime

import pytest


def test_image_mirror_rewrites_every_registry_form() -> None:
    from airflow_dataops.operators._pod_overrides import mirrored

    assert mirrored("python:3.11", "mirror.corp:5000") == "mirror.corp:5000/library/python:3.11"
    assert mirrored("bitnami/spark:3", "mirror.corp") == "mirror.corp/bitnami/spark:3"
    assert mirrored("ghcr.io/org/job:1", "mirror.corp/") == "mirror.corp/org/job:1"
    assert mirrored("localhost/job", "m") == "m/job"


def test_faults_come_from_the_whole_exception_chain() -> None:
    from airflow.providers.cncf.kubernetes.utils.pod_manager import PodLaunchTimeoutException
    from kubernetes.client.exceptions import ApiException

    from airflow_dataops.operators._failover import fault_of

    # What the parent's cleanup raises in its ``finally`` hides the launch timeout behind it.
    cleanup_error = RuntimeError("Pod x returned a failure.")
    cleanup_error.__context__ = PodLaunchTimeoutException("Pod took too long to be scheduled")
    assert fault_of(cleanup_error, None) == "pod not running in time: Pod took too long to be scheduled"
    assert fault_of(ApiException(status=404), None) == "pod disappeared (deleted or preempted)"
    assert fault_of(ApiException(status=403), None) is None
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
