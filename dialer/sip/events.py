"""Events the SIP edge hands to the asyncio side (ARCHITECTURE.md habits 4 and 5).

PJSIP callbacks copy plain values into these frozen records on the PJSIP (or
media) thread and hand them over with ``loop.call_soon_threadsafe``; nothing in
them refers to a pjsua2 object. ``mono`` is ``time.monotonic()`` stamped in the
callback that saw the thing happen, so latency maths (answer -> bridge, the
2-second abandonment rule) does not include queueing delay.

These are edge-internal records: the daemon turns them into the published
events of :mod:`dialer.events` (which carry wall-clock ``at`` and campaign ids).
"""

from __future__ import annotations

from typing import Any

import msgspec

from dialer.outcomes import Outcome


class SipEvent(msgspec.Struct, frozen=True, kw_only=True, tag=True):
    """Base of every record the SIP edge emits."""

    mono: float


class CallProgress(SipEvent, frozen=True, kw_only=True, tag=True):
    """A provisional response: 180 Ringing or 183 Session Progress."""

    call_id: str
    sip_code: int


class CallConnected(SipEvent, frozen=True, kw_only=True, tag=True):
    """The customer answered (200 OK, ACK sent) and media is active."""

    call_id: str


class CallFinished(SipEvent, frozen=True, kw_only=True, tag=True):
    """A customer call is over; exactly one per ``place_call``.

    ``outcome`` comes from :func:`dialer.outcomes.outcome_for_sip`. A call that
    was answered reports ANSWERED whatever ends it later (``sip_code`` is then
    200 and ``reason`` says how it ended). ``sip_code`` is 0 when there was no
    final response at all. ``hangup_by`` is "customer", "dialer" or "network".
    """

    call_id: str
    outcome: Outcome
    sip_code: int
    reason: str
    timed_out: bool = False
    hangup_by: str = ""
    answered_mono: float = 0.0  # 0.0 when never answered


class AgentLegUp(SipEvent, frozen=True, kw_only=True, tag=True):
    """The nailed-up leg to an agent's softphone is answered and media flows."""

    agent_id: str


class AgentLegDown(SipEvent, frozen=True, kw_only=True, tag=True):
    """The agent leg is gone (never came up, or hung up); ``sip_code`` 0 = no answer at all."""

    agent_id: str
    sip_code: int
    reason: str


class Bridged(SipEvent, frozen=True, kw_only=True, tag=True):
    """Customer and agent hear each other (both conference connections made)."""

    call_id: str
    agent_id: str


class BridgeFailed(SipEvent, frozen=True, kw_only=True, tag=True):
    """``bridge`` could not connect them (call not answered, agent leg down...)."""

    call_id: str
    agent_id: str
    reason: str


class PlaybackFinished(SipEvent, frozen=True, kw_only=True, tag=True):
    """A prompt started with ``SipEdge.play`` is over; exactly one per ``play``.

    ``ok`` is False when it could not start (missing file, call not answered) or
    was cut short (call ended, ``bridge``, another ``play``).
    """

    call_id: str
    ok: bool = True
    reason: str = ""


class FrameResult(SipEvent, frozen=True, kw_only=True, tag=True):
    """A frame consumer returned something (e.g. an AMD verdict) for this call."""

    call_id: str
    value: Any


AnySipEvent = (
    CallProgress
    | CallConnected
    | CallFinished
    | AgentLegUp
    | AgentLegDown
    | Bridged
    | BridgeFailed
    | PlaybackFinished
    | FrameResult
)
