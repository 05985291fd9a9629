"""QuantumTaskOperator: a circuit run as an ordinary, observable, retry-safe Airflow task.

The operator reads the circuit (OpenQASM 2/3 text or file, Qiskit or Braket object),
binds its parameters, chooses the device among the candidates (the pure decision in
:mod:`airflow_dataops.core.quantum.devices`), estimates the cost from the price table
and refuses to run when it is over the task's budget or the DAG run's remaining budget,
all before anything is submitted. It records the run in Airflow's task state store
before running, so that a retry of a finished run returns its result instead of
running (and paying) again.

This release runs on the local simulators (Qiskit Aer, Braket's local simulator).
Braket managed devices and IBM backends are in the price table and the decision, but
submitting to them is refused with a clear error: it is not built yet.
"""

from __future__ import annotations

import datetime
import json
import uuid
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from airflow.sdk.bases.operator import BaseOperator

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_dataops.core.quantum.devices import BackendDecision

STATE_KEY = "airflow_dataops_quantum_run"
COST_XCOM_KEY = "quantum_cost"
MAX_XCOM_BYTES = 48 * 1024


class QuantumTaskOperator(BaseOperator):
    """Run a quantum circuit on a chosen backend with its cost known and capped beforehand.

    :param circuit: OpenQASM 2 or 3 text, a path to a ``.qasm`` file, a Qiskit
        ``QuantumCircuit`` or a Braket ``Circuit``. (templated)
    :param parameters: values of the circuit's parameters by name. (templated)
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
    """

    template_fields: Sequence[str] = ("circuit", "parameters")

    def __init__(
        self,
        *,
        circuit: Any,
        parameters: Mapping[str, float] | None = None,
        shots: int = 1000,
        backend: str | None = None,
        candidates: Sequence[str] = (),
        max_cost: float | None = None,
        run_budget: float | None = None,
        classical_max_qubits: int = 20,
        seed: int | None = None,
        price_overrides: Mapping[str, Mapping[str, float]] | None = None,
        result_folder: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if bool(backend) == bool(candidates):
            raise ValueError(f"task {self.task_id!r}: give exactly one of 'backend' or 'candidates'")
        if shots < 1:
            raise ValueError(f"task {self.task_id!r}: shots must be >= 1, got {shots}")
        self.circuit = circuit
        self.parameters = dict(parameters or {})
        self.shots = shots
        self.candidates = [backend] if backend else list(candidates)
        self.max_cost = max_cost
        self.run_budget = run_budget
        self.classical_max_qubits = classical_max_qubits
        self.seed = seed
        self.price_overrides = dict(price_overrides or {})
        self.result_folder = result_folder

    def execute(self, context: Context) -> Any:
        """Validate, decide, estimate and cap, run (or return the finished run of a previous try)."""
        from airflow_dataops.core.quantum import circuits

        circuit = circuits.ensure_measured(circuits.bind(circuits.load_circuit(self.circuit), self.parameters))
        shape = circuits.summary(circuit)
        fingerprint = circuits.fingerprint(circuit)
        self.log.info("Circuit: %s qubits, depth %s, gates %s", shape["qubits"], shape["depth"], shape["gates"])
        previous = self._previous_run(context, fingerprint)
        if previous is not None:
            self.log.info("A previous try already ran this circuit (%s): returning its result", previous["task_id"])
            return self._publish(context, previous)
        decision = self._decide(context, shape["qubits"])
        return self._run(context, circuit, decision, shape, fingerprint)

    # ----------------------------------------------------------------- steps

    def _decide(self, context: Context, qubits: int) -> BackendDecision:
        from airflow_dataops.core.quantum.devices import choose_device
        from airflow_dataops.core.quantum.pricing import check_budget

        decision = choose_device(
            self.candidates,
            qubits,
            self.shots,
            classical_max_qubits=self.classical_max_qubits,
            faster_local="aer_simulator",
            price_overrides=self._prices(),
        )
        estimate = decision.ranked[0][1]
        self.log.info("Backend: %s\n%s", decision.chosen.name, decision.explain())
        self.log.info("Estimated cost: %s", estimate.breakdown)
        check_budget(estimate, self.max_cost, "the task's budget (max_cost)")
        if self.run_budget is not None:
            spent = self._spent_in_run(context)
            check_budget(estimate, self.run_budget - spent, f"the DAG run's remaining budget (spent ${spent:.4f} of)")
        context["ti"].xcom_push(key="quantum_decision", value=decision.to_dict())
        return decision

    def _run(
        self, context: Context, circuit: Any, decision: BackendDecision, shape: dict[str, Any], fingerprint: str
    ) -> Any:
        from airflow_dataops.core.quantum.devices import DeviceError
        from airflow_dataops.core.quantum.local_run import LOCAL_DEVICES, run_local

        device, estimate = decision.ranked[0]
        if device.name not in LOCAL_DEVICES:
            raise DeviceError(
                device.name,
                "backend",
                "submitting to Amazon Braket and IBM devices is not available in this release",
                "run on aer_simulator or braket_local (see docs/quantum.md for what is built)",
            )
        task_id = f"local-{uuid.uuid4()}"
        record: dict[str, Any] = {"task_id": task_id, "device": device.name, "fingerprint": fingerprint}
        self._store(context, {**record, "state": "submitted"})
        started = datetime.datetime.now(datetime.UTC)
        outcome = run_local(device.name, circuit, self.shots, self.seed)
        finished = datetime.datetime.now(datetime.UTC)
        total = sum(outcome.counts.values())
        result = {
            "task_id": task_id,
            "backend": device.name,
            "shots": self.shots,
            "counts": dict(sorted(outcome.counts.items())),
            "probabilities": {k: v / total for k, v in sorted(outcome.counts.items())},
            # A local run's price is what the table says (zero unless overridden, e.g. to charge back compute).
            "cost": {"estimate": estimate.to_dict(), "actual": round(estimate.amount, 6)},
            "timings": {
                "started": started.isoformat(),
                "finished": finished.isoformat(),
                "run_seconds": round(outcome.seconds, 6),
            },
            "circuit": {**shape, "fingerprint": fingerprint},
        }
        result = self._fit_into_xcom(result)
        self._store(context, {**record, "state": "completed", "result": result})
        self.log.info(
            "Ran %s shots on %s in %.3f s; cost $%.4f", self.shots, device.name, outcome.seconds, estimate.amount
        )
        return self._publish(context, result)

    def _publish(self, context: Context, result: dict[str, Any]) -> dict[str, Any]:
        context["ti"].xcom_push(key=COST_XCOM_KEY, value=result["cost"]["actual"])
        return result

    # ----------------------------------------------------------------- helpers

    def _prices(self) -> dict[str, Mapping[str, float]]:
        from airflow.configuration import conf

        configured = conf.get("dataops", "quantum_prices", fallback="") or ""
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
        costs = context["ti"].xcom_pull(task_ids=others, key=COST_XCOM_KEY)
        return float(sum(c for c in costs or [] if isinstance(c, int | float)))

    @staticmethod
    def _store(context: Context, record: dict[str, Any]) -> None:
        store = context.get("task_state_store")
        if store is not None:
            store.set(STATE_KEY, record)

    @staticmethod
    def _previous_run(context: Context, fingerprint: str) -> dict[str, Any] | None:
        store = context.get("task_state_store")
        record = store.get(STATE_KEY) if store is not None else None
        if not isinstance(record, dict) or record.get("state") != "completed":
            return None
        result = record.get("result")
        if record.get("fingerprint") != fingerprint or not isinstance(result, dict):
            return None
        return dict(result)

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
