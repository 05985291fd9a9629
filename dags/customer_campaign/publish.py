"""Finer steps of the business step "publish"."""

from __future__ import annotations

import csv
import json
from pathlib import Path


def write_target_list(segments_path: Path, chosen_segments: list[int], out_path: Path) -> int:
    """Write the ids of the customers the campaign will contact; return how many."""
    chosen = set(chosen_segments)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    count = 0
    with segments_path.open(newline="") as source, out_path.open("w", newline="") as target:
        writer = csv.writer(target)
        writer.writerow(["customer_id", "segment"])
        for row in csv.DictReader(source):
            if int(row["segment"]) in chosen:
                writer.writerow([row["customer_id"], row["segment"]])
                count += 1
    return count


def write_report(out_path: Path, report: dict[str, object]) -> Path:
    """Write the run report that ``make demo`` prints and tests check."""
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text(json.dumps(report, indent=2, sort_keys=True))
    return out_path
