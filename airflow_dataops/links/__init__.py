"""Operator extra links, a public package.

Their class paths are stored in serialized DAGs, so they keep their names:
``airflow_dataops.links.supercluster`` and ``airflow_dataops.links.quantum``.
"""
