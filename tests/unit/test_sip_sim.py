"""dominant_frequency, the measurement the agent-phone and the bridge test rely on."""

from __future__ import annotations

import numpy as np
import pytest

from dialer.sim import dominant_frequency


@pytest.mark.parametrize("hz", [300.0, 437.5, 600.0, 1000.0, 3100.0])
def test_finds_a_tone(hz: float) -> None:
    t = np.arange(4000) / 8000.0
    pcm = (9000 * np.sin(2 * np.pi * hz * t)).astype(np.int16)
    assert abs(dominant_frequency(pcm, 8000) - hz) < 2.0


def test_tone_in_noise_and_silence() -> None:
    rng = np.random.default_rng(1)
    t = np.arange(8000) / 8000.0
    pcm = 4000 * np.sin(2 * np.pi * 600 * t) + rng.normal(0, 800, t.size)
    assert abs(dominant_frequency(pcm, 8000) - 600) < 5
    assert dominant_frequency(np.zeros(800, dtype=np.int16), 8000) == 0.0
    assert dominant_frequency(np.zeros(3, dtype=np.int16), 8000) == 0.0
