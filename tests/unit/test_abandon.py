"""The definition of an abandoned call and the abandon accumulators (dialer/pacing/abandon.py)."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from dialer.pacing.abandon import GRACE_S, LEGAL_CAP, AbandonLedger, Tally, is_abandoned


def ts(text: str) -> float:
    return dt.datetime.fromisoformat(text).timestamp()


@pytest.mark.parametrize(
    ("connected_after", "hung_up_after", "fp", "rules", "expected"),
    [
        (0.0, None, False, "US", False),
        (GRACE_S, None, False, "US", False),  # exactly 2 s is still in time
        (GRACE_S + 0.01, None, False, "US", True),  # connected, but too late
        (None, None, False, "US", True),  # never connected (safe-harbor message)
        (None, 1.5, False, "US", False),  # the person hung up before the 2 s ran out
        (None, 2.5, False, "US", True),  # ...or after: the dialer failed to connect
        (None, None, True, "US", False),  # AMD false positive: not counted in the US
        (None, None, True, "UK", True),  # ...counted by Ofcom
        (1.0, None, False, "UK", False),
    ],
)
def test_is_abandoned(connected_after: float | None, hung_up_after: float | None, fp: bool,
                      rules: str, expected: bool) -> None:
    got = is_abandoned(connected_after, hung_up_after_s=hung_up_after, amd_false_positive=fp,
                       rules=rules)  # type: ignore[arg-type]
    assert got is expected


def test_constants_cite_the_rules() -> None:
    assert GRACE_S == 2.0 and LEGAL_CAP == 0.03


@pytest.mark.parametrize(
    ("live", "abandoned", "rate", "headroom"),
    [(0, 0, 0.0, 0.0), (100, 3, 0.03, 0.0), (200, 2, 0.01, 4.0), (100, 5, 0.05, -2.0)],
)
def test_tally(live: float, abandoned: float, rate: float, headroom: float) -> None:
    t = Tally(live, abandoned)
    assert t.rate == pytest.approx(rate)
    assert t.headroom(0.03) == pytest.approx(headroom)


def test_day_and_30_day_windows() -> None:
    ledger = AbandonLedger("UTC")
    day1 = ts("2024-03-04T10:00:00+00:00")
    for i in range(100):
        ledger.record_live_answer(day1 + i, abandoned=i < 4)
    day2 = day1 + 86400
    for i in range(100):
        ledger.record_live_answer(day2 + i, abandoned=i < 1)
    assert ledger.day(day2).rate == pytest.approx(0.01)
    assert ledger.day(day1).rate == pytest.approx(0.04)
    assert ledger.rolling_30d(day2).live == 200
    assert ledger.rolling_30d(day2).rate == pytest.approx(0.025)
    # Day 1 leaves the rolling window 30 days later.
    assert ledger.rolling_30d(day1 + 29 * 86400).live == 200
    assert ledger.rolling_30d(day1 + 30 * 86400).live == 100
    assert ledger.total.live == 200 and ledger.total.abandoned == 5


def test_calendar_day_follows_the_timezone() -> None:
    london = AbandonLedger("Europe/London")
    # 23:30 UTC on 30 June is 00:30 BST on 1 July: a new UK calendar day.
    before = ts("2024-06-30T22:30:00+00:00")
    after = ts("2024-06-30T23:30:00+00:00")
    london.record_live_answer(before, abandoned=True)
    london.record_live_answer(after, abandoned=False)
    assert london.day(after).live == 1 and london.day(after).abandoned == 0
    assert london.day(before).abandoned == 1
    utc = AbandonLedger("UTC")
    utc.record_live_answer(before, abandoned=True)
    utc.record_live_answer(after, abandoned=False)
    assert utc.day(after).live == 2


def test_short_window_forgets() -> None:
    ledger = AbandonLedger(short_lives=100)
    now = ts("2024-03-04T10:00:00+00:00")
    for _ in range(50):
        ledger.record_live_answer(now, abandoned=True)
    for _ in range(1000):
        ledger.record_live_answer(now, abandoned=False)
    assert ledger.short().rate < 0.001
    assert ledger.total.rate == pytest.approx(50 / 1050)


def test_fractional_counts_for_estimated_false_positives() -> None:
    ledger = AbandonLedger()
    now = ts("2024-03-04T10:00:00+00:00")
    ledger.record(now, live=0.25, abandoned=0.25)
    ledger.record(now, live=1.0)
    assert ledger.day(now).rate == pytest.approx(0.2)
    with pytest.raises(ValueError):
        ledger.record(now, live=-1.0)


@pytest.mark.parametrize(("counts", "expected"), [([], 0.0), ([100], 100.0), ([100, 300], 200.0),
                                                 ([500, 100, 300], 300.0)])
def test_typical_day_is_the_median_of_the_last_week(counts: list[int], expected: float) -> None:
    ledger = AbandonLedger()
    today = ts("2024-03-20T12:00:00+00:00")
    for i, n in enumerate(counts):
        ledger.record(today - (i + 1) * 86400, live=n)
    ledger.record(today - 10 * 86400, live=10_000)  # older than a week: ignored
    ledger.record(today, live=5)  # today: ignored
    assert ledger.typical_day_live(today) == expected


def test_round_trip_through_json() -> None:
    ledger = AbandonLedger("Europe/London", short_lives=250)
    start = ts("2024-03-01T09:00:00+00:00")
    for day in range(35):
        for i in range(10):
            ledger.record_live_answer(start + day * 86400 + i * 60, abandoned=(i + day) % 7 == 0)
    now = start + 34 * 86400 + 3600
    data = json.loads(json.dumps(ledger.to_dict()))
    copy = AbandonLedger.from_dict(data)
    assert copy.rolling_30d(now) == ledger.rolling_30d(now)
    assert copy.day(now) == ledger.day(now)
    assert copy.short() == ledger.short()
    assert copy.total == ledger.total
    assert len(data["days"]) == 30  # older days are dropped
    with pytest.raises(ValueError):
        AbandonLedger.from_dict({**data, "version": 99})
