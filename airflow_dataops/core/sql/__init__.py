"""Trino SQL, decided without I/O.

Which SQL the embedded engine may run and how it is translated, table names, SQL
lineage and Trino's types. The engine runs in :mod:`airflow_dataops.runtime.embedded_sql`.
"""
