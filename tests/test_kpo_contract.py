"""Contract tests: the upstream behaviour SuperclusterPodOperator relies on, pinned.

The operator overrides a few seams of the cncf provider's KubernetesPodOperator and
relies on what the kubernetes client and the provider's trigger do. When an upgrade of
either changes one of these, a test here fails and names it, instead of a failover going
wrong in production. The behaviour is checked on the real classes, against a simulated
cluster speaking the Kubernetes API on loopback where a server is needed.
"""

from __future__ import annotations

import asyncio
import datetime
import inspect
import json
import os
from collections.abc import Iterator
from functools import cached_property
from typing import Any

import pytest
from airflow.providers.cncf.kubernetes.operators.pod import POD_IDENTIFIER_STATE_KEY, KubernetesPodOperator
from kubernetes import client as k8s

from airflow_dataops.core import facts
from kube_clusters import SimulatedCluster, start_cluster


@pytest.fixture(scope="module")
def cluster() -> Iterator[SimulatedCluster]:
    started = start_cluster("contract", "k8s_contract")
    key, value = started.connection_env()
    saved = os.environ.get(key)
    os.environ[key] = value
    try:
        yield started
    finally:
        if saved is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = saved
        started.stop()


def api(cluster: SimulatedCluster) -> k8s.CoreV1Api:
    configuration = k8s.Configuration(host=cluster.url, api_key={"authorization": f"Bearer {cluster.token}"})
    return k8s.CoreV1Api(k8s.ApiClient(configuration))


def a_pod(name: str, seconds: float = 0.2) -> k8s.V1Pod:
    return k8s.V1Pod(
        metadata=k8s.V1ObjectMeta(name=name, namespace="default"),
        spec=k8s.V1PodSpec(
            containers=[k8s.V1Container(name="base", image="python:3.11", command=["sleep", str(seconds)])]
        ),
    )


# ----------------------------------------------------------------------------- the seams we override


@pytest.mark.parametrize("seam", ["hook", "client", "pod_manager"])
def test_the_parent_caches_its_clients_in_cached_properties(seam: str) -> None:
    """We replace ``hook``/``client``/``pod_manager`` with per-target properties, and build ``client`` with the
    parent's own function: they must still be cached properties of the parent."""
    assert isinstance(inspect.getattr_static(KubernetesPodOperator, seam), cached_property)


def test_the_parent_builds_its_client_from_the_hook() -> None:
    """Our ``client`` calls the parent's function over our ``hook``: it must read ``self.hook.core_v1_client``."""
    source = inspect.getsource(inspect.getattr_static(KubernetesPodOperator, "client").func)
    assert "self.hook.core_v1_client" in source


@pytest.mark.parametrize(
    ("method", "parameters"),
    [
        ("build_pod_request_obj", ["self", "context", "dry_run"]),
        ("get_or_create_pod", ["self", "pod_request_obj", "context"]),
        ("trigger_reentry", ["self", "context", "event"]),
        ("post_complete_action", ["self", "pod", "remote_pod", "context", "result", "kwargs"]),
        ("invoke_defer_method", ["self", "last_log_time", "context"]),
        ("execute", ["self", "context"]),
    ],
)
def test_the_overridden_methods_keep_their_signatures(method: str, parameters: list[str]) -> None:
    assert list(inspect.signature(getattr(KubernetesPodOperator, method)).parameters) == parameters


def test_the_parent_cleans_up_in_a_finally_through_post_complete_action() -> None:
    """While failing over we skip the parent's clean-up: ``post_complete_action`` sees the error in flight."""
    source = inspect.getsource(KubernetesPodOperator.execute_sync)
    assert "finally:" in source
    assert source.index("finally:") < source.index("self.post_complete_action(")


def test_the_parent_refreshes_credentials_by_deleting_its_cached_clients() -> None:
    """Our properties have deleters because the parent's 401 path deletes ``hook``, ``client`` and ``pod_manager``."""
    source = inspect.getsource(KubernetesPodOperator)
    assert "del self.hook" in source
    assert "del self.client" in source
    assert "del self.pod_manager" in source


def test_the_state_store_key_is_the_parents_and_ours_is_another() -> None:
    """The parent remembers a pod by name under its own key; ours (target and uid) must never collide with it."""
    assert POD_IDENTIFIER_STATE_KEY == "pod_identifier"
    assert facts.POD_RECORD_KEY != POD_IDENTIFIER_STATE_KEY


def test_the_parent_reattaches_by_name_and_falls_back_on_404() -> None:
    """After a failover the parent's key names a pod of the previous target; on the new one it must answer 404
    and fall back to a label search, not fail."""
    source = inspect.getsource(KubernetesPodOperator._get_pod_from_task_state_store)
    assert "e.status != 404" in source


# ----------------------------------------------------------------------------- the kubernetes client


def test_the_client_raises_subclasses_carrying_the_status(cluster: SimulatedCluster) -> None:
    """We classify on ``.status``, never on the class name: the client raises subclasses (NotFoundException...)."""
    from kubernetes.client.exceptions import ApiException, NotFoundException

    with pytest.raises(ApiException) as raised:
        api(cluster).read_namespaced_pod("does-not-exist", "default")
    assert type(raised.value) is NotFoundException
    assert type(raised.value).__name__ != "ApiException"
    assert raised.value.status == 404
    assert json.loads(raised.value.body)["reason"] == "NotFound"


def test_the_parent_retries_only_api_and_transport_errors() -> None:
    """A TargetFault (ours) is not retried by the provider's generic retry; its transient statuses are these."""
    from airflow.providers.cncf.kubernetes import kubernetes_helper_functions as helpers

    from airflow_dataops.operators._failover import TargetFault

    calls: list[int] = []

    @helpers.generic_api_retry  # type: ignore[untyped-decorator]
    def call() -> None:
        calls.append(1)
        raise TargetFault("down")

    with pytest.raises(TargetFault):
        call()
    assert calls == [1]
    assert {500, 503, 409} <= helpers.TRANSIENT_STATUS_CODES  # why a 5xx or 409 on create is ours to decide


def test_the_parent_fails_fast_on_an_image_that_cannot_be_pulled() -> None:
    """The image-pull row relies on the parent raising at once (not after the startup timeout) on ErrImagePull."""
    from airflow.providers.cncf.kubernetes.utils.pod_manager import detect_pod_terminate_early_issues

    waiting = k8s.V1ContainerStateWaiting(reason="ErrImagePull", message='failed to pull image "x": not found')
    pod = k8s.V1Pod(
        status=k8s.V1PodStatus(
            phase="Pending",
            container_statuses=[
                k8s.V1ContainerStatus(
                    name="base",
                    image="x",
                    image_id="",
                    ready=False,
                    restart_count=0,
                    state=k8s.V1ContainerState(waiting=waiting),
                )
            ],
        )
    )
    assert detect_pod_terminate_early_issues(pod)


# ----------------------------------------------------------------------------- the trigger


def run_trigger(cluster: SimulatedCluster, name: str, **kwargs: Any) -> dict[str, Any]:
    from airflow.providers.cncf.kubernetes.triggers.pod import KubernetesPodTrigger

    trigger = KubernetesPodTrigger(
        pod_name=name,
        pod_namespace="default",
        trigger_start_time=datetime.datetime.now(datetime.UTC),
        base_container_name="base",
        kubernetes_conn_id=cluster.conn_id,
        poll_interval=0.2,
        get_logs=False,
        startup_timeout=10,
        schedule_timeout=10,
        trigger_kwargs={"dataops_target": "contract", "dataops_attempt": 1, "dataops_failovers": [{"target": "a"}]},
        **kwargs,
    )

    async def first_event() -> dict[str, Any]:
        async for event in trigger.run():
            payload: dict[str, Any] = event.payload
            return payload
        raise AssertionError("the trigger ended without an event")

    return asyncio.run(asyncio.wait_for(first_event(), timeout=60))


def test_the_trigger_echoes_its_trigger_kwargs_in_every_event(cluster: SimulatedCluster) -> None:
    """A resumed deferral learns its target, order and failovers from the event: the trigger must echo them."""
    api(cluster).create_namespaced_pod("default", a_pod("contract-ok"))
    try:
        event = run_trigger(cluster, "contract-ok")
    finally:
        api(cluster).delete_namespaced_pod("contract-ok", "default")
    assert event["status"] == "success"
    assert event["dataops_target"] == "contract"
    assert event["dataops_attempt"] == 1
    assert event["dataops_failovers"] == [{"target": "a"}]


def test_a_vanished_pod_is_an_error_event_with_our_kwargs(cluster: SimulatedCluster) -> None:
    """A pod deleted while deferred: the trigger reports ``error`` (with the echo); the operator's get_pod then 404s."""
    event = run_trigger(cluster, "contract-missing")
    assert event["status"] == "error"
    assert event["dataops_target"] == "contract"


def test_the_trigger_reports_a_closed_set_of_statuses() -> None:
    from airflow.providers.cncf.kubernetes.triggers.pod import KubernetesPodTrigger

    source = inspect.getsource(KubernetesPodTrigger)
    statuses = {s for s in ("success", "failed", "timeout", "error", "running") if f'"status": "{s}"' in source}
    assert statuses <= {"success", "failed", "timeout", "error", "running"}
    assert {"success", "failed", "timeout", "error"} <= statuses
