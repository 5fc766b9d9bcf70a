"""Where a voicemail greeting's beep ends, so that a message can start after it.

:class:`BeepDetector` reports one :class:`BeepResult`:

* ``beep`` when a steady tone between ``min_hz`` and ``max_hz`` that lasted
  at least the tracker's ``tone_min_frames`` (140 ms) ends; ``end_ms`` is the
  receive time of the first frame after it, so the message never overlaps it;
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
    max_wait_ms: int = 40000
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
        block_frames: int = 4,
        tracker: Tracker | None = None,
    ) -> None:
        self.params = params or BeepParams()
        self.tracker = tracker or Tracker(self.params.tracker)
        self._analyzer = FrameAnalyzer(block_frames)
        self._result: BeepResult | None = None
        self._start_ms: int | None = None

    @property
    def result(self) -> BeepResult | None:
        return self._result

    def feed(self, frame: bytes, now_ms: int) -> BeepResult | None:
        if self._result is not None:
            return None
        feats = self._analyzer.push(frame)
        if feats is None:
            return None
        return self.feed_features(feats, now_ms)

    def feed_features(self, feats: list[FrameFeature], now_ms: int) -> BeepResult | None:
        tracker = self.tracker
        t = now_ms - (len(feats) - 1) * FRAME_MS
        for energy_db, tone_hz in feats:
            tracker.step(energy_db, tone_hz, t)
            result = self.judge(t)
            if result is not None:
                return self.settle(result, now_ms)
            t += FRAME_MS
        return None

    def settle(self, result: BeepResult, now_ms: int) -> BeepResult:
        """Record ``result``, re-stamped at ``now_ms`` when that is later (block processing)."""
        if result.end_ms < now_ms:
            result = BeepResult(result.kind, now_ms, result.freq_hz)
        self._result = result
        return result

    def judge(self, t_ms: int) -> BeepResult | None:
        """The decision after the tracker has seen the frame received at ``t_ms``."""
        p = self.params
        tr = self.tracker
        if self._start_ms is None:
            self._start_ms = t_ms - FRAME_MS
        hz = tr.ended_tone_hz
        if tr.ended_tone_frames and p.min_hz <= hz <= p.max_hz:
            return BeepResult("beep", t_ms, round(hz, 1))
        if (
            tr.voice_ms > 0
            and not (tr.tone_frames and p.min_hz <= tr.tone_hz <= p.max_hz)
            and t_ms - tr.last_voice_ms >= p.greeting_end_ms
        ):
            return BeepResult("greeting_end", t_ms)
        if t_ms - self._start_ms >= p.max_wait_ms:
            return BeepResult("greeting_end", t_ms)
        return None
