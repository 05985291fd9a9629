"""Triggers of airflow-dataops (deferrable waiting in the triggerer)."""
