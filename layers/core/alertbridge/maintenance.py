"""Maintenance windows of a service, pure: when is one active, and when does that change.

A window is one-off (``start`` to ``end``, instants given with their offset) or recurring (on some
days of the week, at a time of day, for a duration, in an IANA time zone). A recurring window's
times are local wall times, computed with :mod:`zoneinfo`: "sun 01:30 for 2h, Europe/Berlin" runs
from the first moment the Berlin clock reads 01:30 to the first moment it reads 03:30, whatever
the offsets that night: 1 h of real time on the night the clocks go forward, 3 h when they go
back. A time the clock skips (02:30 that spring night) is reached when the clock jumps past it;
a time it shows twice, the first time. An occurrence belongs to the local day it starts on, so
one that crosses midnight (sun 23:00 for 3h) is still active on Monday 01:00.

Intervals are half-open: a window is active from its start (inclusive) to its end (exclusive).
No AWS here; ``store.maintenance`` keeps windows, ``ingest`` holds alerts in them back.
"""

import re
from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Literal, Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints, model_validator

Day = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
DAYS: tuple[Day, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")  # date.weekday() order
MIN_DURATION = timedelta(minutes=1)
MAX_DURATION = timedelta(days=7)  # a recurring occurrence
MAX_ONE_OFF = timedelta(days=31)  # a one-off window: longer is a forgotten one, not maintenance
MAX_WINDOWS = 50  # per service: what ingest reads stays one small Query
LOOKAHEAD = MAX_DURATION + timedelta(days=8)  # every recurring window starts again within it

_DURATION = re.compile(r"^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?$")


class Window(BaseModel):
    """One maintenance window of a service (one-off or recurring; the model refuses a mix)."""

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    id: str
    service_id: str
    name: Annotated[str, StringConstraints(max_length=128)] = ""
    created_at: AwareDatetime
    # one-off
    start: AwareDatetime | None = None
    end: AwareDatetime | None = None
    # recurring
    days: tuple[Day, ...] = Field(default=(), max_length=7)
    at: time | None = None  # local time of day the window starts
    duration_s: int | None = None
    tz: str | None = None

    @model_validator(mode="after")
    def _check(self) -> Self:
        check_schedule(self.start, self.end, self.days, self.at, self.duration_s, self.tz)
        return self

    @property
    def recurring(self) -> bool:
        return bool(self.days)

    def occurrences(self, since: datetime, until: datetime) -> Iterator[tuple[datetime, datetime]]:
        """The window's (start, end) intervals, in UTC, that end after ``since`` and start before
        ``until``, in order of start."""
        if self.start is not None and self.end is not None:
            if self.end > since and self.start < until:
                yield self.start.astimezone(UTC), self.end.astimezone(UTC)
            return
        assert self.at is not None
        assert self.duration_s is not None
        assert self.tz is not None
        tz, length = zone(self.tz), timedelta(seconds=self.duration_s)
        # An occurrence starts on a local day and lasts at most 7 days (plus a DST hour): begin
        # looking 8 days before ``since``.
        day = since.astimezone(tz).date() - timedelta(days=8)
        last = until.astimezone(tz).date()
        wanted = {DAYS.index(d) for d in self.days}
        while day <= last:
            if day.weekday() in wanted:
                begin, end = _local_interval(day, self.at, length, tz)
                if begin < end and end > since and begin < until:  # empty: inside a skipped hour
                    yield begin, end
            day += timedelta(days=1)

    def interval_at(self, at: datetime) -> tuple[datetime, datetime] | None:
        """The occurrence ``at`` falls in (start inclusive, end exclusive), or None; of two that
        overlap (mon and tue, for 30h), the one that ends last."""
        found = [(b, e) for b, e in self.occurrences(at, at + timedelta(microseconds=1)) if b <= at < e]
        return max(found, key=lambda interval: interval[1], default=None)


def check_schedule(
    start: datetime | None,
    end: datetime | None,
    days: tuple[Day, ...],
    at: time | None,
    duration_s: int | None,
    tz: str | None,
) -> None:
    """ValueError saying what is wrong with a window's schedule (the model's check, and the
    management API's before it makes one)."""
    one_off = start is not None or end is not None
    recurring = bool(days) or at is not None or duration_s is not None or tz is not None
    if one_off == recurring:
        raise ValueError("a window is either one-off (start, end) or recurring (days, at, duration, tz)")
    if one_off:
        if start is None or end is None:
            raise ValueError("a one-off window needs both start and end")
        if end - start < MIN_DURATION:
            raise ValueError("end must be at least 1 minute after start")
        if end - start > MAX_ONE_OFF:
            raise ValueError("a one-off window lasts at most 31 days")
        return
    given = (("days", days or None), ("at", at), ("duration", duration_s), ("tz", tz))
    missing = [name for name, value in given if value is None]
    if missing:
        needs = "a recurring window needs days, at, duration and tz"
        raise ValueError(f"{needs} (missing: {', '.join(missing)})")
    if len(set(days)) != len(days):
        raise ValueError("days must not repeat")
    assert duration_s is not None
    assert at is not None
    assert tz is not None
    if not MIN_DURATION <= timedelta(seconds=duration_s) <= MAX_DURATION:
        raise ValueError("duration must be between 1 minute and 7 days")
    if at.tzinfo is not None:
        raise ValueError("at is a local time of day, without an offset (the zone is tz)")
    zone(tz)


def zone(name: str) -> ZoneInfo:
    """The IANA zone ``name``; ValueError naming it when there is none (``tzdata`` ships the
    database in the layer: a Lambda image may have no /usr/share/zoneinfo)."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ValueError(f"unknown time zone {name!r}; an IANA name like 'Europe/Berlin' or 'UTC'") from None


def _local_interval(day: date, at: time, length: timedelta, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """The occurrence on local ``day``: from the first moment the local clock reads ``at`` to the
    first moment it reads ``at`` + ``length`` (wall-time arithmetic), in UTC."""
    wall = datetime.combine(day, at)
    return first_reading(wall, tz), first_reading(wall + length, tz)


def first_reading(wall: datetime, tz: ZoneInfo) -> datetime:
    """The first instant (UTC) at which the clock of ``tz`` reads ``wall`` (naive) or later: for
    an ambiguous wall time (the hour the clocks go back) its first occurrence; for one that does
    not exist (the hour they skip) the moment of the jump, when the clock passes it."""
    guess = wall.replace(tzinfo=tz).astimezone(UTC)  # fold=0: the first of two, or past a gap
    if guess.astimezone(tz).replace(tzinfo=None) == wall:
        return guess
    # In a gap: the clock reads less than ``wall`` at ``low`` and more at ``high``; the jump is
    # between (transitions fall on whole seconds).
    low = int(wall.replace(tzinfo=tz, fold=1).timestamp())
    high = int(guess.timestamp())
    while high - low > 1:
        mid = (low + high) // 2
        if datetime.fromtimestamp(mid, tz).replace(tzinfo=None) >= wall:
            high = mid
        else:
            low = mid
    return datetime.fromtimestamp(high, UTC)


def active_window(windows: Iterable[Window], at: datetime) -> Window | None:
    """The window active at ``at``; when several are, the one whose occurrence ends last."""
    best: tuple[datetime, Window] | None = None
    for window in windows:
        interval = window.interval_at(at)
        if interval is not None and (best is None or interval[1] > best[0]):
            best = (interval[1], window)
    return best[1] if best else None


def active_until(windows: Iterable[Window], at: datetime) -> tuple[Window, datetime] | None:
    """The active window (as :func:`active_window` picks it) and the end of its occurrence."""
    listed = list(windows)
    window = active_window(listed, at)
    if window is None:
        return None
    interval = window.interval_at(at)
    assert interval is not None
    return window, interval[1]


def next_change(windows: Iterable[Window], at: datetime) -> datetime | None:
    """The first instant after ``at`` at which some window starts or ends (the set of active
    windows may change there), or None when none ever will."""
    edges = [
        edge
        for window in windows
        for interval in window.occurrences(at, window.end or at + LOOKAHEAD)
        for edge in interval
        if edge > at
    ]
    return min(edges, default=None)


def reason(window: Window, until: datetime) -> str:
    """Why an alert was held back: ``maintenance window mw_x 'db upgrade' (until T)``."""
    return f"maintenance window {describe(window, until)}"


def describe(window: Window, until: datetime) -> str:
    """``mw_x 'db upgrade' (until T)``: an active window, as messages show it."""
    return f"{window.id} {window.name!r} (until {utc_text(until)})"


def utc_text(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_duration(text: str) -> int:
    """'90m', '2h', '1h30m', '7d' -> seconds; ValueError saying what is accepted."""
    match = _DURATION.match(text.strip().lower())
    if not text.strip() or match is None or not any(match.groups()):
        raise ValueError(f"duration must be like '90m', '2h', '1h30m' or '1d' (got {text!r})")
    d, h, m = (int(g) if g else 0 for g in match.groups())
    return int(timedelta(days=d, hours=h, minutes=m).total_seconds())


def parse_days(names: Iterable[str]) -> tuple[Day, ...]:
    """'mon', 'Tuesday', ... -> ('mon', 'tue'); ValueError naming an unknown one."""
    out: list[Day] = []
    for raw in names:
        name = raw.strip().lower()
        found = next((d for d in DAYS if name in (d, _FULL[d])), None)
        if found is None:
            raise ValueError(f"unknown day {raw!r}; days are {', '.join(DAYS)}")
        out.append(found)
    return tuple(out)


_FULL = {
    "mon": "monday",
    "tue": "tuesday",
    "wed": "wednesday",
    "thu": "thursday",
    "fri": "friday",
    "sat": "saturday",
    "sun": "sunday",
}
