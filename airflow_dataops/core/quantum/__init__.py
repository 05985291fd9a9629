"""The pure quantum core: circuits, devices, prices and the backend decision (no Airflow).

Qiskit, Braket and the converters are imported inside the functions that need them, so
importing this package costs nothing at DAG-parse time.
"""
