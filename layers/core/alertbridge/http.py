"""HTTP answers, in one place: what a handler returns to API Gateway, and the body it was given."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any, NamedTuple


class Answer(NamedTuple):
    """What a webhook or API call answers: an HTTP status and a JSON body."""

    status: int
    body: dict[str, Any]
    delivery_id: str | None = None

    @classmethod
    def error(cls, status: int, message: str, **extra: Any) -> Answer:
        """The one error shape: ``{"error": ..., "status": ...}`` (and e.g. the delivery id)."""
        return cls(status, {"error": message, "status": status, **extra}, extra.get("delivery_id"))


def response(answer: Answer) -> dict[str, Any]:
    """The API Gateway proxy response for an answer."""
    return {
        "statusCode": answer.status,
        "headers": {"Content-Type": "application/json", "Cache-Control": "no-store"},
        "body": json.dumps(answer.body, separators=(",", ":")),
    }


def decode_body(raw: str | None, is_base64: bool) -> bytes:
    """The exact bytes the vendor sent (API Gateway base64-encodes binary media types)."""
    if raw is None:
        return b""
    if is_base64:
        try:
            return base64.b64decode(raw, validate=True)
        except (binascii.Error, ValueError):
            return raw.encode("utf-8", "surrogateescape")
    return raw.encode("utf-8", "surrogateescape")
