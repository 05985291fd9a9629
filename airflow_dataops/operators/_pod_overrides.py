"""A target's overrides applied to a pod built by KubernetesPodOperator.

One task definition runs on every target because what differs per cluster is declared
per target (namespace, service account, env, image registry mirror) and applied here to
the pod the parent built, just before it is created.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from airflow_dataops.core.placement.names import TARGET_LABEL

if TYPE_CHECKING:
    from kubernetes.client import models as k8s

    from airflow_dataops.core.placement.supercluster import Target

XCOM_SIDECAR = "airflow-xcom-sidecar"


def mirrored(image: str, mirror: str) -> str:
    """``image`` pulled through ``mirror`` instead of its registry.

    >>> mirrored("python:3.11", "mirror.corp:5000")
    'mirror.corp:5000/library/python:3.11'
    >>> mirrored("ghcr.io/org/job:1", "mirror.corp")
    'mirror.corp/org/job:1'
    """
    first, _, rest = image.partition("/")
    if rest and ("." in first or ":" in first or first == "localhost"):
        path = rest  # the first component is a registry host
    elif rest:
        path = image  # Docker Hub user/repo
    else:
        path = f"library/{image}"  # Docker Hub official image
    return f"{mirror.rstrip('/')}/{path}"


def apply_overrides(pod: k8s.V1Pod, target: Target) -> None:
    """Adapt ``pod`` in place to ``target``."""
    from kubernetes.client import models as k8s

    o = target.overrides
    pod.metadata.labels = {**(pod.metadata.labels or {}), TARGET_LABEL: target.name}
    if o.namespace:
        pod.metadata.namespace = o.namespace
    if o.service_account:
        pod.spec.service_account_name = o.service_account
    for container in [*(pod.spec.containers or []), *(pod.spec.init_containers or [])]:
        if o.image_registry_mirror and container.image:
            container.image = mirrored(container.image, o.image_registry_mirror)
        if o.env and container.name != XCOM_SIDECAR:
            kept = [e for e in container.env or [] if e.name not in o.env]
            container.env = kept + [k8s.V1EnvVar(name=k, value=v) for k, v in o.env.items()]
