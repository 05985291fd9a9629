"""The provider's own trigger wrapper, rebuilt from serialize() as a triggerer does and run against a real trigger."""

from __future__ import annotations

import asyncio
import datetime
import importlib
from typing import Any


def rebuilt(trigger: Any) -> Any:
    """What a triggerer makes of ``trigger``: its class imported by path, built from its serialized kwargs."""
    classpath, kwargs = trigger.serialize()
    module, _, name = classpath.rpartition(".")
    return getattr(importlib.import_module(module), name)(**kwargs)


def first_event(trigger: Any) -> Any:
    async def run() -> Any:
        async for event in trigger.run():
            return event
        return None

    return asyncio.run(run())


def test_the_thread_imported_trigger_runs_the_wrapped_one_unchanged() -> None:
    from airflow.providers.standard.triggers.temporal import DateTimeTrigger

    from airflow_dataops.triggers.thread_imported import ThreadImportedTrigger

    moment = datetime.datetime.now(datetime.UTC) - datetime.timedelta(seconds=1)
    direct = DateTimeTrigger(moment)
    wrapped = rebuilt(ThreadImportedTrigger.wrapping(direct))
    assert type(wrapped) is ThreadImportedTrigger  # what the triggerer imports is the light class
    assert wrapped.serialize()[1]["classpath"] == "airflow.providers.standard.triggers.temporal.DateTimeTrigger"
    assert first_event(wrapped) == first_event(direct)


def test_the_thread_imported_trigger_module_is_light() -> None:
    import subprocess
    import sys

    code = (
        "import sys, airflow_dataops.triggers.thread_imported\n"
        "pod = 'airflow.providers.cncf.kubernetes.triggers.pod'\n"
        "heavy = [m for m in ('kubernetes', 'kubernetes_asyncio', pod) if m in sys.modules]\n"
        "print(heavy)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip().splitlines()[-1] == "[]"
