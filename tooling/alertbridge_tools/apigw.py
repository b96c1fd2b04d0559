"""API Gateway REST (payload 1.0) proxy events, as API Gateway builds them.

Used to write ``events/<source>/*.json`` (``sam local invoke -e``), by the tests, and by the local
stack to call the real handlers.
"""

from __future__ import annotations

import base64
import ipaddress
import json
import re
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

EXAMPLE_TOKEN = "EXAMPLE_TOKEN"  # noqa: S105  (a placeholder: tests and tools substitute a real token)
EVENTS_DIR = Path(__file__).resolve().parents[2] / "events"
ACCOUNT_ID = "123456789012"  # moto's default account: the local stack's


def response_headers(raw: Mapping[str, Any]) -> list[tuple[str, str]]:
    """A proxy integration's answer's headers as API Gateway sends them: ``headers`` and
    ``multiValueHeaders`` merged, a name in both taking the latter's values (Powertools' REST
    resolver answers with ``multiValueHeaders`` only)."""
    multi = {name: list(values) for name, values in (raw.get("multiValueHeaders") or {}).items()}
    single = [(name, str(value)) for name, value in (raw.get("headers") or {}).items() if name not in multi]
    return single + [(name, str(value)) for name, values in multi.items() for value in values]


def proxy_event(
    method: str,
    path: str,
    *,
    resource: str,
    path_parameters: Mapping[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
    query: Mapping[str, str] | None = None,
    body: bytes | None = None,
    binary: bool = True,
    stage: str = "local",
    source_ip: str = "127.0.0.1",
    identity: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """A REST API proxy event. ``binary``: the API has binary media types */* (as template.yaml
    configures), so API Gateway hands the body over base64-encoded, byte for byte. ``identity``:
    the IAM caller of an ``AWS_IAM`` route (:func:`iam_identity`)."""
    now = datetime.now(UTC)
    hdrs = dict(headers or {})
    encoded: str | None
    if body is None:
        encoded = None
    elif binary:
        encoded = base64.b64encode(body).decode()
    else:
        encoded = body.decode("utf-8")
    return {
        "resource": resource,
        "path": path,
        "httpMethod": method,
        "headers": hdrs,
        "multiValueHeaders": {k: [v] for k, v in hdrs.items()},
        "queryStringParameters": dict(query) if query else None,
        "multiValueQueryStringParameters": {k: [v] for k, v in query.items()} if query else None,
        "pathParameters": dict(path_parameters) if path_parameters else None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": resource,
            "httpMethod": method,
            "path": f"/{stage}{path}",
            "stage": stage,
            "requestId": str(uuid.uuid4()),
            "requestTimeEpoch": int(now.timestamp() * 1000),
            "protocol": "HTTP/1.1",
            "identity": {"sourceIp": source_ip, "userAgent": hdrs.get("User-Agent", ""), **(identity or {})},
            "accountId": ACCOUNT_ID,
            "apiId": "local",
        },
        "body": encoded,
        "isBase64Encoded": bool(binary and body is not None),
    }


def webhook_event(
    source: str, token: str, body: bytes, headers: Mapping[str, str] | None = None, *, binary: bool = True
) -> dict[str, Any]:
    hdrs = {"Content-Type": "application/json", **(headers or {})}
    return proxy_event(
        "POST",
        f"/hooks/{source}/{token}",
        resource=f"/hooks/{source}/{{token}}",
        path_parameters={"token": token},
        headers=hdrs,
        body=body,
        binary=binary,
    )


def heartbeat_event(token: str, method: str = "GET", body: bytes | None = None) -> dict[str, Any]:
    """``GET|POST /hooks/heartbeat/{token}``, as a cron job's ``curl`` sends it."""
    return proxy_event(
        method,
        f"/hooks/heartbeat/{token}",
        resource="/hooks/heartbeat/{token}",
        path_parameters={"token": token},
        headers={"User-Agent": "curl/8.5.0"},
        body=body,
    )


def load_event(source: str, case: str, token: str) -> dict[str, Any]:
    """An ``events/<source>/<case>.json`` file with its example token replaced by ``token``."""
    text = (EVENTS_DIR / source / f"{case}.json").read_text()
    event: dict[str, Any] = json.loads(text.replace(EXAMPLE_TOKEN, token))
    return event


def event_body(event: Mapping[str, Any]) -> bytes:
    raw = event.get("body")
    if raw is None:
        return b""
    return base64.b64decode(raw) if event.get("isBase64Encoded") else str(raw).encode()


# --- what API Gateway checks before a route's function runs ---------------------------------------
# Its answers, word for word (403, JSON). The signature mismatch's goes on with the canonical
# request and string to sign API Gateway computed, as it does.
MISSING_TOKEN = "Missing Authentication Token"  # noqa: S105  (API Gateway's words, no secret)
INVALID_KEY = "The security token included in the request is invalid."
SIGNATURE_MISMATCH = (
    "The request signature we calculated does not match the signature you provided. Check your AWS "
    "Secret Access Key and signing method. Consult the service documentation for details."
)
SIGNING_SERVICE = "execute-api"
REGION = "us-east-1"  # the local stack's
# moto's test credentials (what `mock_aws` puts in the environment): known to the emulator, as
# every access key of its IAM users and every STS session it handed out.
MOTO_TEST_CREDENTIALS = ("FOOBARKEY", "FOOBARSECRET")


class Refused(Exception):
    """API Gateway answers 403 with ``body`` before the function is called."""

    def __init__(self, body: dict[str, str]) -> None:
        super().__init__(next(iter(body.values())))
        self.body = body


def iam_identity(method: str, url: str, headers: Mapping[str, str], body: bytes | None) -> dict[str, Any]:
    """An ``AWS_IAM``-authorized route's check: the request's SigV4 signature recomputed by botocore
    with the secret of the access key it names (a key the emulator knows); the caller's
    ``requestContext.identity`` as API Gateway fills it in. Raises :class:`Refused`."""
    from botocore.auth import SigV4Auth  # noqa: PLC0415
    from botocore.awsrequest import AWSRequest  # noqa: PLC0415
    from botocore.credentials import Credentials  # noqa: PLC0415
    from moto.iam.access_control import CreateAccessKeyFailure, create_access_key  # noqa: PLC0415
    from moto.sts.models import sts_backends  # noqa: PLC0415

    lower = {k.lower(): v for k, v in headers.items()}
    authorization = lower.get("authorization", "")
    if not authorization.startswith("AWS4-HMAC-SHA256 ") or "x-amz-date" not in lower:
        raise Refused({"message": MISSING_TOKEN})
    parts = authorization.removeprefix("AWS4-HMAC-SHA256 ").split(",")
    fields = dict(part.strip().split("=", 1) for part in parts if "=" in part)
    scope = fields.get("Credential", "").split("/")
    if len(scope) != 5 or not fields.get("Signature") or not fields.get("SignedHeaders"):
        raise Refused({"message": MISSING_TOKEN})
    key_id, region, service = scope[0], scope[2], scope[3]
    if service != SIGNING_SERVICE:
        raise Refused({"message": f"Credential should be scoped to correct service: '{SIGNING_SERVICE}'. "})
    if region != REGION:
        raise Refused({"message": "Credential should be scoped to a valid region. "})
    token = lower.get("x-amz-security-token")
    if key_id == MOTO_TEST_CREDENTIALS[0]:
        credentials = Credentials(*MOTO_TEST_CREDENTIALS)
    else:
        try:
            known = create_access_key(
                ACCOUNT_ID, "aws", key_id, {"X-Amz-Security-Token": token} if token else {}
            )
        except CreateAccessKeyFailure:
            raise Refused({"message": INVALID_KEY}) from None
        credentials = known.create_credentials()
    signed = fields["SignedHeaders"].split(";")
    request = AWSRequest(
        method=method, url=url, data=body or b"", headers={k: v for k, v in lower.items() if k in signed}
    )
    request.context["timestamp"] = lower["x-amz-date"]
    auth = SigV4Auth(credentials, service, region)
    canonical = auth.canonical_request(request)
    string_to_sign = auth.string_to_sign(request, canonical)
    if auth.signature(string_to_sign, request) != fields["Signature"]:
        raise Refused(
            {
                "message": f"{SIGNATURE_MISMATCH}\n\nThe Canonical String for this request should have been\n"
                f"'{canonical}'\n\nThe String-to-Sign should have been\n'{string_to_sign}'\n"
            }
        )
    user_id, arn, account = sts_backends[ACCOUNT_ID]["aws"].get_caller_identity(key_id, region)
    return {"accessKey": key_id, "accountId": account, "caller": user_id, "user": user_id, "userArn": arn}


def resource_policy_check(
    statements: list[dict[str, Any]], method: str, path: str, *, stage: str, source_ip: str
) -> None:
    """The API's resource policy, as API Gateway evaluates it for an anonymous caller: an explicit
    deny refuses, and so does the lack of an allow. Conditions: ``IpAddress`` / ``NotIpAddress`` on
    ``aws:SourceIp`` (the TCP peer; API Gateway never takes X-Forwarded-For for it), the only ones
    template.yaml uses; any other is an error, never ignored. Raises :class:`Refused`."""
    resource = f"{stage}/{method.upper()}{path}"
    allowed = False
    for statement in statements:
        if not any(_matches(r, resource) for r in _listed(statement.get("Resource"))):
            continue
        if not _conditions_hold(statement.get("Condition") or {}, source_ip):
            continue
        if statement["Effect"] == "Deny":
            raise Refused({"Message": _not_authorized(resource, "with an explicit deny")})
        allowed = True
    if not allowed:
        why = "because no resource-based policy allows the execute-api:Invoke action"
        raise Refused({"Message": _not_authorized(resource, why)})


def _listed(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else list(value or [])


def _matches(pattern: str, resource: str) -> bool:
    """``execute-api:/STAGE/METHOD/PATH`` with IAM's wildcards (``*`` any run, ``?`` one character)."""
    wanted = pattern.removeprefix("execute-api:/")
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in wanted)
    return re.fullmatch(regex, resource) is not None


def _conditions_hold(condition: Mapping[str, Mapping[str, Any]], source_ip: str) -> bool:
    for operator, tests in condition.items():
        for key, values in tests.items():
            if operator not in ("IpAddress", "NotIpAddress") or key.lower() != "aws:sourceip":
                raise ValueError(f"resource policy condition {operator} {key}: not emulated")
            address = ipaddress.ip_address(source_ip)
            inside = any(address in ipaddress.ip_network(cidr, strict=False) for cidr in _listed(values))
            if inside != (operator == "IpAddress"):
                return False
    return True


def _not_authorized(resource: str, why: str) -> str:

    arn = f"arn:aws:execute-api:{REGION}:********{ACCOUNT_ID[-4:]}:local/{mask_tokens(resource)}"
    return f"User: anonymous is not authorized to perform: execute-api:Invoke on resource: {arn} {why}"


_TOKEN_IN_PATH = re.compile(r"(/hooks/[^/\s]+/)[^/\s?]+")


def mask_tokens(line: str) -> str:
    """A request line or path with every webhook token in it masked: tokens are secrets, never
    logged or answered (the local server's access log, API Gateway's refusals)."""
    return _TOKEN_IN_PATH.sub(r"\1****", line)
