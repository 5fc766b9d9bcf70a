"""Simulated parties for demos and tests: agent softphones (agent_phone.py).

The sipp scenarios that play the customers live in tests/integration/sipp/
(docs/sip.md). This package's own helpers are pure, for unit tests.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt


def dominant_frequency(pcm: npt.NDArray[np.int16] | npt.NDArray[np.float64], rate: int) -> float:
    """The frequency (Hz) of the strongest spectral peak of a mono signal; 0.0 for silence.

    Hann-windowed real FFT with parabolic interpolation of the peak bin, so a
    pure tone is located to well under one bin (8000 Hz / N) of its frequency.
    """
    x = np.asarray(pcm, dtype=np.float64)
    if x.size < 16 or not np.any(x):
        return 0.0
    x = x - x.mean()
    spectrum = np.abs(np.fft.rfft(x * np.hanning(x.size)))
    spectrum[0] = 0.0  # what is left of DC after removing the mean
    k = int(np.argmax(spectrum))
    if spectrum[k] <= 0.0:
        return 0.0
    offset = 0.0
    if 0 < k < spectrum.size - 1:
        a, b, c = np.log(spectrum[k - 1 : k + 2] + 1e-12)
        denom = a - 2 * b + c
        if denom != 0:
            offset = 0.5 * (a - c) / denom
    return float((k + offset) * rate / x.size)
