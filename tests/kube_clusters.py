"""Start simulated Kubernetes clusters (tests/kube_api_server.py), one process each, and wire connections.

Each cluster becomes an Airflow connection of the cncf ``kubernetes`` type (through an
``AIRFLOW_CONN_*`` variable) whose ``kube_config`` points at the loopback server with a
bearer token, so the real clients authenticate as they would against a real API.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SERVER = Path(__file__).with_name("kube_api_server.py")


@dataclass
class SimulatedCluster:
    """A running API server process and how to reach and steer it."""

    name: str
    conn_id: str
    process: subprocess.Popen[str]
    port: int
    token: str

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def kubeconfig(self) -> dict[str, Any]:
        return {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": self.name, "cluster": {"server": self.url}}],
            "users": [{"name": "tester", "user": {"token": self.token}}],
            "contexts": [{"name": self.name, "context": {"cluster": self.name, "user": "tester"}}],
            "current-context": self.name,
        }

    def connection_env(self) -> tuple[str, str]:
        value = json.dumps({"conn_type": "kubernetes", "extra": {"kube_config": self.kubeconfig()}})
        return f"AIRFLOW_CONN_{self.conn_id.upper()}", value

    def control(self, action: str, body: dict[str, Any] | None = None) -> Any:
        """POST (with ``body``) or GET ``/_test/<action>``."""
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(f"{self.url}/_test/{action}", data=data, method="POST" if data else "GET")
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())

    def pods(self) -> list[dict[str, Any]]:
        return list(self.control("state")["pods"])

    def requests(self) -> list[str]:
        return list(self.control("state")["requests"])

    def completed(self) -> list[str]:
        """The pods whose containers all ran to a successful end on this cluster."""
        return list(self.control("state")["completed"])

    def stop(self) -> None:
        self.process.kill()
        self.process.wait(timeout=10)
        if self.process.stdout is not None:
            self.process.stdout.close()


def start_cluster(name: str, conn_id: str, cpu: str = "4", memory: str = "8Gi") -> SimulatedCluster:
    """Launch one API server process with one node of the given size."""
    nodes = [
        {
            "name": f"{name}-node-1",
            "labels": {"airflow-dataops/pool": "general"},
            "allocatable": {"cpu": cpu, "memory": memory},
        }
    ]
    token = secrets.token_hex(16)
    process = subprocess.Popen(
        [sys.executable, str(SERVER), "--nodes", json.dumps(nodes), "--token", token],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    if not line.startswith("PORT "):
        process.kill()
        raise RuntimeError(f"the simulated cluster {name} did not start: {line!r}")
    return SimulatedCluster(name, conn_id, process, int(line.split()[1]), token)


def start_test_clusters() -> dict[str, SimulatedCluster]:
    """The three clusters of tests/dags/supercluster.yaml: ``cheap`` (small), ``middle`` and ``dear`` (large)."""
    return {
        "cheap": start_cluster("cheap", "k8s_cheap", cpu="2", memory="4Gi"),
        "middle": start_cluster("middle", "k8s_middle"),
        "dear": start_cluster("dear", "k8s_dear", cpu="8", memory="32Gi"),
    }
