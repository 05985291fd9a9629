"""The supercluster the UI tests show: the local target, a simulated cluster that answers, and two that cannot.

- ``local``: the worker itself (not probed);
- ``cheap``: a simulated Kubernetes API on loopback (tests/kube_api_server.py), so the
  page shows live capacity from a real probe;
- ``down``: a connection to a loopback port nothing listens on (refused);
- ``ghost``: a connection that does not exist.
"""

from __future__ import annotations

import json
from pathlib import Path

from kube_clusters import SimulatedCluster
from loopback import free_port

DOWN_CONN_ID = "k8s_ui_down"


def down_connection_env() -> tuple[str, str]:
    """An ``AIRFLOW_CONN_*`` variable whose kubeconfig points at a port where nothing listens."""
    server = f"http://127.0.0.1:{free_port()}"
    kubeconfig = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "down", "cluster": {"server": server}}],
        "users": [{"name": "tester", "user": {"token": "t"}}],
        "contexts": [{"name": "down", "context": {"cluster": "down", "user": "tester"}}],
        "current-context": "down",
    }
    value = json.dumps({"conn_type": "kubernetes", "extra": {"kube_config": kubeconfig}})
    return f"AIRFLOW_CONN_{DOWN_CONN_ID.upper()}", value


def write_declaration(folder: Path, cheap: SimulatedCluster, *, with_missing: bool = True) -> Path:
    """The declaration file, for ``AIRFLOW_DATAOPS_SUPERCLUSTER``.

    Without ``with_missing`` it leaves out ``ghost``: a task refuses to start on a
    supercluster naming a connection that does not exist, the page shows it.
    """
    path = folder / "supercluster.yaml"
    ghost = """  - name: ghost
    conn_id: k8s_ui_missing
    provider: gcp
    region: us-east1
    node_pools:
      - {name: general, nodes: 1, allocatable: {cpu: "4", memory: 8Gi}}
"""
    path.write_text(
        f"""version: 1
targets:
  - name: local
    kind: local
    provider: worker
    region: local
    concurrency: 4
    node_pools:
      - {{name: worker, allocatable: {{cpu: "2", memory: 8Gi}}}}
  - name: cheap
    conn_id: {cheap.conn_id}
    provider: onprem
    region: eu-west-3
    concurrency: 10
    prices: {{vcpu_hour: 0.01, gib_hour: 0.001, gpu_hour: {{nvidia-a100: 2.5}}}}
    node_pools:
      - {{name: general, nodes: 1, allocatable: {{cpu: "4", memory: 8Gi}}}}
  - name: down
    conn_id: {DOWN_CONN_ID}
    provider: aws
    region: eu-west-1
    prices: {{vcpu_hour: 0.04, gib_hour: 0.005, market: spot}}
    node_pools:
      - {{name: general, nodes: 1, allocatable: {{cpu: "4", memory: 8Gi}}}}
"""
        + (ghost if with_missing else "")
    )
    return path
