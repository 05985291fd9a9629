"""Airflow hooks of airflow-dataops."""
