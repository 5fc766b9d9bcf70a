"""Every final SIP result maps to the outcome the issue names, keeping the code."""

from __future__ import annotations

import pytest

from dialer.outcomes import Outcome, outcome_for_sip

CASES = [
    (200, False, Outcome.ANSWERED),
    (486, False, Outcome.BUSY),
    (600, False, Outcome.BUSY),
    (480, False, Outcome.NO_ANSWER),
    (487, False, Outcome.NO_ANSWER),
    (487, True, Outcome.NO_ANSWER),
    (0, True, Outcome.NO_ANSWER),
    (403, False, Outcome.REJECTED),
    (603, False, Outcome.REJECTED),
    (404, False, Outcome.INVALID_NUMBER),
    (484, False, Outcome.INVALID_NUMBER),
    (408, False, Outcome.FAILED),
    (500, False, Outcome.FAILED),
    (503, False, Outcome.FAILED),
    (488, False, Outcome.FAILED),
    (0, False, Outcome.FAILED),
]


@pytest.mark.parametrize(("code", "timed_out", "expected"), CASES)
def test_outcome_for_sip(code: int, timed_out: bool, expected: Outcome) -> None:
    assert outcome_for_sip(code, timed_out=timed_out) is expected


def test_every_4xx_to_6xx_code_has_an_outcome() -> None:
    for code in range(400, 700):
        assert isinstance(outcome_for_sip(code), Outcome)
