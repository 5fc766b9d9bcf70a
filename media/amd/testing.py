"""Synthetic PCM for tests and demos: tones, noise, speech-like bursts, and a fake clock.

The AMD unit tests build calls from these pieces (``tests/unit/test_amd_signals.py``
checks the pieces themselves, so that a broken generator cannot make the detector
tests pass). Pure numpy; levels in dBFS (RMS, 1.0 = full scale).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Final

import numpy as np
import numpy.typing as npt

SR: Final = 8000
FRAME: Final = 160

Signal = npt.NDArray[np.float64]


def silence(seconds: float) -> Signal:
    return np.zeros(int(round(seconds * SR)))


def tone(freq: float, seconds: float, dbfs: float = -15.0, ramp_ms: float = 8.0) -> Signal:
    n = int(round(seconds * SR))
    x: Signal = np.sin(2 * np.pi * freq * np.arange(n) / SR) * (10 ** (dbfs / 20) * np.sqrt(2))
    r = min(int(ramp_ms * SR / 1000), n // 2)
    if r:
        ramp = 0.5 - 0.5 * np.cos(np.pi * np.arange(r) / r)
        x[:r] *= ramp
        x[n - r :] *= ramp[::-1]
    return x


def noise(seconds: float, dbfs: float = -60.0, seed: int = 0) -> Signal:
    rng = np.random.default_rng(seed)
    return rng.standard_normal(int(round(seconds * SR))) * 10 ** (dbfs / 20)


def speech(seconds: float, dbfs: float = -20.0, seed: int = 1, f0: float = 140.0) -> Signal:
    """Speech-like sound: syllables of a gliding, jittered harmonic voice with short dips.

    Syllables last 120-260 ms with 30-70 ms dips between them (shorter than any
    pause a detector should act on); pitch wanders by ±15 % and each harmonic
    is shaped by two moving formants, so no frame run is a steady tone.
    """
    rng = np.random.default_rng(seed)
    n = int(round(seconds * SR))
    out = np.zeros(n)
    pos = 0
    while pos < n:
        syl = int(rng.uniform(0.12, 0.26) * SR)
        syl = min(syl, n - pos)
        t = np.arange(syl) / SR
        pitch = f0 * (1 + 0.15 * np.sin(2 * np.pi * rng.uniform(1, 3) * t + rng.uniform(0, 6)))
        pitch *= 1 + 0.01 * rng.standard_normal(syl).cumsum() / np.sqrt(syl)
        phase = 2 * np.pi * np.cumsum(pitch) / SR
        f1, f2 = rng.uniform(400, 800), rng.uniform(1000, 2200)
        seg = np.zeros(syl)
        for h in range(1, 25):
            fh = h * pitch.mean()
            if fh > 3400:
                break
            gain = np.exp(-((fh - f1) / 250) ** 2) + 0.6 * np.exp(-((fh - f2) / 350) ** 2) + 0.05
            seg += gain * np.sin(h * phase + rng.uniform(0, 6))
        env = np.sin(np.pi * np.arange(syl) / max(syl, 1)) ** 0.7
        out[pos : pos + syl] = seg * env
        pos += syl + int(rng.uniform(0.03, 0.07) * SR)
    active = out[np.abs(out) > 0]
    rms = float(np.sqrt(np.mean(active**2))) if active.size else 1.0
    return out * 10 ** (dbfs / 20) / max(rms, 1e-12)


def join(*parts: Signal) -> Signal:
    return np.concatenate(parts)


def pcm(x: Signal, noise_dbfs: float | None = -65.0, seed: int = 7) -> bytes:
    """16-bit little-endian PCM, with a little line noise unless ``noise_dbfs`` is None."""
    if noise_dbfs is not None:
        x = x + noise(x.size / SR, noise_dbfs, seed)
    n = x.size - x.size % FRAME
    return np.clip(np.round(x[:n] * 32767), -32768, 32767).astype("<i2").tobytes()


def frames(data: bytes) -> Iterator[tuple[bytes, int]]:
    """(frame, now_ms) pairs: the fake clock a live call would give."""
    for k in range(len(data) // (2 * FRAME)):
        yield data[k * 2 * FRAME : (k + 1) * 2 * FRAME], (k + 1) * 20


def run(consumer: Any, data: bytes, stop_when_done: bool = True) -> list[Any]:
    """Feed every frame; collect the non-None returns."""
    out = []
    for frame, now in frames(data):
        r = consumer.feed(frame, now)
        if r is not None:
            out.append(r)
        if stop_when_done and getattr(consumer, "done", False):
            break
    return out
