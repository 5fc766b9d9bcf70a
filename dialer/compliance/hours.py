"""Calling hours in the callee's local time (16 CFR 310.4(c); 47 CFR 64.1200(c)(1)).

A schedule is text such as ``"08:00-21:00"`` (every day) or
``"mon-fri 08:00-21:00, sat 10:00-18:00"``. Windows are half-open: a call may start
at 08:00 and must have started before 21:00. The local time of an instant is
computed with :mod:`zoneinfo` for that exact instant, so DST changes are handled by
the time-zone database rather than by arithmetic on offsets.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
import zoneinfo
from typing import NamedTuple

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
ALL_DAYS = frozenset(range(7))
HORIZON_S = 8 * 86400  # how far ahead next_open looks before it gives up
_STEP_S = 300  # fallback scan step when a window start falls in a DST gap

_WINDOW = re.compile(
    r"^(?:(?P<days>[a-z]{3}(?:-[a-z]{3})?(?:\+[a-z]{3}(?:-[a-z]{3})?)*)\s+)?"
    r"(?P<sh>\d{2}):(?P<sm>\d{2})-(?P<eh>\d{2}):(?P<em>\d{2})$"
)


class Window(NamedTuple):
    days: frozenset[int]  # 0 = Monday
    start: int  # minutes after local midnight, inclusive
    end: int  # minutes after local midnight, exclusive; 1440 = midnight


Schedule = tuple[Window, ...]


def _days(text: str) -> frozenset[int]:
    out: set[int] = set()
    for part in text.split("+"):
        a, _, b = part.partition("-")
        if a not in DAY_NAMES or (b and b not in DAY_NAMES):
            raise ValueError(f"unknown day in {part!r}; use mon, tue, wed, thu, fri, sat, sun")
        i, j = DAY_NAMES.index(a), DAY_NAMES.index(b or a)
        if j < i:
            out.update(range(i, 7))
            out.update(range(0, j + 1))
        else:
            out.update(range(i, j + 1))
    return frozenset(out)


@functools.lru_cache(maxsize=256)
def parse_schedule(spec: str) -> Schedule:
    """Parse ``"[days ]HH:MM-HH:MM[, ...]"``; ValueError explains what is wrong."""
    windows: list[Window] = []
    for raw in spec.split(","):
        text = raw.strip().lower()
        m = _WINDOW.match(text)
        if not m:
            raise ValueError(
                f"bad calling-hours window {raw.strip()!r}: use HH:MM-HH:MM, "
                "optionally after days such as 'mon-fri' or 'sat+sun'"
            )
        sh, sm, eh, em = (int(m.group(g)) for g in ("sh", "sm", "eh", "em"))
        if sh > 23 or sm > 59 or eh > 24 or em > 59 or (eh == 24 and em != 0):
            raise ValueError(f"bad time in {raw.strip()!r}")
        start, end = sh * 60 + sm, eh * 60 + em
        if end <= start:
            raise ValueError(f"window {raw.strip()!r} ends before it starts")
        days = _days(m.group("days")) if m.group("days") else ALL_DAYS
        windows.append(Window(days, start, end))
    return tuple(windows)


@functools.lru_cache(maxsize=1024)
def get_zone(name: str) -> zoneinfo.ZoneInfo:
    """The IANA zone ``name``; ValueError when the database does not know it."""
    if not name or name != name.strip() or name.startswith(("/", ".")) or ".." in name:
        raise ValueError(f"unknown time zone {name!r}")
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {name!r}") from None


def is_valid_zone(name: str) -> bool:
    try:
        get_zone(name)
    except ValueError:
        return False
    return True


def local(now: float, zone: dt.tzinfo) -> dt.datetime:
    return dt.datetime.fromtimestamp(now, zone)


def allowed_at(schedule: Schedule, zone: dt.tzinfo, now: float) -> bool:
    """True when ``now`` falls inside one of the schedule's windows in ``zone``."""
    t = local(now, zone)
    minute = t.hour * 60 + t.minute
    wd = t.weekday()
    return any(wd in w.days and w.start <= minute < w.end for w in schedule)


def next_open(schedule: Schedule, zone: dt.tzinfo, now: float) -> float | None:
    """The earliest instant >= ``now`` inside the schedule in ``zone`` (None: none in 8 days)."""
    if allowed_at(schedule, zone, now):
        return now
    today = local(now, zone).date()
    best: float | None = None
    for offset in range(9):
        day = today + dt.timedelta(days=offset)
        wd = day.weekday()
        for w in schedule:
            if wd not in w.days:
                continue
            h, m = divmod(w.start, 60)
            cand = dt.datetime(day.year, day.month, day.day, h, m, tzinfo=zone).timestamp()
            # A start inside a DST gap maps past the gap; accept it only if it is really open.
            if cand >= now and allowed_at(schedule, zone, cand) and (best is None or cand < best):
                best = cand
        if best is not None:
            break
    if best is not None:
        return best
    # Fallback for exotic zones/schedules (a window entirely inside a gap): scan.
    t = now - now % _STEP_S + _STEP_S
    while t <= now + HORIZON_S:
        if allowed_at(schedule, zone, t):
            return float(t)
        t += _STEP_S
    return None


def next_close(schedule: Schedule, zone: dt.tzinfo, now: float) -> float:
    """When the window open at ``now`` closes (``now`` itself if closed); minute resolution."""
    t = now
    while allowed_at(schedule, zone, t) and t < now + 2 * 86400:
        lt = local(t, zone)
        t = t - lt.second - lt.microsecond / 1e6 + 60
    return t


def common_next_open(
    pairs: list[tuple[Schedule, dt.tzinfo]], now: float, horizon_s: float = HORIZON_S
) -> float | None:
    """The earliest instant >= ``now`` allowed in *every* (schedule, zone) pair, or None.

    Each round moves ``t`` to the latest next opening among the pairs; when all agree the
    instant is allowed everywhere. Stops after ``horizon_s``: zones whose windows never
    overlap have no common time at all.
    """
    t = now
    for _ in range(64):
        latest = t
        for schedule, zone in pairs:
            n = next_open(schedule, zone, t)
            if n is None:
                return None
            latest = max(latest, n)
        if latest == t:
            return t
        if latest > now + horizon_s:
            return None
        t = latest
    return None
