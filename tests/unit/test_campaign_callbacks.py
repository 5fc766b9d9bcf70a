"""Callback requests: exact times, named ranges, zones, numbers; refusals name the field."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dialer.campaign.callbacks import CallbackRefused, CallbackRequest, resolve_callback
from dialer.campaign.policy import CampaignPolicy
from dialer.compliance.gate import check_hours

P = CampaignPolicy()
NY = "+12125551234"
LA = "+14155550100"
NOW = dt.datetime(2024, 6, 10, 15, tzinfo=dt.UTC).timestamp()  # Mon 11:00 NY, 08:00 LA


def resolve(req: CallbackRequest, now: float = NOW, numbers: tuple[str, ...] = (NY,),
            record_zone: str = "") -> tuple[float, int, str]:
    r = resolve_callback(req, policy=P, numbers=list(numbers), default_index=0,
                         record_zone=record_zone, agent_id="a1", now=now)
    return r.callback.due, r.callback.number_index, r.new_number


def utc(*args: int) -> float:
    return dt.datetime(*args, tzinfo=dt.UTC).timestamp()


def test_exact_local_time_in_the_numbers_zone() -> None:
    due, idx, new = resolve(CallbackRequest(at="2024-06-10T14:30"))
    assert due == utc(2024, 6, 10, 18, 30) and idx == 0 and new == ""


def test_exact_time_with_offset_and_epoch() -> None:
    assert resolve(CallbackRequest(at="2024-06-10T14:30:00-04:00"))[0] == utc(2024, 6, 10, 18, 30)
    assert resolve(CallbackRequest(at=str(NOW + 600)))[0] == NOW + 600


@pytest.mark.parametrize(
    ("req", "field", "words"),
    [
        (CallbackRequest(at="2024-06-09T14:30"), "at", "in the past"),
        (CallbackRequest(at="2024-06-10T22:30"), "at", "outside calling hours"),
        (CallbackRequest(at="soon"), "at", "not a time"),
        (CallbackRequest(at="2024-06-10T14:30", timezone="Mars/Base"), "timezone", "unknown"),
        (CallbackRequest(at="2024-06-10T14:30", number="12"), "number", "invalid"),
        (CallbackRequest(), "at", "either"),
        (CallbackRequest(range="brunch"), "range", "unknown range"),
        (CallbackRequest(range="morning"), "range", None),  # 11:00: morning still open
    ],
)
def test_refusals_name_the_field(req: CallbackRequest, field: str, words: str | None) -> None:
    if words is None:
        assert resolve(req)[0] == NOW
        return
    with pytest.raises(CallbackRefused) as err:
        resolve(req)
    assert err.value.where == field
    assert words in err.value.reason


def test_outside_hours_cites_the_rule() -> None:
    with pytest.raises(CallbackRefused) as err:
        resolve(CallbackRequest(at="2024-06-11T07:30"))
    assert err.value.refusal is not None and "310.4(c)" in err.value.reason


def test_ranges() -> None:
    # 11:00 NY: morning is open until 12:00 -> now; afternoon starts 12:00
    assert resolve(CallbackRequest(range="afternoon"))[0] == utc(2024, 6, 10, 16)
    assert resolve(CallbackRequest(range="evening"))[0] == utc(2024, 6, 10, 21)
    assert resolve(CallbackRequest(range="tomorrow"))[0] == utc(2024, 6, 11, 12)  # 08:00 NY
    assert resolve(CallbackRequest(range="tomorrow morning"))[0] == utc(2024, 6, 11, 13)
    late = utc(2024, 6, 10, 23)  # 19:00 NY
    with pytest.raises(CallbackRefused) as err:
        resolve(CallbackRequest(range="morning"), now=late)
    assert err.value.where == "range" and "passed" in err.value.reason


def test_range_clipped_to_calling_hours_of_the_number() -> None:
    policy = CampaignPolicy(callback_ranges={"early": "06:00-09:00"})
    r = resolve_callback(CallbackRequest(range="tomorrow early"), policy=policy, numbers=[NY],
                         default_index=0, record_zone="", agent_id="", now=NOW)
    assert r.callback.due == utc(2024, 6, 11, 12)  # 08:00 NY, not 06:00


def test_new_number_and_personal() -> None:
    r = resolve_callback(CallbackRequest(at="2024-06-10T14:30", number="(415) 555-0100",
                                         personal=True),
                         policy=P, numbers=[NY], default_index=0, record_zone="",
                         agent_id="a1", now=NOW)
    assert r.new_number == LA and r.callback.number_index == 1
    assert r.callback.personal and r.callback.agent_id == "a1"
    assert r.callback.timezone == "America/Los_Angeles"
    # 14:30 LA = 21:30 UTC
    assert r.callback.due == utc(2024, 6, 10, 21, 30)


def test_contacts_zone_must_allow_too() -> None:
    # 20:30 in New York is fine for the NY number, but the contact said they are in London
    with pytest.raises(CallbackRefused):
        resolve(CallbackRequest(at="2024-06-10T20:30-04:00", timezone="Europe/London"))


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(["morning", "afternoon", "evening", "tomorrow", "tomorrow evening"]),
       st.floats(utc(2024, 1, 1), utc(2025, 1, 1)),
       st.sampled_from(["America/New_York", "Europe/London", "Australia/Lord_Howe",
                        "America/Santiago", "Pacific/Chatham", "Asia/Kolkata"]))
def test_resolved_callbacks_are_always_inside_calling_hours(rng: str, now: float,
                                                            zone: str) -> None:
    try:
        due, _, _ = resolve(CallbackRequest(range=rng, timezone=zone), now=now,
                            record_zone=zone)
    except CallbackRefused:
        return
    assert due >= now
    assert check_hours(P, NY, zone, due) is None
