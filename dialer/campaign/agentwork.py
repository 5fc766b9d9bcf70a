"""What an agent's work state becomes after each record action, as a table.

The daemon owns agent presence (``AgentStateChanged``); this table says which state a
record action leads to, so that the API and the daemon agree: a reject makes the agent
Not Ready, "done and stop" too, a completion makes them Ready again.
"""

from __future__ import annotations

import enum

from dialer.errors import InvalidTransition


class AgentWorkState(enum.StrEnum):
    READY = "ready"
    PREVIEW = "preview"  # a record is on the agent's screen, not yet dialed
    DIALING = "dialing"
    ON_CALL = "on_call"
    WRAPUP = "wrapup"  # after-call work: disposition, notes, fields
    NOT_READY = "not_ready"


class AgentWorkEvent(enum.StrEnum):
    OFFER = "offer"
    ACCEPT = "accept"
    REJECT = "reject"
    SKIP = "skip"
    DECLINE = "decline"
    RESCHEDULE = "reschedule"
    CONNECT = "connect"  # the customer is bridged to the agent
    NO_CONTACT = "no_contact"  # the accepted dial ended without a live answer
    CALL_ENDED = "call_ended"
    COMPLETE = "complete"
    DONE_STOP = "done_stop"  # complete, then stop taking calls
    GO_READY = "go_ready"
    GO_NOT_READY = "go_not_ready"


A, V = AgentWorkState, AgentWorkEvent

TABLE: dict[AgentWorkState, dict[AgentWorkEvent, AgentWorkState]] = {
    A.READY: {V.OFFER: A.PREVIEW, V.CONNECT: A.ON_CALL, V.GO_NOT_READY: A.NOT_READY},
    A.PREVIEW: {
        V.ACCEPT: A.DIALING,
        V.REJECT: A.NOT_READY,  # issue 5: a reject makes the agent Not Ready
        V.SKIP: A.READY,
        V.DECLINE: A.READY,
        V.RESCHEDULE: A.READY,
    },
    A.DIALING: {V.CONNECT: A.ON_CALL, V.NO_CONTACT: A.READY},
    A.ON_CALL: {V.CALL_ENDED: A.WRAPUP},
    A.WRAPUP: {V.COMPLETE: A.READY, V.DONE_STOP: A.NOT_READY, V.RESCHEDULE: A.READY},
    A.NOT_READY: {V.GO_READY: A.READY},
}

# The presence names the daemon publishes in AgentStateChanged.
PRESENCE: dict[AgentWorkState, str] = {
    A.READY: "Ready",
    A.PREVIEW: "Busy",
    A.DIALING: "Busy",
    A.ON_CALL: "Busy",
    A.WRAPUP: "After Call Work",
    A.NOT_READY: "Not Ready",
}


def transition(state: AgentWorkState, event: AgentWorkEvent) -> AgentWorkState:
    try:
        return TABLE[state][event]
    except KeyError:
        raise InvalidTransition("agent", state.value, event.value) from None
