"""The pure quantum core: circuits, devices and prices (no Airflow, no backend calls).

Qiskit, Braket and the converters are imported inside the functions that need them, so
importing this package costs nothing at DAG-parse time. Local simulation runs in
:mod:`airflow_dataops.runtime.local_quantum`.
"""
