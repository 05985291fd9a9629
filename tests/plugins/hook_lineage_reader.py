"""Turns Airflow's hook-lineage collection on in tests, as the OpenLineage provider does in production.

Airflow collects the assets that hooks report only when some plugin registers a
HookLineageReader; without one, every report goes to a no-op collector.
"""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin
from airflow.sdk.lineage import HookLineageReader


class TestHookLineageReader(AirflowPlugin):
    """Registers the plain reader so the collector records inputs and outputs."""

    name = "test_hook_lineage_reader"
    hook_lineage_readers = [HookLineageReader]  # noqa: RUF012
