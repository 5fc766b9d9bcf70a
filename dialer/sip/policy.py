"""Pure rules of the SIP edge: ring-timeout floor, outcome of a finished call.

No pjsua2, no clock: the PJSIP thread gathers plain facts (was it answered,
the final SIP code, did our ring timer fire, who hung up) and these functions
decide, so that unit tests can walk every case (tests/unit/test_sip_policy.py).
"""

from __future__ import annotations

from dialer.config import MIN_RING_TIMEOUT_S
from dialer.outcomes import Outcome, outcome_for_sip


def effective_ring_timeout(requested_s: float, floor_s: float = MIN_RING_TIMEOUT_S) -> float:
    """The ring timeout we actually use: never under 15 s.

    47 CFR 64.1200(a)(6) (and Ofcom's persistent-misuse policy) require letting a
    call ring at least 15 seconds before abandoning it. ``floor_s`` exists only for
    the edge's private test hook; the public API always passes the legal floor.
    """
    if requested_s != requested_s:  # NaN: fall back to the floor, never to "no timeout"
        return floor_s
    return max(floor_s, float(requested_s))


def finished_outcome(
    *, answered: bool, sip_code: int, timed_out: bool, provisional: bool
) -> tuple[Outcome, bool]:
    """Outcome of a customer call that is over, and whether it counts as timed out.

    - answered calls stay ANSWERED whatever ends them later;
    - our ring timer counts as a no-answer only if the far end had signalled it
      was ringing (a provisional response): with no response at all the trunk is
      unreachable, the CANCEL waits for Timer B, and that is a FAILED call;
    - everything else is :func:`dialer.outcomes.outcome_for_sip` of the final code
      (code 0 = no final response = FAILED).
    """
    if answered:
        return Outcome.ANSWERED, False
    effective_timeout = timed_out and provisional
    return outcome_for_sip(sip_code, timed_out=effective_timeout), effective_timeout


def hangup_party(*, answered: bool, sip_code: int, timed_out: bool, by_us: bool, remote_bye: bool) -> str:
    """Who ended the call: "dialer", "customer" or "network" (for CallFinished.hangup_by)."""
    if by_us or timed_out:
        return "dialer"
    if answered:
        return "customer" if remote_bye else "network"
    if sip_code in (0, 408, 503):
        return "network"
    return "customer"
