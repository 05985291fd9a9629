"""Finer steps of the business step "segment customers"."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from customer_campaign.dataset import NUMERIC_COLUMNS


def choose_cluster_count(features_path: Path, candidates: range = range(2, 7), seed: int = 7) -> dict[str, float]:
    """Pick the number of segments with the best silhouette score.

    Scored on a fixed-seed sample of at most 1,500 customers: silhouette is quadratic
    in the sample size and the choice is stable well before the full population.
    """
    import numpy as np
    from sklearn.cluster import KMeans
    from sklearn.metrics import silhouette_score

    features = np.load(features_path)
    sample_size = min(1500, len(features))
    scores: dict[str, float] = {}
    for k in candidates:
        labels = KMeans(n_clusters=k, n_init=4, random_state=seed).fit_predict(features)
        score = silhouette_score(features, labels, sample_size=sample_size, random_state=seed)
        scores[str(k)] = round(float(score), 4)
    best = max(scores, key=lambda key: scores[key])
    return {"k": int(best), "silhouette": scores[best], **{f"score_k{key}": value for key, value in scores.items()}}


def run_kmeans(features_path: Path, clean_path: Path, k: int, out_path: Path, seed: int = 7) -> dict[str, int]:
    """Assign each customer to one of ``k`` segments and write ``customer_id,segment``."""
    import numpy as np
    from sklearn.cluster import KMeans

    features = np.load(features_path)
    labels = KMeans(n_clusters=k, n_init=10, random_state=seed).fit_predict(features)
    with clean_path.open(newline="") as handle:
        ids = [row["customer_id"] for row in csv.DictReader(handle)]
    if len(ids) != len(labels):
        raise ValueError(f"{clean_path} has {len(ids)} customers but the features have {len(labels)} rows")
    out_path.parent.mkdir(parents=True, exist_ok=True)
    with out_path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["customer_id", "segment"])
        writer.writerows(zip(ids, (int(label) for label in labels), strict=True))
    sizes = np.bincount(labels, minlength=k)
    return {f"segment_{index}": int(size) for index, size in enumerate(sizes)}


def profile_segments(clean_path: Path, segments_path: Path, out_path: Path) -> list[dict[str, float | int]]:
    """Describe each segment and estimate its campaign economics.

    The response model is deliberately simple and documented: customers with a high
    spend score who visit often answer more; the average order grows with income.
    """
    with clean_path.open(newline="") as handle:
        customers = {row["customer_id"]: row for row in csv.DictReader(handle)}
    members: dict[int, list[dict[str, str]]] = {}
    with segments_path.open(newline="") as handle:
        for row in csv.DictReader(handle):
            members.setdefault(int(row["segment"]), []).append(customers[row["customer_id"]])
    profiles: list[dict[str, float | int]] = []
    for segment in sorted(members):
        rows = members[segment]
        means = {c: sum(float(r[c]) for r in rows) / len(rows) for c in NUMERIC_COLUMNS}
        response_rate = min(0.6, 0.01 + 0.003 * means["spend_score"] + 0.01 * means["visits_per_month"])
        average_order = 20.0 + 1.5 * means["annual_income_k"]
        contact_cost = 2.0 + 0.05 * means["annual_income_k"]
        profiles.append(
            {
                "segment": segment,
                "size": len(rows),
                **{f"mean_{c}": round(v, 2) for c, v in means.items()},
                "response_rate": round(response_rate, 4),
                "average_order": round(average_order, 2),
                "contact_cost": round(contact_cost, 2),
                "campaign_cost": round(len(rows) * contact_cost, 2),
                "expected_profit": round(len(rows) * (response_rate * average_order - contact_cost), 2),
            }
        )
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text(json.dumps(profiles, indent=2))
    return profiles


def main(argv: list[str] | None = None) -> None:
    """Run K-Means as a container would: ``python -m customer_campaign.segment --features ... --k 4 ...``.

    This is the pod of the showcase's SuperclusterPodOperator step. Its result (the
    assignments path and segment sizes) is written where KubernetesPodOperator's XCom
    sidecar reads it, or where the ``local`` target says (``AIRFLOW_DATAOPS_XCOM_FILE``).
    """
    import argparse
    import os

    parser = argparse.ArgumentParser(description="Assign customers to K-Means segments.")
    parser.add_argument("--features", type=Path, required=True)
    parser.add_argument("--clean", type=Path, required=True)
    parser.add_argument("--k", type=int, required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    print(f"K-Means with k={args.k} on {args.features}", flush=True)
    sizes = run_kmeans(args.features, args.clean, args.k, args.out)
    print(f"segment sizes: {sizes}", flush=True)
    xcom = Path(os.environ.get("AIRFLOW_DATAOPS_XCOM_FILE", "/airflow/xcom/return.json"))
    xcom.parent.mkdir(parents=True, exist_ok=True)
    xcom.write_text(json.dumps({"assignments": str(args.out), "sizes": sizes}))


if __name__ == "__main__":
    main()
