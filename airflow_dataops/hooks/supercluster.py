"""SuperclusterHook: the supercluster as Airflow sees it (declaration, connections, live state).

A thin adapter over the pure core: it loads the declaration from the DAG bundle, checks
that every Kubernetes target's Airflow connection exists, asks every target's API for
its nodes and pods at once (the cncf provider's ``AsyncKubernetesHook``, so credentials
come from the connection exactly as for KubernetesPodOperator), and hands the result to
:func:`airflow_dataops.core.placement.decide`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from functools import cached_property
from pathlib import Path
from typing import Any

from airflow.sdk.bases.hook import BaseHook

from airflow_dataops.core.declaration import load_supercluster
from airflow_dataops.core.live_state import live_state_from_cluster
from airflow_dataops.core.placement import Decision, LiveState, Requirements, decide
from airflow_dataops.core.probing import Probe, ProbeCache, SharedProbeCache, probe_all
from airflow_dataops.core.supercluster import Supercluster, SuperclusterConfigError, Target

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
    from airflow.providers.common.compat.sdk import conf

    path = conf.get("dataops", "live_state_snapshot", fallback=None)
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
                self.get_connection(str(target.conn_id))
            except AirflowNotFoundException:
                raise SuperclusterConfigError(
                    target.name,
                    "conn_id",
                    f"the Airflow connection {target.conn_id!r} does not exist",
                    "create a connection of type 'kubernetes' with that id (UI, CLI or secrets backend), "
                    f"or fix conn_id in {self.declaration}",
                ) from None

    def live_states(self) -> dict[str, LiveState]:
        """Every Kubernetes target's live state, probed concurrently (cached for a few seconds).

        Each probe's latency goes to the ``dataops.probe.latency.<target>`` metric.
        """
        probes: dict[str, Probe] = {
            t.name: self._probe_for(t) for t in self.supercluster.targets if t.kind == "kubernetes"
        }
        if not probes:
            return {}
        cache = probe_cache()
        cache.refresh()
        asked = [name for name in probes if cache.get(name) is None]
        states = asyncio.run(probe_all(probes, timeout=self.probe_timeout, cache=cache))
        from airflow_dataops import observability

        for name in asked:  # a state answered from the cache was not a probe
            observability.probed(name, states[name].latency_ms, states[name].reachable)
        return states

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
        probes = {t.name: self._probe_for(t) for t in self.supercluster.targets if t.kind == "kubernetes"}
        states = asyncio.run(probe_all(probes, timeout=self.probe_timeout))
        for name, state in states.items():
            cache.put(name, state)
        cache.flush()
        return states

    def _probe_for(self, target: Target) -> Probe:
        async def probe() -> LiveState:
            from airflow.providers.cncf.kubernetes.hooks.kubernetes import AsyncKubernetesHook
            from kubernetes_asyncio.client import CoreV1Api

            hook = AsyncKubernetesHook(conn_id=target.conn_id)
            async with hook.get_conn() as api:
                v1 = CoreV1Api(api)
                nodes, pods = await asyncio.gather(
                    v1.list_node(),
                    v1.list_pod_for_all_namespaces(field_selector="status.phase!=Succeeded,status.phase!=Failed"),
                )
                plain: Any = api.sanitize_for_serialization
                return live_state_from_cluster(target, plain(nodes)["items"], plain(pods)["items"])

        return probe
