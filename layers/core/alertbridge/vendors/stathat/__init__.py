"""StatHat alert webhooks (vendors.md §5).

The body format is not public, so the parser takes whatever comes: a JSON object, form fields
(``application/x-www-form-urlencoded``, or a body that reads as ``k=v&...``) or plain text. Every
delivery is one problem; StatHat sends no recovery, so incidents are resolved by hand. The dedup key
is the alert id or the stat id when present, else a hash of the stat name (or title). StatHat gives
no event id: a delivery is identified by its key, the minute it arrived and a hash of its bytes, so
an identical retry within the minute counts once, a different body in that minute (e.g. a re-fire
right after a manual resolve) counts, and a later re-fire counts again.
"""

import hashlib
import re
from datetime import UTC
from typing import Any
from urllib.parse import parse_qsl

from alertbridge.models.parts import Action, Severity
from alertbridge.vendors.base import Delivery, Draft, Item, PayloadError, decode_text, loads

NAME = "stathat"

# StatHat has no severity scale: every delivery is one alert of this severity.
SEVERITY: dict[str, Severity] = {"alert": Severity.MEDIUM}

TITLE_FIELDS = ("stat_name", "name", "title", "message", "text")
TITLE_CHARS = 200
_FORM = re.compile(r"[\w.%+\[\]-]+=[^&\s]*(?:&[\w.%+\[\]-]+=[^&\s]*)*")


def map_delivery(delivery: Delivery) -> list[Item]:
    text = decode_text(delivery)
    fields, body_format = _fields(text, delivery.content_type)
    if body_format == "text":
        first_line = next(line.strip() for line in text.splitlines() if line.strip())
        title, description = first_line[:TITLE_CHARS], text.strip()
    else:
        title = _first(fields, *TITLE_FIELDS) or "StatHat alert"
        description = "\n".join(f"{k}: {v}" for k, v in fields.items() if _scalar(v))

    if alert_id := _first(fields, "id", "alert_id"):
        key = f"alert:{alert_id}"
    elif stat_id := _first(fields, "stat_id"):
        key = f"stat:{stat_id}"
    else:
        name = _first(fields, "stat_name") or title
        key = f"stat:{hashlib.sha256(name.encode()).hexdigest()[:16]}"
    minute = delivery.received_at.astimezone(UTC)
    tags = {"body_format": body_format} | {name: _first(fields, name) for name in ("kind", "time_window")}
    return [
        Draft(
            vendor_id=f"{key}|{minute:%Y-%m-%dT%H:%MZ}|{hashlib.sha256(delivery.body).hexdigest()[:16]}",
            action=Action.TRIGGER,
            dedup_key=key,
            severity=SEVERITY["alert"],
            title=title,
            description=description,
            tags={k: v for k, v in tags.items() if v},
            recoverable=False,
        )
    ]


def vendor_objects(delivery: Delivery) -> list[Any]:
    """The delivery's fields (JSON or form; none for text): what alert rules read as ``vendor``."""
    try:
        return [_fields(decode_text(delivery), delivery.content_type)[0]]
    except PayloadError:
        return []


def _fields(text: str, content_type: str) -> tuple[dict[str, Any], str]:
    """The body's fields and its format: "json", "form" or "text" (no fields)."""
    stripped = text.strip()
    if _FORM.fullmatch(stripped) or (content_type == "application/x-www-form-urlencoded" and "=" in stripped):
        return dict(parse_qsl(stripped, keep_blank_values=True)), "form"
    if content_type.endswith("json") or stripped.startswith(("{", "[")):
        try:
            payload = loads(stripped)
        except (ValueError, RecursionError):
            return {}, "text"  # it only looked like JSON
        if not isinstance(payload, dict):
            got = type(payload).__name__
            raise PayloadError(f"expected a JSON object, form fields or text, got a JSON {got}")
        return payload, "json"
    return {}, "text"


def _scalar(value: Any) -> bool:
    return isinstance(value, str | int | float) and not isinstance(value, bool) and str(value).strip() != ""


def _first(fields: dict[str, Any], *names: str) -> str:
    """The first of ``names`` holding a non-empty scalar, as text."""
    return next((str(fields[n]).strip() for n in names if _scalar(fields.get(n))), "")
