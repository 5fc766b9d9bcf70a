"""Our answering-machine detector (``--detector dialer``).

It listens for the structure of the first turn, not its words:

* **human** — a turn of speech followed by a pause. People answer with a
  few words and wait for the caller; the pause needed grows with the length
  of the turn (``pause_short_ms`` after a "Hello?", ``pause_long_ms`` after a
  receptionist's sentence), because recorded greetings pause between their
  sentences too.
* **machine** — a steady tone after speech that ends cleanly (the beep; a
  very short greeting such as "Leave a message." is only told from a human by
  it), or a turn that is still going after ``max_turn_ms``.
* **fax** — half a second of steady 2100 Hz answer tone (CED), or a burst of
  1100 Hz calling tone (CNG) before anyone spoke.
* **silence** — nothing voiced for ``no_voice_ms`` after answer (dead air).
* if ``max_analysis_ms`` pass with no verdict, **human** with detail
  ``timeout``: a person left waiting is worse than a machine sent to an agent.

Frames are analysed in blocks (:class:`media.amd.features.FrameAnalyzer`);
a verdict is stamped with the receive time of the block's last frame, the
earliest moment the caller could act on it. The parameters were tuned on
the ``tune`` split of the synthetic corpus only (docs/amd.md).
"""

from __future__ import annotations

import msgspec

from media.amd.features import FrameAnalyzer, FrameFeature
from media.amd.tracking import Tracker, TrackerParams
from media.amd.types import FRAME_MS, Label, Verdict

CED_MIN_HZ = 2060.0  # 2100 Hz +- 15 (T.30) with margin; beeps we look for stop at 2000
CED_MIN_FRAMES = 25  # CED lasts 2.6-4 s; half a second of it is plenty
CNG_HZ = 1100.0
CNG_TOLERANCE_HZ = 60.0
BEEP_MIN_HZ = 400.0


class AmdParams(msgspec.Struct, frozen=True, kw_only=True):
    """Decision parameters of :class:`AmdDetector`; times in milliseconds."""

    pause_short_ms: int = 580  # pause that ends a short turn (a "Hello?")
    pause_long_ms: int = 860  # pause that ends a long turn (a receptionist's answer)
    short_turn_ms: int = 1200  # turns up to this long need pause_short_ms ...
    long_turn_ms: int = 2500  # ... from this long pause_long_ms; linear between
    min_voice_ms: int = 120  # voiced time a turn needs before a pause can end it
    max_turn_ms: int = 5000  # a turn still going this long is a recording
    beep_min_voice_ms: int = 300  # speech needed before a tone to call it a beep
    no_voice_ms: int = 4000  # nothing voiced this long: dead air
    max_analysis_ms: int = 8000  # give up (human) after this long
    tracker: TrackerParams = msgspec.field(default_factory=TrackerParams)


class AmdDetector:
    """Streaming human / machine / fax / silence classifier (sans-I/O).

    ``feed(frame, now_ms)`` returns the :class:`Verdict` once, then ``None``.
    ``judge(now_ms)`` is the decision step alone, for callers that drive a
    shared :class:`Tracker` themselves (:class:`media.amd.session.AmdSession`).
    """

    name = "dialer"

    def __init__(
        self,
        params: AmdParams | None = None,
        *,
        block_frames: int = 8,
        tracker: Tracker | None = None,
    ) -> None:
        self.params = params or AmdParams()
        self.tracker = tracker or Tracker(self.params.tracker)
        self.block_frames = block_frames
        self._analyzer: FrameAnalyzer | None = None  # made on the first feed()
        self._verdict: Verdict | None = None
        self._tones_seen = 0
        self.deadline_ms = 0  # analyse the buffered frames once now_ms reaches this

    @property
    def verdict(self) -> Verdict | None:
        return self._verdict

    def feed(self, frame: bytes, now_ms: int) -> Verdict | None:
        if self._verdict is not None:
            return None
        if self._analyzer is None:
            self._analyzer = FrameAnalyzer(self.block_frames)
        feats = self._analyzer.push(frame, now_ms >= self.deadline_ms)
        if feats is None:
            return None
        return self.feed_features(feats, now_ms)

    def feed_features(self, feats: list[FrameFeature], now_ms: int) -> Verdict | None:
        """Step the tracker over one block of features and decide (standalone use)."""
        self.tracker.step_block(feats, now_ms)
        return self.judge(now_ms)

    def judge(self, now_ms: int) -> Verdict | None:
        """Decide once the tracker has seen every frame received up to ``now_ms``.

        For callers that step a shared :class:`Tracker` themselves; returns the
        verdict once (it is kept in :attr:`verdict`), then ``None``.
        """
        if self._verdict is not None:
            return None
        reason = self._decide(now_ms)
        if reason is not None:
            self._verdict = Verdict(reason[0], now_ms, reason[1])
        else:
            self.deadline_ms = self._next_deadline(now_ms)
        return self._verdict

    def _next_deadline(self, now_ms: int) -> int:
        """When a verdict would be due if nothing but silence came: the flush time.

        Verdicts that need new sound (a tone, a long turn) can wait for the
        end of a block; the ones that come from silence are what callers wait
        for, so the analysis is flushed exactly when they fall due.
        """
        p = self.params
        tr = self.tracker
        if tr.tone_confirmed or tr.tone_ending:  # a beep may be about to end
            return now_ms + 2 * FRAME_MS
        first = tr.first_voice_ms
        if first is None:
            return min(p.no_voice_ms, p.max_analysis_ms)
        due = tr.last_voice_ms + self.pause_needed_ms(tr.last_voice_ms - first)
        return min(due, p.max_analysis_ms)

    def pause_needed_ms(self, turn_ms: int) -> int:
        p = self.params
        if turn_ms <= p.short_turn_ms:
            return p.pause_short_ms
        if turn_ms >= p.long_turn_ms:
            return p.pause_long_ms
        frac = (turn_ms - p.short_turn_ms) / (p.long_turn_ms - p.short_turn_ms)
        return int(p.pause_short_ms + frac * (p.pause_long_ms - p.pause_short_ms))

    def _decide(self, now_ms: int) -> tuple[Label, str] | None:
        p = self.params
        tr = self.tracker
        if tr.tone_frames >= CED_MIN_FRAMES and tr.tone_hz >= CED_MIN_HZ:
            return "fax", f"answer tone {tr.tone_hz:.0f}Hz"
        if tr.tones_ended != self._tones_seen:  # a steady tone has just ended cleanly
            self._tones_seen = tr.tones_ended
            hz = tr.ended_hz
            before = tr.ended_voice_ms
            if before < p.min_voice_ms and abs(hz - CNG_HZ) <= CNG_TOLERANCE_HZ:
                return "fax", f"calling tone {hz:.0f}Hz"
            if before >= p.beep_min_voice_ms and BEEP_MIN_HZ <= hz < CED_MIN_HZ:
                return "machine", f"beep {hz:.0f}Hz after {before / 1000:.1f}s of speech"
        first = tr.first_voice_ms
        if first is None:
            if now_ms >= p.no_voice_ms:
                return "silence", f"no voice for {now_ms / 1000:.1f}s"
        else:
            turn = tr.last_voice_ms - first
            if turn >= p.max_turn_ms:
                return "machine", f"turn longer than {p.max_turn_ms / 1000:.1f}s"
            pause = now_ms - tr.last_voice_ms
            # not while a burst is starting: it may be the next word, or the beep
            if (tr.voice_ms >= p.min_voice_ms and not tr.run
                    and pause >= self.pause_needed_ms(turn)):
                return "human", f"pause {pause}ms after {turn / 1000:.2f}s turn"
        if now_ms >= p.max_analysis_ms:
            return "human", "timeout"
        return None
