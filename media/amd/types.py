"""Records the AMD cores return, and the protocol every detector follows.

Frames are 20 ms of 8 kHz 16-bit little-endian mono PCM (320 bytes).
``now_ms`` is the time since answer at which the frame has been *received*,
i.e. the end of the audio it carries: the first frame of a call is fed with
``now_ms=20``. Every time a core reports (``at_ms``, ``end_ms``) is such a
receive time, so it is the earliest moment a live call could act on it.
"""

from __future__ import annotations

from typing import Final, Literal, Protocol

import msgspec

SAMPLE_RATE: Final = 8000
FRAME_MS: Final = 20
FRAME_SAMPLES: Final = SAMPLE_RATE * FRAME_MS // 1000  # 160
FRAME_BYTES: Final = FRAME_SAMPLES * 2  # 320

Label = Literal["human", "machine", "fax", "silence"]
LABELS: Final[tuple[str, ...]] = ("human", "machine", "fax", "silence")


class Verdict(msgspec.Struct, frozen=True):
    """What answered the call, and when the detector knew it.

    ``label`` is one of :data:`LABELS`; ``at_ms`` is the receive time of the
    frame that settled it; ``detail`` is a short human-readable cause
    (``"pause 560ms after 0.6s of speech"``, ``"MACHINE/LONGGREETING-1500-1500"``).
    """

    label: Label
    at_ms: int
    detail: str = ""


class BeepResult(msgspec.Struct, frozen=True):
    """When a voicemail message should start.

    ``kind`` is ``"beep"`` (a tone ended at ``end_ms``; ``freq_hz`` is its
    frequency) or ``"greeting_end"`` (no tone: the greeting fell silent and
    stayed so, or the search timed out; ``freq_hz`` is 0).
    """

    kind: Literal["beep", "greeting_end"]
    end_ms: int
    freq_hz: float = 0.0


class DropPoint(msgspec.Struct, frozen=True):
    """Reported by :class:`media.amd.session.AmdSession` after a machine verdict:
    play the voicemail message from ``at_ms`` on.

    ``kind`` is ``"beep"``, ``"greeting_end"``, ``"decision"`` (the detector
    has no beep search, e.g. the app_amd baseline, so the message starts at
    the machine verdict) or ``"timeout"``.
    """

    kind: Literal["beep", "greeting_end", "decision", "timeout"]
    at_ms: int
    freq_hz: float = 0.0
    detail: str = ""


class Detector(Protocol):
    """A streaming human/machine classifier: one verdict per call, then ``None``."""

    name: str

    def feed(self, frame: bytes, now_ms: int) -> Verdict | None: ...

    @property
    def verdict(self) -> Verdict | None: ...
