"""Events: small frozen records named in the past tense (ARCHITECTURE.md habit 4).

Every event that goes to Redis is one of these, encoded with
``msgspec.json.encode``; the ``type`` field names the class. docs/events.md is
the schema reference and must change with this file. Times are Unix epoch
seconds (``at``) stamped by the edge that saw the thing happen; durations are
in seconds unless the name says ``_ms``.

Other packages may define more events by subclassing :class:`Event`; the bus
encodes any of them.
"""

from __future__ import annotations

import msgspec

from dialer.outcomes import Outcome


class Event(msgspec.Struct, frozen=True, kw_only=True, tag=True, tag_field="type"):
    """Base of every published event."""

    at: float


# ---------------------------------------------------------------- calls


class CallPlaced(Event, frozen=True, kw_only=True, tag=True):
    call_id: str
    campaign: str
    record_id: str
    number: str
    uri: str
    caller_id: str = ""


class CallRinging(Event, frozen=True, kw_only=True, tag=True):
    call_id: str
    campaign: str
    sip_code: int  # 180 or 183


class CallAnswered(Event, frozen=True, kw_only=True, tag=True):
    call_id: str
    campaign: str
    ring_s: float


class CallBridged(Event, frozen=True, kw_only=True, tag=True):
    """The customer and an agent hear each other."""

    call_id: str
    campaign: str
    agent_id: str
    wait_ms: int  # from the moment the dialer chose to connect (answer or AMD) to the bridge


class CallEnded(Event, frozen=True, kw_only=True, tag=True):
    call_id: str
    campaign: str
    record_id: str
    number: str
    outcome: Outcome
    sip_code: int  # final SIP status; 0 when there was none (transport error)
    reason: str
    ring_s: float
    talk_s: float
    agent_id: str = ""
    hangup_by: str = ""  # "customer", "agent", "dialer"


class AmdDecided(Event, frozen=True, kw_only=True, tag=True):
    call_id: str
    campaign: str
    verdict: str  # human | machine | fax | silence
    latency_ms: int  # from answer to decision
    detector: str


class MessagePlayed(Event, frozen=True, kw_only=True, tag=True):
    """A prerecorded prompt was played to the callee (voicemail drop, safe harbor)."""

    call_id: str
    campaign: str
    prompt: str
    reason: str  # "voicemail" | "safe_harbor"


# ---------------------------------------------------------------- agents


class AgentStateChanged(Event, frozen=True, kw_only=True, tag=True):
    agent_id: str
    campaign: str
    old: str
    new: str
    reason: str = ""


# ---------------------------------------------------------------- campaigns and records


class CampaignStarted(Event, frozen=True, kw_only=True, tag=True):
    campaign: str
    mode: str


class CampaignStopped(Event, frozen=True, kw_only=True, tag=True):
    campaign: str
    reason: str  # "operator" | "finished" | "shutdown"


class ListImported(Event, frozen=True, kw_only=True, tag=True):
    campaign: str
    imported: int
    rejected: int
    source: str


class RecordClaimed(Event, frozen=True, kw_only=True, tag=True):
    campaign: str
    record_id: str
    token: int


class RecordCompleted(Event, frozen=True, kw_only=True, tag=True):
    """A record reached a final state (disposition, exhausted retries, DNC...)."""

    campaign: str
    record_id: str
    final: str


class DialBlocked(Event, frozen=True, kw_only=True, tag=True):
    """The compliance gate refused to dial a number; ``rule`` cites the rule."""

    campaign: str
    record_id: str
    number: str
    rule: str
    detail: str = ""


class PacingUpdated(Event, frozen=True, kw_only=True, tag=True):
    campaign: str
    mode: str
    dial_level: float  # lines per working agent the pacer is running at
    answer_rate: float
    abandon_rate_30d: float
    abandon_rate_day: float
    occupancy: float
    lines_in_progress: int
    ready_agents: int


class DaemonStarted(Event, frozen=True, kw_only=True, tag=True):
    node: str
    version: str
    engine: str
    capacity: int


class DaemonStopped(Event, frozen=True, kw_only=True, tag=True):
    node: str
    reason: str
