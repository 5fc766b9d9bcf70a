"""Per-frame features for AMD and beep detection, computed a block of frames at a time.

Cost is the design constraint (docs/amd.md, "Performance"): a Python call
into numpy costs about a microsecond, so frames are buffered and analysed
up to ``block_frames`` (default 8, i.e. 160 ms) at a time with one
``einsum`` over an overlapping strided view that yields, for every frame, the
sums of ``x[n]*x[n-k]`` for lags 0, 1 and 2. From those three numbers and four
edge samples, in plain Python floats:

* the frame energy in dB re 1 LSB² (``10*log10(mean(x²) + 1)``; a full-scale
  sine is 87.3 dB, -50 dBFS is about 40 dB);
* a second-order linear predictor ``x[n] ≈ a1 x[n-1] + a2 x[n-2]``. A pure
  tone of angular frequency w is predicted exactly with ``a1 = 2 cos w`` and
  ``a2 = -1``, so a high prediction gain together with a pole close to the
  unit circle marks a tone, and the pole angle is its frequency. Speech,
  noise and fax FSK are poorly predicted by two taps. This replaces an FFT
  per frame (about 10 µs) with a few multiplications, and a three-operation
  screen skips even those on most speech frames.
"""

from __future__ import annotations

import math
from typing import Final

import numpy as np
import numpy.typing as npt

from media.amd.types import FRAME_BYTES, FRAME_SAMPLES, SAMPLE_RATE

# Minimum prediction gain (dB) and pole radius² (-a2) for a frame to count as tonal.
TONE_MIN_GAIN_DB: Final = 12.0
TONE_MIN_POLE_R2: Final = 0.85
TONE_MIN_ENERGY_DB: Final = 38.0  # about -52 dBFS
_TWO_PI_OVER_SR: Final = 2.0 * math.pi / SAMPLE_RATE
_MIN_GAIN: Final = 10.0 ** (TONE_MIN_GAIN_DB / 10.0)
_MIN_COS: Final = math.cos(2.0 * math.pi * 2200.0 / SAMPLE_RATE)
_MAX_COS: Final = math.cos(2.0 * math.pi * 300.0 / SAMPLE_RATE)
_SCREEN_TOL: Final = 0.15

# (energy_db, tone_hz): tone_hz is 0.0 when the frame is not tonal.
FrameFeature = tuple[float, float]


def tone_hz(r0: float, r1: float, r2: float, xe: int, xe1: int, xs1: int, xs2: int) -> float:
    """The frequency of the tone a frame holds, or 0.0 if it is not tonal.

    ``r0``, ``r1``, ``r2`` are the sums over the frame of ``x[n]*x[n-k]``
    (k = 0, 1, 2, reaching two samples into the previous frame); ``xe`` and
    ``xe1`` are the frame's last two samples, ``xs1`` and ``xs2`` the two
    before it. From those the covariance-method normal equations follow
    exactly, and they are exact for a sinusoid whatever the number of periods
    in the frame.
    """
    # Cheap screen first (most loud frames are speech): for a sinusoid of angular
    # frequency w, r1/r0 ~ cos w and r2/r0 ~ cos 2w = 2 cos^2 w - 1; a tone between
    # 300 and 2200 Hz also keeps cos w inside (cos(2pi 2200/8000), cos(2pi 300/8000)).
    # FrameAnalyzer.push applies the same screen inline before calling _predictor_hz.
    c1 = r1 / r0
    if not _MIN_COS < c1 < _MAX_COS or abs(r2 / r0 - 2.0 * c1 * c1 + 1.0) > _SCREEN_TOL:
        return 0.0
    return _predictor_hz(r0, r1, r2, xe, xe1, xs1, xs2)


def _predictor_hz(r0: float, r1: float, r2: float, xe: int, xe1: int, xs1: int,
                  xs2: int) -> float:
    c11 = r0 - xe * xe + xs1 * xs1  # sum of x[n-1]^2
    c22 = c11 - xe1 * xe1 + xs2 * xs2  # sum of x[n-2]^2
    c12 = r1 - xe * xe1 + xs1 * xs2  # sum of x[n-1]*x[n-2]
    den = c11 * c22 - c12 * c12
    if den <= 0.0:
        return 0.0
    a1 = (r1 * c22 - r2 * c12) / den
    a2 = (r2 * c11 - r1 * c12) / den
    if -a2 < TONE_MIN_POLE_R2:
        return 0.0
    resid = r0 - a1 * r1 - a2 * r2
    if resid * _MIN_GAIN > r0:
        return 0.0
    c = a1 / (2.0 * math.sqrt(-a2))
    if not -1.0 < c < 1.0:
        return 0.0
    return math.acos(c) / _TWO_PI_OVER_SR


def energy_db(r0: float) -> float:
    """Frame energy in dB re 1 LSB² from the sum of squares ``r0``."""
    return 10.0 * math.log10(r0 / FRAME_SAMPLES + 1.0)


def frame_features(
    r0: float, r1: float, r2: float, xe: int, xe1: int, xs1: int, xs2: int
) -> FrameFeature:
    """Energy and tone frequency of one frame (what :class:`FrameAnalyzer` yields)."""
    e = energy_db(r0)
    if e < TONE_MIN_ENERGY_DB:
        return e, 0.0
    return e, tone_hz(r0, r1, r2, xe, xe1, xs1, xs2)


class FrameAnalyzer:
    """Buffers frames and returns their features once a block is complete.

    ``push`` returns ``None`` until ``block_frames`` frames have arrived (or
    ``flush`` is true and at least one has), then the list of
    :data:`FrameFeature` for the buffered frames, oldest first. Callers flush
    when a decision may be due (see ``deadline_ms`` in the detectors), so big
    blocks save CPU without delaying verdicts. A frame of the wrong size is
    padded with zeros or cut (the SIP edge always sends 320 bytes; this only
    keeps a malformed frame from breaking the analysis).
    """

    def __init__(self, block_frames: int = 8) -> None:
        if block_frames < 1:
            raise ValueError("block_frames must be >= 1")
        self.block_frames = block_frames
        n = block_frames * FRAME_SAMPLES
        # two samples of history in front of the block, for lags 1 and 2
        self._x = np.zeros(n + 2, dtype=np.float64)
        self._out: npt.NDArray[np.float64] = np.zeros((block_frames, 3))
        # views for a block of k frames, made when first needed (sessions are made
        # per call, and most blocks are full)
        self._views: dict[int, tuple[npt.NDArray[np.float64], ...]] = {}
        self._buf = bytearray()
        self._need = block_frames * FRAME_BYTES
        self._h1 = 0  # last two samples of the previous block
        self._h2 = 0

    def _make_views(self, k: int) -> tuple[npt.NDArray[np.float64], ...]:
        # lagged[f, i, j] = x[f*160 + j - i] (x after its 2-sample prefix): row i is
        # frame f delayed by i samples; the rows overlap, hence the explicit strides
        lagged = np.ndarray((k, 3, FRAME_SAMPLES), dtype=np.float64, buffer=self._x,
                            offset=2 * 8, strides=(FRAME_SAMPLES * 8, -8, 8))
        cur = self._x[2 : 2 + k * FRAME_SAMPLES].reshape(k, FRAME_SAMPLES)
        views = (lagged, cur, self._out[:k])
        self._views[k] = views
        return views

    @property
    def pending_frames(self) -> int:
        return len(self._buf) // FRAME_BYTES

    @property
    def buffer(self) -> bytearray:
        """The frames waiting for the next block (callers may append whole frames)."""
        return self._buf

    def push(self, frame: bytes, flush: bool = False) -> list[FrameFeature] | None:
        buf = self._buf
        if len(frame) == FRAME_BYTES:
            buf += frame
        else:
            buf += bytes(frame[:FRAME_BYTES]).ljust(FRAME_BYTES, b"\0")
        if len(buf) < self._need and not flush:
            return None
        k = len(buf) // FRAME_BYTES
        x = self._x
        n = k * FRAME_SAMPLES
        x[2 : n + 2] = np.frombuffer(buf, dtype="<i2")
        views = self._views.get(k) or self._make_views(k)
        lagged, cur, out = views
        np.einsum("fkn,fn->fk", lagged, cur, out=out)
        x[:2] = x[n : n + 2]
        # the edge samples, read as Python ints (the buffer is native-endian int16:
        # little-endian hosts only, as every PJSIP target we build for)
        pcm = memoryview(buf).cast("h")
        xs1, xs2 = self._h1, self._h2
        feats = []
        end = FRAME_SAMPLES - 1
        gate = TONE_MIN_ENERGY_DB
        log10 = math.log10
        lo, hi, tol = _MIN_COS, _MAX_COS, _SCREEN_TOL
        for r0, r1, r2 in out.tolist():
            xe = pcm[end]
            xe1 = pcm[end - 1]
            # energy_db() and the screen of tone_hz(), inlined: this runs for every frame
            e = 10.0 * log10(r0 / FRAME_SAMPLES + 1.0)
            hz = 0.0
            if e >= gate:
                c1 = r1 / r0
                if lo < c1 < hi and abs(r2 / r0 - 2.0 * c1 * c1 + 1.0) <= tol:
                    hz = _predictor_hz(r0, r1, r2, xe, xe1, xs1, xs2)
            feats.append((e, hz))
            xs1, xs2 = xe, xe1
            end += FRAME_SAMPLES
        self._h1, self._h2 = xs1, xs2
        pcm.release()
        buf.clear()
        return feats
