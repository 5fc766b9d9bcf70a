"""The beep detector: where a voicemail message may start."""

from __future__ import annotations

import pytest

from media.amd import BeepDetector, BeepParams, BeepResult
from media.amd.testing import join, noise, pcm, run, silence, speech, tone


def result_of(data: bytes, **kw: object) -> BeepResult:
    det = BeepDetector(**kw)  # type: ignore[arg-type]
    out = run(det, data)
    assert len(out) == 1, out
    assert det.result == out[0]
    return out[0]


@pytest.mark.parametrize("freq", [440.0, 600.0, 850.0, 1000.0, 1400.0, 1800.0, 2000.0])
@pytest.mark.parametrize("length", [0.2, 0.5, 1.2])
def test_message_starts_just_after_the_beep(freq: float, length: float) -> None:
    lead, talk, gap = 0.3, 2.0, 0.25
    end = lead + talk + gap + length
    data = pcm(join(silence(lead), speech(talk), silence(gap), tone(freq, length), silence(2)))
    r = result_of(data)
    assert r.kind == "beep"
    assert abs(r.freq_hz - freq) < 0.01 * freq
    assert 0.0 <= r.end_ms / 1000 - end <= 0.1  # never inside the beep, well within 300 ms


def test_beep_under_line_noise() -> None:
    x = join(silence(0.3), speech(2.0, -22), silence(0.3), tone(480, 0.3, -20), silence(2))
    x = x + noise(x.size / 8000, -47, seed=4)
    r = result_of(pcm(x, noise_dbfs=None))
    # white noise pulls the 2-tap estimate up a little (about 1 % here)
    assert r.kind == "beep" and abs(r.freq_hz - 480) < 0.02 * 480


def test_no_beep_means_greeting_end_after_the_silence() -> None:
    p = BeepParams()
    lead, talk = 0.3, 3.0
    r = result_of(pcm(join(silence(lead), speech(talk), silence(3.0))))
    assert r.kind == "greeting_end" and r.freq_hz == 0.0
    after = r.end_ms / 1000 - (lead + talk)
    assert p.greeting_end_ms / 1000 - 0.01 <= after <= p.greeting_end_ms / 1000 + 0.1


def test_a_late_beep_within_the_greeting_end_wait_is_still_found() -> None:
    data = pcm(join(silence(0.3), speech(2.0), silence(0.9), tone(1000, 0.4), silence(2)))
    assert result_of(data).kind == "beep"


def test_fax_answer_tone_is_not_a_beep() -> None:
    data = pcm(join(silence(0.3), speech(1.0), silence(0.3), tone(2100, 1.0), silence(2.0)))
    assert result_of(data).kind == "greeting_end"


def test_speech_alone_has_no_beep() -> None:
    r = result_of(pcm(join(silence(0.2), speech(6.0, seed=8), silence(2.0))))
    assert r.kind == "greeting_end"


def test_gives_up_after_max_wait() -> None:
    r = result_of(pcm(silence(3.0)), params=BeepParams(max_wait_ms=2000))
    assert (r.kind, r.end_ms) == ("greeting_end", 2000)


def test_started_late_it_listens_from_its_first_frame() -> None:
    # created after a machine verdict, in the middle of the greeting
    data = pcm(join(speech(1.5), silence(0.3), tone(900, 0.4), silence(1.0)))
    det = BeepDetector(block_frames=1)
    out = [det.feed(f, 5000 + 20 * k) for k, f in enumerate(
        data[i : i + 320] for i in range(0, len(data), 320))]
    results = [r for r in out if r is not None]
    assert len(results) == 1 and results[0].kind == "beep"
    assert 5000 + 2200 <= results[0].end_ms <= 5000 + 2300
