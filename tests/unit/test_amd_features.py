"""Frame features: energy, tone frequency by the 2-tap predictor, block analysis and flushing."""

from __future__ import annotations

import numpy as np
import pytest

from media.amd.features import FrameAnalyzer, energy_db, frame_features
from media.amd.testing import frames, join, noise, pcm, silence, speech, tone
from media.amd.tracking import Tracker


def features(data: bytes, block: int = 1) -> list[tuple[float, float]]:
    a = FrameAnalyzer(block)
    out: list[tuple[float, float]] = []
    for frame, _ in frames(data):
        got = a.push(frame)
        if got:
            out += got
    return out


@pytest.mark.parametrize("freq", [440.0, 480.0, 697.0, 1000.0, 1100.0, 1400.0, 2000.0, 2100.0])
def test_tone_frequency_is_exact_whatever_the_periods_per_frame(freq: float) -> None:
    feats = features(pcm(tone(freq, 0.5, -20, ramp_ms=0), noise_dbfs=None))
    inner = [hz for _, hz in feats[1:-1]]
    assert all(abs(hz - freq) < 0.002 * freq for hz in inner), inner


def test_tone_under_noise_and_mulaw_like_quantisation_is_still_tonal() -> None:
    x = tone(850, 0.5, -22, ramp_ms=0) + noise(0.5, -48, seed=3)
    q = np.round(x * 256) / 256  # coarse quantisation, as G.711 near -22 dBFS
    feats = features(pcm(q, noise_dbfs=None))
    hz = [f for _, f in feats[1:-1]]
    assert min(hz) > 0 and max(abs(f - 850) for f in hz) < 0.01 * 850


def test_energy_scale() -> None:
    full = features(pcm(tone(1000, 0.2, 0.0 - 3.0103, ramp_ms=0), noise_dbfs=None))
    # a full-scale sine: mean square (32767^2)/2 -> 87.3 dB re 1 LSB^2
    assert full[3][0] == pytest.approx(87.3, abs=0.1)
    assert energy_db(0.0) == 0.0
    quiet = features(pcm(silence(0.1), noise_dbfs=None))
    assert all(e == 0.0 and hz == 0.0 for e, hz in quiet)


def test_noise_and_speech_are_not_tones() -> None:
    for data in (pcm(noise(2.0, -30, seed=5), None), pcm(speech(3.0, -18, seed=2))):
        feats = features(data)
        tr = Tracker()
        for k, (e, hz) in enumerate(feats):
            tr.step_block([(e, hz)], (k + 1) * 20)
        assert tr.tones_confirmed == 0


def test_frame_features_matches_the_analyzer() -> None:
    x = (tone(1234, 0.1, -12, ramp_ms=0) * 32767).round().astype(np.int64)
    s = np.concatenate([[0, 0], x[:160]]).astype(np.float64)
    r = [float(np.dot(s[2:], s[2 - k : 162 - k])) for k in range(3)]
    e, hz = frame_features(r[0], r[1], r[2], int(x[159]), int(x[158]), 0, 0)
    first = features(pcm(tone(1234, 0.1, -12, ramp_ms=0), noise_dbfs=None))[0]
    assert e == pytest.approx(first[0], abs=1e-6)
    assert hz == pytest.approx(first[1], rel=1e-6)


@pytest.mark.parametrize("block", [2, 3, 8])
def test_block_size_does_not_change_features(block: int) -> None:
    data = pcm(join(silence(0.3), speech(1.0), tone(950, 0.4), silence(0.3)))
    one = features(data, 1)
    many = features(data, block)
    assert len(many) == len(one) - len(one) % block
    for (e1, h1), (e2, h2) in zip(one, many, strict=False):
        assert e1 == pytest.approx(e2, abs=1e-6)
        assert h1 == pytest.approx(h2, abs=1e-3)


def test_flush_returns_a_partial_block_and_continuity_holds() -> None:
    data = pcm(tone(700, 0.4, -15, ramp_ms=0), noise_dbfs=None)
    a = FrameAnalyzer(8)
    got: list[tuple[float, float]] = []
    for k, (frame, _) in enumerate(frames(data)):
        out = a.push(frame, flush=(k % 3 == 2))
        if out:
            got += out
    assert len(got) == 18  # flushed after frames 3, 6, ..., 18 of 20
    assert all(abs(hz - 700) < 1.0 for _, hz in got[1:])
    assert a.pending_frames == 2


def test_odd_sized_frames_are_padded_or_cut() -> None:
    a = FrameAnalyzer(2)
    assert a.push(b"\x01\x00" * 100) is None
    out = a.push(b"\x01\x00" * 400)
    assert out is not None and len(out) == 2


def test_block_frames_must_be_positive() -> None:
    with pytest.raises(ValueError):
        FrameAnalyzer(0)
