"""Our detector on synthetic calls, with a fake clock (now_ms = 20 * frame number)."""

from __future__ import annotations

import pytest

from media.amd import AmdDetector, AmdParams, Verdict, make_detector
from media.amd.testing import join, noise, pcm, run, silence, speech, tone
from media.amd.tracking import TrackerParams


def verdict_of(data: bytes, **kw: int) -> Verdict:
    det = AmdDetector(**kw)  # type: ignore[arg-type]
    out = run(det, data)
    assert len(out) == 1, out
    assert det.verdict == out[0]
    return out[0]


@pytest.mark.parametrize("block", [1, 4, 8])
def test_hello_then_waiting_is_human_soon_after_the_pause_starts(block: int) -> None:
    lead, talk = 0.6, 0.7
    v = verdict_of(pcm(join(silence(lead), speech(talk), silence(3.0))), block_frames=block)
    assert v.label == "human"
    after = v.at_ms / 1000 - (lead + talk)
    assert 0.55 <= after <= 0.7, v  # pause_short_ms (580) plus at most a frame or two
    assert v.detail.startswith("pause")


def test_receptionist_answer_is_human_after_the_long_pause() -> None:
    lead, talk = 0.4, 3.4
    v = verdict_of(pcm(join(silence(lead), speech(talk, seed=4), silence(3.0))))
    assert v.label == "human"
    assert 0.8 <= v.at_ms / 1000 - (lead + talk) <= 0.95  # pause_long_ms (860)


def test_long_greeting_is_a_machine_at_max_turn() -> None:
    # sentences separated by 0.4 s pauses: shorter than any human pause
    greeting = join(speech(2.0, seed=1), silence(0.4), speech(2.5, seed=2), silence(0.4),
                    speech(2.5, seed=3))
    v = verdict_of(pcm(join(silence(0.3), greeting, silence(2.0))))
    assert v.label == "machine"
    assert v.detail.startswith("turn longer")
    # voice at 0.3 + 5.0 s would settle it; the second pause delays that to 5.6 s
    assert 5.6 <= v.at_ms / 1000 <= 5.8


def test_short_greeting_then_beep_is_a_machine_on_the_beep() -> None:
    lead, talk, gap = 0.3, 1.0, 0.3
    data = pcm(join(silence(lead), speech(talk), silence(gap), tone(1000, 0.5), silence(2)))
    v = verdict_of(data)
    assert v.label == "machine"
    assert "beep 1000Hz" in v.detail
    beep_end = lead + talk + gap + 0.5
    # settled when the beep ends cleanly (a sung vowel runs on into more sound)
    assert beep_end <= v.at_ms / 1000 <= beep_end + 0.1


@pytest.mark.parametrize(("freq", "label"), [(2100.0, "fax"), (1100.0, "fax")])
def test_fax_tones(freq: float, label: str) -> None:
    if freq == 1100.0:  # CNG: 0.5 s on, 3 s off
        data = pcm(join(silence(0.5), tone(1100, 0.5), silence(3.0), tone(1100, 0.5)))
    else:  # CED
        data = pcm(join(silence(0.3), tone(2100, 3.0), silence(1.0)))
    v = verdict_of(data)
    assert v.label == label
    assert v.at_ms <= 1500


def test_a_steady_tone_that_runs_into_speech_is_not_a_beep() -> None:
    # a long held vowel straight into more words: steady, but it does not end cleanly
    data = pcm(join(silence(0.3), speech(1.0), silence(0.2), tone(600, 0.4, ramp_ms=0),
                    speech(1.0, seed=5), silence(3)))
    assert verdict_of(data).label == "human"


def test_beep_like_tone_before_any_speech_is_not_a_machine() -> None:
    # a 440 Hz tone at answer (not CNG, not CED, no greeting before it): keep listening
    data = pcm(join(silence(0.3), tone(440, 0.4), silence(0.5), speech(0.6), silence(3)))
    assert verdict_of(data).label == "human"


def test_dead_air_is_silence() -> None:
    v = verdict_of(pcm(noise(6.0, -55, seed=2), noise_dbfs=None))
    assert v.label == "silence"
    assert v.at_ms == 4000


def test_clicks_are_not_voice() -> None:
    x = noise(6.0, -62, seed=1)
    for at in (0.5, 1.7, 2.9):
        i = int(at * 8000)
        x[i : i + 60] += noise(60 / 8000, -20, seed=int(at * 10))
    assert verdict_of(pcm(x, noise_dbfs=None)).label == "silence"


def test_noisy_line_still_finds_the_pause() -> None:
    lead, talk = 0.5, 0.8
    x = join(silence(lead), speech(talk, -24), silence(3.0)) + noise(4.3, -46, seed=9)
    v = verdict_of(pcm(x, noise_dbfs=None))
    assert v.label == "human"
    assert v.at_ms / 1000 - (lead + talk) < 0.8


def test_timeout_says_human() -> None:
    params = AmdParams(no_voice_ms=10_000, max_analysis_ms=1_000)
    det = AmdDetector(params)
    out = run(det, pcm(silence(2.0)))
    assert [(v.label, v.detail, v.at_ms) for v in out] == [("human", "timeout", 1000)]


def test_verdict_is_returned_once() -> None:
    det = AmdDetector(block_frames=1)
    out = run(det, pcm(join(silence(0.3), speech(0.5), silence(4.0))), stop_when_done=False)
    assert len(out) == 1
    assert det.feed(b"\0" * 320, 99_999) is None


def test_pause_needed_grows_with_the_turn() -> None:
    det = AmdDetector()
    p = det.params
    assert det.pause_needed_ms(500) == p.pause_short_ms
    assert det.pause_needed_ms(4000) == p.pause_long_ms
    mid = det.pause_needed_ms((p.short_turn_ms + p.long_turn_ms) // 2)
    assert p.pause_short_ms < mid < p.pause_long_ms


def test_parameters_are_data() -> None:
    quick = AmdParams(pause_short_ms=300, tracker=TrackerParams(onset_frames=2))
    v = verdict_of(pcm(join(silence(0.3), speech(0.5), silence(2.0))), params=quick)  # type: ignore[arg-type]
    assert v.label == "human" and v.at_ms / 1000 - 0.8 < 0.45


def test_make_detector() -> None:
    assert make_detector("dialer").name == "dialer"
    assert make_detector("asterisk").name == "asterisk"
    with pytest.raises(ValueError, match="unknown AMD detector"):
        make_detector("nope")
