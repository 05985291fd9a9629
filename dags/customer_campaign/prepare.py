"""Finer steps of the business step "prepare customer data"."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from customer_campaign.dataset import COLUMNS, NUMERIC_COLUMNS


def _read_rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as handle:
        reader = csv.DictReader(handle)
        missing_columns = set(COLUMNS) - set(reader.fieldnames or ())
        if missing_columns:
            raise ValueError(f"{path} lacks the columns {sorted(missing_columns)}; expected {list(COLUMNS)}")
        return list(reader)


def detect_missing_values(path: Path) -> dict[str, int]:
    """Count empty cells per column, so the run log says how dirty the input was."""
    rows = _read_rows(path)
    return {column: sum(1 for row in rows if row[column] == "") for column in COLUMNS}


def impute_missing_values(path: Path, out_path: Path) -> dict[str, float | str]:
    """Fill numeric gaps with the column median and regions with the most frequent one.

    Medians resist the outliers a customer base always has; the fill values are
    returned so that they are visible in XCom and can be audited.
    """
    import numpy as np

    rows = _read_rows(path)
    fills: dict[str, float | str] = {}
    for column in NUMERIC_COLUMNS:
        present = [float(row[column]) for row in rows if row[column] != ""]
        fills[column] = round(float(np.median(present)), 2)
    regions = [row["region"] for row in rows if row["region"] != ""]
    fills["region"] = max(sorted(set(regions)), key=regions.count)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    with out_path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS)
        writer.writeheader()
        for row in rows:
            writer.writerow({key: (value if value != "" else fills[key]) for key, value in row.items()})
    return fills


def scale_features(clean_path: Path, out_path: Path) -> dict[str, list[float]]:
    """Standardise the numeric columns (zero mean, unit variance) for K-Means.

    K-Means measures Euclidean distance, so unscaled income (in k$) would dominate
    age or visits. The scaler's parameters are written beside the matrix.
    """
    import numpy as np

    rows = _read_rows(clean_path)
    matrix = np.asarray([[float(row[c]) for c in NUMERIC_COLUMNS] for row in rows])
    mean, std = matrix.mean(axis=0), matrix.std(axis=0)
    std[std == 0] = 1.0
    out_path.parent.mkdir(parents=True, exist_ok=True)
    np.save(out_path, (matrix - mean) / std)
    scaler = {"mean": mean.round(4).tolist(), "std": std.round(4).tolist()}
    out_path.with_suffix(".scaler.json").write_text(json.dumps(scaler, indent=2))
    return scaler
