"""The record state machine, as a table (ARCHITECTURE.md habit 3).

::

    pending --claim--> claimed --offer--> offered --accept--> accepted
       ^                  |  \\________________/                   |
       |   release, expire, defer, reject, skip,          retry / finish /
       |   decline, reschedule, retry                     await_disposition
       |                  |                                        v
       +------------------+------------- complete_retry ------- wrapup
                          v                                        |
                         done <----------- complete_final ---------+

``claimed``, ``offered`` and ``accepted`` hold a lease with a fencing token; ``wrapup``
keeps the same token until the agent's disposition arrives (or its deadline passes).
The Redis scripts refuse a write unless the record is in a state the event may leave.
"""

from __future__ import annotations

import enum

from dialer.errors import InvalidTransition


class RecordState(enum.StrEnum):
    PENDING = "pending"  # waiting: due now, scheduled, or a callback
    CLAIMED = "claimed"  # leased by a dialer node, not yet shown or dialed
    OFFERED = "offered"  # shown to an agent (preview) who may accept, reject, skip, decline
    ACCEPTED = "accepted"  # being dialed / on a call
    WRAPUP = "wrapup"  # answered, waiting for the agent's disposition
    DONE = "done"  # final: it will not be dialed again


class RecordEvent(enum.StrEnum):
    CLAIM = "claim"
    RELEASE = "release"  # given back without an attempt (shutdown drain)
    EXPIRE = "expire"  # the lease ran out (a crashed node)
    DEFER = "defer"  # the compliance gate refused every number for now
    EXHAUST = "exhaust"  # the compliance gate refused every number for good
    OFFER = "offer"
    ACCEPT = "accept"
    REJECT = "reject"  # back to the top of the list
    SKIP = "skip"  # redistributed later
    DECLINE_LATER = "decline_later"
    DECLINE_DNC = "decline_dnc"
    RESCHEDULE = "reschedule"  # a callback was set
    RETRY = "retry"  # the attempt's outcome asks for another attempt
    FINISH = "finish"  # the attempt's outcome or disposition ends the record
    AWAIT_DISPOSITION = "await_disposition"  # answered; the agent's disposition follows
    COMPLETE_RETRY = "complete_retry"  # disposition given, record retried
    COMPLETE_FINAL = "complete_final"  # disposition given, record done


S, E = RecordState, RecordEvent

_PRE_DIAL = {
    E.RELEASE: S.PENDING,
    E.EXPIRE: S.PENDING,
    E.REJECT: S.PENDING,
    E.SKIP: S.PENDING,
    E.DECLINE_LATER: S.PENDING,
    E.DECLINE_DNC: S.DONE,
    E.RESCHEDULE: S.PENDING,
    E.ACCEPT: S.ACCEPTED,
}
_ATTEMPT = {
    E.RETRY: S.PENDING,
    E.FINISH: S.DONE,
    E.AWAIT_DISPOSITION: S.WRAPUP,
}

TABLE: dict[RecordState, dict[RecordEvent, RecordState]] = {
    S.PENDING: {E.CLAIM: S.CLAIMED},
    S.CLAIMED: {
        **_PRE_DIAL,
        **_ATTEMPT,
        E.OFFER: S.OFFERED,
        E.DEFER: S.PENDING,
        E.EXHAUST: S.DONE,
    },
    S.OFFERED: dict(_PRE_DIAL),
    S.ACCEPTED: {
        **_ATTEMPT,
        E.RELEASE: S.PENDING,
        E.EXPIRE: S.PENDING,
        E.RESCHEDULE: S.PENDING,
    },
    S.WRAPUP: {
        E.COMPLETE_RETRY: S.PENDING,
        E.COMPLETE_FINAL: S.DONE,
        E.RESCHEDULE: S.PENDING,
    },
    S.DONE: {},
}

LEASED = frozenset({S.CLAIMED, S.OFFERED, S.ACCEPTED})
TOKEN_HOLDING = LEASED | {S.WRAPUP}


def transition(state: RecordState, event: RecordEvent) -> RecordState:
    """The state after ``event``; InvalidTransition when ``state`` cannot take it."""
    try:
        return TABLE[state][event]
    except KeyError:
        raise InvalidTransition("record", state.value, event.value) from None


def sources(event: RecordEvent) -> frozenset[RecordState]:
    """Every state ``event`` may leave (what the store's scripts accept)."""
    return frozenset(s for s, row in TABLE.items() if event in row)
