"""Vendor times (vendors.md): ISO-8601 in its variants, epoch seconds or milliseconds as numbers or
strings, and what is not a time at all."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from alertbridge.timestamps import iso, parse_time

T = datetime(2024, 5, 14, 10, 0, 10, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024-05-14T10:00:10Z", T),
        ("2024-05-14T10:00:10z", T),
        ("2024-05-14T10:00:10+00:00", T),
        ("2024-05-14T12:00:10+02:00", T),  # an offset is converted to UTC
        ("2024-05-14T10:00:10", T),  # no zone (Uptrends' timestampUtc): UTC
        ("2024-05-14 10:00:10", T),
        ("  2024-05-14T10:00:10Z\n", T),
        ("2024-05-14T10:00:10.123456789Z", T.replace(microsecond=123456)),  # Go's nanoseconds
        ("2024-05-14T10:00:10.5Z", T.replace(microsecond=500000)),
        ("2024-05-14T10:00:10.1234567z", T.replace(microsecond=123456)),
        ("2024-05-14", datetime(2024, 5, 14, tzinfo=UTC)),
        (1715680810, T),  # epoch seconds
        (1715680810000, T),  # epoch milliseconds (Threat Stack's created_at)
        ("1715680810000", T),
        ("1715680810", T),
        (1715680810.5, T.replace(microsecond=500000)),
        ("1715680810000.0", T),
        (Decimal("1715680810"), T),
        ("20240514", datetime.fromtimestamp(20240514, UTC)),  # digits alone: epoch, not a date
        (0, datetime(1970, 1, 1, tzinfo=UTC)),
    ],
)
def test_times_vendors_send(value: object, expected: datetime) -> None:
    moment = parse_time(value)
    assert moment == expected
    assert moment is not None and moment.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    "value",
    [None, True, False, "", "   ", "soon", "2024-13-01T00:00:00Z", "NaN", "Infinity", -5, "-5", 1e30, [], {}],
)
def test_what_is_not_a_time(value: object) -> None:
    assert parse_time(value) is None


def test_the_stored_form_sorts_by_time() -> None:
    earlier = datetime(2024, 5, 14, 12, 0, 10, tzinfo=timezone(timedelta(hours=2)))
    assert iso(earlier) == "2024-05-14T10:00:10.000000Z"
    assert iso(earlier) < iso(T + timedelta(microseconds=1))
