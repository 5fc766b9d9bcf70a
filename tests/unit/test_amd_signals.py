"""The synthetic signals of media.amd.testing behave as the AMD tests assume."""

from __future__ import annotations

import numpy as np

from media.amd.testing import SR, frames, pcm, silence, speech, tone


def test_levels() -> None:
    x = tone(1000, 1.0, -15.0, ramp_ms=0)
    assert abs(20 * np.log10(np.sqrt(np.mean(x**2))) + 15.0) < 0.05
    s = speech(2.0, -20.0)
    active = s[np.abs(s) > 0]
    assert abs(20 * np.log10(np.sqrt(np.mean(active**2))) + 20.0) < 0.05


def test_speech_has_short_dips_only() -> None:
    s = speech(3.0)
    quiet = np.abs(s) < 1e-9
    longest = run_len = 0
    for q in quiet:
        run_len = run_len + 1 if q else 0
        longest = max(longest, run_len)
    assert 0.02 * SR < longest < 0.08 * SR


def test_frames_clock() -> None:
    data = pcm(silence(0.1), None)
    got = list(frames(data))
    assert [now for _, now in got] == [20, 40, 60, 80, 100]
    assert all(len(f) == 320 for f, _ in got)
