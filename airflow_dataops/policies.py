"""A cluster policy that makes existing KubernetesPodOperator tasks supercluster-aware, no DAG edits.

Put this in ``airflow_local_settings.py`` (on the scheduler, dag-processor and workers)::

    from airflow_dataops.policies import task_policy

or, to choose differently which tasks are routed and how::

    from airflow_dataops.policies import make_task_policy

    task_policy = make_task_policy(tags=("gpu-jobs",), policies=("cheapest", "spread"))

A plain ``KubernetesPodOperator`` task is routed when any of these holds: its DAG has
one of ``tags``, its ``queue`` is one of ``queues``, or its pod ``labels`` carry
``label: "true"``. Routed tasks become :class:`SuperclusterPodOperator` instances with
the given placement arguments, and read ``supercluster.yaml`` beside their DAG file.
Subclasses of KubernetesPodOperator (GKEStartPodOperator, ...) are left alone: they
talk to their cloud in their own way.

This module imports nothing heavy at import time: Airflow imports
``airflow_local_settings`` very early, for every process.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

ROUTE_LABEL = "airflow-dataops/route"
KPO_PATH = ("airflow.providers.cncf.kubernetes.operators.pod", "KubernetesPodOperator")


def is_selected(task: Any, tags: Iterable[str], queues: Iterable[str], label: str) -> bool:
    """Whether ``task`` is a plain KubernetesPodOperator the policy should route."""
    if (type(task).__module__, type(task).__name__) != KPO_PATH:
        return False
    dag = getattr(task, "dag", None)
    dag_tags = set(getattr(dag, "tags", None) or ())
    labels = getattr(task, "labels", None) or {}
    return bool(dag_tags & set(tags)) or task.queue in set(queues) or str(labels.get(label, "")).lower() == "true"


def make_task_policy(
    *,
    tags: Iterable[str] = ("supercluster",),
    queues: Iterable[str] = ("supercluster",),
    label: str = ROUTE_LABEL,
    **placement: Any,
) -> Callable[[Any], None]:
    """A ``task_policy`` routing the selected tasks with ``placement`` (SuperclusterPodOperator's arguments)."""
    tags, queues = tuple(tags), tuple(queues)

    def task_policy(task: Any) -> None:
        if is_selected(task, tags, queues, label):
            from airflow_dataops.operators.kubernetes import SuperclusterPodOperator

            SuperclusterPodOperator.route(task, **placement)

    return task_policy


task_policy = make_task_policy()
