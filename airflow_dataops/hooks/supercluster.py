"""SuperclusterHook: the supercluster as Airflow sees it (declaration, connections, live state).

A thin adapter over the pure core: it loads the declaration from the DAG bundle, checks
that every Kubernetes target's Airflow connection exists, asks every target's API for
its nodes and pods at once (the cncf provider's ``AsyncKubernetesHook``, so credentials
come from the connection exactly as for KubernetesPodOperator), and hands the result to
:func:`airflow_dataops.core.placement.decision.decide`.
"""

from __future__ import annotations

import asyncio
import importlib
import json
from collections.abc import Awaitable, Sequence
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airflow.sdk.bases.hook import BaseHook

from airflow_dataops.core.fast_yaml import safe_load
from airflow_dataops.core.placement.decision import Decision, LiveState, Requirements, decide
from airflow_dataops.core.placement.declaration import load_supercluster, load_supercluster_leniently
from airflow_dataops.core.placement.live_state import live_state_from_cluster
from airflow_dataops.core.placement.supercluster import Supercluster, SuperclusterConfigError, Target
from airflow_dataops.runtime.probing import Probe, ProbeCache, SharedProbeCache, probe_all

if TYPE_CHECKING:
    from airflow.sdk import Connection

PROBE_TTL = 10.0
# One cache per worker process: tasks starting together on a worker share one probe.
_CACHE = ProbeCache(ttl=PROBE_TTL)
_SHARED: dict[str, SharedProbeCache] = {}


def probe_cache() -> ProbeCache:
    """The cache decisions read: the machine's shared file when ``[dataops] live_state_snapshot`` names one.

    With the file, every process of the worker machine shares the answers, and
    ``airflow dataops probe --every N`` keeps them fresh so that a decision reads the file
    instead of probing the clusters.
    """
    from airflow_dataops.config import option

    path = option("live_state_snapshot")
    if not path:
        return _CACHE
    if path not in _SHARED:
        _SHARED[path] = SharedProbeCache(path, ttl=PROBE_TTL)
    return _SHARED[path]


class SuperclusterHook(BaseHook):
    """Load a supercluster declaration, probe its targets concurrently and decide placements.

    :param declaration: path of the ``supercluster.yaml`` to use.
    :param probe_timeout: seconds each target's API has to answer before it counts as unreachable.
    """

    hook_name = "Supercluster"

    def __init__(self, declaration: str | Path, *, probe_timeout: float = 5.0) -> None:
        super().__init__()
        self.declaration = Path(declaration)
        self.probe_timeout = probe_timeout
        self._connections: dict[str, Connection] = {}

    def connection(self, conn_id: str) -> Connection:
        """The Airflow connection ``conn_id``, fetched once per hook (a task's check and probe share it)."""
        if conn_id not in self._connections:
            self._connections[conn_id] = self.get_connection(conn_id)
        return self._connections[conn_id]

    @cached_property
    def supercluster(self) -> Supercluster:
        """The validated declaration."""
        return load_supercluster(self.declaration)

    def check_connections(self) -> None:
        """Fail before anything runs if a Kubernetes target names a connection that does not exist."""
        from airflow.sdk.exceptions import AirflowNotFoundException

        for target in self.supercluster.targets:
            if target.kind != "kubernetes":
                continue
            try:
                self.connection(str(target.conn_id))
            except AirflowNotFoundException:
                raise SuperclusterConfigError(
                    target.name,
                    "conn_id",
                    f"the Airflow connection {target.conn_id!r} does not exist",
                    "create a connection of type 'kubernetes' with that id (UI, CLI or secrets backend), "
                    f"or fix conn_id in {self.declaration}",
                ) from None

    def test_connection(self) -> tuple[bool, str]:
        """Whether the supercluster can place work: the declaration loads and every target's connection exists.

        Every problem is reported at once (all of the declaration's errors, every missing
        connection), as the CI check does. On success each Kubernetes target is probed
        once, bypassing the cache, and the message says which answer: a target that is down
        does not fail the test, since placement fails over around it, but it is named.
        """
        found, errors = load_supercluster_leniently(self.declaration)
        if errors:
            return False, f"{self.declaration}: " + "; ".join(str(error) for error in errors)
        assert found is not None  # no error means at least one valid target
        from airflow.sdk.exceptions import AirflowNotFoundException

        kubernetes = [t for t in found.targets if t.kind == "kubernetes"]
        missing = []
        for target in kubernetes:
            try:
                self.connection(str(target.conn_id))
            except AirflowNotFoundException:
                missing.append(f"target {target.name!r} names the connection {target.conn_id!r}, which does not exist")
        if missing:
            return False, (
                "; ".join(missing) + ". Fix: create a connection of type 'kubernetes' with that id, "
                f"or fix conn_id in {self.declaration}"
            )
        probes: dict[str, Probe] = {t.name: self._probe_for(t) for t in kubernetes}
        if probes:  # the clients' import (seconds when cold) must not count as the targets' time to answer
            for module in ("kubernetes_asyncio.client", "airflow.providers.cncf.kubernetes.hooks.kubernetes"):
                importlib.import_module(module)
        states = asyncio.run(probe_all(probes, timeout=self.probe_timeout)) if probes else {}
        answers = [
            f"{name} answers" if state.reachable else f"{name} does not answer ({state.error})"
            for name, state in states.items()
        ]
        summary = f"{len(found.targets)} targets, every connection exists"
        return True, f"{self.declaration}: {summary}" + (f"; {', '.join(answers)}" if answers else "")

    def live_states(self) -> dict[str, LiveState]:
        """Every Kubernetes target's live state, probed concurrently (cached for a few seconds).

        Each probe's latency goes to the ``dataops.probe.latency.<target>`` metric.
        """
        kubernetes = [t for t in self.supercluster.targets if t.kind == "kubernetes"]
        if not kubernetes:
            return {}
        cache = probe_cache()
        cache.refresh()
        known = {t.name: state for t in kubernetes if (state := cache.get(t.name)) is not None}
        # Only the targets the cache cannot answer are probed (and their connections fetched).
        probes: dict[str, Probe] = {t.name: self._probe_for(t) for t in kubernetes if t.name not in known}
        probed = asyncio.run(probe_all(probes, timeout=self.probe_timeout, cache=cache)) if probes else {}
        from airflow_dataops import observability

        for name, state in probed.items():
            observability.probed(name, state.latency_ms, state.reachable)
        return {t.name: known[t.name] if t.name in known else probed[t.name] for t in kubernetes}

    @staticmethod
    def forget(target: str) -> None:
        """Drop a target's cached state, e.g. after it failed a pod."""
        probe_cache().invalidate(target)

    def decide(self, requirements: Requirements, policies: Sequence[str], preference: Sequence[str] = ()) -> Decision:
        """Probe, then rank the targets for ``requirements``.

        ``spread`` counts, per target, this provider's pods the probe saw there (pending or
        running, by their ``airflow-dataops/target`` label): the live measure of where
        recent placements went, shared by every worker without any bookkeeping of ours.
        """
        live = self.live_states()
        recent = {name: state.running_tasks for name, state in live.items()}
        return decide(
            self.supercluster, requirements, live=live, policies=policies, preference=preference, recent=recent
        )

    def refresh_live_states(self) -> dict[str, LiveState]:
        """Probe every Kubernetes target now, whatever the cache holds, and store the answers in it."""
        cache = probe_cache()
        self._connections.clear()  # a long-running prober picks up changed credentials every round
        probes = {t.name: self._probe_for(t) for t in self.supercluster.targets if t.kind == "kubernetes"}
        states = asyncio.run(probe_all(probes, timeout=self.probe_timeout))
        for name, state in states.items():
            cache.put(name, state)
        cache.flush()
        return states

    def _probe_for(self, target: Target) -> Probe:
        # Fetched before the event loop runs: a task gets connections from its supervisor
        # synchronously, which must not happen inside a running loop.
        problem: Exception | None = None
        extra: dict[str, Any] = {}
        try:
            extra = self.connection(str(target.conn_id)).extra_dejson
        except Exception as error:  # reported as this target's reason, as any failed probe is
            problem = error

        async def probe() -> LiveState:
            from airflow.providers.cncf.kubernetes.hooks.kubernetes import AsyncKubernetesHook
            from kubernetes_asyncio.client import CoreV1Api

            if problem is not None:
                raise problem
            extras, kubeconfig = _split_inline_kubeconfig(extra)
            # The parent's own ``config_dict`` and ``connection_extras`` arguments: given the
            # connection, it neither fetches it again nor writes the kubeconfig to a file to parse back.
            hook = AsyncKubernetesHook(conn_id=target.conn_id, config_dict=kubeconfig, connection_extras=extras)
            async with hook.get_conn() as api:
                v1 = CoreV1Api(api)
                # The API's JSON as is: no client models built only to be turned back into data
                # (a cluster of thousands of pods would spend seconds on that).
                nodes, pods = await asyncio.gather(
                    _items(v1.list_node(_preload_content=False)),
                    _items(
                        v1.list_pod_for_all_namespaces(
                            field_selector="status.phase!=Succeeded,status.phase!=Failed", _preload_content=False
                        )
                    ),
                )
                return live_state_from_cluster(target, nodes, pods)

        return probe


class KubernetesApiRefusal(Exception):
    """A target's API answered the probe with an error status; the message says what to fix."""


_REFUSAL_FIXES = {
    401: "check the token or client certificate in the connection's kubeconfig",
    403: "the connection's user needs 'list' on nodes and on pods in all namespaces",
}


async def _items(listing: Awaitable[Any]) -> list[dict[str, Any]]:
    """The ``items`` of a Kubernetes list call made with ``_preload_content=False``.

    The client checks the status only when it reads the body itself, so this does, with a
    short reason for the decision's explanation (a 403 from narrow RBAC, an expired token).
    """
    response = await listing
    try:
        body = await response.read()
    finally:
        response.release()
    if not 200 <= response.status <= 299:
        try:
            said = json.loads(body).get("message", "")
        except ValueError:
            said = body[:200].decode(errors="replace")
        fix = _REFUSAL_FIXES.get(response.status)
        raise KubernetesApiRefusal(
            f"the API answered {response.status} {response.reason}: {said}" + (f"; {fix}" if fix else "")
        )
    items: list[dict[str, Any]] = json.loads(body)["items"]
    return items


def _split_inline_kubeconfig(extras: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """A kubernetes connection's extras without its inline ``kube_config``, and that kubeconfig as a dict.

    Why: a decision probes every target at once, from a task process that starts cold.
    Given an inline kubeconfig, ``AsyncKubernetesHook`` writes it to a temporary file and
    reads it back with PyYAML's pure-Python loader, some 5 ms of CPU per target that the
    event loop spends one target after the other. The connection's extras already hold
    it as JSON (a dict) or as a string; a string is read as JSON, else as YAML.
    """
    rest = dict(extras)
    inline = None
    for key in ("kube_config", "extra__kubernetes__kube_config"):
        value = rest.pop(key, None)
        if value is not None and inline is None:
            inline = value
    if inline is None or isinstance(inline, dict):
        return rest, inline
    try:
        loaded = json.loads(inline)
    except ValueError:
        loaded = safe_load(inline)
    if not isinstance(loaded, dict):
        raise ValueError("the connection's kube_config is not a kubeconfig mapping; paste the kubeconfig file as is")
    return rest, loaded
