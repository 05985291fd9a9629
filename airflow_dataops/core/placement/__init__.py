"""Where a pod runs, decided without I/O.

The supercluster model, its YAML declaration, a task's requirements, live capacity and
the placement decision. Probing lives in :mod:`airflow_dataops.runtime.probing`.
"""
