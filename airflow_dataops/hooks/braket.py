"""BraketHook: Amazon Braket and its S3 results through the amazon provider's ``aws`` connection.

Credentials are the amazon provider's business: static keys, a profile, an assumed role
or web identity, refreshed by its session factory before they expire, which matters
because a QPU task can queue for longer than an assumed role's credentials live. So the
hook is an ``AwsBaseHook`` like the provider's own service hooks (``SqsHook``,
``SnsHook``) and reads only what is Braket's own from the connection:

- ``service_config.braket.s3_bucket`` (required to submit) and
  ``service_config.braket.s3_prefix`` (default ``airflow-dataops``): where Braket
  writes results, next to the credentials that must be allowed to write there;
- ``service_config.braket.endpoint_url`` and ``service_config.s3.endpoint_url`` (or
  the connection's ``endpoint_url`` for both): a VPC endpoint, or a local test server.

The Braket SDK (heavy, ~1 s to import) loads only when a session is built, never when
this module is imported.
"""

from __future__ import annotations

import functools
from typing import Any

try:
    from airflow.providers.amazon.aws.hooks.base_aws import AwsBaseHook
except ImportError as missing:  # pragma: no cover - the amazon provider is in every test environment
    from airflow.providers.common.compat.sdk import AirflowOptionalProviderFeatureException

    raise AirflowOptionalProviderFeatureException(
        "BraketHook needs apache-airflow-providers-amazon, which is not installed. "
        "Install it with: pip install 'airflow-dataops[quantum,aws]'"
    ) from missing

from airflow_dataops.core.errors import InvalidInputError

#: Where results go when the connection names a bucket but no prefix.
DEFAULT_S3_PREFIX = "airflow-dataops"
#: The region when neither an ARN, the hook, the connection nor boto3's configuration names one:
#: Braket's managed simulators are reached there.
FALLBACK_REGION = "us-east-1"


class BraketHook(AwsBaseHook):
    """The Braket SDK's ``AwsSession`` for an ``aws`` connection.

    :param aws_conn_id: the amazon provider's ``aws`` connection (``None``: boto3's
        default chain, e.g. an instance role, with no results bucket configured).
    :param region_name: the default region, over the connection's ``region_name``; a
        device or task ARN that names a region is always reached in that region.
    :param kwargs: passed to ``AwsBaseHook`` (``verify``, ``config``).
    """

    def __init__(
        self,
        aws_conn_id: str | None = AwsBaseHook.default_conn_name,
        region_name: str | None = None,
        **kwargs: Any,
    ) -> None:
        kwargs["client_type"] = "braket"
        super().__init__(aws_conn_id=aws_conn_id, region_name=region_name, **kwargs)
        # One boto3 session per region: its credentials refresh themselves, and building
        # another would assume the role again (an STS call per device asked about).
        self._sessions: dict[str | None, Any] = {}

    def results_folder(self) -> tuple[str, str]:
        """(bucket, prefix) Braket writes results to, from the connection's ``service_config.braket``.

        Checked before anything is submitted: without a bucket Braket would refuse the
        task only after the circuit was converted and the request signed.
        """
        config = self.service_config
        bucket = config.get("s3_bucket")
        if not bucket:
            # The amazon provider falls back to boto3's default chain when the connection
            # does not exist; say so, or the user would look for a field in a connection
            # that is not there.
            exists = bool(self.conn_config)
            raise InvalidInputError(
                f"aws connection {self.aws_conn_id!r}",
                "service_config.braket.s3_bucket",
                ("no results bucket is set" if exists else "the connection does not exist, so no results bucket is set")
                + ", and Braket writes every task's results to S3",
                ("add" if exists else "create an aws connection with")
                + ' {"service_config": {"braket": {"s3_bucket": "amazon-braket-<yours>", "s3_prefix": "airflow"}}}'
                + " in its extra (the bucket must exist, in the device's region, and the connection's"
                " credentials must be allowed to write to it)",
            )
        return str(bucket), str(config.get("s3_prefix") or DEFAULT_S3_PREFIX)

    def boto_session(self, region: str | None = None) -> Any:
        """The connection's boto3 session in ``region`` (default: the hook's), built once per region.

        It comes from the amazon provider's session factory, so an assumed role or web
        identity is refreshed by botocore before it expires, however long a task waits.
        """
        region = region or self.region_name
        if region not in self._sessions:
            session = self.get_session(region_name=region)
            if session.region_name is None:  # nothing names one (connection, profile, environment)
                session = self.get_session(region_name=FALLBACK_REGION)
            self._sessions[region] = session
        return self._sessions[region]

    def client(self, service: str, region: str | None = None) -> Any:
        """A boto3 client of ``service`` with the connection's endpoint, botocore config and TLS verification."""
        return self.boto_session(region).client(
            service,
            endpoint_url=self.conn_config.get_service_endpoint_url(service),
            config=self.config,
            verify=self.verify,
        )

    def aws_session(self, client_token: str | None = None, arn: str | None = None) -> Any:
        """The Braket SDK's ``AwsSession``, in the region of ``arn`` when it names one.

        ``client_token`` makes task creation idempotent: the same token always returns
        the task created first.
        """
        region = (region_of(arn) if arn else None) or self.region_name
        braket = self.client("braket", region)
        if client_token:
            # botocore's own extension point: the token goes into every CreateQuantumTask call.
            def add_token(params: dict[str, Any], **_: Any) -> None:
                params["clientToken"] = client_token

            braket.meta.events.register("provide-client-params.braket.CreateQuantumTask", add_token)
        return _connection_session_class()(self.boto_session(region), braket, functools.partial(self.client, "s3"))

    def test_connection(self) -> tuple[bool, str]:
        """Whether the connection reaches Braket: one authenticated, read-only call (``SearchDevices``).

        The ``aws`` form's Test button runs the amazon provider's STS ``GetCallerIdentity``,
        which valid credentials without Braket access, or an unreachable Braket endpoint,
        pass; this check does not let them pass.
        """
        try:
            session = self.boto_session()
            self.client("braket").search_devices(filters=[], maxResults=1)
            method = session.get_credentials().method
        except Exception as error:
            return False, f"Braket did not accept the connection: {type(error).__name__}: {error}"
        return True, f"Connected to Amazon Braket in {session.region_name} (credentials: {method})"


def region_of(arn: str) -> str | None:
    """The region an ARN names (``None`` for Braket's region-less simulator ARNs)."""
    parts = arn.split(":")
    return parts[3] if len(parts) > 3 and parts[3] else None


@functools.cache
def _connection_session_class() -> type:
    """Defined on first use: the Braket SDK must not load when a DAG is parsed."""
    from braket.aws import AwsSession

    class ConnectionAwsSession(AwsSession):  # type: ignore[misc]
        """An ``AwsSession`` whose S3 calls use the connection's S3 endpoint, config and TLS settings.

        The SDK builds its S3 client and resource from the bare boto3 session, which
        would ignore ``service_config.s3.endpoint_url`` (a VPC endpoint, the tests'
        server) and the connection's ``verify``; these two overrides are where it reads S3.
        """

        def __init__(self, boto_session: Any, braket_client: Any, make_s3_client: Any) -> None:
            super().__init__(boto_session=boto_session, braket_client=braket_client)
            self._make_s3_client = make_s3_client
            self._connection_s3: Any = None

        @property
        def s3_client(self) -> Any:
            if self._connection_s3 is None:
                self._connection_s3 = self._make_s3_client(self.region)
            return self._connection_s3

        def retrieve_s3_object_body(self, s3_bucket: str, s3_object_key: str) -> str:
            body: bytes = self.s3_client.get_object(Bucket=s3_bucket, Key=s3_object_key)["Body"].read()
            return body.decode("utf-8")

    return ConnectionAwsSession
