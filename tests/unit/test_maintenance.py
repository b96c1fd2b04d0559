"""Maintenance windows (pure): one-off boundaries, weekly windows in local wall time across DST
changes (Europe/Berlin, America/New_York) and midnight, overlapping windows, next_change, the
checks the management API relies on; and a property test against a brute-force, minute-by-minute
reading of the local clock."""

from __future__ import annotations

from bisect import bisect_left
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from alertbridge import maintenance
from alertbridge.maintenance import Window, active_until, active_window, next_change
from hypothesis import given, settings
from hypothesis import strategies as st

CREATED = datetime(2026, 1, 1, tzinfo=UTC)


def once(start: str, end: str, name: str = "one-off", wid: str = "mw_once") -> Window:
    return Window(
        id=wid,
        service_id="svc_a",
        name=name,
        created_at=CREATED,
        start=datetime.fromisoformat(start),
        end=datetime.fromisoformat(end),
    )


def weekly(days: str, at: str, duration: str, tz: str, wid: str = "mw_weekly") -> Window:
    return Window(
        id=wid,
        service_id="svc_a",
        name="weekly",
        created_at=CREATED,
        days=maintenance.parse_days(days.split(",")),
        at=time.fromisoformat(at),
        duration_s=maintenance.parse_duration(duration),
        tz=tz,
    )


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def interval(window: Window, at: str) -> tuple[str, str] | None:
    found = window.interval_at(utc(at))
    return None if found is None else (maintenance.utc_text(found[0]), maintenance.utc_text(found[1]))


# --- one-off -------------------------------------------------------------------------------------
def test_one_off_start_is_inclusive_and_end_exclusive_whatever_the_offset_given() -> None:
    w = once("2026-12-24T22:00:00+01:00", "2026-12-25T03:00:00+01:00")
    assert active_window([w], utc("2026-12-24T20:59:59")) is None
    assert active_window([w], utc("2026-12-24T21:00:00")) is w
    assert active_window([w], utc("2026-12-25T01:59:59.999999")) is w
    assert active_window([w], utc("2026-12-25T02:00:00")) is None
    assert next_change([w], utc("2026-12-24T12:00:00")) == utc("2026-12-24T21:00:00")
    assert next_change([w], utc("2026-12-24T21:00:00")) == utc("2026-12-25T02:00:00")
    assert next_change([w], utc("2026-12-25T02:00:00")) is None


# --- weekly, plain -------------------------------------------------------------------------------
def test_weekly_window_in_local_time_of_its_zone() -> None:
    w = weekly("mon", "02:00", "2h", "Europe/Berlin")  # winter: CET, UTC+1
    assert interval(w, "2026-12-07T01:00:00") == ("2026-12-07T01:00:00Z", "2026-12-07T03:00:00Z")
    assert interval(w, "2026-12-07T00:59:00") is None
    assert interval(w, "2026-12-07T03:00:00") is None
    assert interval(w, "2026-12-08T01:30:00") is None  # a Tuesday
    summer = interval(w, "2026-07-06T00:00:00")  # CEST, UTC+2
    assert summer == ("2026-07-06T00:00:00Z", "2026-07-06T02:00:00Z")


def test_window_crossing_midnight_belongs_to_the_day_it_starts_on() -> None:
    w = weekly("sun", "23:00", "3h", "America/New_York")  # EST, UTC-5
    # Monday 01:00 local is still Sunday's window; Monday 02:00 is its end (exclusive).
    assert interval(w, "2026-12-07T06:00:00") == ("2026-12-07T04:00:00Z", "2026-12-07T07:00:00Z")
    assert interval(w, "2026-12-07T07:00:00") is None
    # A Monday-only window does not start at Sunday-night's midnight.
    assert interval(weekly("mon", "23:00", "3h", "America/New_York"), "2026-12-07T06:00:00") is None


def test_a_window_that_started_yesterday_is_still_in_progress() -> None:
    w = weekly("fri", "20:00", "2d", "UTC")
    assert interval(w, "2026-12-06T10:00:00") == ("2026-12-04T20:00:00Z", "2026-12-06T20:00:00Z")
    assert next_change([w], utc("2026-12-06T10:00:00")) == utc("2026-12-06T20:00:00")
    # and the longest one (7 days) is found from its last minute
    seven = weekly("mon", "00:00", "7d", "Europe/Berlin")
    assert seven.interval_at(utc("2026-12-13T22:59:00")) is not None


# --- DST ------------------------------------------------------------------------------------------
def test_berlin_spring_forward_night_the_window_runs_on_the_local_clock() -> None:
    # 2026-03-29: 02:00 CET becomes 03:00 CEST (at 01:00Z). 01:30 for 2h ends at 03:30 CEST: 1 h.
    w = weekly("sun", "01:30", "2h", "Europe/Berlin")
    assert interval(w, "2026-03-29T00:30:00") == ("2026-03-29T00:30:00Z", "2026-03-29T01:30:00Z")
    assert interval(w, "2026-03-29T01:30:00") is None
    # the Sunday before and after: 2 h, in CET and then CEST
    assert interval(w, "2026-03-22T01:00:00") == ("2026-03-22T00:30:00Z", "2026-03-22T02:30:00Z")
    assert interval(w, "2026-04-05T00:00:00") == ("2026-04-04T23:30:00Z", "2026-04-05T01:30:00Z")


def test_berlin_fall_back_night_lasts_three_hours() -> None:
    # 2026-10-25: 03:00 CEST becomes 02:00 CET (at 01:00Z). 01:30 CEST -> 03:30 CET: 3 h.
    w = weekly("sun", "01:30", "2h", "Europe/Berlin")
    assert interval(w, "2026-10-25T02:00:00") == ("2026-10-24T23:30:00Z", "2026-10-25T02:30:00Z")
    assert interval(w, "2026-10-25T02:30:00") is None


def test_new_york_spring_forward_and_fall_back() -> None:
    # 2026-03-08: 02:00 EST -> 03:00 EDT (07:00Z); 2026-11-01: 02:00 EDT -> 01:00 EST (06:00Z).
    w = weekly("sun", "01:30", "2h", "America/New_York")
    assert interval(w, "2026-03-08T07:00:00") == ("2026-03-08T06:30:00Z", "2026-03-08T07:30:00Z")
    assert interval(w, "2026-11-01T07:00:00") == ("2026-11-01T05:30:00Z", "2026-11-01T08:30:00Z")


def test_a_start_in_the_skipped_hour_begins_when_the_clock_jumps_past_it() -> None:
    w = weekly("sun", "02:30", "1h", "America/New_York")
    assert interval(w, "2026-03-08T06:59:00") is None
    assert interval(w, "2026-03-08T07:00:00") == ("2026-03-08T07:00:00Z", "2026-03-08T07:30:00Z")


def test_a_window_wholly_inside_the_skipped_hour_does_not_happen_that_night() -> None:
    w = weekly("sun", "02:10", "20m", "Europe/Berlin")
    assert active_window([w], utc("2026-03-29T01:00:00")) is None
    assert next_change([w], utc("2026-03-29T00:00:00")) == utc("2026-04-05T00:10:00")


def test_an_ambiguous_start_is_its_first_occurrence() -> None:
    w = weekly("sun", "02:30", "10m", "Europe/Berlin")  # 02:30 happens twice on 2026-10-25
    assert interval(w, "2026-10-25T00:35:00") == ("2026-10-25T00:30:00Z", "2026-10-25T00:40:00Z")
    assert interval(w, "2026-10-25T01:35:00") is None


# --- several windows -----------------------------------------------------------------------------
def test_the_active_window_is_the_one_that_ends_last_and_next_change_is_the_first_edge() -> None:
    short = once("2026-12-07T01:00:00+00:00", "2026-12-07T02:00:00+00:00", wid="mw_short")
    long = weekly("mon", "02:00", "4h", "Europe/Berlin", wid="mw_long")  # 01:00Z-05:00Z
    at = utc("2026-12-07T01:30:00")
    assert active_window([short, long], at) is long
    assert active_until([short, long], at) == (long, utc("2026-12-07T05:00:00"))
    assert next_change([short, long], at) == utc("2026-12-07T02:00:00")
    assert active_window([], at) is None
    assert next_change([], at) is None


def test_reason_names_the_window_and_its_end() -> None:
    w = once("2026-12-24T22:00:00+01:00", "2026-12-25T03:00:00+01:00", name="db upgrade", wid="mw_x")
    assert maintenance.reason(w, utc("2026-12-25T02:00:00")) == (
        "maintenance window mw_x 'db upgrade' (until 2026-12-25T02:00:00Z)"
    )


# --- checks ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"start": utc("2026-01-02T00:00:00"), "end": utc("2026-01-01T00:00:00")}, "end must be at least"),
        ({"start": utc("2026-01-01T00:00:00"), "end": utc("2026-01-01T00:00:30")}, "end must be at least"),
        ({"start": utc("2026-01-01T00:00:00"), "end": utc("2026-03-01T00:00:00")}, "at most 31 days"),
        ({"start": utc("2026-01-01T00:00:00")}, "needs both start and end"),
        ({"days": ("mon",), "at": time(2), "duration_s": 30, "tz": "UTC"}, "between 1 minute and 7 days"),
        ({"days": ("mon",), "at": time(2), "duration_s": 8 * 86400, "tz": "UTC"}, "between 1 minute"),
        ({"days": ("mon",), "at": time(2), "duration_s": 3600, "tz": "Mars/Base"}, "unknown time zone"),
        ({"days": ("mon",), "at": time(2), "duration_s": 3600, "tz": "/etc/passwd"}, "unknown time zone"),
        ({"days": ("mon", "mon"), "at": time(2), "duration_s": 3600, "tz": "UTC"}, "must not repeat"),
        ({"days": ("mon",), "duration_s": 3600, "tz": "UTC"}, "missing: at"),
        ({}, "either one-off"),
        (
            {"days": ("mon",), "at": time(2), "duration_s": 60, "tz": "UTC", "end": utc("2026-01-01")},
            "either one-off",
        ),
    ],
)
def test_a_schedule_that_is_wrong_says_what(fields: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Window(id="mw_1", service_id="svc_a", created_at=CREATED, **fields)  # type: ignore[arg-type]


def test_durations_and_days_are_read_or_refused_by_name() -> None:
    assert maintenance.parse_duration("2h") == 7200
    assert maintenance.parse_duration("1h30m") == 5400
    assert maintenance.parse_duration("1d") == 86400
    assert maintenance.parse_duration(" 90M ") == 5400
    for bad in ("", "2", "h", "2 hours", "-1h"):
        with pytest.raises(ValueError, match="duration must be like"):
            maintenance.parse_duration(bad)
    assert maintenance.parse_days(["Mon", "tuesday", "SUN"]) == ("mon", "tue", "sun")
    with pytest.raises(ValueError, match="unknown day 'mo'"):
        maintenance.parse_days(["mo"])


# --- property: against the local clock, read minute by minute ----------------------------------
ZONES = [
    "UTC",
    "Europe/Berlin",
    "America/New_York",
    "Australia/Lord_Howe",  # a 30-minute DST shift
    "Asia/Kathmandu",  # +05:45, no DST
    "America/Santiago",  # southern-hemisphere DST, changes at midnight
    "Europe/Dublin",  # "negative" DST in the database
]
BASE = datetime(2024, 1, 1, tzinfo=UTC)


def _transitions() -> list[tuple[str, datetime]]:
    """(zone, instant) of every offset change of the DST zones above in 2024-2029, to the minute."""
    out = []
    for name in ZONES:
        tz = ZoneInfo(name)
        hour = BASE
        while hour.year < 2030:
            later = hour + timedelta(hours=1)
            if hour.astimezone(tz).utcoffset() != later.astimezone(tz).utcoffset():
                minute = hour
                while minute.astimezone(tz).utcoffset() == hour.astimezone(tz).utcoffset():
                    minute += timedelta(minutes=1)
                out.append((name, minute))
            hour = later
    return out


TRANSITIONS = _transitions()


@st.composite
def moments(draw: st.DrawFn) -> tuple[datetime, str | None]:
    """An instant, often within a day and a half of a DST change (with that change's zone)."""
    if draw(st.booleans()):
        return BASE + timedelta(minutes=draw(st.integers(0, 6 * 365 * 1440))), None
    zone_name, change = draw(st.sampled_from(TRANSITIONS))
    return change + timedelta(minutes=draw(st.integers(-36 * 60, 36 * 60))), zone_name


@st.composite
def windows(draw: st.DrawFn, near: datetime, zone_name: str | None) -> Window:
    n = draw(st.integers(0, 10**6))
    if draw(st.integers(0, 3)) == 0:
        start = near + timedelta(minutes=draw(st.integers(-40 * 1440, 40 * 1440)))
        length = timedelta(minutes=draw(st.integers(1, 31 * 1440)))
        return Window(id=f"mw_{n}", service_id="s", created_at=CREATED, start=start, end=start + length)
    tz = zone_name or draw(st.sampled_from(ZONES))
    if zone_name and draw(st.booleans()):  # start around the local time the clocks change
        local = near.astimezone(ZoneInfo(tz)) + timedelta(minutes=draw(st.integers(-150, 150)))
        start_at = time(local.hour, local.minute)
    else:
        start_at = time(draw(st.integers(0, 23)), draw(st.sampled_from([0, 1, 15, 30, 45, 59])))
    return Window(
        id=f"mw_{n}",
        service_id="s",
        created_at=CREATED,
        days=tuple(draw(st.lists(st.sampled_from(maintenance.DAYS), min_size=1, max_size=7, unique=True))),
        at=start_at,
        duration_s=60 * draw(st.one_of(st.integers(1, 240), st.integers(1, 7 * 1440))),
        tz=tz,
    )


class Clock:
    """Every minute of [since, until] with what the zone's clock reads then, and the first minute
    at which it reads a wall time or later, found from the readings themselves."""

    def __init__(self, tz: ZoneInfo, since: datetime, until: datetime) -> None:
        count = int((until - since).total_seconds() // 60)
        self.minutes = [since + timedelta(minutes=i) for i in range(count)]
        readings = [m.astimezone(tz).replace(tzinfo=None) for m in self.minutes]
        self.highest = []  # the highest reading so far: monotone, so bisectable
        top = readings[0]
        for r in readings:
            top = max(top, r)
            self.highest.append(top)

    def first_reading(self, wall: datetime) -> datetime | None:
        i = bisect_left(self.highest, wall)
        return self.minutes[i] if 0 < i < len(self.minutes) else None


def reference_intervals(window: Window, since: datetime, until: datetime) -> list[tuple[datetime, datetime]]:
    if window.start is not None and window.end is not None:
        return [(window.start, window.end)]
    assert window.at is not None
    assert window.duration_s is not None
    assert window.tz is not None
    tz = ZoneInfo(window.tz)
    clock = Clock(tz, since - timedelta(days=9), until + timedelta(days=1))
    out = []
    day: date = (since - timedelta(days=8)).astimezone(tz).date()
    while day <= until.astimezone(tz).date():
        if maintenance.DAYS[day.weekday()] in window.days:
            wall = datetime.combine(day, window.at)
            begin = clock.first_reading(wall)
            end = clock.first_reading(wall + timedelta(seconds=window.duration_s))
            if begin is not None and end is not None and begin < end:
                out.append((begin, end))
        day += timedelta(days=1)
    return out


@settings(max_examples=50, deadline=None, derandomize=True, database=None)
@given(data=st.data(), moment=moments())
def test_active_window_and_next_change_match_the_clock_read_minute_by_minute(
    data: st.DataObject, moment: tuple[datetime, str | None]
) -> None:
    at, zone_name = moment
    found = data.draw(st.lists(windows(at, zone_name), min_size=1, max_size=3, unique_by=lambda w: w.id))
    intervals = {w.id: reference_intervals(w, at, at + maintenance.LOOKAHEAD) for w in found}
    active = {wid for wid, spans in intervals.items() if any(b <= at < e for b, e in spans)}
    picked = active_window(found, at)
    assert (picked is None) == (not active)
    if picked is not None:
        assert picked.id in active
        ends = {wid: max(e for b, e in intervals[wid] if b <= at < e) for wid in active}
        assert ends[picked.id] == max(ends.values())
    # Every recurring window starts again within 8 days, so the reference's horizon cuts nothing.
    edges = [edge for spans in intervals.values() for span in spans for edge in span if edge > at]
    assert next_change(found, at) == min(edges, default=None)
