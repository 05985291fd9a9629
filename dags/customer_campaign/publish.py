"""Finer steps of the business step "publish"."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

TARGETS = "warehouse.campaign.targets"


def write_target_list(sql: Any, segments: list[int], out_path: Path, target: str = TARGETS) -> int:
    """Write the customers of the chosen segments to ``target`` (in the engine), then hand it over as CSV.

    A federated join: the clean customers of the warehouse with the K-Means assignments
    the pod wrote into the lake. The segment numbers go in as parameters, never as text.
    """
    chosen = ", ".join("?" for _ in segments) or "NULL"
    query = f"""
        SELECT c.customer_id, a.segment, c.region
        FROM warehouse.crm.customers_clean AS c
        JOIN lake.segments.assignments AS a ON a.customer_id = c.customer_id
        WHERE a.segment IN ({chosen})
    """
    count = int(sql.materialize(query, target, [int(s) for s in segments]))
    out_path.parent.mkdir(parents=True, exist_ok=True)
    with out_path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["customer_id", "segment", "region"])
        for batch in sql.iter_batches(f"SELECT customer_id, segment, region FROM {target} ORDER BY customer_id"):
            writer.writerows(zip(*(batch.column(i).to_pylist() for i in range(3)), strict=True))
    return count


def write_report(out_path: Path, report: dict[str, object]) -> Path:
    """Write the run report that ``make demo`` prints and tests check."""
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text(json.dumps(report, indent=2, sort_keys=True))
    return out_path
