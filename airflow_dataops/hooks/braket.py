"""BraketHook: an Amazon Braket session from an Airflow connection (credentials stay in the connection).

Connection ``braket`` fields: *Login* is the access key id and *Password* the secret
access key (both optional: without them boto3's default chain applies, e.g. an
instance role); extras ``region_name``, ``s3_bucket`` and ``s3_prefix`` (where Braket
writes results), ``role_arn`` (assumed through STS), ``aws_session_token``, and
``endpoint_url`` (a VPC endpoint, or a local test server, used for both Braket and S3).
"""

from __future__ import annotations

import functools
from functools import cached_property
from typing import Any

from airflow.sdk.bases.hook import BaseHook


class BraketHook(BaseHook):
    """Build the Braket SDK's ``AwsSession`` for a ``braket`` connection."""

    conn_name_attr = "braket_conn_id"
    default_conn_name = "braket_default"
    conn_type = "braket"
    hook_name = "Amazon Braket"

    def __init__(self, braket_conn_id: str = default_conn_name) -> None:
        super().__init__()
        self.braket_conn_id = braket_conn_id

    @classmethod
    def get_ui_field_behaviour(cls) -> dict[str, Any]:
        """Labels for the Airflow UI's connection form."""
        return {
            "hidden_fields": ["schema", "port", "host"],
            "relabeling": {"login": "AWS access key id", "password": "AWS secret access key"},
            "placeholders": {
                "extra": '{"region_name": "us-east-1", "s3_bucket": "amazon-braket-results", "s3_prefix": "airflow"}',
            },
        }

    @cached_property
    def extras(self) -> dict[str, Any]:
        """The connection's extras."""
        return dict(self.get_connection(self.braket_conn_id).extra_dejson)

    def results_folder(self) -> tuple[str, str]:
        """(bucket, prefix) Braket writes results to; the bucket is required."""
        bucket = self.extras.get("s3_bucket")
        if not bucket:
            raise ValueError(
                f"connection {self.braket_conn_id!r}: extra 's3_bucket' is missing; "
                "set the bucket Braket writes results to (it must start with 'amazon-braket-')"
            )
        return str(bucket), str(self.extras.get("s3_prefix") or "airflow-dataops")

    def boto_session(self, region: str | None = None) -> Any:
        """A boto3 session from the connection (static keys, session token, or an assumed role).

        ``region`` overrides the connection's: Braket devices are regional, and a task or
        device ARN names its region.
        """
        import boto3

        conn = self.get_connection(self.braket_conn_id)
        session = boto3.Session(
            aws_access_key_id=conn.login or None,
            aws_secret_access_key=conn.password or None,
            aws_session_token=self.extras.get("aws_session_token"),
            region_name=region or self.extras.get("region_name") or "us-east-1",
        )
        role_arn = self.extras.get("role_arn")
        if not role_arn:
            return session
        credentials = session.client("sts", endpoint_url=self.extras.get("endpoint_url")).assume_role(
            RoleArn=role_arn, RoleSessionName="airflow-dataops"
        )["Credentials"]
        return boto3.Session(
            aws_access_key_id=credentials["AccessKeyId"],
            aws_secret_access_key=credentials["SecretAccessKey"],
            aws_session_token=credentials["SessionToken"],
            region_name=session.region_name,
        )

    def aws_session(self, client_token: str | None = None, arn: str | None = None) -> Any:
        """The Braket SDK's ``AwsSession``, in the region of ``arn`` when it names one.

        ``client_token`` makes task creation idempotent.
        """
        from braket.aws import AwsSession

        boto_session = self.boto_session(region_of(arn) if arn else None)
        endpoint = self.extras.get("endpoint_url")
        client = boto_session.client("braket", endpoint_url=endpoint)
        if client_token:
            # botocore's own extension point: the same token always returns the same task.
            def add_token(params: dict[str, Any], **_: Any) -> None:
                params["clientToken"] = client_token

            client.meta.events.register("provide-client-params.braket.CreateQuantumTask", add_token)
        if not endpoint:
            return AwsSession(boto_session=boto_session, braket_client=client)
        return _endpoint_session_class()(boto_session, client, endpoint)

    def test_connection(self) -> tuple[bool, str]:
        """What the UI's "Test" button runs: one authenticated, read-only Braket call."""
        try:
            self.aws_session().braket_client.search_devices(filters=[], maxResults=1)
        except Exception as error:
            return False, f"Braket did not accept the connection: {error}"
        return True, "Connected to Amazon Braket"


def region_of(arn: str) -> str | None:
    """The region an ARN names (``None`` for Braket's region-less simulator ARNs)."""
    parts = arn.split(":")
    return parts[3] if len(parts) > 3 and parts[3] else None


@functools.cache
def _endpoint_session_class() -> type:
    """Defined on first use: the Braket SDK must not load when a DAG is parsed."""
    from braket.aws import AwsSession

    class EndpointAwsSession(AwsSession):  # type: ignore[misc]
        """An ``AwsSession`` whose S3 reads go to the connection's endpoint too (VPC endpoint, tests)."""

        def __init__(self, boto_session: Any, braket_client: Any, endpoint: str) -> None:
            super().__init__(boto_session=boto_session, braket_client=braket_client)
            self._endpoint = endpoint

        def retrieve_s3_object_body(self, s3_bucket: str, s3_object_key: str) -> str:
            s3 = self.boto_session.client("s3", endpoint_url=self._endpoint, config=self._config)
            body: bytes = s3.get_object(Bucket=s3_bucket, Key=s3_object_key)["Body"].read()
            return body.decode("utf-8")

    return EndpointAwsSession
