"""The SIP edge's pure rules: ring-timeout floor and how a finished call is reported."""

from __future__ import annotations

import math

import pytest

from dialer.config import MIN_RING_TIMEOUT_S
from dialer.outcomes import Outcome
from dialer.sip.policy import call_ending, effective_ring_timeout


@pytest.mark.parametrize(
    ("requested", "expected"),
    [(0.0, 15.0), (5.0, 15.0), (14.99, 15.0), (15.0, 15.0), (17.0, 17.0), (60.0, 60.0), (-3.0, 15.0),
     (math.nan, 15.0), ("x", 15.0)],
)
def test_ring_timeout_is_never_under_15_s(requested: float, expected: float) -> None:
    # 47 CFR 64.1200(a)(6): at least 15 seconds of ringing.
    assert MIN_RING_TIMEOUT_S == 15.0
    assert effective_ring_timeout(requested) == expected


def test_test_floor_only_when_passed_explicitly() -> None:
    assert effective_ring_timeout(2.0, floor_s=1.0) == 2.0
    assert effective_ring_timeout(0.5, floor_s=1.0) == 1.0


BASE = dict(answered=False, final_code=0, reason="", timed_out=False, provisional=False, by_us=False)

# (facts, expected outcome, sip_code, timed_out, hangup_by)
CASES = [
    (dict(answered=True, final_code=200, sip_code=200), Outcome.ANSWERED, 200, False, "customer"),
    (dict(answered=True, final_code=200, sip_code=408), Outcome.ANSWERED, 200, False, "customer"),
    (dict(answered=True, final_code=200, sip_code=200, by_us=True), Outcome.ANSWERED, 200, False, "dialer"),
    (dict(sip_code=486), Outcome.BUSY, 486, False, "customer"),
    (dict(sip_code=600), Outcome.BUSY, 600, False, "customer"),
    (dict(sip_code=480, provisional=True), Outcome.NO_ANSWER, 480, False, "customer"),
    (dict(sip_code=487, provisional=True, timed_out=True), Outcome.NO_ANSWER, 487, True, "dialer"),
    (dict(sip_code=487, timed_out=True), Outcome.FAILED, 408, False, "network"),  # never rang: silent trunk
    (dict(sip_code=408, timed_out=True), Outcome.FAILED, 408, False, "network"),
    (dict(sip_code=487, provisional=True, by_us=True), Outcome.NO_ANSWER, 487, False, "dialer"),
    (dict(sip_code=403), Outcome.REJECTED, 403, False, "customer"),
    (dict(sip_code=603), Outcome.REJECTED, 603, False, "customer"),
    (dict(sip_code=404), Outcome.INVALID_NUMBER, 404, False, "customer"),
    (dict(sip_code=484), Outcome.INVALID_NUMBER, 484, False, "customer"),
    (dict(sip_code=0), Outcome.FAILED, 0, False, "network"),
    (dict(sip_code=408), Outcome.FAILED, 408, False, "network"),
    (dict(sip_code=503), Outcome.FAILED, 503, False, "network"),
    (dict(sip_code=500), Outcome.FAILED, 500, False, "customer"),
    (dict(sip_code=488), Outcome.FAILED, 488, False, "customer"),
]


@pytest.mark.parametrize(("facts", "outcome", "code", "timed_out", "by"), CASES)
def test_call_ending(facts: dict, outcome: Outcome, code: int, timed_out: bool, by: str) -> None:
    end = call_ending(**{**BASE, **facts})
    assert (end.outcome, end.sip_code, end.timed_out, end.hangup_by) == (outcome, code, timed_out, by)


def test_reasons_are_filled_in() -> None:
    assert call_ending(**{**BASE, "sip_code": 0}).reason == "no final response"
    assert "ring timeout" in call_ending(**{**BASE, "sip_code": 0, "timed_out": True}).reason
    assert call_ending(**{**BASE, "sip_code": 486, "reason": "Busy Here"}).reason == "Busy Here"
