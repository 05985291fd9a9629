"""Airflow operators of airflow-dataops (thin adapters over :mod:`airflow_dataops.core`)."""
