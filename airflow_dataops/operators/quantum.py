"""QuantumTaskOperator: a circuit run as an ordinary, observable, retry-safe Airflow task.

The operator reads the circuit (OpenQASM 2/3 text or file, Qiskit or Braket object),
binds its parameters, chooses the device among the candidates (the pure decision in
:mod:`airflow_dataops.core.quantum.devices`), estimates the cost from the price table
and refuses to run when it is over the task's budget or the DAG run's remaining budget,
all before anything is submitted. It records the run in Airflow's task state store
before running, so that a retry of a finished run returns its result instead of
running (and paying) again.

It runs on the local simulators (Qiskit Aer, Braket's local simulator), on Amazon
Braket devices (managed simulators and QPUs, by ARN) through an ``aws`` connection,
and on IBM backends through an ``ibm_quantum`` connection. A cloud submission carries
an idempotency token derived from the task instance, the circuit and a submission
number; its id is recorded before waiting; a retry reattaches to it while it can still
finish, and submits anew (next number) once it has failed or was cancelled; killing
the Airflow task cancels it.

``circuit`` and ``parameters`` are template fields: they are interpreted only once
rendered, at the start of ``execute`` (a literal is checked when the DAG is parsed).
A Braket ``Circuit`` is callable, and Airflow calls a callable template field to render
it, so the operator hands it to the templater through Airflow's ``literal()``, which
renders it as it is.
"""

from __future__ import annotations

import datetime
import json
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path, PurePath
from typing import TYPE_CHECKING, Any, cast

from airflow.sdk import literal
from airflow.sdk.bases.operator import BaseOperator

from airflow_dataops.core import facts
from airflow_dataops.links.quantum import BraketTaskLink, IbmJobLink
from airflow_dataops.links.supercluster import MlflowRunLink
from airflow_dataops.operators._openlineage import OpenLineageFacets
from airflow_dataops.operators._templating import invalid, is_templated, shown, structure_from_text

if TYPE_CHECKING:
    from airflow.sdk import Context, XComArg

    from airflow_dataops.core.quantum.devices import BackendDecision
    from airflow_dataops.core.quantum.pricing import CostEstimate
    from airflow_dataops.observability import Notifiers

STATE_KEY = "airflow_dataops_quantum_run"
MAX_XCOM_BYTES = 48 * 1024
#: The type of ``airflow.sdk.literal(...)``: a value the templater hands back as it is.
_LITERAL = type(literal(None))
_CIRCUIT_FIX = "give OpenQASM 2 or 3 text, a path to a .qasm file, a qiskit QuantumCircuit or a Braket Circuit"
_PARAMETERS_FIX = (
    "give the values by parameter name, e.g. {'theta': 0.5}; a template or an upstream task may give them "
    "as a dict, or as its JSON or Python text"
)


def _is_qasm_path(text: str) -> bool:
    """Whether a string names a ``.qasm`` file rather than holding the program."""
    return "\n" not in text and text.strip().endswith(".qasm")


def _circuit_problem(value: Any) -> str | None:
    """Why ``value`` cannot be a circuit, or ``None``; checked without qiskit.

    Parsing the program needs qiskit, which a DAG-facing module never imports when the
    DAG is parsed (1.7 s); it happens at the start of ``execute``, before submission.
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        return "it is empty"
    if isinstance(value, str):
        if _is_qasm_path(value) or value.lstrip()[:12].upper().startswith(("OPENQASM 2", "OPENQASM 3")):
            return None
        return (
            f"{shown(value, 60)} is neither OpenQASM text (it must start with 'OPENQASM 2.0;' or "
            "'OPENQASM 3.0;') nor a path to a .qasm file"
        )
    if isinstance(value, PurePath) or type(value).__module__.startswith(("qiskit.", "braket.circuits.")):
        return None
    return f"a {type(value).__name__} is not a circuit"


def _parameter_values(value: Any) -> dict[str, float] | str:
    """The parameters as numbers by name, or the problem with them."""
    value = structure_from_text(value)
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        return f"{shown(value)} is not a mapping of parameter names to values"
    values = {}
    for name, number in value.items():
        if not isinstance(name, str):
            return f"the parameter name {shown(name)} is not a string"
        try:
            if isinstance(number, bool):
                raise TypeError(number)
            values[name] = float(number)
        except (TypeError, ValueError):
            return f"the value of {name!r}, {shown(number)}, is not a number"
    return values


class QuantumTaskOperator(OpenLineageFacets, BaseOperator):
    """Run a quantum circuit on a chosen backend with its cost known and capped beforehand.

    :param circuit: OpenQASM 2 or 3 text, a path to a ``.qasm`` file, a Qiskit
        ``QuantumCircuit`` or a Braket ``Circuit``. (templated: a Jinja string or an
        ``XComArg`` is rendered first, an object is used as it is)
    :param parameters: values of the circuit's parameters by name. (templated: a Jinja
        string or an ``XComArg`` may render to a dict or to its JSON or Python text)
    :param shots: number of shots.
    :param backend: the device to use (``aer_simulator``, ``braket_local``, a Braket
        device ARN, ``ibm_<name>``); or give ``candidates`` to let the operator choose.
    :param candidates: devices to choose among, by width, availability, cost and the
        small-circuit rule.
    :param max_cost: the most this task may cost, in dollars.
    :param run_budget: the most all quantum tasks of the DAG run may cost together; the
        costs already reported by other QuantumTaskOperator tasks of the run are
        subtracted.
    :param classical_max_qubits: circuits this small run on a local simulator if one
        is a candidate.
    :param seed: simulator seed (Aer), for reproducible samples.
    :param price_overrides: price-table entries to override, by device.
    :param result_folder: where results larger than the XCom limit are written (an
        ``ObjectStoragePath`` URI); default ``$AIRFLOW_HOME/quantum-results``.
    :param aws_conn_id: the amazon provider's ``aws`` connection used for Braket devices and
        their S3 results.
    :param ibm_quantum_conn_id: the ``ibm_quantum`` connection used for IBM backends.
    :param poll_interval: seconds between state checks of a cloud task.
    :param deferrable: wait for a cloud task in the triggerer (``BraketTaskTrigger``),
        freeing the worker slot while the task queues and runs.
    :param on_budget_refusal_callback: a notifier (e.g. ``SlackNotifier``), a callable
        taking the context, or a list of them, called when the task refuses to submit
        because the estimate is over ``max_cost`` or the run's remaining ``run_budget``,
        with the event under ``dataops_event`` in the context. A failing notifier is
        logged and never changes the outcome.
    """

    _openlineage_builder = "quantum_lineage"

    operator_extra_links = (BraketTaskLink(), IbmJobLink(), MlflowRunLink())

    template_fields: Sequence[str] = ("circuit", "parameters")
    on_budget_refusal_callback: Notifiers = None

    def __init__(
        self,
        *,
        circuit: Any,
        parameters: Mapping[str, float | str | XComArg] | str | XComArg | None = None,
        shots: int = 1000,
        backend: str | None = None,
        candidates: Sequence[str] = (),
        max_cost: float | None = None,
        run_budget: float | None = None,
        classical_max_qubits: int = 20,
        seed: int | None = None,
        price_overrides: Mapping[str, Mapping[str, float]] | None = None,
        result_folder: str | None = None,
        aws_conn_id: str = "aws_default",
        ibm_quantum_conn_id: str = "ibm_quantum_default",
        poll_interval: float = 5.0,
        deferrable: bool = False,
        on_budget_refusal_callback: Notifiers = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if bool(backend) == bool(candidates):
            raise ValueError(f"task {self.task_id!r}: give exactly one of 'backend' or 'candidates'")
        if shots < 1:
            raise ValueError(f"task {self.task_id!r}: shots must be >= 1, got {shots}")
        #: What each templated argument was given as, quoted when its rendered value is refused.
        given = {"circuit": circuit, "parameters": parameters}
        self._templates = {name: value for name, value in given.items() if is_templated(value)}
        self._check_literals(circuit, parameters)
        # A Braket Circuit is callable, and Airflow calls a callable template field to render it.
        self.circuit = literal(circuit) if type(circuit).__module__.startswith("braket.circuits.") else circuit
        self.parameters: Any = dict(parameters) if isinstance(parameters, Mapping) else parameters
        self.shots = shots
        self.candidates = [backend] if backend else list(candidates)
        self.max_cost = max_cost
        self.run_budget = run_budget
        self.classical_max_qubits = classical_max_qubits
        self.seed = seed
        self.price_overrides = dict(price_overrides or {})
        self.result_folder = result_folder
        self.aws_conn_id = aws_conn_id
        self.ibm_quantum_conn_id = ibm_quantum_conn_id
        self.poll_interval = poll_interval
        self.deferrable = deferrable
        self._cloud_task: Any = None
        self._context: Any = None
        self._record: dict[str, Any] | None = None
        if on_budget_refusal_callback is not None:
            self.on_budget_refusal_callback = on_budget_refusal_callback

    def _check_literals(self, circuit: Any, parameters: Any) -> None:
        """Refuse, when the DAG is parsed, a circuit or parameters given literally that cannot be used."""
        circuit = circuit.value if isinstance(circuit, _LITERAL) else circuit
        rendered_by_a_call = callable(circuit) and not type(circuit).__module__.startswith("braket.")
        if not is_templated(circuit) and not rendered_by_a_call:  # else only its rendered value can be checked
            if problem := _circuit_problem(circuit):
                raise invalid(self.task_id, "circuit", problem, _CIRCUIT_FIX)
            path = self._qasm_path(circuit, dag.fileloc if (dag := self.get_dag()) else None)
            if path is not None and not path.is_file():
                raise invalid(self.task_id, "circuit", f"the file {path} does not exist", _CIRCUIT_FIX)
        if is_templated(parameters) and not isinstance(parameters, Mapping):
            return
        literal_values = (
            {k: v for k, v in parameters.items() if not is_templated(v)}
            if isinstance(parameters, Mapping)
            else parameters
        )
        values = _parameter_values(literal_values)
        if isinstance(values, str):
            raise invalid(self.task_id, "parameters", values, _PARAMETERS_FIX)
        if type(circuit).__module__.startswith("qiskit.") and not is_templated(parameters):
            from airflow_dataops.core.quantum.circuits import CircuitError, bind

            try:  # the user's DAG imported qiskit already: binding costs nothing more
                bind(circuit, values)
            except CircuitError as error:
                raise invalid(self.task_id, "parameters", error.problem, error.fix) from None

    def _inputs(self, context: Context) -> tuple[Any, dict[str, float]]:
        """The rendered circuit and parameters, refused here, before anything is decided or submitted."""
        source = self._source(context)
        if problem := _circuit_problem(source):
            raise invalid(self.task_id, "circuit", problem, _CIRCUIT_FIX, self._templates.get("circuit"))
        values = _parameter_values(self.parameters)
        if isinstance(values, str):
            raise invalid(self.task_id, "parameters", values, _PARAMETERS_FIX, self._templates.get("parameters"))
        return source, values

    def execute(self, context: Context) -> Any:
        """Validate, decide, estimate and cap, run (or return the finished run of a previous try)."""
        from airflow_dataops.core.quantum import circuits

        self._context = context
        source, parameters = self._inputs(context)
        circuit = circuits.ensure_measured(circuits.bind(circuits.load_circuit(source), parameters))
        shape = circuits.summary(circuit)
        fingerprint = circuits.fingerprint(circuit)
        self.log.info("Circuit: %s qubits, depth %s, gates %s", shape["qubits"], shape["depth"], shape["gates"])
        record = self._previous_run(context, fingerprint)
        if record is not None and record["state"] == "completed":
            self.log.info("A previous try already ran this circuit (%s): returning its result", record["task_id"])
            return self._publish(context, record["result"])
        if record is not None:
            from airflow_dataops.core.quantum.devices import device
            from airflow_dataops.core.quantum.pricing import estimate_cost

            self.log.info("Reattaching to %s, submitted by a previous try: not submitting again", record["task_id"])
            chosen = device(record["device"])
            estimate = estimate_cost(chosen.name, self.shots, 10.0, self._prices())
            if chosen.provider == "ibm":
                from airflow_dataops.operators._ibm_run import run_on_ibm

                job_id = record["task_id"]
                return run_on_ibm(self, context, circuit, chosen, estimate, shape, fingerprint, job_id)
            return self._run_braket(context, circuit, chosen, estimate, shape, fingerprint, record["task_id"])
        decision = self._decide(context, shape["qubits"])
        return self._run(context, circuit, decision, shape, fingerprint)

    # ----------------------------------------------------------------- steps

    def _source(self, context: Context) -> Any:
        """The (rendered) circuit argument, with a relative ``.qasm`` path resolved against the DAG file's folder."""
        source = self.circuit.value if isinstance(self.circuit, _LITERAL) else self.circuit
        return self._qasm_path(source, context["dag"].fileloc) or source

    @staticmethod
    def _qasm_path(source: Any, dag_file: str | None) -> Path | None:
        """The file a ``.qasm`` path names (a relative one is in the DAG file's folder); ``None`` for other circuits."""
        if isinstance(source, PurePath):
            path = Path(source)
        elif isinstance(source, str) and _is_qasm_path(source):
            path = Path(source.strip())
        else:
            return None
        if path.is_absolute():
            return path
        return Path(dag_file).parent / path if dag_file else None

    def _decide(self, context: Context, qubits: int) -> BackendDecision:
        from airflow_dataops.core.quantum.devices import OverBudgetError, choose_device
        from airflow_dataops.core.quantum.pricing import BudgetExceededError, check_budget

        def decide(unavailable: dict[str, str]) -> BackendDecision:
            return choose_device(
                self.candidates,
                qubits,
                self.shots,
                classical_max_qubits=self.classical_max_qubits,
                budget=self.max_cost,  # an over-budget candidate is skipped for a cheaper one
                faster_local="aer_simulator",
                price_overrides=self._prices(),
                unavailable=unavailable,
            )

        try:
            decision = decide({})
            if decision.chosen.provider == "braket" and decision.chosen.kind != "local":
                # Only when a Braket device would be chosen is Braket asked which devices are online.
                decision = decide(self._braket_unavailable([d.name for d, _ in decision.ranked]))
        except OverBudgetError as error:  # every candidate that fits is over max_cost
            assert self.max_cost is not None  # no budget, nothing can be over it
            self._refused(context, "max_cost", error.cheapest, self.max_cost, str(error))
            raise
        estimate = decision.ranked[0][1]
        self.log.info("Backend: %s\n%s", decision.chosen.name, decision.explain())
        self.log.info("Estimated cost: %s", estimate.breakdown)
        # max_cost was applied by the device choice: the chosen estimate is within it.
        if self.run_budget is not None:
            spent = self._spent_in_run(context)
            what = f"the DAG run's remaining budget (run_budget ${self.run_budget:.4f}, ${spent:.4f} already spent):"
            try:
                check_budget(estimate, self.run_budget - spent, what)
            except BudgetExceededError as error:
                self._refused(context, "run_budget", estimate, self.run_budget - spent, str(error))
                raise
        self.publish(context, facts.QUANTUM_DECISION, cast("facts.QuantumDecision", decision.to_dict()))
        # The budgets this try ran under (the supercluster page shows spend against them).
        budget: facts.QuantumBudget = {"max_cost": self.max_cost, "run_budget": self.run_budget}
        self.publish(context, facts.QUANTUM_BUDGET, budget)
        return decision

    def _refused(self, context: Context, budget: str, estimate: CostEstimate, limit: float, detail: str) -> None:
        from airflow_dataops import observability

        observability.budget_refused(
            context,
            self.on_budget_refusal_callback,
            budget=budget,
            backend=estimate.device,
            estimate=estimate.amount,
            limit=limit,
            detail=detail,
        )

    def _braket_unavailable(self, names: list[str]) -> dict[str, str]:
        """Braket devices among ``names`` that are not ONLINE now, with their status; queue sizes are logged."""
        from airflow_dataops.hooks.braket import BraketHook

        hook = BraketHook(self.aws_conn_id)
        unavailable = {}
        for name in names:
            if not name.startswith("arn:aws:braket"):
                continue
            try:
                device = hook.aws_session(arn=name).braket_client.get_device(deviceArn=name)
            except Exception as error:  # no access, wrong region, throttled: not a candidate now
                unavailable[name] = f"status unknown ({type(error).__name__}: {error})"
                continue
            queues = ", ".join(f"{q['queue']} {q['queueSize']}" for q in device.get("deviceQueueInfo") or [])
            self.log.info("%s is %s%s", name, device["deviceStatus"], f" (queued: {queues})" if queues else "")
            if device["deviceStatus"] != "ONLINE":
                unavailable[name] = device["deviceStatus"]
        return unavailable

    def _run(
        self, context: Context, circuit: Any, decision: BackendDecision, shape: dict[str, Any], fingerprint: str
    ) -> Any:
        from airflow_dataops.core.quantum.devices import DeviceError
        from airflow_dataops.runtime.local_quantum import LOCAL_DEVICES, run_local

        device, estimate = decision.ranked[0]
        if device.provider == "braket" and device.kind != "local":
            return self._run_braket(context, circuit, device, estimate, shape, fingerprint, None)
        if device.provider == "ibm":
            from airflow_dataops.operators._ibm_run import run_on_ibm

            return run_on_ibm(self, context, circuit, device, estimate, shape, fingerprint, None)
        if device.name not in LOCAL_DEVICES:
            raise DeviceError(device.name, "backend", "has no runner", "use a listed device")
        task_id = f"local-{uuid.uuid4()}"
        record: dict[str, Any] = {"task_id": task_id, "device": device.name, "fingerprint": fingerprint}
        self._store(context, {**record, "state": "submitted"})
        started = datetime.datetime.now(datetime.UTC)
        outcome = run_local(device.name, circuit, self.shots, self.seed)
        # A local run's price is what the table says (zero unless overridden, e.g. to charge back compute).
        self.log.info("Ran %s shots on %s in %.3f s", self.shots, device.name, outcome.seconds)
        return self._complete(context, record, outcome.counts, estimate, estimate, started, outcome.seconds, shape)

    def _complete(
        self,
        context: Context,
        record: dict[str, Any],
        counts: Mapping[str, int],
        estimate: CostEstimate,
        actual: CostEstimate,
        started: datetime.datetime,
        run_seconds: float,
        shape: dict[str, Any],
    ) -> dict[str, Any]:
        """The result every backend returns: built, kept within the XCom limit, recorded, published."""
        total = sum(counts.values())
        result = {
            "task_id": record["task_id"],
            "backend": record["device"],
            "shots": self.shots,
            "counts": dict(sorted(counts.items())),
            "probabilities": {k: v / total for k, v in sorted(counts.items())},
            "cost": {"estimate": estimate.to_dict(), "actual": round(actual.amount, 6)},
            "timings": {
                "started": started.isoformat(),
                "finished": datetime.datetime.now(datetime.UTC).isoformat(),
                "run_seconds": round(run_seconds, 6),
            },
            "circuit": {**shape, "fingerprint": record["fingerprint"]},
        }
        result = self._fit_into_xcom(result)
        self._store(context, {**record, "state": "completed", "result": result})
        self.log.info("%s on %s completed; cost %s", record["task_id"], record["device"], actual.breakdown)
        from airflow_dataops import observability

        observability.quantum_spent(context, record["device"], actual.amount)  # only here: a reused result cost nothing
        return self._publish(context, result)

    def _run_braket(
        self,
        context: Context,
        circuit: Any,
        device: Any,
        estimate: Any,
        shape: dict[str, Any],
        fingerprint: str,
        arn: str | None,
    ) -> Any:
        """Submit (or reattach), record the ARN before waiting, wait, and read the result from S3."""
        from braket.aws import AwsQuantumTask

        from airflow_dataops.hooks.braket import BraketHook
        from airflow_dataops.runtime.local_quantum import to_braket_program

        hook = BraketHook(self.aws_conn_id)
        ti = context["ti"]
        submission = self._submission_number(context)
        token = uuid.uuid5(
            uuid.NAMESPACE_URL,
            f"{ti.dag_id}/{ti.task_id}/{ti.run_id}/{ti.map_index}/{fingerprint}/{self.shots}/{submission}",
        )
        session = hook.aws_session(client_token=str(token), arn=arn or device.name)
        started = datetime.datetime.now(datetime.UTC)
        if arn is None:
            program = to_braket_program(circuit)
            task = AwsQuantumTask.create(session, device.name, program, hook.results_folder(), self.shots)
            arn = str(task.id)
            self.log.info("Submitted %s to %s (idempotency token %s)", arn, device.name, token)
        else:
            task = AwsQuantumTask(arn, aws_session=session)
        self._cloud_task = task
        record = {
            "task_id": arn,
            "device": device.name,
            "fingerprint": fingerprint,
            "started": started.isoformat(),
            "submission": submission,
        }
        self._store(context, {**record, "state": "submitted"})
        self.publish(context, facts.QUANTUM_TASK_ARN, arn)
        if self.deferrable:
            from airflow_dataops.triggers.quantum import BraketTaskTrigger

            self.log.info("Deferring: the triggerer waits for %s", arn)
            self.defer(
                trigger=BraketTaskTrigger(arn, self.aws_conn_id, self.poll_interval), method_name="execute_complete"
            )
        state = self._wait(task)
        if state != "COMPLETED":
            reason = task.metadata(use_cached_value=True).get("failureReason") or "no reason given"
            self._store(context, {**record, "state": "failed"})  # a retry submits anew, it cannot revive it
            raise RuntimeError(f"Braket task {arn} ended {state}: {reason}")
        return self._braket_result(context, task, device, estimate, circuit, shape, fingerprint, started)

    def execute_complete(self, context: Context, event: dict[str, Any]) -> Any:
        """Resume after the trigger: read the finished task's result (the circuit is read again, not stored)."""
        from braket.aws import AwsQuantumTask

        from airflow_dataops.core.quantum import circuits
        from airflow_dataops.core.quantum.devices import device
        from airflow_dataops.core.quantum.pricing import estimate_cost
        from airflow_dataops.hooks.braket import BraketHook

        if event["status"] != "success":
            raise RuntimeError(f"Braket task {event['task_arn']} {event['status']}: {event['message']}")
        self.remember(facts.QUANTUM_TASK_ARN, str(event["task_arn"]))  # for the console link of this process
        source, parameters = self._inputs(context)
        circuit = circuits.ensure_measured(circuits.bind(circuits.load_circuit(source), parameters))
        fingerprint = circuits.fingerprint(circuit)
        record = self._previous_run(context, fingerprint) or {}
        chosen = device(str(record.get("device") or self.candidates[0]))
        estimate = estimate_cost(chosen.name, self.shots, 10.0, self._prices())
        session = BraketHook(self.aws_conn_id).aws_session(arn=event["task_arn"])
        task = AwsQuantumTask(event["task_arn"], aws_session=session)
        started = datetime.datetime.fromisoformat(str(record.get("started") or datetime.datetime.now(datetime.UTC)))
        shape = circuits.summary(circuit)
        return self._braket_result(context, task, chosen, estimate, circuit, shape, fingerprint, started)

    def _braket_result(
        self,
        context: Context,
        task: Any,
        device: Any,
        estimate: Any,
        circuit: Any,
        shape: dict[str, Any],
        fingerprint: str,
        started: datetime.datetime,
    ) -> Any:
        """Read the completed task's counts from S3, price what it ran, record and publish the result."""
        from airflow_dataops.core.quantum.pricing import estimate_cost
        from airflow_dataops.runtime.local_quantum import braket_counts

        record = {"task_id": str(task.id), "device": device.name, "fingerprint": fingerprint}
        braket_result = task.result()
        counts = braket_counts(circuit, braket_result.measured_qubits, braket_result.measurement_counts)
        ran = self._execution_seconds(braket_result)
        actual = estimate_cost(device.name, self.shots, ran, self._prices())
        return self._complete(context, record, counts, estimate, actual, started, ran, shape)

    def _wait(self, task: Any) -> str:
        """Poll the cloud task until it ends, logging state changes and the queue position."""
        import time

        last = None
        while True:
            state = str(task.state())
            if state in ("COMPLETED", "FAILED", "CANCELLED"):
                return state
            if state != last:
                queue = task.metadata(use_cached_value=True).get("queueInfo") or {}
                position = f", queue position {queue['position']}" if queue.get("position") else ""
                self.log.info("Braket task %s is %s%s", task.id, state, position)
                last = state
            time.sleep(self.poll_interval)

    @staticmethod
    def _execution_seconds(braket_result: Any) -> float:
        metadata = getattr(getattr(braket_result, "additional_metadata", None), "simulatorMetadata", None)
        duration = getattr(metadata, "executionDuration", None)
        return round(float(duration) / 1000, 6) if duration is not None else 0.0

    def on_kill(self) -> None:
        """Killing the Airflow task cancels the cloud task it is waiting for (a retry then submits anew)."""
        if self._cloud_task is None:
            return
        task_id = getattr(self._cloud_task, "id", None) or self._cloud_task.job_id()
        self.log.info("Cancelling quantum task %s", task_id)
        self._cloud_task.cancel()
        if self._context is not None and self._record is not None:
            self._store(self._context, {**self._record, "state": "failed"})

    def _publish(self, context: Context, result: dict[str, Any]) -> dict[str, Any]:
        self.publish(context, facts.QUANTUM_COST, result["cost"]["actual"])
        return self.publish(context, facts.RESULT, result)

    # ----------------------------------------------------------------- helpers

    def _prices(self) -> dict[str, Mapping[str, float]]:
        from airflow_dataops.config import option

        configured = option("quantum_prices") or ""
        try:
            table = json.loads(configured) if configured.strip() else {}
        except json.JSONDecodeError as error:
            raise ValueError(f"[dataops] quantum_prices is not valid JSON ({error}); fix the configuration") from None
        return {**table, **self.price_overrides}

    def _spent_in_run(self, context: Context) -> float:
        dag = context["dag"]
        others = [t for t in dag.task_ids if t != self.task_id]
        if not others:
            return 0.0
        costs = context["ti"].xcom_pull(task_ids=others, key=facts.QUANTUM_COST.key)
        return float(sum(c for c in costs or [] if isinstance(c, int | float)))

    def _store(self, context: Context, record: dict[str, Any]) -> None:
        """Record the run (with its shots: a result is reused only for the same circuit and shots)."""
        self._record = {**record, "shots": self.shots}
        store = context.get("task_state_store")
        if store is not None:
            store.set(STATE_KEY, self._record)

    @staticmethod
    def _submission_number(context: Context) -> int:
        """0 for the first submission; one more after each submission that failed or was cancelled."""
        store = context.get("task_state_store")
        record = store.get(STATE_KEY) if store is not None else None
        if not isinstance(record, dict):
            return 0
        number = int(str(record.get("submission") or 0))
        return number + 1 if record.get("state") == "failed" else number

    def _previous_run(self, context: Context, fingerprint: str) -> dict[str, Any] | None:
        """The record a previous try left for this circuit: a finished result, or a cloud task to reattach to."""
        store = context.get("task_state_store")
        record = store.get(STATE_KEY) if store is not None else None
        if not isinstance(record, dict) or record.get("fingerprint") != fingerprint:
            return None
        if record.get("shots") != self.shots:
            return None
        if record.get("state") == "completed" and isinstance(record.get("result"), dict):
            return dict(record)
        if record.get("state") == "submitted" and not str(record.get("task_id", "")).startswith("local-"):
            return dict(record)  # a cloud task to reattach to; a local run is simply run again
        return None

    def _fit_into_xcom(self, result: dict[str, Any]) -> dict[str, Any]:
        """Keep XCom small: counts over the limit go to object storage, XCom keeps a reference."""
        if len(json.dumps(result)) <= MAX_XCOM_BYTES:
            return result
        import os

        from airflow.sdk import ObjectStoragePath

        folder = self.result_folder or f"file://{os.environ.get('AIRFLOW_HOME', '.')}/quantum-results"
        path = ObjectStoragePath(folder) / f"{result['task_id']}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"counts": result["counts"], "probabilities": result["probabilities"]}))
        self.log.info("Counts exceed the XCom limit (%d bytes): written to %s", MAX_XCOM_BYTES, path)
        slim = {k: v for k, v in result.items() if k not in ("counts", "probabilities")}
        return {**slim, "counts_ref": str(path), "distinct_outcomes": len(result["counts"])}
