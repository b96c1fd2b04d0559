"""Vendor timestamps, parsed leniently, and the one string form we store (sortable UTC ISO-8601)."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation

# Epoch numbers above this are milliseconds (1e11 s is the year 5138).
_MS_THRESHOLD = 100_000_000_000


def parse_time(value: object) -> datetime | None:
    """Parse what vendors send as a time, or None when it is absent or unreadable.

    Accepts ISO-8601 / RFC 3339 with 'Z', an offset, fractions of any length (Go's nanoseconds too)
    or no zone at all (taken as UTC, as Uptrends' ``timestampUtc``), and epoch seconds or
    milliseconds as a number or a numeric string (Threat Stack's ``created_at``).
    """
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float | Decimal):
        return _from_epoch(value)
    if not isinstance(value, str):
        return None
    text = value.strip()
    if not text:
        return None
    try:
        return _from_epoch(Decimal(text))
    except (InvalidOperation, ValueError, OverflowError):
        pass
    return _from_iso(text)


def _from_epoch(number: float | Decimal) -> datetime | None:
    try:
        seconds = float(number)
        if math.isnan(seconds) or seconds < 0:
            return None
        if seconds > _MS_THRESHOLD:
            seconds /= 1000
        return datetime.fromtimestamp(seconds, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None


def _from_iso(text: str) -> datetime | None:
    candidate = text.replace(" ", "T", 1) if "T" not in text and " " in text else text
    if candidate.endswith(("Z", "z")):
        candidate = candidate[:-1] + "+00:00"
    # Python keeps 6 fractional digits; Go sends up to 9.
    if "." in candidate:
        head, _, rest = candidate.partition(".")
        digits = len(rest) - len(rest.lstrip("0123456789"))
        candidate = head + "." + rest[: min(digits, 6)] + rest[digits:]
    try:
        moment = datetime.fromisoformat(candidate)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def iso(moment: datetime) -> str:
    """UTC, microsecond precision, 'Z': equal moments give equal strings and strings sort by time."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def now() -> datetime:
    return datetime.now(UTC)
