"""Where a voicemail greeting's beep ends, so that a message can start after it.

:class:`BeepDetector` reports one :class:`BeepResult`:

* ``beep`` when a steady tone between ``min_hz`` and ``max_hz`` that lasted
  at least the tracker's ``tone_min_frames`` (160 ms) ends cleanly (the line
  falls quiet at once, as after a beep and not after a sung vowel); ``end_ms``
  is the receive time of the first quiet frame, so the message never overlaps
  the beep;
* ``greeting_end`` when, after some voice, ``greeting_end_ms`` of silence pass
  with no tone (greetings that end without a beep), or when ``max_wait_ms``
  pass after the detector started listening.

``greeting_end_ms`` must exceed the longest gap between a greeting and its
beep (up to 0.9 s in the corpus): starting a message before a late beep
would put the beep in the middle of it.
"""

from __future__ import annotations

import msgspec

from media.amd.features import FrameAnalyzer, FrameFeature
from media.amd.tracking import Tracker, TrackerParams
from media.amd.types import FRAME_MS, BeepResult


class BeepParams(msgspec.Struct, frozen=True, kw_only=True):
    min_hz: float = 400.0
    max_hz: float = 2060.0  # above: a fax answer tone, not a beep
    greeting_end_ms: int = 1300
    max_wait_ms: int = 30000  # from answer: within the daemon's 30 s after the verdict
    tracker: TrackerParams = msgspec.field(default_factory=TrackerParams)


class BeepDetector:
    """Streaming beep / end-of-greeting finder (sans-I/O).

    ``feed(frame, now_ms)`` returns the :class:`BeepResult` once, then ``None``.
    Start it as early as possible (at answer): a beep may come before the
    machine verdict, and a detector started after the beep cannot see it.
    """

    def __init__(
        self,
        params: BeepParams | None = None,
        *,
        block_frames: int = 8,
        tracker: Tracker | None = None,
    ) -> None:
        self.params = params or BeepParams()
        self.tracker = tracker or Tracker(self.params.tracker)
        self.block_frames = block_frames
        self._analyzer: FrameAnalyzer | None = None  # made on the first feed()
        self._result: BeepResult | None = None
        self._start_ms: int | None = None
        self._tones_seen = self.tracker.tones_ended  # tones that ended before we listened
        self.deadline_ms = 0  # analyse the buffered frames once now_ms reaches this

    @property
    def result(self) -> BeepResult | None:
        return self._result

    def feed(self, frame: bytes, now_ms: int) -> BeepResult | None:
        if self._result is not None:
            return None
        if self._analyzer is None:
            self._analyzer = FrameAnalyzer(self.block_frames)
        feats = self._analyzer.push(frame, now_ms >= self.deadline_ms)
        if feats is None:
            return None
        return self.feed_features(feats, now_ms)

    def feed_features(self, feats: list[FrameFeature], now_ms: int) -> BeepResult | None:
        self.tracker.step_block(feats, now_ms)
        return self.judge(now_ms)

    def judge(self, now_ms: int) -> BeepResult | None:
        """Decide once the tracker has seen every frame received up to ``now_ms``.

        For callers that step a shared :class:`Tracker` themselves; the result
        is kept in :attr:`result`.
        """
        if self._result is None:
            self._result = self._decide(now_ms)
            if self._result is None:
                self.deadline_ms = self._next_deadline(now_ms)
            return self._result
        return None

    def _next_deadline(self, now_ms: int) -> int:
        """Flush time: every other frame while a tone plays (its end is the answer),
        else when the silence after the greeting or the wait would run out."""
        p = self.params
        tr = self.tracker
        if tr.tone_confirmed or tr.tone_ending:
            return now_ms + 2 * FRAME_MS
        due = (self._start_ms or 0) + p.max_wait_ms
        if tr.voice_ms > 0:
            due = min(due, tr.last_voice_ms + p.greeting_end_ms)
        return due

    def _decide(self, now_ms: int) -> BeepResult | None:
        p = self.params
        tr = self.tracker
        if self._start_ms is None:
            self._start_ms = now_ms - FRAME_MS
        if tr.tones_ended != self._tones_seen:
            self._tones_seen = tr.tones_ended
            hz = tr.ended_hz
            if p.min_hz <= hz <= p.max_hz:
                return BeepResult("beep", now_ms, round(hz, 1))
        if (
            tr.voice_ms > 0
            and not (tr.tone_frames and p.min_hz <= tr.tone_hz <= p.max_hz)
            and now_ms - tr.last_voice_ms >= p.greeting_end_ms
        ):
            return BeepResult("greeting_end", now_ms)
        if now_ms - self._start_ms >= p.max_wait_ms:
            return BeepResult("greeting_end", now_ms)
        return None
