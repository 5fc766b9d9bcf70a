"""Calling-hours schedules and local time across every IANA zone, DST included."""

from __future__ import annotations

import datetime as dt
import functools
import zoneinfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dialer.compliance.hours import (
    allowed_at,
    common_next_open,
    get_zone,
    next_open,
    parse_schedule,
)

ALL_ZONES = sorted(zoneinfo.available_timezones())
T0 = dt.datetime(2000, 1, 1, tzinfo=dt.UTC).timestamp()
T1 = dt.datetime(2040, 1, 1, tzinfo=dt.UTC).timestamp()


@pytest.mark.parametrize(
    ("spec", "windows"),
    [
        ("08:00-21:00", [(frozenset(range(7)), 480, 1260)]),
        ("mon-fri 09:00-20:00", [(frozenset(range(5)), 540, 1200)]),
        ("sat+sun 10:00-18:00", [(frozenset({5, 6}), 600, 1080)]),
        ("fri-mon 00:00-24:00", [(frozenset({4, 5, 6, 0}), 0, 1440)]),
        ("mon 08:00-12:00, mon 13:00-17:00",
         [(frozenset({0}), 480, 720), (frozenset({0}), 780, 1020)]),
    ],
)
def test_parse_schedule(spec: str, windows: list[tuple[frozenset[int], int, int]]) -> None:
    assert [tuple(w) for w in parse_schedule(spec)] == windows


@pytest.mark.parametrize("spec", ["", "8-21", "21:00-08:00", "08:00-25:00", "xyz 08:00-09:00",
                                  "08:60-09:00", "24:30-24:40"])
def test_parse_schedule_rejects(spec: str) -> None:
    with pytest.raises(ValueError):
        parse_schedule(spec)


def test_unknown_zone_is_an_error() -> None:
    for bad in ("Mars/Base", "", "../etc/passwd", "America/New York"):
        with pytest.raises(ValueError):
            get_zone(bad)


def _minute(t: float, zone: dt.tzinfo) -> tuple[int, int]:
    lt = dt.datetime.fromtimestamp(t, zone)
    return lt.weekday(), lt.hour * 60 + lt.minute


@functools.cache
def transitions(zone_name: str) -> tuple[float, ...]:
    """UTC instants (to the hour) at which the zone's offset changed in 2024-2025."""
    tz = get_zone(zone_name)
    out = []
    t = dt.datetime(2024, 1, 1, tzinfo=dt.UTC).timestamp()
    end = dt.datetime(2026, 1, 1, tzinfo=dt.UTC).timestamp()
    prev = dt.datetime.fromtimestamp(t, tz).utcoffset()
    while t < end:
        t += 3600
        off = dt.datetime.fromtimestamp(t, tz).utcoffset()
        if off != prev:
            out.append(t)
            prev = off
    return tuple(out)


schedules = st.sampled_from(
    ["08:00-21:00", "09:00-20:00", "mon-fri 08:00-21:00, sat 10:00-18:00", "00:00-02:30",
     "01:00-03:30", "23:00-24:00", "08:00-08:30"]
)
zones = st.sampled_from(ALL_ZONES)
instants = st.floats(min_value=T0, max_value=T1, allow_nan=False)


@st.composite
def near_transition(draw: st.DrawFn) -> tuple[str, float]:
    """A zone that changes offset, and an instant within a day of one of its changes."""
    name = draw(st.sampled_from(DST_ZONES))
    ts = transitions(name)
    return name, draw(st.sampled_from(ts)) + draw(st.floats(-86400, 86400))


DST_ZONES = [z for z in ["America/New_York", "Europe/London", "Australia/Lord_Howe",
                         "America/Santiago", "Asia/Beirut", "America/Havana", "Europe/Dublin",
                         "Pacific/Chatham", "America/St_Johns", "Africa/Casablanca",
                         "Asia/Gaza", "America/Scoresbysund", "Antarctica/Troll",
                         "Europe/Chisinau", "America/Nuuk", "Asia/Tehran"]
             if z in ALL_ZONES and transitions(z)]


def _check_next_open(spec: str, name: str, now: float, frac: float) -> None:
    schedule = parse_schedule(spec)
    tz = get_zone(name)
    n = next_open(schedule, tz, now)
    assert n is not None
    assert n >= now
    assert allowed_at(schedule, tz, n)
    wd, minute = _minute(n, tz)
    assert any(wd in w.days and w.start <= minute < w.end for w in schedule)
    if n > now:
        # nothing in between is allowed (checked at a drawn point and just before n)
        u = now + frac * (n - now)
        if u < n - 60:
            assert not allowed_at(schedule, tz, u)
        assert not allowed_at(schedule, tz, now)


@settings(max_examples=400, deadline=None)
@given(schedules, zones, instants, st.floats(0, 1))
def test_next_open_is_the_first_allowed_instant(spec: str, name: str, now: float,
                                                frac: float) -> None:
    _check_next_open(spec, name, now, frac)


@settings(max_examples=300, deadline=None)
@given(schedules, near_transition(), st.floats(0, 1))
def test_next_open_across_dst_changes(spec: str, zt: tuple[str, float], frac: float) -> None:
    name, now = zt
    _check_next_open(spec, name, now, frac)


@settings(max_examples=200, deadline=None)
@given(st.lists(zones, min_size=1, max_size=5, unique=True), instants)
def test_common_next_open_is_allowed_everywhere(names: list[str], now: float) -> None:
    schedule = parse_schedule("08:00-21:00")
    pairs = [(schedule, get_zone(n)) for n in names]
    t = common_next_open(pairs, now)
    if t is None:
        return
    assert t >= now
    assert all(allowed_at(schedule, tz, t) for _, tz in pairs)


def test_dst_spring_forward_new_york() -> None:
    # 2024-03-10: 02:00 EST -> 03:00 EDT. 08:00 local is 12:00 UTC that day.
    tz = get_zone("America/New_York")
    schedule = parse_schedule("08:00-21:00")
    midnight = dt.datetime(2024, 3, 10, 5, tzinfo=dt.UTC).timestamp()  # 00:00 EST
    assert next_open(schedule, tz, midnight) == dt.datetime(
        2024, 3, 10, 12, tzinfo=dt.UTC).timestamp()
    # 20:59 EDT allowed, 21:00 EDT not
    assert allowed_at(schedule, tz, dt.datetime(2024, 3, 11, 0, 59, tzinfo=dt.UTC).timestamp())
    assert not allowed_at(schedule, tz, dt.datetime(2024, 3, 11, 1, 0, tzinfo=dt.UTC).timestamp())


def test_window_inside_a_dst_gap_is_skipped() -> None:
    # Europe/London 2024-03-31: 01:00 -> 02:00; a 01:00-01:30 window does not exist that day.
    tz = get_zone("Europe/London")
    schedule = parse_schedule("01:00-01:30")
    before = dt.datetime(2024, 3, 31, 0, 30, tzinfo=dt.UTC).timestamp()
    n = next_open(schedule, tz, before)
    assert n is not None and allowed_at(schedule, tz, n)
    assert dt.datetime.fromtimestamp(n, tz).date() == dt.date(2024, 4, 1)
