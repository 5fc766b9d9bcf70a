"""Call outcomes and the one mapping from a final SIP result to an outcome.

The mapping keeps the SIP code beside the outcome so that reports can always
go back to what the network said (RFC 3261 section 21 for the codes).
"""

from __future__ import annotations

import enum


class Outcome(enum.StrEnum):
    """What became of one dial attempt."""

    ANSWERED = "answered"  # 2xx: a person or a machine picked up
    BUSY = "busy"  # 486 Busy Here, 600 Busy Everywhere
    NO_ANSWER = "no_answer"  # our ring timeout (CANCEL -> 487), 480, 487
    REJECTED = "rejected"  # 403 Forbidden, 603 Decline
    INVALID_NUMBER = "invalid_number"  # 404 Not Found, 484 Address Incomplete
    FAILED = "failed"  # other 4xx/5xx, 408, transport errors (code 0 or 503 local)
    # Outcomes decided after the answer, by AMD or by the dialer.
    MACHINE = "machine"
    FAX = "fax"
    SILENCE = "silence"
    ABANDONED = "abandoned"  # live answer not connected within 2 s (see dialer/pacing/abandon.py)


BUSY_CODES = frozenset({486, 600})
NO_ANSWER_CODES = frozenset({480, 487})
REJECTED_CODES = frozenset({403, 603})
INVALID_CODES = frozenset({404, 484})


def outcome_for_sip(code: int, *, timed_out: bool = False) -> Outcome:
    """Map a final SIP status to an outcome.

    ``timed_out`` is true when *we* cancelled because the ring timeout passed:
    the far end then answers our CANCEL with 487, which is a no-answer, not a failure.
    ``code`` 0 means no final response at all (transport error, unreachable peer).
    """
    if timed_out:
        return Outcome.NO_ANSWER
    if 200 <= code < 300:
        return Outcome.ANSWERED
    if code in BUSY_CODES:
        return Outcome.BUSY
    if code in NO_ANSWER_CODES:
        return Outcome.NO_ANSWER
    if code in REJECTED_CODES:
        return Outcome.REJECTED
    if code in INVALID_CODES:
        return Outcome.INVALID_NUMBER
    return Outcome.FAILED
