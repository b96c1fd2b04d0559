"""Notification channels: where a service's incident events are sent, and what is sent there.

A channel's target (webhook URL, HMAC secret, PagerDuty routing key, phone number, address) is a
secret: it is never in a repr, and the API shows channels only through ``masked_view``.
"""

import re
import secrets
from enum import StrEnum
from typing import Annotated, Self
from urllib.parse import urlsplit

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints, model_validator

from alertbridge.models.incident_event import EVENT_TYPES, EventType
from alertbridge.models.parts import Severity

MIN_SECRET = 16
MASK = "••••"

_E164 = re.compile(r"^\+[1-9][0-9]{1,14}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_ROUTING_KEY = re.compile(r"^[A-Za-z0-9]{32}$")


class ChannelKind(StrEnum):
    EMAIL = "email"
    SMS = "sms"
    SLACK = "slack"
    TEAMS = "teams"
    WEBHOOK = "webhook"
    PAGERDUTY = "pagerduty"


# The target fields each kind needs; every other target field must be absent, so a secret meant
# for one kind is never kept (and never leaks) on a channel of another.
_TARGETS: dict[ChannelKind, frozenset[str]] = {
    ChannelKind.EMAIL: frozenset({"address"}),
    ChannelKind.SMS: frozenset({"number"}),
    ChannelKind.SLACK: frozenset({"url"}),
    ChannelKind.TEAMS: frozenset({"url"}),
    ChannelKind.WEBHOOK: frozenset({"url", "secret"}),
    ChannelKind.PAGERDUTY: frozenset({"routing_key"}),
}
_TARGET_FIELDS = frozenset().union(*_TARGETS.values())


def new_webhook_secret() -> str:
    """A fresh HMAC secret for a webhook channel created without one: shown once, at creation."""
    return secrets.token_urlsafe(32)


class Channel(BaseModel):
    """One channel of a service, with its notification rule (which events, from which severity)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: Annotated[str, StringConstraints(pattern=r"^ch_[A-Za-z0-9]{1,40}$")]
    service_id: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    kind: ChannelKind
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128)]
    url: Annotated[str, StringConstraints(max_length=2048)] | None = Field(default=None, repr=False)
    secret: Annotated[str, StringConstraints(max_length=256)] | None = Field(default=None, repr=False)
    routing_key: str | None = Field(default=None, repr=False)
    address: Annotated[str, StringConstraints(max_length=254)] | None = Field(default=None, repr=False)
    number: str | None = Field(default=None, repr=False)
    events: frozenset[EventType] = frozenset(EVENT_TYPES)
    min_severity: Severity = Severity.INFO
    test_incidents: bool = False
    rate_per_minute: int = Field(default=20, ge=1, le=1000)
    created_at: AwareDatetime

    @model_validator(mode="after")
    def _check_target(self) -> Self:
        needed = _TARGETS[self.kind]
        for name in sorted(_TARGET_FIELDS):
            given = getattr(self, name) is not None
            if name in needed and not given:
                raise ValueError(f"a {self.kind} channel needs {name}")
            if name not in needed and given:
                raise ValueError(f"a {self.kind} channel has no {name}")
        if self.url is not None:
            parts = urlsplit(self.url)
            if parts.scheme not in {"http", "https"} or not parts.hostname:
                raise ValueError("url must be an http(s) URL with a host")
        if self.secret is not None and len(self.secret) < MIN_SECRET:
            raise ValueError(f"secret must be at least {MIN_SECRET} characters")
        if self.routing_key is not None and not _ROUTING_KEY.match(self.routing_key):
            raise ValueError("routing_key must be the 32-character PagerDuty integration key")
        if self.address is not None and not _EMAIL.match(self.address):
            raise ValueError("address must be an email address")
        if self.number is not None and not _E164.match(self.number):
            raise ValueError("number must be an E.164 phone number (+ and up to 15 digits)")
        if not self.events:
            raise ValueError("events must name at least one event type")
        return self

    def masked_view(self) -> "ChannelView":
        return ChannelView(
            id=self.id,
            service_id=self.service_id,
            kind=self.kind,
            name=self.name,
            url=_mask_url(self.url) if self.url is not None else None,
            has_secret=self.secret is not None,
            routing_key=_tail(self.routing_key) if self.routing_key is not None else None,
            address=_mask_address(self.address) if self.address is not None else None,
            number=_tail(self.number) if self.number is not None else None,
            events=self.events,
            min_severity=self.min_severity,
            test_incidents=self.test_incidents,
            rate_per_minute=self.rate_per_minute,
            created_at=self.created_at,
        )


class ChannelView(BaseModel):
    """A channel as the API returns it after creation: targets masked, the secret only as a flag."""

    # Built on first use: the notifier and the checker read channels, never their views.
    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    id: str
    service_id: str
    kind: ChannelKind
    name: str
    url: str | None
    has_secret: bool
    routing_key: str | None
    address: str | None
    number: str | None
    events: frozenset[EventType]
    min_severity: Severity
    test_incidents: bool
    rate_per_minute: int
    created_at: AwareDatetime


def _tail(value: str) -> str:
    return MASK + value[-4:]


def _mask_url(url: str) -> str:
    """Scheme, host and the last 4 characters: enough to tell two webhooks apart, useless to post to
    (the path of a Slack or Teams webhook URL is its credential)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname}/…/{url[-4:]}"


def _mask_address(address: str) -> str:
    local, _, domain = address.rpartition("@")
    return f"{local[0]}{MASK}@{domain}"
