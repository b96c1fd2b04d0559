"""Heroku app webhooks (vendors.md §1, PRODUCT.md §1.1).

``Heroku-Webhook-Hmac-SHA256`` is base64(HMAC-SHA256(secret, raw body)); when the source has a
secret it must verify over the exact bytes received. Builds and dynos have a lifecycle (a problem
and a recovery on the same key), a failed release is a problem with no recovery, and the other
entities are informational: every event is a trigger keyed on its event id. Non-problem states
(build ``pending``, dyno ``starting``/``down``/``idle``, ...) are recorded as ignored, with the
reason. The event id (``webhook_metadata.event.id``) survives retries, so a retry never counts twice.
Unknown fields are ignored: Heroku adds data without warning.
"""

import base64
import hashlib
import hmac
from typing import Any, Literal, NamedTuple

from pydantic import AliasPath, BaseModel, ConfigDict, Field

from alertbridge.models.parts import Action, Severity
from alertbridge.text import cut
from alertbridge.timestamps import parse_time
from alertbridge.vendors import Unauthorized
from alertbridge.vendors.base import (
    Delivery,
    Draft,
    Ignored,
    Item,
    PayloadError,
    Text,
    links,
    read,
)

NAME = "heroku"
SIGNATURE_HEADER = "heroku-webhook-hmac-sha256"

# Heroku resource -> canonical severity of its alerts (a recovery keeps its problem's severity).
# Resources not listed here are ignored, with the reason.
SEVERITY: dict[str, Severity] = {
    "build": Severity.MEDIUM,
    "dyno": Severity.HIGH,
    "release": Severity.HIGH,
    # informational: no problem state, every event is one alert
    "addon-attachment": Severity.INFO,
    "addon": Severity.INFO,
    "app": Severity.INFO,
    "collaborator": Severity.INFO,
    "domain": Severity.INFO,
    "formation": Severity.INFO,
    "sni-endpoint": Severity.INFO,
    "ssl-endpoint": Severity.INFO,
}


class Rule(NamedTuple):
    field: Literal["status", "state"]  # the field of ``data`` that says what happened
    problem: str
    recovery: str | None
    key: str  # over {app} (data.app.id), {dyno} (data.name) and {event} (the event id)


# Resources with a lifecycle; an event of any other resource in SEVERITY is a trigger keyed on its id.
LIFECYCLE: dict[str, Rule] = {
    "build": Rule("status", "failed", "succeeded", "{app}:build"),
    "dyno": Rule("state", "crashed", "up", "{app}:dyno:{dyno}"),
    "release": Rule("status", "failed", None, "{event}"),
}

_LENIENT = ConfigDict(extra="ignore", coerce_numbers_to_str=True)


class _App(BaseModel):
    model_config = _LENIENT
    id: Text = ""
    name: Text = ""


class _Data(BaseModel):
    model_config = _LENIENT
    id: Text = ""
    name: Text = ""
    app: _App | None = None
    status: str | None = None
    state: str | None = None
    type: str | None = None
    exit_status: int | str | None = None
    description: str | None = None
    output_stream_url: str | None = None
    web_url: str | None = None


class HerokuEvent(BaseModel):
    """The envelope all resources share; ``data`` keeps only the fields the mapping reads, and the
    nested values read elsewhere are named by their paths (no model per nesting level: each costs
    cold-start time)."""

    model_config = _LENIENT

    id: str = ""
    action: Text = ""
    resource: str = Field(min_length=1)
    actor_email: Text = Field(default="", validation_alias=AliasPath("actor", "email"))
    data: _Data = Field(default_factory=_Data)
    created_at: str | None = None
    updated_at: str | None = None
    published_at: str | None = None
    previous_data: dict[str, Any] | None = None
    event_id: str = Field(default="", validation_alias=AliasPath("webhook_metadata", "event", "id"))
    include: Text = Field(default="", validation_alias=AliasPath("webhook_metadata", "event", "include"))


def sign(secret: str, body: bytes) -> str:
    """The ``Heroku-Webhook-Hmac-SHA256`` value of ``body``: what Heroku sends and ``verify`` expects;
    the one place it is computed (test alerts, the events and the tests sign with it too)."""
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def verify(delivery: Delivery) -> None:
    secret = delivery.settings.secret
    if not secret:
        return
    given = delivery.headers.get(SIGNATURE_HEADER, "").strip()
    if not given:
        raise Unauthorized("missing Heroku-Webhook-Hmac-SHA256 header (this source has a secret)")
    if not hmac.compare_digest(given.encode("utf-8", "replace"), sign(secret, delivery.body).encode()):
        raise Unauthorized("Heroku-Webhook-Hmac-SHA256 does not match the body for this source's secret")


def map_delivery(delivery: Delivery) -> list[Item]:
    label = "a Heroku webhook event"
    event = read(HerokuEvent, delivery, label)
    event_id = event.event_id or event.id
    if not event_id:
        raise PayloadError("no event id (webhook_metadata.event.id or id): retries could not be recognised")
    resource, data = event.resource.lower(), event.data
    severity = SEVERITY.get(resource)
    if severity is None:
        return [Ignored(f"Heroku resource {_quoted(event.resource)} is not mapped", vendor_id=event_id)]
    app = _App(id=data.id, name=data.name) if resource == "app" else data.app or _App()

    rule = LIFECYCLE.get(resource)
    if rule is None:
        action, what, key = Action.TRIGGER, event.action or "event", event_id
    else:
        what = (getattr(data, rule.field) or "").lower()
        if what not in (rule.problem, rule.recovery):
            return [Ignored(_not_a_signal(resource, rule, what), vendor_id=event_id)]
        action = Action.TRIGGER if what == rule.problem else Action.RESOLVE
        dyno = data.name or data.type or ""
        key = _key(resource, rule.key, app=app.id or app.name, dyno=dyno, event=event_id)

    subject = f"dyno {data.name}" if resource == "dyno" and data.name else resource
    tags = {"app": app.name, "app_id": app.id, "resource": resource, "action": event.action}
    tags |= {"actor": event.actor_email, "include": event.include}
    if rule is not None:
        tags[rule.field] = what
    details = [data.description or ""]
    if data.exit_status not in (None, ""):
        details.append(f"exit status {data.exit_status}")
    if event.previous_data:
        details.append(f"changed: {', '.join(sorted(event.previous_data))}")
    details.append(f"{event.resource} {event.action} by {event.actor_email or 'an unknown actor'}")
    times = (event.updated_at, event.created_at, event.published_at)
    return [
        Draft(
            vendor_id=event_id,
            action=action,
            dedup_key=key,
            severity=severity,
            title=f"Heroku {subject} {what}: {app.name or app.id or 'unknown app'}",
            description="\n".join(line for line in details if line),
            occurred_at=next(filter(None, map(parse_time, times)), None),
            links=links((data.output_stream_url, f"{resource} output"), (data.web_url, "web")),
            tags={k: v for k, v in tags.items() if v},
            recoverable=rule is not None and rule.recovery is not None,
        )
    ]


def _not_a_signal(resource: str, rule: Rule, value: str) -> str:
    if rule.recovery is None:
        return f"Heroku {resource} {rule.field} {_quoted(value)} is not a problem (only {rule.problem!r} is)"
    return (
        f"Heroku {resource} {rule.field} {_quoted(value)} is neither a problem ({rule.problem!r}) "
        f"nor a recovery ({rule.recovery!r})"
    )


def _quoted(value: str, limit: int = 64) -> str:
    """A vendor value quoted in a reason, cut short: reasons are stored with the delivery."""
    return repr(cut(value, limit))


def _key(resource: str, template: str, **parts: str) -> str:
    missing = [name for name, value in parts.items() if not value and "{" + name + "}" in template]
    if missing:
        fields = ", ".join({"app": "data.app.id", "dyno": "data.name"}[m] for m in missing)
        raise PayloadError(f"Heroku {resource} event without {fields}: cannot correlate it")
    return template.format(**parts)
