"""A deterministic synthetic customer base for the showcase pipeline.

The seed document's example pipeline segments customers and plans a campaign; we have
no real customers to ship, so we generate a few thousand with a fixed seed. A share of
values is deliberately missing so that "detect missing values" has work to do.
"""

from __future__ import annotations

import csv
from pathlib import Path

COLUMNS = (
    "customer_id",
    "age",
    "annual_income_k",
    "spend_score",
    "visits_per_month",
    "tenure_years",
    "region",
)
NUMERIC_COLUMNS = ("age", "annual_income_k", "spend_score", "visits_per_month", "tenure_years")
REGIONS = ("north", "south", "east", "west")

# Centres of the latent customer profiles the generator draws from:
# (age, income k$, spend score 0-100, visits per month, tenure years).
_PROFILES = (
    (24.0, 32.0, 78.0, 9.0, 1.5),
    (38.0, 85.0, 70.0, 6.0, 6.0),
    (52.0, 110.0, 22.0, 2.0, 12.0),
    (45.0, 48.0, 40.0, 3.5, 8.0),
    (31.0, 60.0, 55.0, 5.0, 3.0),
)
_SPREAD = (4.0, 9.0, 8.0, 1.2, 1.5)


def generate_customers(path: Path, n_customers: int = 3000, seed: int = 42, missing_rate: float = 0.03) -> int:
    """Write ``n_customers`` synthetic customers as CSV to ``path`` and return the row count.

    The same ``seed`` always yields byte-identical output, so results of the showcase
    can be asserted in tests and compared across runs.
    """
    import numpy as np

    if n_customers <= 0:
        raise ValueError(f"n_customers must be positive, got {n_customers}")
    if not 0.0 <= missing_rate < 0.5:
        raise ValueError(f"missing_rate must be in [0, 0.5), got {missing_rate}")
    rng = np.random.default_rng(seed)
    profile_of = rng.integers(0, len(_PROFILES), size=n_customers)
    centres = np.asarray(_PROFILES)[profile_of]
    values = centres + rng.normal(0.0, 1.0, size=centres.shape) * np.asarray(_SPREAD)
    lower = np.asarray([18.0, 8.0, 1.0, 0.0, 0.0])
    upper = np.asarray([90.0, 400.0, 100.0, 40.0, 40.0])
    values = np.clip(values, lower, upper)
    regions = rng.integers(0, len(REGIONS), size=n_customers)
    missing = rng.random(size=(n_customers, len(NUMERIC_COLUMNS) + 1)) < missing_rate

    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        for row in range(n_customers):
            numeric = [
                "" if missing[row, col] else f"{values[row, col]:.{0 if col == 0 else 2}f}"
                for col in range(len(NUMERIC_COLUMNS))
            ]
            region = "" if missing[row, -1] else REGIONS[regions[row]]
            writer.writerow([f"C{row + 1:05d}", *numeric, region])
    return n_customers
