"""Sensors of airflow-dataops."""
