"""Airflow local settings of the docker-compose stack (mounted as $AIRFLOW_HOME/config/airflow_local_settings.py).

- ``task_policy``: the provider's cluster policy, so plain KubernetesPodOperator tasks
  tagged ``supercluster`` are routed too (docs/meta-orchestrator.md).
- ``pod_mutation_hook``: the showcase's ``run_kmeans`` pod reads and writes files under
  ``$DATAOPS_SHOWCASE_DIR`` and imports ``customer_campaign`` from the DAG folder, which a
  real cluster does not have. In this stack both k3s nodes mount the same volumes at the
  same paths as the Airflow containers, so every pod gets them as ``hostPath`` volumes,
  and runs as the airflow user (uid 50000, gid 0) so the files it writes stay the
  worker's. A production cluster would use an image holding the bundle and shared
  storage instead; this is development wiring only.
"""

from __future__ import annotations

from typing import Any

from airflow_dataops.policies import task_policy

__all__ = ["SHARED_PATHS", "pod_mutation_hook", "task_policy"]

#: Paths the k3s nodes mount from the stack's volumes: path -> read-only.
SHARED_PATHS = {
    "/opt/airflow/dags": True,  # the DAG folder: customer_campaign's code
    "/opt/airflow/showcase": False,  # $DATAOPS_SHOWCASE_DIR: the lake, the runs' files
    "/opt/dataops/pod-site": True,  # numpy and scikit-learn for python:3.11-slim
}
AIRFLOW_UID = 50000


def _volume_name(path: str) -> str:
    return "dataops" + path.replace("/", "-").replace("_", "-")


def pod_mutation_hook(pod: Any) -> None:
    """Mount the shared paths into every container of ``pod`` and run its containers as the airflow user."""
    from kubernetes.client import models as k8s

    spec = pod.spec
    present = {volume.name for volume in spec.volumes or []}
    spec.volumes = list(spec.volumes or []) + [
        k8s.V1Volume(name=_volume_name(path), host_path=k8s.V1HostPathVolumeSource(path=path, type="Directory"))
        for path in SHARED_PATHS
        if _volume_name(path) not in present
    ]
    for container in spec.containers or []:
        mounted = {mount.mount_path for mount in container.volume_mounts or []}
        container.volume_mounts = list(container.volume_mounts or []) + [
            k8s.V1VolumeMount(name=_volume_name(path), mount_path=path, read_only=read_only)
            for path, read_only in SHARED_PATHS.items()
            if path not in mounted
        ]
        if container.security_context is None:
            container.security_context = k8s.V1SecurityContext(run_as_user=AIRFLOW_UID, run_as_group=0)
