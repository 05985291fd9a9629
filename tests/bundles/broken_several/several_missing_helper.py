"""A DAG file whose helper module is missing from the bundle."""

from __future__ import annotations

import importlib
from datetime import datetime

from airflow.sdk import DAG

campaign = importlib.import_module("customer_campaign_v2")

with DAG("several_missing_helper", start_date=datetime(2026, 1, 1), schedule=None):
    campaign.build_tasks()
