"""SuperclusterPodOperator: a KubernetesPodOperator whose cluster is a decision, with failover.

It is the cncf ``KubernetesPodOperator`` (same arguments, pod, logs, XCom sidecar,
``on_finish_action``, deferrable mode) plus placement: at execute time it sizes the pod,
probes the supercluster's targets, ranks them (:mod:`airflow_dataops.core.placement.decision`),
logs the decision and pushes it to XCom (key ``placement``), then runs the pod on the
chosen target through the parent's own code. It only overrides seams:

- ``build_pod_request_obj``: applies the target's overrides (namespace, service
  account, env, image registry mirror) and labels the pod with its target;
- ``get_or_create_pod``: records target, pod name and uid in the task state store, so
  a retry goes back to the same pod on the same cluster (matched by uid);
- ``hook`` / ``client`` / ``pod_manager``: built for the chosen target's connection (as
  the cncf GKE and EKS operators build ``hook`` for their cluster), with a deadline on
  every call and a circuit breaker (:mod:`airflow_dataops.operators._failover`);
- ``post_complete_action``: the parent's clean-up, except while the try is failing over
  (it would retry every call against the failing target; ours deletes the pod once);
- ``execute`` / ``trigger_reentry``: choose (or restore) the target and fail over on a
  fault of the target.

Failover happens when the cluster, not the task, failed: its API is unreachable, hangs
or answers a server error, refuses the create (403 quota, 409, 5xx), the pod is not
scheduled within ``schedule_timeout_seconds``, its image cannot be pulled there, or the
pod is evicted, preempted, loses its node or vanishes (404) (the fault matrix:
docs/meta-orchestrator.md). The operator deletes what it left on that target and runs on
the next candidate, at most ``max_failovers`` times. A pod whose own command fails is
never moved. The ``local`` target runs the pod's command on the worker
(:mod:`airflow_dataops.runtime.local_runner`).
"""

from __future__ import annotations

import json
import os
import sys
import threading
from collections.abc import Mapping, Sequence
from dataclasses import fields
from functools import cached_property, lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, cast

from airflow.providers.cncf.kubernetes.hooks.kubernetes import KubernetesHook
from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator
from airflow.providers.cncf.kubernetes.utils.pod_manager import PodManager

# The parent imports the kubernetes client at module level: these add nothing to a DAG's parse.
from kubernetes import client as k8s_client  # noqa: TID253
from kubernetes.client.exceptions import ApiException  # noqa: TID253
from urllib3.exceptions import HTTPError
from urllib3.util.retry import Retry

from airflow_dataops.core import facts
from airflow_dataops.core.placement.arguments import PlacementArgs
from airflow_dataops.core.placement.names import TARGET_LABEL
from airflow_dataops.links.supercluster import MlflowRunLink, SuperclusterTargetLink
from airflow_dataops.operators._failover import Breaker, TargetFault, bounded, status_fault
from airflow_dataops.operators._openlineage import OpenLineageFacets
from airflow_dataops.operators._templating import invalid, is_templated, shown, structure_from_text

if TYPE_CHECKING:
    from datetime import timedelta

    from airflow.sdk import Context, XComArg
    from airflow.triggers.base import BaseTrigger
    from kubernetes.client import CoreV1Api
    from kubernetes.client import models as k8s
    from kubernetes.client.models import V1Pod

    from airflow_dataops.core.placement.decision import Decision
    from airflow_dataops.core.placement.supercluster import Target
    from airflow_dataops.hooks.supercluster import SuperclusterHook
    from airflow_dataops.observability import Notifiers
    from airflow_dataops.runtime.local_runner import LocalProcess

DEFAULT_DECLARATION = "supercluster.yaml"


# The arguments SuperclusterPodOperator takes on top of KubernetesPodOperator's.
_PLACEMENT_FIELDS = frozenset(field.name for field in fields(PlacementArgs))
_PLACEMENT_KWARGS = _PLACEMENT_FIELDS | {"reads", "on_failover_callback"}
# The fields kept as tuples (a task may pass lists): those whose default is a tuple.
_SEQUENCE_FIELDS = tuple(field.name for field in fields(PlacementArgs) if isinstance(field.default, tuple))
# Each target's connection supplies these: a task must not pin them.
_CHOSEN_PER_TARGET = ("kubernetes_conn_id", "in_cluster", "config_file", "cluster_context")


def _refuse_per_target_arguments(given: Mapping[str, Any]) -> None:
    for name in _CHOSEN_PER_TARGET:
        if given.get(name) is not None:
            raise ValueError(
                f"SuperclusterPodOperator chooses the cluster, so '{name}' cannot be set on "
                f"task {given.get('task_id')!r}; declare the connection as a target in supercluster.yaml"
            )


@lru_cache(maxsize=1024)
def _shared_placement_args(items: tuple[tuple[str, Any], ...]) -> PlacementArgs:
    """One frozen ``PlacementArgs`` per distinct set of arguments (the tasks of a DAG mostly share one)."""
    return PlacementArgs(**dict(items))


def _placement_args(task_id: object, given: dict[str, Any]) -> PlacementArgs:
    """The validated placement arguments, the error naming the task (``given`` is consumed)."""
    if not given:
        return _shared_placement_args(())
    try:
        for name in _SEQUENCE_FIELDS:
            value = given.get(name)
            if value is not None:
                if isinstance(value, str):
                    raise ValueError(f"{name} must be a list of names, got the string {value!r}; write [{value!r}]")
                given[name] = tuple(value)
        key = tuple(sorted(given.items()))
        try:
            hash(key)
        except TypeError:  # an unhashable value: no sharing, PlacementArgs names what is wrong
            return PlacementArgs(**given)
        return _shared_placement_args(key)
    except (TypeError, ValueError) as error:
        raise ValueError(f"task {task_id!r}: {error}") from None


def _placement_defaults(task: KubernetesPodOperator, task_default_args: Any) -> dict[str, Any]:
    """The placement arguments that ``default_args`` (DAG, task group, task) give, merged as Airflow merges them."""
    dag, group = task.get_dag(), task.task_group
    if not (task_default_args or (dag and dag.default_args) or (group and group.default_args)):
        return {}
    layers = (dag.default_args if dag else None, group.default_args if group else None, task_default_args)
    if all(not layer or _PLACEMENT_KWARGS.isdisjoint(layer) for layer in layers):
        return {}
    from airflow.sdk.bases.operator import get_merged_defaults

    merged, _ = get_merged_defaults(dag=dag, task_group=group, task_params=None, task_default_args=task_default_args)
    return {name: merged[name] for name in _PLACEMENT_KWARGS.intersection(merged)}


def _declaration_of(placement: PlacementArgs, dag_file: str) -> Path:
    """The declaration a task reads: its ``supercluster=``, the environment's, or the default, beside the DAG."""
    path = Path(placement.supercluster or os.environ.get("AIRFLOW_DATAOPS_SUPERCLUSTER") or DEFAULT_DECLARATION)
    return path if path.is_absolute() else Path(dag_file).parent / path


@lru_cache(maxsize=64)
def _declared_targets(path: Path, mtime_ns: int) -> tuple[str, ...] | None:
    """The target names of the declaration at ``path`` (cached per version), ``None`` if it does not load."""
    from airflow_dataops.core.placement.declaration import load_supercluster_leniently

    found, _ = load_supercluster_leniently(path)
    return tuple(t.name for t in found.targets) if found is not None else None


def unknown_targets(task_id: str, placement: PlacementArgs, names: Sequence[str], declaration: Path) -> None:
    """Refuse a placement argument that names a target the declaration does not have."""
    unknown = [name for name in placement.preference if name not in names]
    if unknown:
        from airflow_dataops.core.errors import InvalidInputError

        raise InvalidInputError(
            f"task {task_id!r}",
            "preference",
            f"{', '.join(map(repr, unknown))} {'is' if len(unknown) == 1 else 'are'} not a target of {declaration}",
            f"use the names of its targets: {', '.join(names)}",
        )


def _check_named_targets(task: SuperclusterPodOperator) -> None:
    """At DAG parse: the targets named in ``preference`` exist, if the declaration is already there to read.

    The declaration is read at run time from beside the DAG file; when it is present at
    parse time (the usual bundle layout), a typo fails the parse instead of being ignored.
    """
    dag = task.get_dag()
    fileloc = getattr(dag, "fileloc", None)
    if not fileloc:
        return
    path = _declaration_of(task.placement, fileloc)
    try:
        mtime_ns = path.stat().st_mtime_ns
    except OSError:
        return  # not there yet: checked when the task runs
    names = _declared_targets(path, mtime_ns)
    if names is not None:
        unknown_targets(task.task_id, task.placement, names, path)


def _delete_pod(client: Any, name: str, namespace: str) -> str | None:
    """Delete a pod with one bounded call: what happened, or ``None`` if its target did not answer."""
    from airflow_dataops.operators._failover import api_status

    try:
        client.delete_namespaced_pod(name, namespace, grace_period_seconds=0)
    except Exception as error:  # the target may be the thing that is down
        if api_status(error) == 404:
            return f"pod {name} already gone"
        if api_status(error) is None:
            return None
        return f"pod {name} not deleted ({api_status(error)} from the API)"
    return f"pod {name} deleted"


def _image_digest(pod: Any, container: str) -> str | None:
    """The content digest (``sha256:...``) of the image ``container`` ran, as the kubelet reported it.

    A tag can be moved to another image; the digest in the pod status names the exact one
    that ran (``imageID``, e.g. ``docker.io/library/python@sha256:...``).
    """
    statuses = getattr(getattr(pod, "status", None), "container_statuses", None) or ()
    for status in statuses:
        image_id = getattr(status, "image_id", None) or ""
        if status.name == container and "@" in image_id:
            return str(image_id.rsplit("@", 1)[1])
    return None


class FailoverExhaustedError(RuntimeError):
    """Every candidate target was tried and each one failed the pod."""


class SuperclusterPodOperator(OpenLineageFacets, KubernetesPodOperator):
    """Run a pod on the best target of the supercluster, explain why, and fail over.

    Accepts every argument of ``KubernetesPodOperator`` except ``kubernetes_conn_id``,
    ``in_cluster``, ``config_file`` and ``cluster_context``, which each target's
    connection supplies. Placement arguments:

    :param supercluster: path of the declaration; relative paths are resolved against
        the DAG file's folder. Default: ``supercluster.yaml`` beside the DAG.
    :param policies: placement policies, most important first (any of
        ``cheapest``, ``fastest_start``, ``data_local``, ``preference``, ``spread``).
    :param preference: target names in order, for the ``preference`` policy.
    :param gpu_type: GPU type the pod needs (the count comes from its resource requests).
    :param features: pool features the pod needs, e.g. ``["quantum:braket"]``.
    :param reads: URIs of the data the task reads, for ``data_local``. (templated)
    :param allowed_regions: regions the pod may run in (empty: any).
    :param max_hourly_price: the most the pod may cost per hour on a target.
    :param team: the team the task runs for, checked against target entitlements.
    :param max_failovers: how many times to move to the next candidate after a disruption.
    :param probe_timeout: seconds a target's API has to connect and answer, for the probe
        and for every call of the run: a target that does not is failed over.
    :param on_failover_callback: a notifier (e.g. ``SlackNotifier``), a callable taking the
        context, or a list of them, called each time a target fails the pod, with the
        event under ``dataops_event`` in the context (failed and next target, fault). A
        failing notifier is logged and never fails the task.
    """

    _openlineage_builder = "pod_lineage"
    operator_extra_links = (SuperclusterTargetLink(), MlflowRunLink())

    template_fields: Sequence[str] = (*KubernetesPodOperator.template_fields, "reads")
    # Class-level defaults so that tasks routed by the cluster policy (whose __init__ was
    # the parent's) have them too, and no task pays for them at parse time.
    _target: Target | None = None
    #: Targets given up on during this try, with the fault (set when the try starts).
    _failovers: tuple[dict[str, str], ...] = ()
    #: Pods of failed targets not deleted yet (target unreachable): (target, name, namespace).
    _left_behind: tuple[tuple[Target, str, str], ...] = ()
    _local: LocalProcess | None = None
    #: The current target's hook, client and pod manager (see the ``hook`` seam).
    _seams: dict[str, Any] | None = None
    on_failover_callback: Notifiers = None
    #: Validated placement arguments and the URIs the task reads (set when the task is built).
    placement: PlacementArgs
    #: As given until rendered: a list, a Jinja string or an XComArg (read with ``_rendered_reads``).
    reads: Sequence[str] | str | XComArg

    def __init__(
        self,
        *,
        supercluster: str | None = None,
        policies: Sequence[str] = ("cheapest",),
        preference: Sequence[str] = (),
        gpu_type: str | None = None,
        features: Sequence[str] = (),
        reads: Sequence[str] | str | XComArg = (),
        allowed_regions: Sequence[str] = (),
        max_hourly_price: float | None = None,
        team: str | None = None,
        max_failovers: int = 2,
        probe_timeout: float = 5.0,
        on_failover_callback: Notifiers = None,
        **kwargs: Any,
    ) -> None:
        # Placement arguments in default_args reach this signature through Airflow's apply_defaults.
        _refuse_per_target_arguments(kwargs)
        super().__init__(**kwargs)
        placement = {
            "supercluster": supercluster,
            "policies": policies,
            "preference": preference,
            "gpu_type": gpu_type,
            "features": features,
            "allowed_regions": allowed_regions,
            "max_hourly_price": max_hourly_price,
            "team": team,
            "max_failovers": max_failovers,
            "probe_timeout": probe_timeout,
        }
        self._take_placement(self, {**placement, "reads": reads, "on_failover_callback": on_failover_callback})
        if self.placement.preference:
            _check_named_targets(self)

    @classmethod
    def route(
        cls, task: KubernetesPodOperator, *, reads: Sequence[str] | str | XComArg = (), **placement: Any
    ) -> SuperclusterPodOperator:
        """Turn an existing KubernetesPodOperator task into a routed one, in place (for cluster policies).

        Its own ``kubernetes_conn_id`` is then ignored: the targets' connections are used.
        Placement arguments in the DAG's or task group's ``default_args`` (e.g. an
        ``on_failover_callback``) apply to it too; those given here win.
        """
        return cls._adopt(task, {**_placement_defaults(task, None), **placement, "reads": reads})

    @classmethod
    def _adopt(cls, task: KubernetesPodOperator, given: dict[str, Any]) -> SuperclusterPodOperator:
        """Give a built KubernetesPodOperator task this class and its placement arguments."""
        # BaseOperator's attribute bookkeeping has nothing to record for the class itself.
        object.__setattr__(task, "__class__", cls)
        adopted: SuperclusterPodOperator = task  # type: ignore[assignment]
        cls._take_placement(adopted, given)
        return adopted

    @staticmethod
    def _take_placement(task: SuperclusterPodOperator, given: dict[str, Any]) -> None:
        """Validate and keep the placement arguments (``reads`` and the failover callback apart).

        Also clears what would pin one cluster, wherever it came from (a routed task's own
        arguments, ``default_args``): the parent's hook lets these win over the connection.
        """
        if task.in_cluster is not None or task.config_file is not None or task.cluster_context is not None:
            task.in_cluster = task.config_file = task.cluster_context = None
        reads = given.pop("reads", None)
        callback = given.pop("on_failover_callback", None)
        # BaseOperator.__setattr__ records init arguments and the upstream tasks of XComArgs
        # in template fields: plain strings and a frozen dataclass give it nothing to record.
        object.__setattr__(task, "placement", _placement_args(task.task_id, given))
        if isinstance(reads, str) or is_templated(reads):  # a list only once rendered (_rendered_reads)
            task.reads = reads  # an XComArg's producer becomes upstream
        else:
            reads = list(reads) if reads else []
            object.__setattr__(task, "reads", reads)
        if callback is not None:  # the class default otherwise
            object.__setattr__(task, "on_failover_callback", callback)

    # ----------------------------------------------------------------- seams of the parent

    # The parent's ``hook``, ``client`` and ``pod_manager`` are cached for the life of the
    # task; ours belong to the current target: a failover starts from fresh ones, whatever
    # the parent caches. ``del`` is the parent's credential refresh (``_refresh_cached_properties``).

    def _seam(self, name: str) -> Any:
        seams = self._seams
        if seams is None:
            seams = self._seams = {}
        if name not in seams:
            if name == "hook":
                seams[name] = self._target_hook()
            elif name == "client":
                # The parent's own construction (its client callbacks included), over our hook.
                seams[name] = cast("cached_property[CoreV1Api]", KubernetesPodOperator.client).func(self)
            else:
                seams[name] = TargetPodManager(kube_client=self.client, callbacks=self.callbacks)
        return seams[name]

    def _drop_seam(self, name: str) -> None:
        if self._seams is not None:
            self._seams.pop(name, None)

    @property
    def hook(self) -> TargetHook:
        """The cncf ``KubernetesHook`` for the chosen target's connection, with deadlines on every call."""
        hook: TargetHook = self._seam("hook")
        return hook

    @hook.deleter
    def hook(self) -> None:
        self._drop_seam("hook")

    @property
    def client(self) -> CoreV1Api:
        """The ``CoreV1Api`` of the current target (built by the parent's own code, over our hook)."""
        client: CoreV1Api = self._seam("client")
        return client

    @client.deleter
    def client(self) -> None:
        self._drop_seam("client")

    @property
    def pod_manager(self) -> TargetPodManager:
        """The parent's ``PodManager`` for the current target, creating a pod once (failover is the retry)."""
        manager: TargetPodManager = self._seam("pod_manager")
        return manager

    @pod_manager.deleter
    def pod_manager(self) -> None:
        self._drop_seam("pod_manager")

    def _target_hook(self) -> TargetHook:
        target = self._target
        if target is None:  # sizing the pod before any target is chosen: no connection
            return TargetHook(None, target="(none)", deadline=self.placement.probe_timeout)
        return TargetHook(target.conn_id, target=target.name, deadline=self.placement.probe_timeout)

    def post_complete_action(
        self, *, pod: k8s.V1Pod, remote_pod: k8s.V1Pod, context: Context, result: dict[Any, Any] | None, **kwargs: Any
    ) -> None:
        """The parent's clean-up, unless this try is failing over because of the target.

        Then the parent would read, patch and delete the pod on the failing target, each call
        retried and logged with a traceback; :meth:`_give_up_on` deletes it once instead.
        """
        from airflow_dataops.operators._failover import fault_of

        failing = sys.exc_info()[1]  # called from the parent's ``finally``: the error on its way out
        if failing is not None and self._target is not None and fault_of(failing, None) is not None:
            return
        super().post_complete_action(pod=pod, remote_pod=remote_pod, context=context, result=result, **kwargs)

    def build_pod_request_obj(self, context: Context | None = None, *, dry_run: bool = False) -> k8s.V1Pod:
        """The parent's pod, adapted to the chosen target (its overrides and a target label)."""
        pod = super().build_pod_request_obj(context, dry_run=dry_run)
        if self._target is not None:
            from airflow_dataops.operators._pod_overrides import apply_overrides

            apply_overrides(pod, self._target)
        return pod

    def get_or_create_pod(self, pod_request_obj: k8s.V1Pod, context: Context) -> k8s.V1Pod:
        """The parent's create-or-reattach, then remember which target and pod uid this try uses."""
        pod = super().get_or_create_pod(pod_request_obj, context)
        remote = self.pod_manager.read_pod(pod)
        self._remember(context, remote)
        return pod

    # ----------------------------------------------------------------- execute

    def execute(self, context: Context) -> Any:
        """Decide where the pod runs (or go back to the pod a previous try left running), then run it."""
        hook = self._supercluster_hook(context)
        self.name = self._set_name(self.name)
        self._target = None  # no connection until a target is chosen: the pod is sized without any cluster
        self._seams = None
        self._failovers = ()
        resumed = self._reattach(hook, context)
        if resumed is not None:
            target, pod = resumed
            return self._run_with_failover(hook, context, [target], start=0, reattach_to=pod)
        decision = self._decide(hook, context)
        order = [hook.supercluster.target(c.target) for c in decision.candidates]
        return self._run_with_failover(hook, context, order[: self.placement.max_failovers + 1], start=0)

    def _run_with_failover(
        self,
        hook: SuperclusterHook,
        context: Context,
        order: list[Target],
        *,
        start: int,
        reattach_to: k8s.V1Pod | None = None,
    ) -> Any:
        """Run on ``order[start]``; on a fault of the target clean up there and go on with the next one.

        Each attempt runs the parent's ``execute`` from a clean slate: no pod, no pod request,
        fresh clients for the attempt's target.
        """
        from airflow_dataops.operators._failover import fault_of

        for attempt in range(start, len(order)):
            target = order[attempt]
            self._use(target, context, order, attempt)
            if attempt == start and reattach_to is not None:
                self.pod = reattach_to  # the parent skips creation when it already has a pod
            try:
                if target.kind == "local":
                    result = self._run_locally(context)
                elif self.deferrable:
                    result = super().execute(context)
                else:
                    with Heartbeat(self.hook.api_client):
                        result = super().execute(context)
            except Exception as error:
                fault = fault_of(error, self._latest(self.remote_pod or self.pod))
                if fault is None:
                    raise
                self._give_up_on(hook, context, target, fault, order, attempt, error)
            else:
                self._record_outcome(context, target)
                return result
        raise AssertionError("unreachable: the loop returns or raises")  # pragma: no cover

    def trigger_reentry(self, context: Context, event: dict[str, Any]) -> Any:
        """Resume on the target the pod was deferred on; fail over if the target failed the pod."""
        from airflow_dataops.operators._failover import fault_of_event

        hook = self._supercluster_hook(context)
        order = [hook.supercluster.target(name) for name in event.get("dataops_order", [])]
        attempt = int(event.get("dataops_attempt", 0))
        target = order[attempt]
        # The failovers of this try before it deferred, as they happened (echoed in the event).
        self._failovers = tuple(dict(f) for f in event.get("dataops_failovers") or ())
        self._use(target, context, order, attempt)
        try:
            result = super().trigger_reentry(context, event)
        except Exception as error:
            fault = fault_of_event(event, error, self._latest(self.pod))
            if fault is None:
                raise
            self._give_up_on(hook, context, target, fault, order, attempt, error)
            return self._run_with_failover(hook, context, order, start=attempt + 1)
        self._record_outcome(context, target)
        return result

    def defer(
        self,
        *,
        trigger: BaseTrigger,
        method_name: str,
        kwargs: dict[str, Any] | None = None,
        timeout: timedelta | float | None = None,
    ) -> NoReturn:
        """Defer as the parent decided, through a trigger the triggerer imports without the kubernetes clients.

        Importing the cncf ``KubernetesPodTrigger`` takes seconds, on the triggerer's event
        loop; :class:`~airflow_dataops.triggers.thread_imported.ThreadImportedTrigger`
        imports it in a thread and then runs it unchanged.
        """
        from airflow_dataops.triggers.thread_imported import ThreadImportedTrigger

        super().defer(
            trigger=ThreadImportedTrigger.wrapping(trigger), method_name=method_name, kwargs=kwargs, timeout=timeout
        )

    def on_kill(self) -> None:
        """Stop a local process, or delete the pod through the parent."""
        if self._local is not None:
            self._local.kill()
            return
        super().on_kill()

    # ----------------------------------------------------------------- helpers

    def _supercluster_hook(self, context: Context) -> SuperclusterHook:
        from airflow_dataops.hooks.supercluster import SuperclusterHook

        hook = SuperclusterHook(self._declaration_path(context), probe_timeout=self.placement.probe_timeout)
        hook.check_connections()
        return hook

    def _rendered_reads(self) -> list[str]:
        """``reads`` once rendered: a list, a list rendered to text (``"['s3://a', ...]"``), or one URI."""
        value = structure_from_text(self.reads)
        if isinstance(value, str):
            value = [value] if value.strip() else []
        if not isinstance(value, list | tuple) or not all(isinstance(uri, str) for uri in value):
            raise invalid(
                self.task_id, "reads", f"{shown(value)} is not a list of URIs",
                "give a list of strings (or a template or task result that renders to one)",
            )  # fmt: skip
        return list(value)

    def _declaration_path(self, context: Context) -> Path:
        return _declaration_of(self.placement, context["dag"].fileloc)

    def _decide(self, hook: SuperclusterHook, context: Context) -> Decision:
        unknown_targets(self.task_id, self.placement, [t.name for t in hook.supercluster.targets], hook.declaration)
        pod = self._sizing_pod(context)
        reads = self._rendered_reads()
        requirements = self.placement.requirements(pod, reads=reads, dag_tags=sorted(context["dag"].tags or ()))
        decision = hook.decide(requirements, self.placement.policies, self.placement.preference)
        self.log.info("Placement of %s: %s\n%s", self.task_id, decision.chosen.target, decision.explain())
        self.publish(context, facts.PLACEMENT, cast("facts.PlacementDecision", decision.to_dict()))
        from airflow_dataops import observability

        observability.placement_decided(context, decision.chosen.target, decision.chosen.pool)
        return decision

    def _sizing_pod(self, context: Context) -> dict[str, Any]:
        """The pod spec as plain API data, built without any cluster (to size it before choosing one)."""
        from kubernetes.client import ApiClient

        saved_namespace, self.namespace = self.namespace, self.namespace or "default"
        try:
            pod = self.build_pod_request_obj(context, dry_run=True)
        finally:
            self.namespace = saved_namespace
        plain: dict[str, Any] = ApiClient().sanitize_for_serialization(pod)
        return plain

    def _use(self, target: Target, context: Context, order: Sequence[Target], attempt: int) -> None:
        """Point the parent's machinery at ``target``: its connection, fresh clients, no pod yet."""
        self._target = target
        # The connection the parent hands its trigger when it defers.
        self.kubernetes_conn_id = target.conn_id
        self.pod = self.remote_pod = self.pod_request_obj = None
        self._seams = None
        # Echoed back in the trigger's event, so a resumed deferral knows where it was and why.
        self.trigger_kwargs = {
            **(self.trigger_kwargs or {}),
            "dataops_target": target.name,
            "dataops_order": [t.name for t in order],
            "dataops_attempt": attempt,
            "dataops_failovers": [dict(f) for f in self._failovers],
        }
        self.log.info("Running on target %s (%s, %s)", target.name, target.provider, target.region)

    def _latest(self, pod: Any) -> Any:
        """The pod as the API sees it now (the cached copy may predate an eviction), else the cached one."""
        if pod is None or self._target is None or self._target.kind != "kubernetes":
            return pod
        try:
            return self.pod_manager.read_pod(pod)
        except Exception:  # gone or unreachable: the exception itself tells the fault
            return pod

    def _give_up_on(
        self,
        hook: SuperclusterHook,
        context: Context,
        target: Target,
        fault: str,
        order: Sequence[Target],
        attempt: int,
        error: Exception,
    ) -> None:
        """Delete what the failed try left on ``target``, log where the task goes next, or raise if nowhere."""
        cleaned = self._delete_left_pod(target)
        hook.forget(target.name)
        self._failovers = (*self._failovers, {"target": target.name, "fault": fault})
        upcoming = [t.name for t in order[attempt + 1 :]]
        # One line per failover: what failed, what was cleaned up, where the pod goes next.
        self.log.warning(
            "Failover %d/%d: target %s failed the pod: %s; %s; next: %s",
            attempt + 1,
            len(order),
            target.name,
            fault,
            cleaned,
            upcoming[0] if upcoming else "none left",
        )
        from airflow_dataops import observability

        observability.failover(
            context,
            self.on_failover_callback,
            failed=target.name,
            fault=fault,
            next_target=upcoming[0] if upcoming else None,
            tried=[t.name for t in order[: attempt + 1]],
            attempt=attempt + 1,
        )
        if not upcoming:
            self._record_outcome(context, None)
            raise FailoverExhaustedError(
                f"task {self.task_id}: tried {', '.join(t.name for t in order)}; each failed the pod "
                f"(last: {target.name}: {fault}). Add capacity or targets, or raise max_failovers."
            ) from error

    def _delete_left_pod(self, target: Target) -> str:
        """Delete the pod the failed attempt left on ``target`` (one call, bounded); say what happened."""
        pod = self.pod or self.pod_request_obj
        if pod is None or target.kind != "kubernetes":
            return "nothing to clean up"
        name, namespace = pod.metadata.name, pod.metadata.namespace
        done = _delete_pod(self.client, name, namespace)
        if done is None:
            # Unreachable now: tried again when the try ends (a short outage is then over).
            self._left_behind = (*self._left_behind, (target, name, namespace))
            return f"pod {name} not deleted (target unreachable), tried again when the try ends"
        return done

    def _sweep_left_behind(self) -> None:
        """Delete the pods failed targets could not delete at failover time, if they answer now (one call each)."""
        for target, name, namespace in self._left_behind:
            hook = TargetHook(target.conn_id, target=target.name, deadline=self.placement.probe_timeout)
            done = _delete_pod(hook.core_v1_client, name, namespace)
            if done is None:
                self.log.warning(
                    "Pod %s is left on %s (unreachable); it carries label %s=%s for cleanup",
                    name,
                    target.name,
                    TARGET_LABEL,
                    target.name,
                )
            else:
                self.log.info("Clean-up of %s: %s", target.name, done)
        self._left_behind = ()

    def _record_outcome(self, context: Context, ran_on: Target | None) -> None:
        """Where the pod ran in the end, the failovers on the way, and the image digest the kubelet ran.

        XCom ``placement_outcome``: read by the lineage listener (MLflow), the OpenLineage
        facets and the supercluster UI page. ``ran_on`` is ``None`` when every target failed.
        """
        self._sweep_left_behind()
        image_digest = (
            _image_digest(self.remote_pod or self.pod, self.base_container_name) if ran_on is not None else None
        )
        outcome: facts.PlacementOutcome = {
            "ran_on": ran_on.name if ran_on is not None else None,
            "failovers": cast("list[facts.Failover]", list(self._failovers)),
            "image": self.image if ran_on is None or ran_on.kind == "kubernetes" else None,
            "image_digest": image_digest,
        }
        if image_digest:
            self.log.info("Image %s ran as %s", self.image, image_digest)
        self.publish(context, facts.PLACEMENT_OUTCOME, outcome)

    def _remember(self, context: Context, pod: k8s.V1Pod) -> None:
        store = context.get("task_state_store")
        if store is None or self._target is None:
            return
        record = {
            "target": self._target.name,
            "name": pod.metadata.name,
            "namespace": pod.metadata.namespace,
            "uid": pod.metadata.uid,
        }
        store.set(facts.POD_RECORD_KEY, record)

    def _reattach(self, hook: SuperclusterHook, context: Context) -> tuple[Target, k8s.V1Pod] | None:
        """The target and pod of a previous try, if that pod (same uid) is still alive."""
        from airflow_dataops.operators._failover import still_alive

        store = context.get("task_state_store")
        record = store.get(facts.POD_RECORD_KEY) if store is not None else None
        if not isinstance(record, dict) or record.get("target") not in {t.name for t in hook.supercluster.targets}:
            return None
        target = hook.supercluster.target(str(record["target"]))
        self._use(target, context, [target], 0)
        pod = still_alive(self.client, record)
        if pod is None:
            self.log.info("The pod of the previous try (%s on %s) is gone; placing afresh", record["name"], target.name)
            return None
        self.log.info(
            "Reattaching to pod %s (uid %s) on %s, left running by a previous try",
            record["name"],
            record["uid"],
            target.name,
        )
        reattached: facts.PlacementDecision = {"chosen": target.name, "reattached": cast("facts.PodRecord", record)}
        self.publish(context, facts.PLACEMENT, reattached)
        return target, pod

    def _run_locally(self, context: Context) -> Any:
        from airflow_dataops.runtime.local_runner import LocalProcess

        pod = self._sizing_pod(context)
        base = next(c for c in pod["spec"]["containers"] if c["name"] == self.base_container_name)
        env = {e["name"]: str(e.get("value", "")) for e in base.get("env") or [] if "value" in e}
        argv = [*(base.get("command") or []), *(base.get("args") or [])]
        self._local = LocalProcess(argv, env, cwd=str(Path(context["dag"].fileloc).parent))
        try:
            self.log.info("Running locally: %s", " ".join(self._local.argv))
            code = self._local.run(lambda line: self.log.info("[%s] %s", self.base_container_name, line))
            if code != 0:
                from airflow.sdk.exceptions import AirflowException

                if self.skip_on_exit_code and code in self.skip_on_exit_code:
                    from airflow.sdk.exceptions import AirflowSkipException

                    raise AirflowSkipException(f"local pod exited with {code}; skipping")
                raise AirflowException(f"local pod of task {self.task_id} exited with code {code}")
            result = self._local.xcom() if self.do_xcom_push else None
            return json.loads(result) if result else None
        finally:
            self._local.close()
            self._local = None


# ----------------------------------------------------------------------------- bounded calls to a target
# Defined here, where the parent has loaded the kubernetes client already (DAG files import
# this module; a module of their own would load the client for every module of the provider).


class BoundedApiClient(k8s_client.ApiClient):  # type: ignore[misc]  # untyped client
    """The kubernetes ``ApiClient`` with deadlines on every call and a circuit breaker per target.

    ``call_api`` is the client's own extension point (the cncf provider sets its default
    timeout there too). A transport failure is confirmed by one health check (``GET
    /version`` within the deadline): a blip the target answers after is left to the
    parent's retries; a target that does not answer is declared down. A 5xx answer to a
    pod create and a create refused with 409 fail over at once, without the parent's
    five retries.
    """

    breaker: Breaker

    def call_api(self, resource_path: str, method: str, *args: Any, **kwargs: Any) -> Any:
        """Make the call within the deadline, or raise :class:`TargetFault` if the target is down."""
        breaker = self.breaker
        if breaker.fault is not None:
            raise TargetFault(breaker.fault)
        stream = kwargs.get("_preload_content") is False
        kwargs["_request_timeout"] = bounded(kwargs.get("_request_timeout"), breaker.deadline, stream=stream)
        creating = method == "POST" and resource_path.endswith("/pods")
        try:
            answer = super().call_api(resource_path, method, *args, **kwargs)
        except HTTPError as error:
            if self.healthy():
                raise  # a blip: the parent's retry handles it
            kind = type(error).__name__
            breaker.trip(f"Kubernetes API unreachable ({kind}; no answer within {breaker.deadline:g} s)")
            raise TargetFault(str(breaker.fault)) from None
        except ApiException as error:
            fault = status_fault(error.status, creating=True) if creating and isinstance(error.status, int) else None
            if fault is not None:
                raise TargetFault(fault) from None
            if isinstance(error.status, int) and error.status >= 500 and not self.healthy():
                breaker.trip(f"API error ({error.status} server error) and no answer to a health check")
                raise TargetFault(str(breaker.fault)) from None
            raise
        if stream:
            breaker.watch(answer[0] if isinstance(answer, tuple) else answer)
        return answer

    def healthy(self) -> bool:
        """Whether the target answers ``GET /version`` within the deadline."""
        deadline = self.breaker.deadline
        try:
            super().call_api(
                "/version",
                "GET",
                auth_settings=["BearerToken"],
                response_types_map={200: "object"},
                _return_http_data_only=True,
                _request_timeout=(deadline, deadline),
            )
        except Exception:
            return False
        return True


class TargetHook(KubernetesHook):
    """The cncf ``KubernetesHook`` for one target's connection, whose clients have deadlines.

    Built with a ``client_configuration`` of its own, so loading one target's kubeconfig
    never changes the process-wide default configuration another target's client copies.
    """

    def __init__(self, conn_id: str | None, *, target: str, deadline: float) -> None:
        super().__init__(conn_id=conn_id, client_configuration=k8s_client.Configuration())
        self.breaker = Breaker(target, deadline)

    def get_conn(self) -> k8s_client.ApiClient:
        """The parent's client for the connection, rebuilt as a :class:`BoundedApiClient`."""
        built = super().get_conn()
        configuration = built.configuration
        # One quick retry of a refused connection, none of a read: a dead target costs one deadline.
        configuration.retries = Retry(total=1, connect=1, read=0, status=0, redirect=2)
        built.close()
        bounded = BoundedApiClient(configuration=configuration)
        bounded.breaker = self.breaker
        return bounded


class Heartbeat:
    """Checks a target's API every ``deadline`` seconds while a pod runs on it (sync mode).

    A followed log stream waits as long as the container is silent, so a hanging API
    would go unnoticed there; the heartbeat trips the breaker and shuts the stream down.
    """

    def __init__(self, client: BoundedApiClient) -> None:
        self.client = client
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name=f"heartbeat-{client.breaker.target}", daemon=True)

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(timeout=self.client.breaker.deadline + 1)

    def _beat(self) -> None:
        breaker = self.client.breaker
        while not self._stop.wait(breaker.deadline) and breaker.fault is None:
            if not self.client.healthy() and not self._stop.is_set():
                breaker.trip(f"Kubernetes API stopped answering (no answer within {breaker.deadline:g} s)")


class TargetPodManager(PodManager):
    """The parent's ``PodManager`` for one target, creating a pod once.

    The parent retries a failed create five times, logging the whole pod spec with a
    traceback each time. For a pod that can run elsewhere, the next target is the retry:
    :class:`BoundedApiClient` has already told a target's fault (5xx, 403, 409, no answer)
    from a request's own error.
    """

    def __init__(self, kube_client: k8s_client.CoreV1Api, callbacks: Any = None) -> None:
        super().__init__(kube_client=kube_client, callbacks=callbacks)
        self.api = kube_client

    def create_pod(self, pod: V1Pod) -> V1Pod:
        """Create ``pod`` on the target, once."""
        body = self.api.api_client.sanitize_for_serialization(pod)
        created: V1Pod = self.api.create_namespaced_pod(body=body, namespace=pod.metadata.namespace)
        return created
