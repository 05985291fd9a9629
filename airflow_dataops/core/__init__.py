"""The pure core of airflow-dataops: no Airflow imports, ever.

Everything that decides (where a pod runs, what a quantum task costs, how a circuit
is handled) lives here as plain Python over plain data, so that it is deterministic,
cheap to import and testable without an Airflow installation. The Airflow-facing
packages are thin adapters over it. ``tests/test_import_rules.py`` enforces the rule.
"""
