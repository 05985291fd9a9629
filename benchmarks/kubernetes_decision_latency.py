"""Benchmark: a placement decision over 50 Kubernetes clusters through the real probe.

Target (meta-orchestrator issue): with 50 clusters each answering in 50 ms, the decision
costs at most twice a single round trip (compared with probing them one after another).

Unlike ``decision_latency.py`` (plain HTTP endpoints), this goes through the product's
own path: ``SuperclusterHook.decide()``, whose probe per target resolves the Airflow
connection (``AIRFLOW_CONN_*`` variables), loads its kubeconfig through the cncf
provider's ``AsyncKubernetesHook``, and lists nodes and pods with the real
``kubernetes_asyncio`` client. The clusters are the test suite's Kubernetes API server
(``tests/kube_api_server.py``), 50 instances in one child process, each adding
50 ms to every answer, served over TLS with a certificate that every kubeconfig names
the CA of (``certificate-authority-data``), so each probe verifies its server and builds
its own SSL context, as it does for real clusters with their own CAs. The probe cache
is cleared before every timed cold decision.

A fourth row times the decision as a task process makes it on a worker machine where
``airflow dataops probe --every N`` keeps the live-state snapshot
(``[dataops] live_state_snapshot``) fresh: the snapshot is written by a probe, then a
fresh cache (as in a new task process) reads it and the decision is timed. A fifth row
makes the same 100 requests with nothing but aiohttp: the floor this machine sets when
the 50 servers share its two cores with the client.

Run:  make bench   (or: .venv/bin/python benchmarks/kubernetes_decision_latency.py)
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from aiohttp import web

CLUSTERS = 50
LATENCY_MS = 50


def _certificates(folder: Path) -> tuple[Path, Path, bytes]:
    """A throw-away CA and a server certificate for 127.0.0.1 (EC P-256, as many clusters use)."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    def name(common: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])

    now = datetime.datetime.now(datetime.UTC)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(name("bench-ca"))
        .issuer_name(name("bench-ca"))
        .public_key(ca_key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    cert = (
        x509.CertificateBuilder()
        .subject_name(name("127.0.0.1"))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(2)
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    cert_path, key_path = folder / "server.pem", folder / "server.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path, ca.public_bytes(serialization.Encoding.PEM)


def _serve_all(count: int, cert_path: Path, key_path: Path, token: str, report: Any) -> None:
    """In a separate process (as remote API servers would be): serve ``count`` clusters over TLS."""
    import ssl

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
    from kube_api_server import Cluster, make_app

    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(cert_path, key_path)

    async def serve() -> None:
        ports = []
        for i in range(count):
            allocatable = {"cpu": "8", "memory": "32Gi"}
            cluster = Cluster(
                [{"name": f"n{i}", "labels": {"airflow-dataops/pool": "cpu"}, "allocatable": allocatable}], token
            )
            cluster.faults["latency_ms"] = LATENCY_MS
            runner = web.AppRunner(make_app(cluster), access_log=None)
            await runner.setup()
            await web.TCPSite(runner, "127.0.0.1", 0, ssl_context=tls).start()
            ports.append(runner.addresses[0][1])
        report.send(ports)
        await asyncio.Event().wait()

    asyncio.run(serve())


def _start_servers(count: int, folder: Path) -> tuple[list[int], str, bytes]:
    """Start the simulated clusters in a child process; return their ports, the token and the CA."""
    import multiprocessing

    cert_path, key_path, ca_pem = _certificates(folder)
    token = secrets.token_hex(8)
    context = multiprocessing.get_context("spawn")
    receive, send = context.Pipe(duplex=False)
    context.Process(target=_serve_all, args=(count, cert_path, key_path, token, send), daemon=True).start()
    if not receive.poll(120):
        raise RuntimeError("the simulated clusters did not start")
    return list(receive.recv()), token, ca_pem


def _declare(ports: list[int], token: str, ca_pem: bytes, folder: Path) -> Path:
    """Connections as environment variables and the declaration file."""
    import base64

    ca_data = base64.b64encode(ca_pem).decode()
    targets = []
    for i, port in enumerate(ports):
        kubeconfig = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {"name": "c", "cluster": {"server": f"https://127.0.0.1:{port}", "certificate-authority-data": ca_data}}
            ],
            "users": [{"name": "u", "user": {"token": token}}],
            "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}],
            "current-context": "c",
        }
        os.environ[f"AIRFLOW_CONN_K8S_C{i}"] = json.dumps(
            {"conn_type": "kubernetes", "extra": {"kube_config": kubeconfig}}
        )
        targets.append(
            f"  - {{name: c{i}, conn_id: k8s_c{i}, prices: {{vcpu_hour: {0.02 + i / 1000}}}, "
            f'node_pools: [{{name: cpu, allocatable: {{cpu: "8", memory: 32Gi}}}}]}}'
        )
    path = folder / "supercluster.yaml"
    path.write_text("version: 1\ntargets:\n" + "\n".join(targets) + "\n")
    return path


async def _bare_fan_out(ports: list[int], token: str, ca_pem: bytes) -> None:
    """The same requests with nothing but aiohttp: per target an SSL context for its CA, nodes and pods at once.

    The floor of this machine: TLS and HTTP for 50 targets, with the servers on the same
    two cores, and no Kubernetes client, connection or kubeconfig handling.
    """
    import ssl

    import aiohttp

    async def one(port: int) -> None:
        context = ssl.create_default_context(cadata=ca_pem.decode())
        headers = {"Authorization": f"Bearer {token}"}
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=context), headers=headers) as session:

            async def get(path: str) -> Any:
                async with session.get(f"https://127.0.0.1:{port}{path}") as response:
                    response.raise_for_status()
                    return await response.json()

            await asyncio.gather(get("/api/v1/nodes"), get("/api/v1/pods?fieldSelector=status.phase%21%3DSucceeded"))

    await asyncio.gather(*(one(port) for port in ports))


def measure(rounds: int) -> dict[str, Any]:
    """Median single-probe, concurrent-decision and sequential-decision times."""
    os.environ.setdefault("AIRFLOW_HOME", tempfile.mkdtemp(prefix="bench-airflow-"))
    os.environ["AIRFLOW__DATAOPS__LIVE_STATE_SNAPSHOT"] = str(Path(tempfile.mkdtemp()) / "live-state.json")
    from airflow_dataops.core.placement.decision import Requirements, decide
    from airflow_dataops.hooks import supercluster as module
    from airflow_dataops.hooks.supercluster import SuperclusterHook
    from airflow_dataops.runtime.probing import probe_all

    folder = Path(tempfile.mkdtemp(prefix="bench-k8s-"))
    ports, token, ca_pem = _start_servers(CLUSTERS, folder)
    hook = SuperclusterHook(_declare(ports, token, ca_pem, folder), probe_timeout=5)
    req = Requirements(cpu=2, memory_gib=4)
    targets = hook.supercluster.targets
    probes = {t.name: hook._probe_for(t) for t in targets}
    hook.decide(req, ["cheapest"])  # warm-up: imports, first connections
    single, concurrent, sequential, warm, bare = [], [], [], [], []
    for _ in range(rounds):
        start = time.perf_counter()
        asyncio.run(probe_all({"c0": probes["c0"]}, timeout=5))
        single.append(time.perf_counter() - start)

        module.probe_cache().clear()
        start = time.perf_counter()
        decision = hook.decide(req, ["cheapest"])
        concurrent.append(time.perf_counter() - start)
        if decision.chosen.target != "c0" or decision.excluded:
            raise RuntimeError(f"a simulated cluster did not answer: {decision.excluded}")

        start = time.perf_counter()
        asyncio.run(_bare_fan_out(ports, token, ca_pem))
        bare.append(time.perf_counter() - start)

        start = time.perf_counter()
        live = {}
        for name, probe in probes.items():
            live.update(asyncio.run(probe_all({name: probe}, timeout=5)))
        decide(hook.supercluster, req, live=live)
        sequential.append(time.perf_counter() - start)

        hook.refresh_live_states()  # what the prober does every N seconds
        module._SHARED.clear()  # a new task process: nothing in memory, the snapshot on disk
        start = time.perf_counter()
        decision = SuperclusterHook(hook.declaration, probe_timeout=5).decide(req, ["cheapest"])
        warm.append(time.perf_counter() - start)
        if decision.chosen.target != "c0":
            raise RuntimeError("the snapshot decision differs")
    return {
        "rounds": rounds,
        "single_ms": statistics.median(single) * 1000,
        "concurrent_ms": statistics.median(concurrent) * 1000,
        "sequential_ms": statistics.median(sequential) * 1000,
        "warm_ms": statistics.median(warm) * 1000,
        "bare_ms": statistics.median(bare) * 1000,
    }


def render(result: dict[str, Any]) -> str:
    """The markdown block kept in docs/benchmarks.md."""
    from _report import render_round_trips

    block = render_round_trips(
        f"{CLUSTERS} simulated Kubernetes API servers answering after {LATENCY_MS} ms",
        "one target probed (connection, kubeconfig, nodes + pods)",
        f"decision: `SuperclusterHook.decide()` over {CLUSTERS}, cold (nothing probed yet on this machine)",
        result,
    )
    table, _, verdict = block.rpartition("\n\nTarget:")
    warm = result["warm_ms"] / result["single_ms"]
    rows = (
        f"| **decision over {CLUSTERS} with the snapshot kept fresh by `airflow dataops probe --every N`** "
        f"| **{result['warm_ms']:.1f} ms** | **{warm:.2f}** |\n"
        f"| the floor: the same {CLUSTERS * 2} TLS requests from a bare aiohttp client (no Kubernetes client) "
        f"| {result['bare_ms']:.1f} ms | {result['bare_ms'] / result['single_ms']:.2f} |"
    )
    return (
        f"{table}\n{rows}\n\nTarget:{verdict.replace('This run', 'The cold decision in this run')} "
        f"With the prober on the worker machine, the decision {'meets' if warm <= 2 else 'MISSES'} it."
    )


if __name__ == "__main__":
    from _report import run_benchmark

    run_benchmark("kubernetes_decision_latency", __doc__, lambda rounds: render(measure(rounds)), default_rounds=7)
