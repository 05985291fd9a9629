"""QuantumTaskSensor: wait for an Amazon Braket quantum task submitted elsewhere.

Another system (a notebook, another DAG, a Braket Hybrid Job) submitted the task; a
downstream Airflow task must wait for it. The sensor reads its status through an
``aws`` connection and succeeds when it COMPLETED, fails with the reason when it
FAILED or was CANCELLED. With ``deferrable=True`` it waits in the triggerer
(:class:`~airflow_dataops.triggers.quantum.BraketTaskTrigger`).

``task_arn`` is a template field: a literal ARN is checked when the DAG is parsed, a
templated one (Jinja, or an ``XComArg`` of the task that submitted it) once rendered,
before Braket is asked about it.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow.sdk.bases.sensor import BaseSensorOperator, PokeReturnValue

from airflow_dataops.core import facts
from airflow_dataops.links.quantum import BraketTaskLink
from airflow_dataops.operators._facts import FactPublisher
from airflow_dataops.operators._templating import invalid, is_templated, shown

if TYPE_CHECKING:
    from airflow.sdk import Context, XComArg

_ARN_FIX = (
    "give the ARN Braket returned when the task was created, arn:aws:braket:<region>:<account>:quantum-task/<id> "
    "(from an upstream QuantumTaskOperator: its result's 'task_id')"
)


def _arn_problem(value: Any) -> str | None:
    """Why ``value`` is not a Braket quantum-task ARN, or ``None``."""
    if not isinstance(value, str) or not value.strip():
        return f"{shown(value)} is not a quantum-task ARN"
    parts = value.strip().split(":", 5)
    if len(parts) != 6 or parts[0] != "arn" or parts[2] != "braket" or not parts[5].startswith("quantum-task/"):
        return f"{shown(value)} is not a Braket quantum-task ARN"
    return None


class QuantumTaskSensor(FactPublisher, BaseSensorOperator):
    """Wait for a Braket quantum task to end.

    :param task_arn: the quantum task's ARN. (templated: e.g. ``submit.output["task_id"]`` of an
        upstream QuantumTaskOperator, or ``"{{ params.arn }}"``)
    :param aws_conn_id: the amazon provider's ``aws`` connection used for Braket devices and
        their S3 results.
    :param deferrable: wait in the triggerer instead of a worker slot.
    """

    template_fields: Sequence[str] = ("task_arn",)
    operator_extra_links = (BraketTaskLink(),)

    def __init__(
        self, *, task_arn: str | XComArg, aws_conn_id: str = "aws_default", deferrable: bool = False, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        #: The template or XComArg the ARN comes from, quoted if its rendered value is refused.
        self._template = task_arn if is_templated(task_arn) else None
        if self._template is None and (problem := _arn_problem(task_arn)):
            raise invalid(self.task_id, "task_arn", problem, _ARN_FIX)
        self.task_arn: Any = task_arn  # the template until Airflow renders it
        self.aws_conn_id = aws_conn_id
        self.deferrable = deferrable

    def execute(self, context: Context) -> Any:
        """Check the rendered ARN; poke as usual, or hand the waiting to the triggerer."""
        if problem := _arn_problem(self.task_arn):
            raise invalid(self.task_id, "task_arn", problem, _ARN_FIX, self._template)
        self.task_arn = self.task_arn.strip()
        self.publish(context, facts.QUANTUM_TASK_ARN, self.task_arn)
        if not self.deferrable:
            return super().execute(context)
        from airflow_dataops.triggers.quantum import BraketTaskTrigger

        self.defer(
            trigger=BraketTaskTrigger(self.task_arn, self.aws_conn_id, self.poke_interval),
            method_name="execute_complete",
            timeout=datetime.timedelta(seconds=self.timeout),
        )
        return None

    def poke(self, context: Context) -> PokeReturnValue:
        """COMPLETED: done; FAILED/CANCELLED: fail with the reason; otherwise: not yet."""
        from airflow_dataops.hooks.braket import BraketHook

        task = (
            BraketHook(self.aws_conn_id)
            .aws_session(arn=self.task_arn)
            .braket_client.get_quantum_task(quantumTaskArn=self.task_arn)
        )
        status = task["status"]
        if status in ("FAILED", "CANCELLED"):
            raise RuntimeError(
                f"Braket task {self.task_arn} ended {status}: {task.get('failureReason') or 'no reason'}"
            )
        self.log.info("%s is %s", self.task_arn, status)
        return PokeReturnValue(is_done=status == "COMPLETED", xcom_value={"task_arn": self.task_arn, "status": status})

    def execute_complete(self, context: Context, event: dict[str, Any]) -> dict[str, Any]:
        """Resume after the trigger."""
        self.remember(facts.QUANTUM_TASK_ARN, self.task_arn)  # for the console link of this process
        if event["status"] != "success":
            raise RuntimeError(f"Braket task {event['task_arn']} {event['status']}: {event['message']}")
        return {"task_arn": event["task_arn"], "status": "COMPLETED"}
