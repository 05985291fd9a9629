"""Publishing the facts of :mod:`airflow_dataops.core.facts`: to XCom, and kept on the operator for the same process."""

from __future__ import annotations

from typing import Any, TypeVar

from airflow_dataops.core.facts import RESULT, Fact

T = TypeVar("T")


class FactPublisher:
    """An operator that publishes facts of a try.

    The listener, the extra links and the OpenLineage facet methods run in the task's
    process after the try, with this very operator: they read :meth:`published`. Reading
    XCom back would cost a round trip per fact and log an error for each fact the try
    never wrote; OpenLineage even calls its methods in a forked process, where an XCom
    read hangs on the supervisor connection it shares.
    """

    def publish(self, context: Any, fact: Fact[T], value: T) -> T:
        """Push ``value`` to XCom under the fact's key (but the result, which Airflow pushes) and keep it."""
        if fact is not RESULT:
            context["ti"].xcom_push(key=fact.key, value=value)
        self.remember(fact, value)
        return value

    def remember(self, fact: Fact[T], value: T) -> None:
        """Keep a fact an earlier process of this try published (a deferred try resumes in a new process)."""
        facts: dict[str, Any] = getattr(self, "_published_facts", None) or {}
        facts[fact.key] = value
        self._published_facts = facts

    def published(self, fact: Fact[T]) -> T | None:
        """What this try published as ``fact``, or None."""
        facts: dict[str, Any] = getattr(self, "_published_facts", None) or {}
        return facts.get(fact.key)
