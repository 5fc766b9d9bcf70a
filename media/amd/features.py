"""Per-frame features for AMD and beep detection, computed a block of frames at a time.

Cost is the design constraint (docs/amd.md, "Performance"): a Python call
into numpy costs about a microsecond, so frames are buffered and analysed
``block_frames`` (default 4, i.e. 80 ms) at a time with one matrix product
that yields, for every frame, the autocorrelation at lags 0, 1 and 2. From
those three numbers, in plain Python floats:

* the frame energy in dB re 1 LSB² (``10*log10(mean(x²) + 1)``; a full-scale
  sine is 87.3 dB, -50 dBFS is about 40 dB);
* a second-order linear predictor ``x[n] ≈ a1 x[n-1] + a2 x[n-2]``. A pure
  tone of angular frequency w is predicted exactly with ``a1 = 2 cos w`` and
  ``a2 = -1``, so a high prediction gain together with a pole close to the
  unit circle marks a tone, and the pole angle is its frequency. Speech,
  noise and fax FSK are poorly predicted by two taps. This replaces an FFT
  per frame (about 10 µs) with a few multiplications.
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

# (energy_db, tone_hz): tone_hz is 0.0 when the frame is not tonal.
FrameFeature = tuple[float, float]


def frame_features(g: list[list[float]]) -> FrameFeature:
    """Energy and tone frequency of one frame from its lag covariance matrix.

    ``g[i][j]`` is the sum over the frame of ``x[n-i] * x[n-j]`` (i, j in 0..2).
    The predictor is solved by the covariance method, which is exact for a
    sinusoid whatever the number of periods in the frame.
    """
    g0 = g[0]
    r0 = g0[0]
    energy_db = 10.0 * math.log10(r0 / FRAME_SAMPLES + 1.0)
    if energy_db < TONE_MIN_ENERGY_DB:
        return energy_db, 0.0
    g1 = g[1]
    c11 = g1[1]
    c12 = g1[2]
    c22 = g[2][2]
    den = c11 * c22 - c12 * c12
    if den <= 0.0:
        return energy_db, 0.0
    r1 = g0[1]
    r2 = g0[2]
    a1 = (r1 * c22 - r2 * c12) / den
    a2 = (r2 * c11 - r1 * c12) / den
    if -a2 < TONE_MIN_POLE_R2:
        return energy_db, 0.0
    resid = r0 - a1 * r1 - a2 * r2
    if resid * _MIN_GAIN > r0:
        return energy_db, 0.0
    c = a1 / (2.0 * math.sqrt(-a2))
    if not -1.0 < c < 1.0:
        return energy_db, 0.0
    return energy_db, math.acos(c) / _TWO_PI_OVER_SR


class FrameAnalyzer:
    """Buffers frames and returns their features once a block is complete.

    ``push`` returns ``None`` until ``block_frames`` frames have arrived, then
    the list of :data:`FrameFeature` for those frames, oldest first. A frame
    of the wrong size is padded with zeros or cut (the SIP edge always sends
    320 bytes; this only keeps a malformed frame from breaking the block).
    """

    def __init__(self, block_frames: int = 4) -> None:
        if block_frames < 1:
            raise ValueError("block_frames must be >= 1")
        self.block_frames = block_frames
        n = block_frames * FRAME_SAMPLES
        # two samples of history in front of the block, for lags 1 and 2
        self._x = np.zeros(n + 2, dtype=np.float64)
        # lagged[f, i, j] = x[f*160 + j - i] (x here without the 2-sample prefix):
        # row i is the frame delayed by i samples
        base = self._x[2:]
        self._lagged = np.lib.stride_tricks.as_strided(
            base, shape=(block_frames, 3, FRAME_SAMPLES),
            strides=(FRAME_SAMPLES * 8, -8, 8), writeable=False)
        self._lagged_t = self._lagged.transpose(0, 2, 1)
        self._out: npt.NDArray[np.float64] = np.zeros((block_frames, 3, 3))
        self._buf = bytearray()
        self._need = block_frames * FRAME_BYTES

    @property
    def pending_frames(self) -> int:
        return len(self._buf) // FRAME_BYTES

    def push(self, frame: bytes) -> list[FrameFeature] | None:
        buf = self._buf
        if len(frame) == FRAME_BYTES:
            buf += frame
        else:
            buf += bytes(frame[:FRAME_BYTES]).ljust(FRAME_BYTES, b"\0")
        if len(buf) < self._need:
            return None
        x = self._x
        x[2:] = np.frombuffer(buf, dtype="<i2")
        buf.clear()
        np.matmul(self._lagged, self._lagged_t, out=self._out)
        x[:2] = x[-2:]
        return [frame_features(g) for g in self._out.tolist()]
