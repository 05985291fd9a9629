"""Create the stack's MinIO buckets, once (the ``minio-buckets`` service of docker-compose.yaml).

Usage: ``python create_buckets.py BUCKET...`` with ``S3_ENDPOINT_URL``,
``AWS_ACCESS_KEY_ID`` and ``AWS_SECRET_ACCESS_KEY`` set. A bucket that already exists is
left as it is, so the service can run on every ``docker compose up``.
"""

from __future__ import annotations

import os
import sys


def main(buckets: list[str]) -> int:
    """Create each bucket in ``buckets`` that does not exist yet."""
    import boto3  # in the image through airflow-dataops[aws]

    s3 = boto3.client("s3", endpoint_url=os.environ["S3_ENDPOINT_URL"], region_name="us-east-1")
    existing = {bucket["Name"] for bucket in s3.list_buckets().get("Buckets", [])}
    for name in buckets:
        if name in existing:
            print(f"bucket {name}: exists")
        else:
            s3.create_bucket(Bucket=name)
            print(f"bucket {name}: created")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
