"""The SIP edge: one PJSIP thread behind a command queue (docs/sip.md).

Importing this package does not import pjsua2; ``SipEdge.start()`` does.
"""

from dialer.sip.events import (
    AgentLegDown,
    AgentLegUp,
    Bridged,
    BridgeFailed,
    CallConnected,
    CallFinished,
    CallProgress,
    FrameResult,
    PlaybackFinished,
    SipEvent,
)

__all__ = [
    "AgentLegDown",
    "AgentLegUp",
    "BridgeFailed",
    "Bridged",
    "CallConnected",
    "CallFinished",
    "CallProgress",
    "FrameResult",
    "PlaybackFinished",
    "SipEvent",
]
