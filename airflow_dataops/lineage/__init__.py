"""Lineage into MLflow: an Airflow listener, a local spool, and the writer that replays it."""
