"""Names shared by the core and the operators, in a module that costs nothing to import.

The operator module is imported by every DAG file that uses it, so it must not pull in
the placement core's classes at parse time; it imports these names from here and the
core itself only when a task runs.
"""

from __future__ import annotations

#: The placement policies a DAG author can combine, in no particular order.
POLICIES = ("cheapest", "fastest_start", "data_local", "preference", "spread")

#: The label put on every pod this provider creates, naming its target.
TARGET_LABEL = "airflow-dataops/target"
