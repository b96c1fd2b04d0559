"""The channel rules of the management API, without HTTP: add a channel, set a service's escalation.

Like :mod:`alertbridge.operations`, every function takes its stores as arguments and never builds
them (``management.channels`` passes the ones from ``runtime``). A request the rules refuse raises
:class:`ChannelRejected` (a 400); an unknown service or channel is the stores' ``NotFound``.
Channel targets are write-only: a webhook secret alertbridge generates is returned once, beside the
channel, for the answer that created it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from alertbridge.models.channel import Channel, ChannelKind, new_webhook_secret
from alertbridge.models.incident_event import EVENT_TYPES
from alertbridge.notify.policy import EscalationStep, check_steps, parse_after
from alertbridge.store.channels import ChannelStore
from alertbridge.store.sources import SourceStore, new_id
from alertbridge.timestamps import now


class ChannelRejected(ValueError):
    """A request the channel rules refuse (a 400)."""


def event_types(names: Iterable[str]) -> list[str]:
    """``opened`` or ``incident.opened`` -> ``incident.opened``; ValueError naming unknown ones."""
    full = [v if v.startswith("incident.") else f"incident.{v}" for v in names]
    unknown = [v for v in full if v not in EVENT_TYPES]
    if unknown:
        raise ValueError(f"unknown event types {unknown}; one of {', '.join(EVENT_TYPES)}")
    return full


def add_channel(
    channels: ChannelStore,
    services: SourceStore,
    service_id: str,
    kind: ChannelKind,
    fields: Mapping[str, Any],
    *,
    name: str | None = None,
    events: Iterable[str] | None = None,
) -> tuple[Channel, str | None]:
    """Create a channel of ``kind`` with ``fields`` (its target and policy); the channel, and the
    webhook secret when alertbridge made it (a webhook channel given none)."""
    services.get_service(service_id)
    values = {**fields, "kind": kind}
    generated = new_webhook_secret() if kind is ChannelKind.WEBHOOK and not values.get("secret") else None
    if generated:
        values["secret"] = generated
    if events is not None:
        values["events"] = frozenset(events)
    try:
        channel = Channel.model_validate(
            {
                **values,
                "id": new_id("ch"),
                "service_id": service_id,
                "name": name or f"{kind.value} channel",
                "created_at": now(),
            }
        )
    except ValueError as exc:  # pydantic's ValidationError is one
        raise ChannelRejected(_first_error(exc)) from exc
    channels.add(channel)
    return channel, generated


def set_escalation(
    channels: ChannelStore, services: SourceStore, service_id: str, steps: Iterable[tuple[str, Iterable[str]]]
) -> list[EscalationStep]:
    """Replace the service's escalation by ``steps`` (after, channel ids), each naming its own channels."""
    services.get_service(service_id)
    own = {v.id for v in channels.views(service_id)}
    try:
        parsed = [EscalationStep(parse_after(after), tuple(ids)) for after, ids in steps]
        check_steps(parsed)
    except ValueError as exc:
        raise ChannelRejected(str(exc)) from exc
    foreign = sorted({c for s in parsed for c in s.channel_ids} - own)
    if foreign:
        raise ChannelRejected(f"not channels of service {service_id}: {', '.join(foreign)}")
    channels.set_escalation(service_id, parsed)
    return parsed


def _first_error(exc: ValueError) -> str:
    errors = getattr(exc, "errors", None)
    if callable(errors):
        first = errors(include_url=False)[0]
        return str(first["msg"]).removeprefix("Value error, ")
    return str(exc)
