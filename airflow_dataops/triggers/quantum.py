"""BraketTaskTrigger: wait for an Amazon Braket quantum task in the triggerer, not in a worker slot.

QPU tasks can queue for hours or days. The trigger holds only what it needs to resume
(the task ARN, the connection id, the poll interval), so a restarted triggerer rebuilds
it from :meth:`serialize` and goes on polling the same task. It reports a closed set of
statuses: ``success`` (COMPLETED), ``failed`` (FAILED or CANCELLED, with the reason),
``error`` (the status could not be read ``MAX_READ_ERRORS`` times in a row).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

TERMINAL = ("COMPLETED", "FAILED", "CANCELLED")
MAX_READ_ERRORS = 5


class BraketTaskTrigger(BaseTrigger):
    """Poll a Braket quantum task until it ends.

    :param task_arn: the quantum task to wait for.
    :param aws_conn_id: the amazon provider's ``aws`` connection to read it with (``None``: boto3's default chain).
    :param poll_interval: seconds between status reads.
    """

    def __init__(self, task_arn: str, aws_conn_id: str | None = "aws_default", poll_interval: float = 30.0) -> None:
        super().__init__()
        self.task_arn = task_arn
        self.aws_conn_id = aws_conn_id
        self.poll_interval = poll_interval

    def serialize(self) -> tuple[str, dict[str, Any]]:
        """What a restarted triggerer needs to resume: the ARN, the connection, the interval."""
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {"task_arn": self.task_arn, "aws_conn_id": self.aws_conn_id, "poll_interval": self.poll_interval},
        )

    async def on_kill(self) -> None:
        """A user killed the deferred task (mark failed, clear): cancel the quantum task, as the operator would.

        Not ``cleanup()``: that also runs when the triggerer restarts, which must not cancel anything.
        """
        client = await self._client()
        self.log.info("Cancelling %s: its Airflow task was killed", self.task_arn)
        await asyncio.to_thread(client.cancel_quantum_task, quantumTaskArn=self.task_arn)

    async def _client(self) -> Any:
        """A Braket client in the task's region, built in a thread (connection lookup, an STS call).

        Its credentials refresh themselves (the amazon provider's session factory); a
        new client after a failed read also picks up a connection changed meanwhile.
        """
        from airflow_dataops.hooks.braket import BraketHook

        session = await asyncio.to_thread(BraketHook(self.aws_conn_id).aws_session, None, self.task_arn)
        return session.braket_client

    async def run(self) -> AsyncIterator[TriggerEvent]:
        """Read the status every ``poll_interval`` seconds (in a thread: boto3 is synchronous).

        A failed read (throttling, expired credentials, a network blip) is retried with a
        new client, up to ``MAX_READ_ERRORS`` times in a row; then the trigger reports ``error``.
        """
        errors, last, client = 0, None, None
        while True:
            try:
                client = client or await self._client()
                task = await asyncio.to_thread(
                    client.get_quantum_task, quantumTaskArn=self.task_arn, additionalAttributeNames=["QueueInfo"]
                )
            except Exception as error:
                errors, client = errors + 1, None
                if errors >= MAX_READ_ERRORS:
                    message = f"{type(error).__name__}: {error} ({errors} reads in a row failed)"
                    yield TriggerEvent({"status": "error", "task_arn": self.task_arn, "message": message})
                    return
                self.log.warning("Reading %s failed (%s); retrying with a new client", self.task_arn, error)
                await asyncio.sleep(self.poll_interval)
                continue
            errors, status = 0, task["status"]
            if status in TERMINAL:
                break
            if status != last:
                position = (task.get("queueInfo") or {}).get("position")
                self.log.info("%s is %s%s", self.task_arn, status, f", queue position {position}" if position else "")
                last = status
            await asyncio.sleep(self.poll_interval)
        if status == "COMPLETED":
            yield TriggerEvent({"status": "success", "task_arn": self.task_arn, "message": "COMPLETED"})
        else:
            reason = task.get("failureReason") or "no reason given"
            yield TriggerEvent({"status": "failed", "task_arn": self.task_arn, "message": f"{status}: {reason}"})
