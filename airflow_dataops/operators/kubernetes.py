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
- ``execute`` / ``trigger_reentry``: choose (or restore) the target, point the
  parent's ``kubernetes_conn_id`` at its connection, and fail over on disruption.

Failover happens when the cluster, not the task, failed: its API is unreachable, the
pod is not scheduled within ``schedule_timeout_seconds``, or the pod is evicted,
preempted or vanishes. The operator deletes what it left on that target and runs on
the next candidate, at most ``max_failovers`` times. A pod whose own command fails is
never moved. The ``local`` target runs the pod's command on the worker
(:mod:`airflow_dataops.runtime.local_runner`).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import fields
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, cast

from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator
from airflow.sdk.bases.operator import BaseOperatorMeta

from airflow_dataops.core import facts
from airflow_dataops.core.placement.arguments import PlacementArgs
from airflow_dataops.core.placement.names import TARGET_LABEL
from airflow_dataops.links.supercluster import MlflowRunLink, SuperclusterTargetLink
from airflow_dataops.operators._openlineage import OpenLineageFacets

if TYPE_CHECKING:
    from datetime import timedelta

    from airflow.sdk import Context
    from airflow.triggers.base import BaseTrigger
    from kubernetes.client import models as k8s

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
_CHOSEN_PER_TARGET_SET = frozenset(_CHOSEN_PER_TARGET)


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


class _BuiltAsKubernetesPodOperator(BaseOperatorMeta):
    """Builds a SuperclusterPodOperator task as a plain KubernetesPodOperator task, then gives it its class.

    Why: DAG parse time. Each of the ~140 attribute writes of a task's construction goes
    through ``BaseOperator.__setattr__``, which looks ``_convert_<name>`` up through the
    whole class hierarchy (a name built at run time misses CPython's attribute cache), and
    each class with its own ``__init__`` adds a pass of Airflow's ``apply_defaults``. A
    subclass costs some 6 to 9% on a DAG of pod tasks before it does anything of its own
    (``benchmarks/parse_overhead.py``). Built as its parent, a task costs what a
    KubernetesPodOperator costs, then takes its placement arguments and its class, exactly
    as tasks routed by the cluster policy do (:meth:`SuperclusterPodOperator.route`).

    A subclass that defines its own ``__init__`` is built the ordinary way, through
    ``SuperclusterPodOperator.__init__``, with the same result.
    """

    if not TYPE_CHECKING:  # type checkers keep the operator's own signature

        def __call__(cls, *args: Any, **kwargs: Any) -> Any:
            if cls.__init__ is not SuperclusterPodOperator.__init__:
                return super().__call__(*args, **kwargs)
            if not _CHOSEN_PER_TARGET_SET.isdisjoint(kwargs):
                _refuse_per_target_arguments(kwargs)
            given = {name: kwargs.pop(name) for name in _PLACEMENT_KWARGS.intersection(kwargs)}
            task = KubernetesPodOperator(*args, **kwargs)
            defaults = _placement_defaults(task, kwargs.get("default_args"))
            return cls._adopt(task, {**defaults, **given} if defaults else given)


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


class SuperclusterPodOperator(OpenLineageFacets, KubernetesPodOperator, metaclass=_BuiltAsKubernetesPodOperator):
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
    :param probe_timeout: seconds a target's API has to answer the probe.
    :param on_failover_callback: a notifier (e.g. ``SlackNotifier``), a callable taking the
        context, or a list of them, called each time a target fails the pod, with the
        event under ``dataops_event`` in the context (failed and next target, fault). A
        failing notifier is logged and never fails the task.
    """

    _openlineage_builder = "pod_lineage"
    operator_extra_links = (SuperclusterTargetLink(), MlflowRunLink())

    template_fields: Sequence[str] = (*KubernetesPodOperator.template_fields, "reads")
    # Class-level defaults so that tasks routed by the cluster policy (whose __init__ was
    # the parent's) have them too.
    _target: Target | None = None
    #: Targets given up on during this try, with the fault (set when the try starts).
    _failovers: tuple[dict[str, str], ...] = ()
    _local: LocalProcess | None = None
    on_failover_callback: Notifiers = None
    #: Validated placement arguments and the URIs the task reads (set when the task is built).
    placement: PlacementArgs
    reads: list[Any]

    def __init__(
        self,
        *,
        supercluster: str | None = None,
        policies: Sequence[str] = ("cheapest",),
        preference: Sequence[str] = (),
        gpu_type: str | None = None,
        features: Sequence[str] = (),
        reads: Sequence[str] = (),
        allowed_regions: Sequence[str] = (),
        max_hourly_price: float | None = None,
        team: str | None = None,
        max_failovers: int = 2,
        probe_timeout: float = 5.0,
        on_failover_callback: Notifiers = None,
        **kwargs: Any,
    ) -> None:
        # Reached only by subclasses with an __init__ of their own (see _BuiltAsKubernetesPodOperator).
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

    @classmethod
    def route(
        cls, task: KubernetesPodOperator, *, reads: Sequence[str] = (), **placement: Any
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
        reads = list(reads) if reads else []
        callback = given.pop("on_failover_callback", None)
        # BaseOperator.__setattr__ records init arguments and the upstream tasks of XComArgs
        # in template fields: plain strings and a frozen dataclass give it nothing to record.
        object.__setattr__(task, "placement", _placement_args(task.task_id, given))
        for uri in reads:
            if not isinstance(uri, str):  # e.g. an XComArg: BaseOperator makes its producer upstream
                task.reads = reads
                break
        else:
            object.__setattr__(task, "reads", reads)
        if callback is not None:  # the class default otherwise
            object.__setattr__(task, "on_failover_callback", callback)

    # ----------------------------------------------------------------- seams of the parent

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
        # No connection until a target is chosen: the pod is sized without any cluster.
        self.kubernetes_conn_id = None
        self._forget_clients()
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
        """Run on ``order[start]``; on a disruption clean up there and go on with the next target."""
        from airflow_dataops.operators._failover import fault_of

        for attempt in range(start, len(order)):
            target = order[attempt]
            self._use(target, context, order, attempt)
            if attempt == start and reattach_to is not None:
                self.pod = reattach_to  # the parent skips creation when it already has a pod
            try:
                result = self._run_locally(context) if target.kind == "local" else super().execute(context)
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
        """Resume on the target the pod was deferred on; fail over if the cluster lost the pod."""
        from airflow_dataops.operators._failover import fault_of_event

        hook = self._supercluster_hook(context)
        order = [hook.supercluster.target(name) for name in event.get("dataops_order", [])]
        attempt = int(event.get("dataops_attempt", 0))
        target = order[attempt]
        self._use(target, context, order, attempt)
        self._failovers = tuple({"target": t.name, "fault": "failed over before deferring"} for t in order[:attempt])
        try:
            result = super().trigger_reentry(context, event)
        except Exception as error:
            fault = fault_of_event(event, error, self.pod)
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

    def _declaration_path(self, context: Context) -> Path:
        path = Path(
            self.placement.supercluster or os.environ.get("AIRFLOW_DATAOPS_SUPERCLUSTER") or DEFAULT_DECLARATION
        )
        if path.is_absolute():
            return path
        return Path(context["dag"].fileloc).parent / path

    def _decide(self, hook: SuperclusterHook, context: Context) -> Decision:
        pod = self._sizing_pod(context)
        requirements = self.placement.requirements(pod, reads=self.reads, dag_tags=sorted(context["dag"].tags or ()))
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
            self._forget_clients()
        plain: dict[str, Any] = ApiClient().sanitize_for_serialization(pod)
        return plain

    def _use(self, target: Target, context: Context, order: Sequence[Target], attempt: int) -> None:
        """Point the parent's machinery at ``target`` (its connection, fresh clients, a fresh pod)."""
        self._target = target
        self.kubernetes_conn_id = target.conn_id
        self.pod = self.remote_pod = self.pod_request_obj = None
        self._forget_clients()
        store = context.get("task_state_store")
        if store is not None:
            # The parent remembers a pod by name and would look it up on whichever cluster is
            # current; ours is matched by uid on its own target instead.
            from airflow.providers.cncf.kubernetes.operators.pod import POD_IDENTIFIER_STATE_KEY

            store.delete(POD_IDENTIFIER_STATE_KEY)
        # Echoed back in the trigger's event, so a resumed deferral knows where it was.
        self.trigger_kwargs = {
            **(self.trigger_kwargs or {}),
            "dataops_target": target.name,
            "dataops_order": [t.name for t in order],
            "dataops_attempt": attempt,
        }
        self.log.info("Running on target %s (%s, %s)", target.name, target.provider, target.region)

    def _latest(self, pod: Any) -> Any:
        """The pod as the API sees it now (the cached copy may predate an eviction), else the cached one."""
        if pod is None:
            return None
        try:
            return self.pod_manager.read_pod(pod)
        except Exception:  # gone or unreachable: the exception itself tells the fault
            return pod

    def _forget_clients(self) -> None:
        for seam in ("hook", "client", "pod_manager"):
            self.__dict__.pop(seam, None)

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
        pod = self.pod or self.pod_request_obj
        if pod is not None and target.kind == "kubernetes":
            try:
                self.pod_manager.delete_pod(pod)
                self.log.info("Deleted pod %s on %s", pod.metadata.name, target.name)
            except Exception as delete_error:  # the target may be the thing that is down
                self.log.warning(
                    "Could not delete pod %s on %s (%s); it carries label %s=%s for cleanup",
                    pod.metadata.name,
                    target.name,
                    delete_error,
                    TARGET_LABEL,
                    target.name,
                )
        hook.forget(target.name)
        self._failovers = (*self._failovers, {"target": target.name, "fault": fault})
        upcoming = [t.name for t in order[attempt + 1 :]]
        self.log.warning(
            "Failover %d/%d: target %s failed the pod (%s); next: %s",
            attempt + 1,
            len(order) - 1,
            target.name,
            fault,
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

    def _record_outcome(self, context: Context, ran_on: Target | None) -> None:
        """Where the pod ran in the end, the failovers on the way, and the image digest the kubelet ran.

        XCom ``placement_outcome``: read by the lineage listener (MLflow), the OpenLineage
        facets and the supercluster UI page. ``ran_on`` is ``None`` when every target failed.
        """
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
