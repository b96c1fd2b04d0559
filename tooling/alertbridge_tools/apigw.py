"""API Gateway REST (payload 1.0) proxy events, as API Gateway builds them.

Used to write ``events/<source>/*.json`` (``sam local invoke -e``), by the tests, and by the local
stack to call the real handlers.
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

EXAMPLE_TOKEN = "EXAMPLE_TOKEN"  # noqa: S105  (a placeholder: tests and tools substitute a real token)
EVENTS_DIR = Path(__file__).resolve().parents[2] / "events"


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
) -> dict[str, Any]:
    """A REST API proxy event. ``binary``: the API has binary media types */* (as template.yaml
    configures), so API Gateway hands the body over base64-encoded, byte for byte."""
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
            "identity": {"sourceIp": source_ip, "userAgent": hdrs.get("User-Agent", "")},
            "accountId": "123456789012",
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
