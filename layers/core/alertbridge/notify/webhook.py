"""The generic JSON webhook: the incident event itself, signed so receivers can trust it.

The body is the event's JSON (``schema/incident-event.v1.json``). Two headers sign it::

    Alertbridge-Timestamp: 1715680800
    Alertbridge-Signature: v1=<hex HMAC-SHA256(secret, "1715680800." + raw body)>

A receiver recomputes the HMAC over the timestamp and the raw bytes it received, compares in
constant time, and refuses timestamps more than 5 minutes away from its clock: a captured request
cannot be replayed later, and the event's ``id`` lets it drop our own retries. ``verify`` is that
check, and is what the README shows receivers.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping

from alertbridge.models.incident_event import IncidentEvent
from alertbridge.notify.message import Outbound

TIMESTAMP_HEADER = "Alertbridge-Timestamp"
SIGNATURE_HEADER = "Alertbridge-Signature"
SCHEME = "v1"
TOLERANCE = 300  # seconds either way


def build(event: IncidentEvent, *, url: str, secret: str, now: int) -> Outbound:
    """The signed request; ``now`` is the unix time in seconds (each attempt signs afresh)."""
    body = event.model_dump_json().encode()
    return Outbound(
        url=url,
        headers={
            "Content-Type": "application/json",
            TIMESTAMP_HEADER: str(now),
            SIGNATURE_HEADER: sign(secret, now, body),
        },
        body=body,
    )


def sign(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"{SCHEME}={mac.hexdigest()}"


def verify(
    secret: str, headers: Mapping[str, str], body: bytes, now: float, tolerance: int = TOLERANCE
) -> bool:
    """True when ``body`` was signed with ``secret`` within ``tolerance`` seconds of ``now``.

    Header names are matched case-insensitively (HTTP frameworks differ); the signature header may
    hold several comma-separated signatures (so a secret can be rotated) and any valid one passes.
    """
    lowered = {name.lower(): value for name, value in headers.items()}
    stamp = lowered.get(TIMESTAMP_HEADER.lower(), "")
    given = lowered.get(SIGNATURE_HEADER.lower(), "")
    if not stamp.isdigit() or abs(now - int(stamp)) > tolerance:
        return False
    expected = sign(secret, int(stamp), body)
    # Compare every candidate, so the time taken does not depend on which one matched.
    matches = [hmac.compare_digest(expected, candidate.strip()) for candidate in given.split(",")]
    return any(matches)
