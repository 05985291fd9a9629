"""An Amazon Braket service for tests: the real HTTP API on loopback, with S3 for the results.

AWS cannot be reached from the test machines, so this speaks the part of the Braket
REST API that the Braket SDK's ``AwsQuantumTask`` calls through boto3
(``CreateQuantumTask``, ``GetQuantumTask``, ``CancelQuantumTask``) and the S3 calls it
makes for results (``GetObject``, path style), plus STS ``AssumeRole`` (the query
protocol's form request and XML answer of the STS API reference), which the amazon
provider's session factory calls for a connection with a ``role_arn``. boto3 reaches it
with endpoint overrides, signing requests as it would for AWS (the signature is not
checked; the access key id is recorded so tests can see which credentials were used).

Quantum tasks really run: the OpenQASM 3 program the SDK submits is executed by
Braket's local simulator, and the ``GateModelTaskResult`` it returns is written to the
in-memory S3 under the task's output prefix, as the service does.

Tests steer it through ``/_test/*``: ``hold`` keeps new tasks QUEUED until released,
``fail`` makes them FAILED (``fail_next``: only the next N), ``deny_gets`` answers the next N status reads with 403,
``offline`` lists device ARNs reported OFFLINE by ``GetDevice``,
``assumed_only`` refuses every Braket and S3 request not signed with credentials that
AssumeRole issued and that are still valid (with their session token), as AWS refuses
an unknown or expired key, ``credential_seconds`` sets how long issued credentials live,
``reset``, ``state`` (tasks, create calls, client tokens, cancels, access keys, signed
calls with their service and key, AssumeRole calls). ``clientToken`` is honoured: a
repeated token returns the first task, as the service's idempotency does.

Run: ``python tests/braket_api_server.py``; it prints ``PORT <n>`` when ready.
"""

from __future__ import annotations

import asyncio
import datetime
import itertools
import json
import urllib.parse
import uuid
from typing import Any
from xml.sax.saxutils import escape

from aiohttp import web

DONE = ("COMPLETED", "FAILED", "CANCELLED")


class Braket:
    """Quantum tasks, an S3 object store and the test's controls."""

    def __init__(self) -> None:
        self.tasks: dict[str, dict[str, Any]] = {}
        self.tokens: dict[str, str] = {}
        self.objects: dict[tuple[str, str], bytes] = {}
        self.controls: dict[str, Any] = {
            "hold": False,
            "fail": False,
            "fail_next": 0,
            "deny_gets": 0,
            "offline": [],
            "assumed_only": False,
            "credential_seconds": 3600,
        }
        self.creates: list[dict[str, Any]] = []
        self.cancels: list[str] = []
        self.access_keys: list[str] = []
        self.regions: list[str] = []
        self.calls: list[dict[str, str]] = []
        self.assumes: list[dict[str, str]] = []
        #: access key id -> (session token, expiry) of the credentials AssumeRole issued.
        self.issued: dict[str, tuple[str, datetime.datetime]] = {}
        self.serial = itertools.count(1)

    async def execute(self, arn: str) -> None:
        """Queue, run on the local simulator, write results.json, complete (unless held, failed, cancelled)."""
        task = self.tasks[arn]
        while self.controls["hold"] and task["status"] == "QUEUED":
            await asyncio.sleep(0.05)
        if task["status"] != "QUEUED":
            return
        if self.controls["fail_next"] > 0:
            self.controls["fail_next"] -= 1
            task.update(status="FAILED", failureReason="device offline (test)", endedAt=_now())
            return
        if self.controls["fail"]:
            task.update(status="FAILED", failureReason="device offline (test)", endedAt=_now())
            return
        task["status"] = "RUNNING"
        try:
            result = await asyncio.to_thread(_simulate, task["action"], task["shots"])
        except Exception as error:
            task.update(status="FAILED", failureReason=f"simulation failed: {error}", endedAt=_now())
            return
        if task["status"] != "RUNNING":  # cancelled meanwhile
            return
        key = f"{task['outputS3Directory']}/results.json"
        self.objects[(task["outputS3Bucket"], key)] = result.encode()
        task.update(status="COMPLETED", endedAt=_now())


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat()


def _credential_scope(request: web.Request) -> list[str]:
    """The SigV4 credential scope of a request: access key id, date, region, service (empty if unsigned)."""
    authorization = request.headers.get("Authorization", "")
    if "Credential=" not in authorization:
        return []
    return authorization.split("Credential=", 1)[1].split(",", 1)[0].split("/")


def _access_key(request: web.Request) -> str:
    scope = _credential_scope(request)
    return scope[0] if scope else ""


STS_NAMESPACE = "https://sts.amazonaws.com/doc/2011-06-15/"


def _sts_error(status: int, code: str, message: str) -> web.Response:
    """An STS error as the query protocol sends it (botocore reads Code and Message)."""
    xml = (
        f'<ErrorResponse xmlns="{STS_NAMESPACE}"><Error><Type>Sender</Type><Code>{code}</Code>'
        f"<Message>{escape(message)}</Message></Error><RequestId>{uuid.uuid4()}</RequestId></ErrorResponse>"
    )
    return web.Response(status=status, text=xml, content_type="text/xml")


def _simulate(action: str, shots: int) -> str:
    from braket.default_simulator import StateVectorSimulator
    from braket.ir.openqasm import Program

    program = Program.parse_raw(action)
    result = StateVectorSimulator().run(program, shots=shots)
    return str(result.json())


def _error(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"message": message}, status=status, headers={"x-amzn-ErrorType": code})


class Api:
    """The HTTP handlers: Braket routes, S3 GetObject, and ``/_test``."""

    def __init__(self, braket: Braket) -> None:
        self.braket = braket

    @web.middleware
    async def record_credentials(self, request: web.Request, handler: Any) -> web.StreamResponse:
        scope = _credential_scope(request)
        key = scope[0] if scope else ""
        if scope:
            call = f"{request.method} {request.path.split('/')[1]}"
            self.braket.access_keys.append(key)
            self.braket.regions.append(f"{call} {scope[2]}")
            self.braket.calls.append({"call": call, "service": scope[3], "key": key})
        if self.braket.controls["assumed_only"] and request.path != "/" and not request.path.startswith("/_test/"):
            refusal = self.refuse_unless_assumed(key, request.headers.get("X-Amz-Security-Token"))
            if refusal:
                return _error(403, *refusal)
        response: web.StreamResponse = await handler(request)
        return response

    def refuse_unless_assumed(self, key: str, token: str | None) -> tuple[str, str] | None:
        """Why AWS would refuse a request signed with ``key`` and ``token``, or None when it would not."""
        issued = self.braket.issued.get(key)
        if issued is None or issued[0] != token:
            return "UnrecognizedClientException", "The security token included in the request is invalid."
        if issued[1] <= datetime.datetime.now(datetime.UTC):
            return "ExpiredTokenException", "The security token included in the request is expired"
        return None

    async def sts(self, request: web.Request) -> web.Response:
        """STS over the query protocol: ``AssumeRole`` answers as the STS API reference shows."""
        form = await request.post()
        action = str(form.get("Action", ""))
        if action != "AssumeRole":
            return _sts_error(400, "InvalidAction", f"Could not find operation {action} for version 2011-06-15")
        role_arn, session_name = str(form.get("RoleArn", "")), str(form.get("RoleSessionName", ""))
        if not role_arn.startswith("arn:aws:iam::") or not session_name:
            return _sts_error(400, "ValidationError", "RoleArn and RoleSessionName are required")
        signer = _access_key(request)
        self.braket.assumes.append({"RoleArn": role_arn, "RoleSessionName": session_name, "signed_by": signer})
        key = f"ASIATEST{next(self.braket.serial):012d}"
        secret, token = uuid.uuid4().hex, f"session-token-{uuid.uuid4().hex}"
        lifetime = datetime.timedelta(seconds=self.braket.controls["credential_seconds"])
        expiration = (datetime.datetime.now(datetime.UTC) + lifetime).replace(microsecond=0)
        self.braket.issued[key] = (token, expiration)
        role_name = role_arn.rsplit("/", 1)[-1]
        xml = f"""<AssumeRoleResponse xmlns="{STS_NAMESPACE}">
  <AssumeRoleResult>
    <SourceIdentity></SourceIdentity>
    <AssumedRoleUser>
      <Arn>arn:aws:sts::123456789012:assumed-role/{escape(role_name)}/{escape(session_name)}</Arn>
      <AssumedRoleId>AROATESTROLEID:{escape(session_name)}</AssumedRoleId>
    </AssumedRoleUser>
    <Credentials>
      <AccessKeyId>{key}</AccessKeyId>
      <SecretAccessKey>{secret}</SecretAccessKey>
      <SessionToken>{token}</SessionToken>
      <Expiration>{expiration.strftime("%Y-%m-%dT%H:%M:%SZ")}</Expiration>
    </Credentials>
    <PackedPolicySize>6</PackedPolicySize>
  </AssumeRoleResult>
  <ResponseMetadata>
    <RequestId>{uuid.uuid4()}</RequestId>
  </ResponseMetadata>
</AssumeRoleResponse>
"""
        return web.Response(text=xml, content_type="text/xml")

    async def create(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.braket.creates.append(body)
        token = body.get("clientToken")
        if token in self.braket.tokens:
            return web.json_response({"quantumTaskArn": self.braket.tokens[token]}, status=201)
        arn = f"arn:aws:braket:us-east-1:123456789012:quantum-task/{uuid.uuid4()}"
        task = {
            "quantumTaskArn": arn,
            "status": "QUEUED",
            "deviceArn": body["deviceArn"],
            "deviceParameters": body.get("deviceParameters", "{}"),
            "shots": body["shots"],
            "outputS3Bucket": body["outputS3Bucket"],
            "outputS3Directory": f"{body['outputS3KeyPrefix']}/{arn.rsplit('/', 1)[1]}",
            "createdAt": _now(),
            "tags": body.get("tags", {}),
            "actionMetadata": {"actionType": json.loads(body["action"])["braketSchemaHeader"]["name"]},
            "action": body["action"],
        }
        self.braket.tasks[arn] = task
        if token:
            self.braket.tokens[token] = arn
        asyncio.get_running_loop().create_task(self.braket.execute(arn))
        return web.json_response({"quantumTaskArn": arn}, status=201)

    def find(self, request: web.Request) -> dict[str, Any] | None:
        return self.braket.tasks.get(urllib.parse.unquote(request.match_info["arn"]))

    async def get(self, request: web.Request) -> web.Response:
        if self.braket.controls["deny_gets"] > 0:  # e.g. expired credentials: not retried by boto3
            self.braket.controls["deny_gets"] -= 1
            return _error(403, "AccessDeniedException", "denied by the test (deny_gets)")
        task = self.find(request)
        if task is None:
            return _error(404, "ResourceNotFoundException", "Quantum task not found")
        body = {k: v for k, v in task.items() if k != "action"}
        if task["status"] == "QUEUED":
            body["queueInfo"] = {"queue": "QUANTUM_TASKS_QUEUE", "position": "1", "queuePriority": "Normal"}
        return web.json_response(body)

    async def cancel(self, request: web.Request) -> web.Response:
        task = self.find(request)
        if task is None:
            return _error(404, "ResourceNotFoundException", "Quantum task not found")
        self.braket.cancels.append(task["quantumTaskArn"])
        if task["status"] not in DONE:
            task.update(status="CANCELLED", endedAt=_now())
        return web.json_response({"quantumTaskArn": task["quantumTaskArn"], "cancellationStatus": "CANCELLED"})

    async def get_object(self, request: web.Request) -> web.Response:
        body = self.braket.objects.get((request.match_info["bucket"], request.match_info["key"]))
        if body is None:
            xml = "<Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message></Error>"
            return web.Response(status=404, text=xml, content_type="application/xml")
        return web.Response(body=body, content_type="application/json")

    async def get_device(self, request: web.Request) -> web.Response:
        arn = urllib.parse.unquote(request.match_info["arn"])
        status = "OFFLINE" if arn in self.braket.controls["offline"] else "ONLINE"
        queued = sum(1 for t in self.braket.tasks.values() if t["deviceArn"] == arn and t["status"] == "QUEUED")
        return web.json_response(
            {
                "deviceArn": arn,
                "deviceName": arn.rsplit("/", 1)[1],
                "deviceStatus": status,
                "deviceType": "SIMULATOR" if "quantum-simulator" in arn else "QPU",
                "providerName": arn.rsplit("/", 2)[1],
                "deviceCapabilities": "{}",
                "deviceQueueInfo": [
                    {"queue": "QUANTUM_TASKS_QUEUE", "queueSize": str(queued), "queuePriority": "Normal"}
                ],
            }
        )

    async def search_devices(self, _: web.Request) -> web.Response:
        return web.json_response({"devices": []})

    async def controls(self, request: web.Request) -> web.Response:
        self.braket.controls.update(await request.json())
        return web.json_response(self.braket.controls)

    async def reset(self, _: web.Request) -> web.Response:
        self.braket.__init__()  # type: ignore[misc]
        return web.json_response({})

    async def state(self, _: web.Request) -> web.Response:
        tasks = [{k: v for k, v in t.items() if k != "action"} for t in self.braket.tasks.values()]
        return web.json_response(
            {
                "tasks": tasks,
                "creates": self.braket.creates,
                "cancels": self.braket.cancels,
                "access_keys": self.braket.access_keys,
                "regions": self.braket.regions,
                "calls": self.braket.calls,
                "assumes": self.braket.assumes,
                "issued": sorted(self.braket.issued),
            }
        )


def make_app(braket: Braket) -> web.Application:
    """The aiohttp app serving ``braket``."""
    api = Api(braket)
    app = web.Application(middlewares=[api.record_credentials])
    app.add_routes(
        [
            web.post("/", api.sts),
            web.post("/quantum-task", api.create),
            web.get("/quantum-task/{arn}", api.get),
            web.put("/quantum-task/{arn}/cancel", api.cancel),
            web.post("/devices", api.search_devices),
            web.get("/device/{arn}", api.get_device),
            web.post("/_test/controls", api.controls),
            web.post("/_test/reset", api.reset),
            web.get("/_test/state", api.state),
            web.get("/{bucket}/{key:.+}", api.get_object),
        ]
    )
    return app


async def serve() -> None:
    """Listen on a free loopback port, announce it, serve until killed."""
    runner = web.AppRunner(make_app(Braket()), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    print(f"PORT {runner.addresses[0][1]}", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(serve())
