"""Running a QuantumTaskOperator circuit on an IBM backend (qiskit-ibm-runtime's Sampler).

Kept beside the operator so that the operator module stays small. The circuit is
transpiled for the backend first: a circuit wider than the device, or with gates the
device cannot run after transpilation, is refused before anything is submitted. The
job id is recorded before waiting; a retry reattaches through the service; killing the
task cancels the job.
"""

from __future__ import annotations

import datetime
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_dataops.core.quantum.devices import Device
    from airflow_dataops.core.quantum.pricing import CostEstimate
    from airflow_dataops.operators.quantum import QuantumTaskOperator

FINAL = ("DONE", "ERROR", "CANCELLED")


def transpile_for(backend: Any, circuit: Any, device: Device) -> Any:
    """The circuit in the backend's instruction set and layout, or a clear refusal."""
    from qiskit.transpiler.exceptions import TranspilerError
    from qiskit.transpiler.preset_passmanagers import generate_preset_pass_manager

    from airflow_dataops.core.quantum.devices import DeviceError

    if circuit.num_qubits > backend.num_qubits:
        raise DeviceError(
            device.name,
            "circuit",
            f"the circuit has {circuit.num_qubits} qubits, the backend {backend.num_qubits}",
            "pick a wider backend",
        )
    try:
        return generate_preset_pass_manager(backend=backend, optimization_level=1).run(circuit)
    except TranspilerError as error:
        raise DeviceError(
            device.name, "circuit", f"cannot be transpiled for the backend ({error})", "use gates the backend supports"
        ) from None


def _wait(operator: QuantumTaskOperator, job: Any) -> None:
    last = None
    while True:
        status = str(getattr(job.status(), "name", job.status()))
        if status in FINAL:
            return
        if status != last:
            operator.log.info("IBM job %s is %s", job.job_id(), status)
            last = status
        time.sleep(operator.poll_interval)


def run_on_ibm(
    operator: QuantumTaskOperator,
    context: Context,
    circuit: Any,
    device: Device,
    estimate: CostEstimate,
    shape: dict[str, Any],
    fingerprint: str,
    job_id: str | None,
) -> dict[str, Any]:
    """Submit (or reattach to ``job_id``), record, wait, and complete the run (result recorded and published)."""
    from airflow_dataops.core.quantum.pricing import estimate_cost
    from airflow_dataops.hooks.ibm_quantum import IbmQuantumHook
    from airflow_dataops.runtime.optional import import_optional

    hook = IbmQuantumHook(operator.ibm_quantum_conn_id)
    local = device.kind == "local"
    started = datetime.datetime.now(datetime.UTC)
    if job_id is None:
        backend = hook.backend(device.name)
        isa = transpile_for(backend, circuit, device)
        sampler = import_optional("qiskit_ibm_runtime.executor_sampler").Sampler(mode=backend)
        job = sampler.run([isa], shots=operator.shots)
        job_id = ("local-" if local else "") + str(job.job_id())
        operator.log.info("Submitted IBM job %s to %s", job_id, device.name)
    else:
        job = hook.service().job(job_id)
    operator._cloud_task = job
    record = {"task_id": job_id, "device": device.name, "fingerprint": fingerprint}
    operator._store(context, {**record, "state": "submitted"})
    if not local:
        from airflow_dataops.core import facts

        operator.publish(context, facts.QUANTUM_JOB_ID, job_id)
        _wait(operator, job)
        status = str(getattr(job.status(), "name", job.status()))
        if status != "DONE":
            operator._store(context, {**record, "state": "failed"})  # a retry submits anew
            raise RuntimeError(f"IBM job {job_id} ended {status}")
    pub = job.result()[0]
    counts = {key.replace(" ", ""): int(v) for key, v in pub.join_data().get_counts().items()}
    seconds = 0.0 if local else float(job.usage() or 0)
    actual = estimate_cost(device.name, operator.shots, seconds, operator._prices())
    return operator._complete(context, record, counts, estimate, actual, started, seconds, shape)
