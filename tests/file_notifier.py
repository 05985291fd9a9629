"""Notifiers for the tests: real ``BaseNotifier`` subclasses, as SlackNotifier or SmtpNotifier are.

``FileNotifier`` renders its ``message`` template against the context it is called with
(as Airflow's notifiers do) and appends the message and the ``dataops_event`` it received
as one JSON line to the file named by ``DATAOPS_TEST_NOTIFICATIONS``. ``BrokenNotifier``
always raises, to prove that a failing notifier never fails a task.
"""

from __future__ import annotations

import json
import os
from typing import Any

from airflow.sdk.bases.notifier import BaseNotifier

NOTIFICATIONS_ENV = "DATAOPS_TEST_NOTIFICATIONS"


class FileNotifier(BaseNotifier):
    """Append each notification to a JSON-lines file."""

    template_fields = ("message",)

    def __init__(self, message: str) -> None:
        super().__init__()
        self.message = message

    def notify(self, context: Any) -> None:
        line = {"message": self.message, "event": context["dataops_event"]}
        with open(os.environ[NOTIFICATIONS_ENV], "a") as file:
            file.write(json.dumps(line) + "\n")


class BrokenNotifier(BaseNotifier):
    """A notifier whose service is down."""

    def notify(self, context: Any) -> None:
        raise ConnectionError("the chat service is down")


#: Named by ``[dataops] lineage_backlog_notifier`` in the tests.
BACKLOG_NOTIFIER = FileNotifier("backlog: {{ dataops_event.waiting }} waiting")
