"""Vendor timestamps, parsed leniently, and the one string form we store (sortable UTC ISO-8601)."""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation

# Epoch numbers above this are milliseconds (1e11 s is the year 5138).
_MS_THRESHOLD = 100_000_000_000
_ZERO = timedelta(0)


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
    if not text.isdigit():  # digits alone are epoch seconds or ms, never a date (20240514)
        moment = _from_iso(text)
        if moment is not None:
            return moment
    try:
        return _from_epoch(Decimal(text))
    except (InvalidOperation, ValueError, OverflowError):
        return None


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
    try:  # Python 3.13 reads 'Z', a space for 'T' and fractions of any length itself
        moment: datetime | None = datetime.fromisoformat(text)
    except ValueError:
        moment = _from_loose_iso(text)
    if moment is None:
        return None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment if moment.utcoffset() == _ZERO else moment.astimezone(UTC)


def _from_loose_iso(text: str) -> datetime | None:
    """What ``fromisoformat`` refuses but vendors send: a lowercase 'z', an odd fraction."""
    candidate = text.replace(" ", "T", 1) if "T" not in text and " " in text else text
    if candidate.endswith(("Z", "z")):
        candidate = candidate[:-1] + "+00:00"
    if "." in candidate:
        head, _, rest = candidate.partition(".")
        digits = len(rest) - len(rest.lstrip("0123456789"))
        candidate = head + "." + rest[: min(digits, 6)] + rest[digits:]
    try:
        return datetime.fromisoformat(candidate)
    except ValueError:
        return None


_DURATION = re.compile(r"^([0-9]{1,6})([smh])$")
_UNITS = {"s": 1, "m": 60, "h": 3600}


def parse_duration(text: str, what: str = "a duration") -> int:
    """'30s', '15m' or '1h' -> seconds; a ValueError naming ``what`` otherwise."""
    match = _DURATION.match(text.strip())
    if match is None:
        raise ValueError(
            f"{what} must be a whole number with a unit, like '30s', '15m' or '1h' (got {text!r})"
        )
    return int(match.group(1)) * _UNITS[match.group(2)]


def format_duration(seconds: int) -> str:
    """Seconds as people read them back: '45 s', '15 min', '60 min', '36 h'."""
    if seconds % 60:
        return f"{seconds} s"
    minutes = seconds // 60
    return f"{minutes // 60} h" if minutes > 120 and minutes % 60 == 0 else f"{minutes} min"


def iso(moment: datetime) -> str:
    """UTC, microsecond precision, 'Z': equal moments give equal strings and strings sort by time."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


# A fast-forward of the clock, for tests and the local stack only (``advance``); zero on AWS. It is
# an offset rather than a frozen time so that time still passes: retries, leases and windows behave.
_offset = _ZERO


def now() -> datetime:
    return datetime.now(UTC) + _offset


def advance(seconds: float) -> None:
    """Move ``now()`` forward by ``seconds`` (tests and the local stack: escalation after N minutes
    without waiting N minutes; the test harness's ``advance`` also moves the emulated queues)."""
    global _offset  # noqa: PLW0603  (one process-wide clock, like the real one)
    _offset += timedelta(seconds=seconds)


def reset_clock() -> None:
    global _offset  # noqa: PLW0603
    _offset = _ZERO
