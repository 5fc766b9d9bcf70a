"""Pure rules of the SIP edge: ring-timeout floor, how a finished call is reported.

No pjsua2, no clock: the PJSIP thread gathers plain facts (was it answered, the
final SIP code, did our ring timer fire, did the far end ever ring, who hung up)
and :func:`call_ending` decides, so unit tests can walk every case
(tests/unit/test_sip_policy.py).
"""

from __future__ import annotations

from typing import NamedTuple

from dialer.config import MIN_RING_TIMEOUT_S
from dialer.outcomes import Outcome, outcome_for_sip

# Codes that say "the network could not get an answer", not "the customer said no".
NETWORK_CODES = frozenset({0, 408, 503})


def effective_ring_timeout(requested_s: float, floor_s: float = MIN_RING_TIMEOUT_S) -> float:
    """The ring timeout we actually use: never under 15 s.

    47 CFR 64.1200(a)(6) (and Ofcom's persistent-misuse policy) require letting a
    call ring at least 15 seconds before abandoning it. ``floor_s`` exists only for
    the edge's private test hook; the public API always passes the legal floor.
    """
    try:
        value = float(requested_s)
    except (TypeError, ValueError):
        return floor_s
    if value != value:  # NaN: the floor, never "no timeout"
        return floor_s
    return max(floor_s, value)


class Ending(NamedTuple):
    """What CallFinished reports."""

    outcome: Outcome
    sip_code: int
    timed_out: bool
    hangup_by: str  # "dialer" | "customer" | "network"
    reason: str


def call_ending(
    *,
    answered: bool,
    final_code: int,
    sip_code: int,
    reason: str,
    timed_out: bool,
    provisional: bool,
    by_us: bool,
) -> Ending:
    """Turn the facts of a finished customer call into its reported ending.

    - An answered call stays ANSWERED whatever ends it later; ``sip_code`` is the
      INVITE's final code (200) and ``reason`` says how it ended.
    - Our ring timer firing after the far end rang (18x) is a no-answer: we CANCEL
      and the 487 that follows is ours, not the customer's.
    - Our ring timer firing with no response at all means the trunk never
      answered the INVITE: FAILED, reported as a local 408.
    - Anything else is :func:`dialer.outcomes.outcome_for_sip` of the final code
      (0 = no final response at all, e.g. a transport error).
    """
    if answered:
        by = "dialer" if by_us else "customer"
        return Ending(Outcome.ANSWERED, final_code or 200, False, by, reason)
    if timed_out and provisional:
        return Ending(Outcome.NO_ANSWER, sip_code or 487, True, "dialer", reason or "ring timeout")
    if timed_out:
        return Ending(Outcome.FAILED, 408, False, "network", "no response from the trunk before the ring timeout")
    outcome = outcome_for_sip(sip_code)
    if by_us:
        by = "dialer"
    elif sip_code in NETWORK_CODES:
        by = "network"
    else:
        by = "customer"
    return Ending(outcome, sip_code, False, by, reason or ("no final response" if sip_code == 0 else ""))
