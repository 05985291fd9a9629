"""ThreadImportedTrigger: run a trigger whose module is heavy to import without stalling the triggerer.

The triggerer imports each trigger's class on its event loop. The cncf provider's
``KubernetesPodTrigger`` pulls the kubernetes clients in with it, about 5 s on a cold
interpreter here, and for that long every other trigger of that triggerer stands still
(seen in the deployment test: "Triggerer's async thread was blocked for 2.34 seconds"
when a SuperclusterPodOperator deferred). The triggerer imports this class instead (the
standard library and Airflow's base trigger only); it imports the real trigger in a
thread when it starts, then hands over to it: same events, same clean-up.
"""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import AsyncIterator
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent


def _import(classpath: str) -> type[BaseTrigger]:
    module, _, name = classpath.rpartition(".")
    found: type[BaseTrigger] = getattr(importlib.import_module(module), name)
    return found


class ThreadImportedTrigger(BaseTrigger):
    """Another trigger, given by its ``serialize()`` output, imported in a thread when it starts.

    :param classpath: the wrapped trigger's class path.
    :param kwargs: the wrapped trigger's serialized arguments.
    """

    def __init__(self, classpath: str, kwargs: dict[str, Any]) -> None:
        super().__init__()
        self.classpath = classpath
        self.kwargs = dict(kwargs)
        self._wrapped: BaseTrigger | None = None

    @classmethod
    def wrapping(cls, trigger: BaseTrigger) -> ThreadImportedTrigger:
        """The same trigger, to be imported in a thread by the triggerer."""
        classpath, kwargs = trigger.serialize()
        return cls(classpath, kwargs)

    def serialize(self) -> tuple[str, dict[str, Any]]:
        """The wrapped trigger's own serialization, under this light class."""
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {"classpath": self.classpath, "kwargs": self.kwargs},
        )

    async def _started(self) -> BaseTrigger:
        if self._wrapped is None:
            trigger_class = await asyncio.to_thread(_import, self.classpath)
            wrapped = trigger_class(**self.kwargs)
            wrapped.trigger_id = self.trigger_id
            if self.task_instance is not None:
                wrapped.task_instance = self.task_instance
            self._wrapped = wrapped
        return self._wrapped

    async def run(self) -> AsyncIterator[TriggerEvent]:
        """The wrapped trigger's events, as it yields them."""
        wrapped = await self._started()
        async for event in wrapped.run():
            yield event

    async def cleanup(self) -> None:
        """The wrapped trigger's clean-up (nothing to clean before it started)."""
        if self._wrapped is not None:
            await self._wrapped.cleanup()

    async def on_kill(self) -> None:
        """The task was killed while deferred: the wrapped trigger's own reaction (it deletes the pod)."""
        wrapped = await self._started()
        await wrapped.on_kill()
