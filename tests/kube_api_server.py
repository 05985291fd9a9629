"""A Kubernetes API server for tests: the real HTTP API on loopback, one process per cluster.

There is no cluster on the test machines, so this speaks the part of the Kubernetes
REST API that KubernetesPodOperator, its trigger and our probe use (pods: create, read,
list with label selectors, patch, delete, logs with ``follow``; nodes; events; version)
and plays scheduler and kubelet behind it:

- the scheduler binds a pod to a node whose free allocatable covers the pod's requests
  (limits when no request), otherwise the pod stays ``Pending`` with a
  ``FailedScheduling`` event, as a real scheduler does;
- the kubelet runs each container's ``command`` + ``args`` as a process on this
  machine with the container's env (the image is ignored), streams its output as the
  container log (with RFC 3339 timestamps) and sets phase and exit code from it.

Errors are answered as a real API server answers them: a ``Status`` body with the HTTP
code, ``reason`` and message, so the real clients raise their real exception subclasses
(``NotFoundException``, ``ForbiddenException``, ``ServiceException``, ...).

Tests drive it through ``/_test/*`` endpoints: faults (``hold_pending``, ``latency_ms``,
``drop_pod_creates``, ``answers`` (a status for matching requests, e.g. a 403 quota
refusal of pod creates), ``image_pull_fails``, ``down`` (every connection dropped, open
log streams cut), ``hang`` (requests and open log streams stall)), ``evict``,
``disrupt`` (node lost: a pod status reason), ``preempt`` and ``vanish`` (delete behind
the operator's back) a pod, ``reset``, and read the state and the request log. The real
clients (``kubernetes``, ``kubernetes_asyncio``) talk to it through a kubeconfig.

Run: ``python tests/kube_api_server.py --nodes '<json>' [--token T]``; it prints
``PORT <n>`` when ready.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import hashlib
import json
import os
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from aiohttp import web

NO_WAIT = 0.05  # seconds between scheduler passes
NO_FAULTS: dict[str, Any] = {
    "hold_pending": False,
    "latency_ms": 0,
    "drop_pod_creates": False,
    "answers": [],
    "image_pull_fails": False,
    "down": False,
    "hang": False,
}
#: The ``reason`` of a Status body for each HTTP code the tests use, as the API server names them.
REASONS = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    409: "AlreadyExists",
    422: "Invalid",
    429: "TooManyRequests",
    500: "InternalError",
    503: "ServiceUnavailable",
}


def now() -> str:
    """RFC 3339 with nanoseconds, as the kubelet writes log timestamps."""
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f000Z")


def quantity(value: object) -> Decimal:
    """A Kubernetes quantity as a number (lazy import: the client is big)."""
    from kubernetes.utils import parse_quantity

    return Decimal(parse_quantity(value))


@dataclass
class Container:
    """One container's runtime: its process and captured log."""

    name: str
    spec: dict[str, Any]
    process: asyncio.subprocess.Process | None = None
    started_at: str | None = None
    exit_code: int | None = None
    finished_at: str | None = None
    reason: str | None = None
    waiting: tuple[str, str] | None = None  # (reason, message) while the kubelet cannot start it
    log: list[str] = field(default_factory=list)
    log_changed: asyncio.Event = field(default_factory=asyncio.Event)

    def status(self) -> dict[str, Any]:
        """The containerStatuses entry."""
        if self.exit_code is not None:
            state: dict[str, Any] = {
                "terminated": {
                    "exitCode": self.exit_code,
                    "reason": self.reason or ("Completed" if self.exit_code == 0 else "Error"),
                    "startedAt": self.started_at,
                    "finishedAt": self.finished_at,
                }
            }
        elif self.started_at is not None:
            state = {"running": {"startedAt": self.started_at}}
        elif self.waiting is not None:
            state = {"waiting": {"reason": self.waiting[0], "message": self.waiting[1]}}
        else:
            state = {"waiting": {"reason": "ContainerCreating"}}
        return {
            "name": self.name,
            "image": self.spec.get("image", ""),
            # Like containerd: once the image is pulled, the repository and its content digest
            # (derived here from the image name, so a test knows what to expect).
            "imageID": image_id(self.spec.get("image", "")) if self.started_at is not None else "",
            "ready": self.started_at is not None and self.exit_code is None,
            "restartCount": 0,
            "started": self.started_at is not None and self.exit_code is None,
            "state": state,
        }


def image_id(image: str) -> str:
    """The ``imageID`` the stand-in kubelet reports for ``image``: ``<repository>@sha256:<sha256 of the name>``."""
    repository = image.split("@", 1)[0].rsplit(":", 1)[0] if "/" in image or ":" in image else image
    return f"{repository}@sha256:{hashlib.sha256(image.encode()).hexdigest()}"


@dataclass
class Pod:
    """A pod as the API server stores it, plus the simulated kubelet's view."""

    manifest: dict[str, Any]
    uid: str
    created: str
    version: int
    containers: list[Container]
    phase: str = "Pending"
    node: str | None = None
    reason: str | None = None
    message: str | None = None
    unschedulable: str | None = None
    extra_conditions: list[dict[str, Any]] = field(default_factory=list)

    @property
    def name(self) -> str:
        return str(self.manifest["metadata"]["name"])

    @property
    def namespace(self) -> str:
        return str(self.manifest["metadata"]["namespace"])

    def requests(self) -> dict[str, Decimal]:
        """Total requests of the pod's containers (limits stand in for missing requests)."""
        total = {"cpu": Decimal(0), "memory": Decimal(0), "nvidia.com/gpu": Decimal(0)}
        for c in self.containers:
            resources = c.spec.get("resources") or {}
            asked = {**(resources.get("limits") or {}), **(resources.get("requests") or {})}
            for key in total:
                if key in asked:
                    total[key] += quantity(asked[key])
        return total

    def to_api(self) -> dict[str, Any]:
        """The pod object the API returns."""
        metadata = {
            **self.manifest["metadata"],
            "uid": self.uid,
            "resourceVersion": str(self.version),
            "creationTimestamp": self.created,
        }
        conditions = []
        if self.node:
            conditions.append({"type": "PodScheduled", "status": "True"})
        elif self.unschedulable:
            conditions.append(
                {"type": "PodScheduled", "status": "False", "reason": "Unschedulable", "message": self.unschedulable}
            )
        conditions.extend(self.extra_conditions)
        status: dict[str, Any] = {"phase": self.phase, "conditions": conditions}
        if self.node:
            status["containerStatuses"] = [c.status() for c in self.containers]
            status["startTime"] = self.created
        if self.reason:
            status["reason"], status["message"] = self.reason, self.message
        spec = {**self.manifest.get("spec", {})}
        if self.node:
            spec["nodeName"] = self.node
        return {"apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": spec, "status": status}


def status_body(code: int, reason: str, message: str) -> web.Response:
    """A ``Status`` object, the API's error shape."""
    body = {
        "kind": "Status",
        "apiVersion": "v1",
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }
    return web.json_response(body, status=code)


def label_selector_matches(selector: str | None, labels: dict[str, str]) -> bool:
    """Equality-based selectors: ``k=v``, ``k==v``, ``k!=v``, ``k``, ``!k``, comma-separated."""
    for term in filter(None, (selector or "").split(",")):
        term = term.strip()
        if "!=" in term:
            key, value = term.split("!=", 1)
            if labels.get(key) == value:
                return False
        elif "=" in term:
            key, value = term.replace("==", "=").split("=", 1)
            if labels.get(key) != value:
                return False
        elif term.startswith("!"):
            if term[1:] in labels:
                return False
        elif term not in labels:
            return False
    return True


class Cluster:
    """One simulated cluster: nodes, pods, events, faults and the request log."""

    def __init__(self, nodes: list[dict[str, Any]], token: str | None) -> None:
        self.nodes = nodes
        self.token = token
        self.pods: dict[tuple[str, str], Pod] = {}
        self.events: list[dict[str, Any]] = []
        self.faults: dict[str, Any] = dict(NO_FAULTS)
        self.streams: dict[int, web.Request] = {}  # requests streaming a log, by id
        self.resumed = asyncio.Event()  # set whenever the API stops hanging
        self.requests: list[str] = []
        self.completed: list[str] = []  # pods whose containers all ran to a successful end
        self.version = 1

    def bump(self, pod: Pod) -> None:
        self.version += 1
        pod.version = self.version

    def event(self, pod: Pod, kind: str, reason: str, message: str) -> None:
        self.version += 1
        self.events.append(
            {
                "metadata": {
                    "name": f"{pod.name}.{self.version}",
                    "namespace": pod.namespace,
                    "resourceVersion": str(self.version),
                },
                "involvedObject": {"kind": "Pod", "name": pod.name, "namespace": pod.namespace, "uid": pod.uid},
                "type": kind,
                "reason": reason,
                "message": message,
                "lastTimestamp": now()[:19] + "Z",
            }
        )

    def free(self, node: dict[str, Any]) -> dict[str, Decimal]:
        """Allocatable of ``node`` minus the requests of the pods bound to it and not finished."""
        free = {key: quantity(value) for key, value in node["allocatable"].items()}
        for pod in self.pods.values():
            if pod.node == node["name"] and pod.phase in ("Pending", "Running"):
                for key, amount in pod.requests().items():
                    free[key] = free.get(key, Decimal(0)) - amount
        return free

    def try_schedule(self, pod: Pod) -> bool:
        if self.faults["hold_pending"]:
            reason = "0/{n} nodes are available: held by the test (hold_pending)."
            return self._unschedulable(pod, reason.format(n=len(self.nodes)))
        needs = pod.requests()
        for node in self.nodes:
            free = self.free(node)
            if all(free.get(key, Decimal(0)) >= amount for key, amount in needs.items() if amount):
                pod.node, pod.unschedulable = node["name"], None
                self.bump(pod)
                self.event(
                    pod, "Normal", "Scheduled", f"Successfully assigned {pod.namespace}/{pod.name} to {pod.node}"
                )
                return True
        return self._unschedulable(pod, f"0/{len(self.nodes)} nodes are available: Insufficient resources.")

    def _unschedulable(self, pod: Pod, message: str) -> bool:
        if pod.unschedulable != message:
            pod.unschedulable = message
            self.bump(pod)
            self.event(pod, "Warning", "FailedScheduling", message)
        return False

    async def run(self, pod: Pod) -> None:
        """Scheduler then kubelet for one pod, until it finishes or is deleted."""
        while not self.try_schedule(pod):
            await asyncio.sleep(NO_WAIT)
            if (pod.namespace, pod.name) not in self.pods:
                return
        if self.faults["image_pull_fails"]:
            for c in pod.containers:
                c.waiting = ("ErrImagePull", f'failed to pull image "{c.spec.get("image")}": not found on this target')
            self.bump(pod)
            self.event(pod, "Warning", "Failed", "Error: ErrImagePull")
            return  # Pending for ever, as the kubelet backs off
        await asyncio.gather(*(self._run_container(pod, c) for c in pod.containers))
        if pod.phase == "Running":
            ok = all(c.exit_code == 0 for c in pod.containers)
            pod.phase = "Succeeded" if ok else "Failed"
            if ok:
                self.completed.append(pod.name)
            self.bump(pod)

    async def _run_container(self, pod: Pod, container: Container) -> None:
        argv = [*(container.spec.get("command") or []), *(container.spec.get("args") or [])] or ["true"]
        env = {**os.environ, **{e["name"]: str(e.get("value", "")) for e in container.spec.get("env") or []}}
        container.process = await asyncio.create_subprocess_exec(
            *argv, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
        )
        container.started_at = now()[:19] + "Z"
        pod.phase = "Running"
        self.bump(pod)
        self.event(pod, "Normal", "Started", f"Started container {container.name}")
        assert container.process.stdout is not None
        async for line in container.process.stdout:
            container.log.append(f"{now()} {line.decode(errors='replace').rstrip(chr(10))}\n")
            container.log_changed.set()
        code = await container.process.wait()
        if container.exit_code is None:  # an eviction may have set it already
            container.exit_code = code
            container.finished_at = now()[:19] + "Z"
        container.log_changed.set()
        self.bump(pod)

    async def evict(
        self,
        pod: Pod,
        reason: str = "Evicted",
        message: str = "The node was low on resource: memory. (evicted by the test)",
    ) -> None:
        """What the kubelet does under node pressure: kill the containers, fail the pod with ``reason``."""
        pod.phase, pod.reason = "Failed", reason
        pod.message = message
        for c in pod.containers:
            if c.exit_code is None:
                c.exit_code, c.reason, c.finished_at = 137, "Error", now()[:19] + "Z"
                if c.process and c.process.returncode is None:
                    c.process.kill()
        self.bump(pod)
        self.event(pod, "Warning", reason, pod.message)

    def delete(self, pod: Pod) -> None:
        for c in pod.containers:
            if c.process and c.process.returncode is None:
                c.process.kill()
        del self.pods[(pod.namespace, pod.name)]


class Api:
    """The HTTP handlers: Kubernetes routes plus the ``/_test`` control routes."""

    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster

    @web.middleware
    async def gate(self, request: web.Request, handler: Any) -> web.StreamResponse:
        if not request.path.startswith("/_test"):
            faults = self.cluster.faults
            self.cluster.requests.append(f"{request.method} {request.path_qs}")
            if faults["down"]:
                assert request.transport is not None
                request.transport.close()  # as a dead server's socket: no answer at all
                return web.Response(status=503)
            while faults["hang"]:  # connection open, no answer, until the test lifts the fault
                self.cluster.resumed.clear()
                await self.cluster.resumed.wait()
            if faults["latency_ms"]:
                await asyncio.sleep(faults["latency_ms"] / 1000)
            if self.cluster.token and request.headers.get("Authorization") != f"Bearer {self.cluster.token}":
                return status_body(401, "Unauthorized", "Unauthorized")
            for answer in faults["answers"]:
                if request.method == answer["method"] and request.path.startswith(answer["path"]):
                    code = int(answer["code"])
                    return status_body(code, REASONS.get(code, "Unknown"), str(answer.get("message", "")))
        response: web.StreamResponse = await handler(request)
        return response

    async def version(self, _: web.Request) -> web.Response:
        return web.json_response(
            {
                "major": "1",
                "minor": "31",
                "gitVersion": "v1.31.0-airflow-dataops-test",
                "gitCommit": "0" * 40,
                "gitTreeState": "clean",
                "buildDate": "2026-01-01T00:00:00Z",
                "goVersion": "go1.22.0",
                "compiler": "gc",
                "platform": "linux/amd64",
            }
        )

    async def list_nodes(self, _: web.Request) -> web.Response:
        items = [
            {
                "metadata": {"name": n["name"], "labels": n.get("labels", {})},
                "spec": {"taints": n.get("taints", [])},
                "status": {"allocatable": n["allocatable"], "capacity": n["allocatable"]},
            }
            for n in self.cluster.nodes
        ]
        return web.json_response({"kind": "NodeList", "apiVersion": "v1", "metadata": {}, "items": items})

    def pod_list(self, pods: list[Pod]) -> web.Response:
        body = {"kind": "PodList", "apiVersion": "v1", "metadata": {"resourceVersion": str(self.cluster.version)}}
        return web.json_response({**body, "items": [p.to_api() for p in pods]})

    async def list_all_pods(self, request: web.Request) -> web.Response:
        selector = request.query.get("labelSelector")
        return self.pod_list(
            [
                p
                for p in self.cluster.pods.values()
                if label_selector_matches(selector, p.manifest["metadata"].get("labels") or {})
            ]
        )

    async def list_pods(self, request: web.Request) -> web.Response:
        ns, selector = request.match_info["ns"], request.query.get("labelSelector")
        pods = [
            p
            for p in self.cluster.pods.values()
            if p.namespace == ns and label_selector_matches(selector, p.manifest["metadata"].get("labels") or {})
        ]
        return self.pod_list(pods)

    async def create_pod(self, request: web.Request) -> web.StreamResponse:
        if self.cluster.faults["drop_pod_creates"]:
            assert request.transport is not None
            request.transport.close()  # the connection dies mid-request, as with a cluster going down
            return web.Response(status=503)
        manifest = await request.json()
        ns = request.match_info["ns"]
        manifest.setdefault("metadata", {})["namespace"] = ns
        name = manifest["metadata"].get("name")
        if not name:
            return status_body(422, "Invalid", "Pod is invalid: metadata.name: Required value")
        if (ns, name) in self.cluster.pods:
            return status_body(409, "AlreadyExists", f'pods "{name}" already exists')
        self.cluster.version += 1
        containers = [Container(c["name"], c) for c in manifest.get("spec", {}).get("containers", [])]
        pod = Pod(manifest, str(uuid.uuid4()), now()[:19] + "Z", self.cluster.version, containers)
        self.cluster.pods[(ns, name)] = pod
        asyncio.get_running_loop().create_task(self.cluster.run(pod))
        return web.json_response(pod.to_api(), status=201)

    def find(self, request: web.Request) -> Pod | None:
        return self.cluster.pods.get((request.match_info["ns"], request.match_info["name"]))

    async def read_pod(self, request: web.Request) -> web.Response:
        pod = self.find(request)
        if pod is None:
            return status_body(404, "NotFound", f'pods "{request.match_info["name"]}" not found')
        return web.json_response(pod.to_api())

    async def patch_pod(self, request: web.Request) -> web.Response:
        pod = self.find(request)
        if pod is None:
            return status_body(404, "NotFound", f'pods "{request.match_info["name"]}" not found')
        patch = await request.json()
        labels = (patch.get("metadata") or {}).get("labels") or {}
        pod.manifest["metadata"].setdefault("labels", {}).update(labels)
        self.cluster.bump(pod)
        return web.json_response(pod.to_api())

    async def delete_pod(self, request: web.Request) -> web.Response:
        pod = self.find(request)
        if pod is None:
            return status_body(404, "NotFound", f'pods "{request.match_info["name"]}" not found')
        body = pod.to_api()
        self.cluster.delete(pod)
        return web.json_response(body)

    async def pod_log(self, request: web.Request) -> web.StreamResponse:
        pod = self.find(request)
        if pod is None:
            return status_body(404, "NotFound", f'pods "{request.match_info["name"]}" not found')
        name = request.query.get("container") or pod.containers[0].name
        container = next((c for c in pod.containers if c.name == name), None)
        if container is None:
            return status_body(400, "BadRequest", f"container {name} is not valid for pod {pod.name}")
        if container.started_at is None:
            return status_body(400, "BadRequest", f'container "{name}" in pod "{pod.name}" is waiting to start')
        timestamps = request.query.get("timestamps", "").lower() == "true"
        follow = request.query.get("follow", "").lower() == "true"
        since = request.query.get("sinceSeconds")
        cutoff = (
            (datetime.datetime.now(datetime.UTC) - datetime.timedelta(seconds=int(since))).strftime("%Y-%m-%dT%H:%M:%S")
            if since
            else ""
        )
        response = web.StreamResponse(headers={"Content-Type": "text/plain"})
        await response.prepare(request)
        self.cluster.streams[id(request)] = request
        try:
            await self._stream_log(response, container, cutoff, timestamps=timestamps, follow=follow)
        finally:
            self.cluster.streams.pop(id(request), None)
        return response

    async def _stream_log(
        self, response: web.StreamResponse, container: Container, cutoff: str, *, timestamps: bool, follow: bool
    ) -> None:
        sent = 0
        while True:
            while self.cluster.faults["hang"]:  # an open stream stalls too
                self.cluster.resumed.clear()
                await self.cluster.resumed.wait()
            container.log_changed.clear()
            for line in container.log[sent:]:
                if line[:19] >= cutoff:
                    await response.write((line if timestamps else line.split(" ", 1)[1]).encode())
            sent = len(container.log)
            done = container.exit_code is not None and sent == len(container.log)
            if not follow or done:
                break
            await container.log_changed.wait()
        await response.write_eof()

    async def list_events(self, request: web.Request) -> web.Response:
        ns, selector = request.match_info["ns"], request.query.get("fieldSelector", "")
        wanted = selector.split("=", 1)[1] if selector.startswith("involvedObject.name=") else None
        items = [
            e
            for e in self.cluster.events
            if e["metadata"]["namespace"] == ns and (wanted is None or e["involvedObject"]["name"] == wanted)
        ]
        return web.json_response({"kind": "EventList", "apiVersion": "v1", "metadata": {}, "items": items})

    async def set_faults(self, request: web.Request) -> web.Response:
        self.cluster.faults.update(await request.json())
        if not self.cluster.faults["hang"]:
            self.cluster.resumed.set()
        if self.cluster.faults["down"]:  # a dead server's open connections die with it
            for stream in list(self.cluster.streams.values()):
                if stream.transport is not None:
                    stream.transport.close()
        return web.json_response(self.cluster.faults)

    async def evict(self, request: web.Request) -> web.Response:
        name = (await request.json())["name"]
        pods = [p for p in self.cluster.pods.values() if p.name == name]
        for pod in pods:
            await self.cluster.evict(pod)
        return web.json_response({"evicted": [p.name for p in pods]})

    async def disrupt(self, request: web.Request) -> web.Response:
        """A lost node: the pod fails with ``reason`` (``NodeLost``) and a DisruptionTarget condition."""
        body = await request.json()
        pods = [p for p in self.cluster.pods.values() if p.name == body["name"]]
        for pod in pods:
            pod.extra_conditions.append(
                {"type": "DisruptionTarget", "status": "True", "reason": "DeletionByTaintManager"}
            )
            await self.cluster.evict(pod, body.get("reason", "NodeLost"), body.get("message", "node lost (test)"))
        return web.json_response({"disrupted": [p.name for p in pods]})

    async def preempt(self, request: web.Request) -> web.Response:
        """The scheduler preempts the pod for a higher-priority one: DisruptionTarget, killed, then deleted."""
        name = (await request.json())["name"]
        pods = [p for p in self.cluster.pods.values() if p.name == name]
        for pod in pods:
            pod.extra_conditions.append(
                {"type": "DisruptionTarget", "status": "True", "reason": "PreemptionByScheduler"}
            )
            await self.cluster.evict(pod, "Preempting", "preempted by a higher-priority pod (test)")
            await asyncio.sleep(0.5)
            if (pod.namespace, pod.name) in self.cluster.pods:
                self.cluster.delete(pod)
        return web.json_response({"preempted": [p.name for p in pods]})

    async def vanish(self, request: web.Request) -> web.Response:
        """Delete a pod behind the operator's back (``kubectl delete --force``): the API answers 404 after."""
        name = (await request.json())["name"]
        pods = [p for p in self.cluster.pods.values() if p.name == name]
        for pod in pods:
            self.cluster.delete(pod)
        return web.json_response({"deleted": [p.name for p in pods]})

    async def reset(self, _: web.Request) -> web.Response:
        self.cluster.faults.update(NO_FAULTS)
        self.cluster.resumed.set()
        for pod in list(self.cluster.pods.values()):
            self.cluster.delete(pod)
        self.cluster.events.clear()
        self.cluster.requests.clear()
        self.cluster.completed.clear()
        return web.json_response({})

    async def state(self, _: web.Request) -> web.Response:
        pods = [
            {
                "name": p.name,
                "namespace": p.namespace,
                "uid": p.uid,
                "phase": p.phase,
                "node": p.node,
                "labels": p.manifest["metadata"].get("labels", {}),
                "spec": p.manifest.get("spec", {}),
            }
            for p in self.cluster.pods.values()
        ]
        return web.json_response({"pods": pods, "requests": self.cluster.requests, "completed": self.cluster.completed})


def make_app(cluster: Cluster) -> web.Application:
    """The aiohttp app serving ``cluster``."""
    api = Api(cluster)
    app = web.Application(middlewares=[api.gate])
    pods = "/api/v1/namespaces/{ns}/pods"
    app.add_routes(
        [
            web.get("/version", api.version),
            web.get("/api/v1/nodes", api.list_nodes),
            web.get("/api/v1/pods", api.list_all_pods),
            web.get(pods, api.list_pods),
            web.post(pods, api.create_pod),
            web.get(pods + "/{name}", api.read_pod),
            web.patch(pods + "/{name}", api.patch_pod),
            web.delete(pods + "/{name}", api.delete_pod),
            web.get(pods + "/{name}/log", api.pod_log),
            web.get("/api/v1/namespaces/{ns}/events", api.list_events),
            web.post("/_test/faults", api.set_faults),
            web.post("/_test/evict", api.evict),
            web.post("/_test/disrupt", api.disrupt),
            web.post("/_test/preempt", api.preempt),
            web.post("/_test/vanish", api.vanish),
            web.get("/_test/state", api.state),
            web.post("/_test/reset", api.reset),
        ]
    )
    return app


async def serve(nodes: list[dict[str, Any]], token: str | None) -> None:
    """Listen on a free loopback port, announce it on stdout, serve until killed."""
    # Import the client's quantity parser now: importing it on the first pod would block the
    # event loop for seconds, and a real API server does not stop answering when a pod comes.
    quantity("1")
    runner = web.AppRunner(make_app(Cluster(nodes, token)), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    print(f"PORT {port}", flush=True)
    await asyncio.Event().wait()


def main() -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", required=True, help="JSON list of {name, labels, allocatable, taints}")
    parser.add_argument("--token", default=None, help="bearer token every request must carry")
    args = parser.parse_args()
    asyncio.run(serve(json.loads(args.nodes), args.token))


if __name__ == "__main__":
    main()
