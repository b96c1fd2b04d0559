"""Channels: per-kind validation, secrets kept out of reprs, the masked view."""

from __future__ import annotations

from typing import Any

import pytest
from alertbridge.models.channel import Channel, ChannelKind, new_webhook_secret
from alertbridge.models.incident_event import EVENT_TYPES
from alertbridge.models.parts import Severity
from pydantic import ValidationError

from tests.unit.notify.factories import make_channel


@pytest.mark.parametrize("kind", list(ChannelKind))
def test_every_kind_with_its_target_is_valid_and_has_the_defaults(kind: ChannelKind) -> None:
    channel = make_channel(kind.value)
    assert channel.events == frozenset(EVENT_TYPES)
    assert channel.min_severity is Severity.INFO
    assert channel.test_incidents is False
    assert channel.rate_per_minute == 20


@pytest.mark.parametrize(
    ("kind", "overrides", "message"),
    [
        ("slack", {"url": None}, "needs url"),
        ("slack", {"url": "ftp://hooks.slack.com/x"}, r"http\(s\) URL"),
        ("teams", {"url": "https:///nohost"}, r"http\(s\) URL"),
        ("webhook", {"secret": None}, "needs secret"),
        ("webhook", {"secret": "short"}, "at least 16"),
        ("pagerduty", {"routing_key": "abc"}, "32-character"),
        ("email", {"address": "not-an-address"}, "email address"),
        ("sms", {"number": "4155550123"}, "E.164"),
        ("sms", {"number": "+0155550123"}, "E.164"),
        ("sms", {"number": "+1415555012345678"}, "E.164"),
        ("email", {"url": "https://x.example/"}, "has no url"),
        ("slack", {"rate_per_minute": 0}, "greater than or equal to 1"),
        ("slack", {"rate_per_minute": 1001}, "less than or equal to 1000"),
        ("slack", {"events": []}, "at least one event"),
        ("slack", {"events": ["incident.test"]}, "incident.opened"),
        ("slack", {"id": "chan_1"}, "pattern"),
    ],
)
def test_invalid_channels_are_refused_with_a_clear_reason(
    kind: str, overrides: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        make_channel(kind, **overrides)


def test_a_generated_webhook_secret_is_accepted_and_fresh() -> None:
    secret = new_webhook_secret()
    assert len(secret) >= 16
    assert secret != new_webhook_secret()
    assert make_channel("webhook", secret=secret).secret == secret


@pytest.mark.parametrize("kind", list(ChannelKind))
def test_targets_never_appear_in_the_repr(kind: ChannelKind) -> None:
    channel = make_channel(kind.value)
    text = repr(channel) + str(channel)
    for name in ("url", "secret", "routing_key", "address", "number"):
        value = getattr(channel, name)
        if value is not None:
            assert value not in text
            assert value[-8:] not in text


@pytest.mark.parametrize("kind", list(ChannelKind))
def test_the_masked_view_never_shows_a_target_in_full(kind: ChannelKind) -> None:
    channel = make_channel(kind.value)
    dumped = channel.masked_view().model_dump_json()
    for name in ("url", "secret", "routing_key", "address", "number"):
        value = getattr(channel, name)
        if value is not None:
            assert value not in dumped, name
    if channel.secret is not None:
        assert channel.secret[-4:] not in dumped


def test_masked_forms() -> None:
    slack = make_channel("slack").masked_view()
    assert slack.url == "https://hooks.slack.com/…/WXYZ"
    assert slack.has_secret is False
    assert make_channel("webhook").masked_view().has_secret is True
    assert make_channel("pagerduty").masked_view().routing_key == "••••bcd1"
    assert make_channel("email").masked_view().address == "o••••@example.com"
    assert make_channel("sms").masked_view().number == "••••0123"


def test_a_channel_round_trips_through_json() -> None:
    channel = make_channel("webhook", events=["incident.opened", "incident.resolved"], min_severity="high")
    assert Channel.model_validate_json(channel.model_dump_json()) == channel
