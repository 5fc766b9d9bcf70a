"""Signal pieces for the synthetic AMD corpus: tones, fax signals, line noise, G.711.

Pure numpy on float64 signals scaled so that 1.0 is full scale; the corpus
generator (:mod:`media.amd.corpus`) assembles them around espeak-ng speech.
"""

from __future__ import annotations

import math
from typing import Final

import numpy as np
import numpy.typing as npt

from media.amd.types import SAMPLE_RATE

Signal = npt.NDArray[np.float64]
SR: Final = SAMPLE_RATE


def db_to_amp(db: float) -> float:
    return float(10.0 ** (db / 20.0))


def active_rms_dbfs(x: Signal) -> float:
    """RMS level over the 10 ms windows within 35 dB of the loudest one (speech level)."""
    n = SR // 100
    m = x.size // n
    if m == 0:
        return -120.0
    frames = x[: m * n].reshape(m, n)
    power = (frames * frames).mean(axis=1) + 1e-20
    active = power[power > power.max() * 10 ** (-3.5)]
    return float(10.0 * np.log10(active.mean()))


def set_level(x: Signal, dbfs: float) -> Signal:
    return x * db_to_amp(dbfs - active_rms_dbfs(x))


def trim(x: Signal, rel_db: float = -45.0) -> Signal:
    """Cut leading and trailing 5 ms windows quieter than ``rel_db`` below the loudest."""
    n = SR // 200
    m = x.size // n
    if m == 0:
        return x
    power = (x[: m * n].reshape(m, n) ** 2).mean(axis=1)
    loud = np.flatnonzero(power > power.max() * 10 ** (rel_db / 10.0))
    if loud.size == 0:
        return x[:0]
    return x[loud[0] * n : (loud[-1] + 1) * n]


def tone(
    freq: float, dur_s: float, level_dbfs: float, ramp_ms: float = 8.0, harmonic_db: float = -99.0
) -> Signal:
    """A sine burst with raised-cosine ramps and an optional third harmonic (a cheap buzzer)."""
    n = int(round(dur_s * SR))
    t = np.arange(n) / SR
    x = np.sin(2 * np.pi * freq * t)
    if harmonic_db > -90 and 3 * freq < SR / 2:
        x = x + db_to_amp(harmonic_db) * np.sin(2 * np.pi * 3 * freq * t + 0.7)
    r = min(int(ramp_ms * SR / 1000), n // 2)
    if r > 0:
        ramp = 0.5 - 0.5 * np.cos(np.pi * np.arange(r) / r)
        x[:r] *= ramp
        x[n - r :] *= ramp[::-1]
    rms = float(np.sqrt(np.mean(x * x))) if n else 1.0
    return x * db_to_amp(level_dbfs) / max(rms, 1e-12)


def fsk_flags(dur_s: float, level_dbfs: float, rng: np.random.Generator) -> Signal:
    """V.21 channel-2 HDLC flags (0x7E at 300 bit/s; mark 1650 Hz, space 1850 Hz)."""
    bits_per_s = 300
    nbits = int(dur_s * bits_per_s)
    pattern = [0, 1, 1, 1, 1, 1, 1, 0]
    bits = np.array([pattern[i % 8] for i in range(nbits)], dtype=np.float64)
    spb = SR / bits_per_s
    idx = np.minimum((np.arange(int(nbits * spb)) / spb).astype(np.int64), nbits - 1)
    freq = np.where(bits[idx] > 0.5, 1650.0, 1850.0)
    phase = 2 * np.pi * np.cumsum(freq) / SR + rng.uniform(0, 2 * np.pi)
    out: Signal = np.sin(phase) * (db_to_amp(level_dbfs) * math.sqrt(2.0))
    return out


def line_noise(n: int, level_dbfs: float, rng: np.random.Generator, kind: str) -> Signal:
    """Background noise of a given RMS level: ``white``, ``pink`` (1/f-ish), ``hum`` or ``hiss``."""
    w = rng.standard_normal(n)
    if kind == "pink":
        spectrum = np.fft.rfft(w)
        f = np.arange(spectrum.size, dtype=np.float64)
        f[0] = 1.0
        x = np.fft.irfft(spectrum / np.sqrt(f), n)
    elif kind == "hum":
        t = np.arange(n) / SR
        mains = rng.choice([50.0, 60.0])
        x = 0.3 * w
        for h, g in ((3, 1.0), (5, 0.6), (7, 0.4), (9, 0.25)):
            x = x + g * np.sin(2 * np.pi * mains * h * t + rng.uniform(0, 6.28))
    elif kind == "hiss":
        x = np.diff(w, prepend=0.0)  # tilted towards high frequencies
    else:
        x = w
    rms = float(np.sqrt(np.mean(x * x))) if n else 1.0
    return x * db_to_amp(level_dbfs) / max(rms, 1e-12)


def clicks(n: int, count: int, level_dbfs: float, rng: np.random.Generator) -> Signal:
    """A few short decaying impulses (handset knocks, line crackle)."""
    x = np.zeros(n)
    for _ in range(count):
        at = int(rng.integers(0, max(1, n - 200)))
        length = int(rng.integers(16, 120))
        burst = rng.standard_normal(length) * np.exp(-np.arange(length) / (length / 4))
        x[at : at + length] += burst * db_to_amp(level_dbfs)
    return x


# ---------------------------------------------------------------- G.711 mu-law

_BIAS: Final = 0x84
_CLIP: Final = 32635


def mulaw_encode(pcm: npt.NDArray[np.int16]) -> npt.NDArray[np.uint8]:
    """ITU-T G.711 mu-law encoding of 16-bit linear samples."""
    s = pcm.astype(np.int32)
    sign = np.where(s < 0, 0x80, 0)
    mag = np.minimum(np.abs(s), _CLIP) + _BIAS
    exponent = np.floor(np.log2(mag)).astype(np.int32) - 7
    exponent = np.clip(exponent, 0, 7)
    mantissa = (mag >> (exponent + 3)) & 0x0F
    code: npt.NDArray[np.uint8] = (~(sign | (exponent << 4) | mantissa) & 0xFF).astype(np.uint8)
    return code


def mulaw_decode(code: npt.NDArray[np.uint8]) -> npt.NDArray[np.int16]:
    c = (~code.astype(np.int32)) & 0xFF
    sign = c & 0x80
    exponent = (c >> 4) & 0x07
    mantissa = c & 0x0F
    mag = (((mantissa << 3) + _BIAS) << exponent) - _BIAS
    return np.where(sign != 0, -mag, mag).astype(np.int16)


def to_pcm16(x: Signal) -> npt.NDArray[np.int16]:
    return np.clip(np.round(x * 32767.0), -32768, 32767).astype(np.int16)
