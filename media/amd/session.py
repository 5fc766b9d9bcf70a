"""One streaming consumer per call: the AMD verdict, then where a voicemail message starts.

The SIP edge feeds every 20 ms frame from answer and posts every non-``None``
return; it stops feeding when :attr:`AmdSession.done` is true::

    session = make_session("dialer")
    for frame, now_ms in frames:
        out = session.feed(frame, now_ms)   # Verdict | DropPoint | None
        if out is not None:
            post(out)
        if session.done:
            break

A human, fax or silence verdict ends the session. A machine verdict is
followed (on the same or a later frame; if both are known at once, the drop
point comes with the next frame) by a :class:`DropPoint`. With our detector
the beep search runs from answer on the same frame analysis, because the
beep is often what settles the verdict. With a detector that has no beep
search (the app_amd baseline) the drop point is the machine verdict itself
(kind ``decision``), which is what a dialer using app_amd alone does.
"""

from __future__ import annotations

from media.amd.asterisk import AsteriskAmd
from media.amd.beep import BeepDetector, BeepParams
from media.amd.detector import AmdDetector
from media.amd.features import FrameAnalyzer, FrameFeature
from media.amd.types import FRAME_BYTES, BeepResult, Detector, DropPoint, Verdict

# a "beep" followed by more voice than this was a chime inside the greeting
_VOICE_AFTER_BEEP_MS = 100
_NEVER = 1 << 62


class AmdSession:
    """Verdict, then drop point, from one stream of frames (sans-I/O)."""

    def __init__(self, detector: Detector | None = None, beep: BeepParams | None = None) -> None:
        self.detector: Detector = detector if detector is not None else AmdDetector()
        self.done = False
        self.verdict: Verdict | None = None
        self.drop: DropPoint | None = None
        self._pending: DropPoint | None = None
        self._beep_params = beep
        self._beep: BeepDetector | None = None
        self._analyzer: FrameAnalyzer | None = None
        self._deadline_ms = 0
        self._live = False  # frames go to the shared analyzer (our detector, still listening)
        self._buf = bytearray()
        self._last_slot = 0
        if isinstance(self.detector, AmdDetector):
            det = self.detector
            self._analyzer = FrameAnalyzer(det.block_frames)
            self._beep = BeepDetector(beep, tracker=det.tracker)
            self._buf = self._analyzer.buffer
            # buffered bytes below which a new frame does not complete the block
            self._last_slot = (self._analyzer.block_frames - 1) * FRAME_BYTES
            self._live = True

    @property
    def name(self) -> str:
        return self.detector.name

    def feed(self, frame: bytes, now_ms: int) -> Verdict | DropPoint | None:
        if self._live:
            # the hot path, run for every frame: most frames are only buffered
            buf = self._buf
            if (len(buf) < self._last_slot and now_ms < self._deadline_ms
                    and len(frame) == FRAME_BYTES):
                buf += frame
                return None
            assert self._analyzer is not None
            feats = self._analyzer.push(frame, True)
            assert feats is not None
            return self._block(feats, now_ms)
        if self.done:
            return None
        if self._pending is not None:
            return self._finish(self._pending)
        return self._feed_plain(frame, now_ms)

    def _block(self, feats: list[FrameFeature], now_ms: int) -> Verdict | DropPoint | None:
        det = self.detector
        assert isinstance(det, AmdDetector) and self._beep is not None
        beep = self._beep
        tracker = det.tracker
        tracker.step_block(feats, now_ms)
        decided = det.judge(now_ms) if self.verdict is None else None
        beep.judge(now_ms)
        result = beep.result
        if result is not None and tracker.last_voice_ms > result.end_ms + _VOICE_AFTER_BEEP_MS:
            # the tone was inside the greeting: keep listening for the real one
            self._beep = beep = BeepDetector(self._beep_params, tracker=tracker)
            result = None
        self._deadline_ms = min(
            det.deadline_ms if self.verdict is None and decided is None else _NEVER,
            beep.deadline_ms if result is None else _NEVER)
        if decided is not None:
            self.verdict = decided
            if decided.label != "machine":
                self.done = True
                self._live = False
            elif result is not None:
                self._pending = self._drop_from(result)
                self._live = False
            return decided
        if self.verdict is not None and result is not None:
            return self._finish(self._drop_from(result))
        return None

    def _feed_plain(self, frame: bytes, now_ms: int) -> Verdict | None:
        verdict = self.detector.feed(frame, now_ms)
        if verdict is not None:
            self.verdict = verdict
            if verdict.label == "machine":
                self._pending = DropPoint("decision", verdict.at_ms, 0.0, "no beep search")
            else:
                self.done = True
        return verdict

    @staticmethod
    def _drop_from(result: BeepResult) -> DropPoint:
        if result.kind == "beep":
            return DropPoint("beep", result.end_ms, result.freq_hz, f"{result.freq_hz:.0f}Hz")
        return DropPoint("greeting_end", result.end_ms, 0.0, "no beep")

    def _finish(self, drop: DropPoint) -> DropPoint:
        self._pending = None
        self.drop = drop
        self.done = True
        self._live = False
        return drop


def make_detector(name: str = "dialer", *, block_frames: int = 8) -> Detector:
    """``dialer`` (ours) or ``asterisk`` (the app_amd reimplementation).

    ``block_frames`` (ours only) trades CPU for latency: frames are analysed
    that many at a time, and a decision waits for the end of its block.
    """
    if name == "dialer":
        return AmdDetector(block_frames=block_frames)
    if name == "asterisk":
        return AsteriskAmd()
    raise ValueError(f"unknown AMD detector {name!r} (known: {', '.join(DETECTORS)})")


def make_session(name: str = "dialer", *, block_frames: int = 8) -> AmdSession:
    return AmdSession(make_detector(name, block_frames=block_frames))


DETECTORS: tuple[str, ...] = ("dialer", "asterisk")
