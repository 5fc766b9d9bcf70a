"""Feeds one call's 20 ms frames to AMD and then to the beep detector.

The SIP edge calls :meth:`AmdConsumer.feed` for every frame on the media
thread and posts every non-None return to the asyncio side. The consumer
returns first the verdict (human / machine / fax / silence), then — only for
machines whose campaign leaves a voicemail — the drop point where the message
should start (the end of the beep, or of the greeting when there is none).
Both detectors are pure cores; this class only sequences them.
"""

from __future__ import annotations

from typing import Any, Protocol


class _Detector(Protocol):
    def feed(self, frame: bytes, now_ms: int) -> Any: ...


class AmdConsumer:
    """One per answered call; not thread-safe by design (one media thread feeds it)."""

    def __init__(self, detector: _Detector, beep: _Detector | None) -> None:
        self._detector = detector
        self._beep = beep  # None unless the campaign drops voicemail
        self._verdict: Any = None
        self._drop: Any = None
        self.done = False

    def feed(self, pcm: bytes, now_ms: int) -> Any:
        if self.done:
            return None
        # The beep detector listens from the answer, because it needs the whole
        # greeting to know where the greeting ends.
        if self._beep is not None and self._drop is None:
            self._drop = self._beep.feed(pcm, now_ms)
        if self._verdict is None:
            verdict = self._detector.feed(pcm, now_ms)
            if verdict is None:
                return None
            self._verdict = verdict
            if verdict.label != "machine" or self._beep is None:
                self.done = True
            return verdict
        if self._drop is not None:
            self.done = True
            return self._drop
        return None
