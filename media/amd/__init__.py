"""Answering-machine detection on the media path (sans-I/O, explicit time).

Feed 20 ms frames of 8 kHz 16-bit mono PCM from the moment of answer::

    from media.amd import make_session
    session = make_session("dialer")
    out = session.feed(frame, now_ms)  # Verdict | DropPoint | None; stop when session.done

or use the parts: :class:`AmdDetector` (ours), :class:`AsteriskAmd` (app_amd's
algorithm, the baseline), :class:`BeepDetector`. docs/amd.md has the design,
the evaluation (``dialer amd-eval``) and the measured figures.
"""

from media.amd.asterisk import AsteriskAmd, AsteriskParams
from media.amd.beep import BeepDetector, BeepParams
from media.amd.detector import AmdDetector, AmdParams
from media.amd.session import DETECTORS, AmdSession, make_detector, make_session
from media.amd.tracking import TrackerParams
from media.amd.types import (
    FRAME_BYTES,
    FRAME_MS,
    LABELS,
    SAMPLE_RATE,
    BeepResult,
    Detector,
    DropPoint,
    Verdict,
)

__all__ = [
    "DETECTORS",
    "FRAME_BYTES",
    "FRAME_MS",
    "LABELS",
    "SAMPLE_RATE",
    "AmdDetector",
    "AmdParams",
    "AmdSession",
    "AsteriskAmd",
    "AsteriskParams",
    "BeepDetector",
    "BeepParams",
    "BeepResult",
    "Detector",
    "DropPoint",
    "TrackerParams",
    "Verdict",
    "make_detector",
    "make_session",
]
