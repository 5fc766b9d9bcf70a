"""The app_amd reimplementation follows app_amd's documented rules, with its defaults."""

from __future__ import annotations

import numpy as np
import pytest

from media.amd import AsteriskAmd, AsteriskParams, Verdict
from media.amd.testing import frames, join, pcm, run, silence, speech


def frame_of(mean_abs: int) -> bytes:
    """One 20 ms frame whose mean absolute sample value is exactly ``mean_abs``."""
    x = np.full(160, mean_abs, dtype="<i2")
    x[::2] *= -1
    return x.tobytes()


def feed_pattern(pattern: list[tuple[int, int]]) -> list[Verdict]:
    """pattern: (frames, mean_abs) runs."""
    det = AsteriskAmd()
    out = []
    now = 0
    for count, level in pattern:
        for _ in range(count):
            now += 20
            v = det.feed(frame_of(level), now)
            if v is not None:
                out.append(v)
    return out


def test_defaults_are_app_amds() -> None:
    p = AsteriskParams()
    assert (p.initial_silence, p.greeting, p.after_greeting_silence, p.total_analysis_time,
            p.min_word_length, p.between_words_silence, p.maximum_number_of_words,
            p.silence_threshold, p.maximum_word_length) == (2500, 1500, 800, 5000, 100, 50, 3,
                                                            256, 5000)


def test_threshold_is_mean_absolute_value() -> None:
    # 255 is silence, 256 is voice: 2.5 s of 255 is INITIALSILENCE
    assert feed_pattern([(130, 255)])[0].detail == "MACHINE/INITIALSILENCE-2500-2500"
    assert feed_pattern([(130, 256)])[0].detail == "MACHINE/LONGGREETING-1500-1500"


def test_initial_silence_is_machine() -> None:
    (v,) = feed_pattern([(200, 0)])
    assert (v.label, v.at_ms) == ("machine", 2500)


def test_short_word_then_silence_is_human() -> None:
    (v,) = feed_pattern([(10, 0), (15, 3000), (60, 0)])
    assert v.label == "human"
    assert v.detail == "HUMAN/HUMAN-800-800"
    assert v.at_ms == (10 + 15) * 20 + 800


def test_long_greeting() -> None:
    (v,) = feed_pattern([(5, 0), (100, 3000)])
    assert v.detail == "MACHINE/LONGGREETING-1500-1500"
    assert v.at_ms == 5 * 20 + 1500


def test_maximum_words() -> None:
    # words of 200 ms separated by 100 ms: the third word makes MAXWORDS
    (v,) = feed_pattern([(5, 0), (10, 3000), (5, 0), (10, 3000), (5, 0), (10, 3000)])
    assert v.detail == "MACHINE/MAXWORDS-3-3"


def test_first_word_needs_a_silence_before_it_to_count() -> None:
    # app_amd starts "in a word": voice from the first frame is not counted as a word
    (v,) = feed_pattern([(10, 3000), (5, 0), (10, 3000), (5, 0), (10, 3000), (5, 0),
                         (10, 3000)])
    assert v.detail == "MACHINE/MAXWORDS-3-3"
    assert v.at_ms == (10 + 5) * 20 * 3 + 5 * 20  # the 4th burst's 5th frame (100 ms)


def test_notsure_after_total_analysis_time_maps_to_human() -> None:
    # 80 ms bursts never make a 100 ms word (60 ms gaps reset the count), so app_amd
    # never leaves its initial state, and the initial silence keeps being interrupted
    (v,) = feed_pattern([(4, 3000), (3, 0)] * 40)
    assert v.label == "human"
    assert v.detail == "NOTSURE/TOOLONG-5000"
    assert v.at_ms == 5000


def test_maximum_word_length_when_configured_lower() -> None:
    det = AsteriskAmd(AsteriskParams(maximum_word_length=1000, greeting=10_000,
                                     maximum_number_of_words=99))
    out = [v for f, now in frames(frame_of(3000) * 100) if (v := det.feed(f, now))]
    assert out[0].detail == "MACHINE/MAXWORDLENGTH-1000"


@pytest.mark.parametrize("talk", [0.4, 0.8])
def test_on_speech_like_sound(talk: float) -> None:
    out = run(AsteriskAmd(), pcm(join(silence(0.5), speech(talk, -20), silence(3))))
    assert len(out) == 1 and out[0].label in ("human", "machine")


def test_verdict_once() -> None:
    det = AsteriskAmd()
    out = run(det, pcm(silence(4.0)), stop_when_done=False)
    assert len(out) == 1 and det.verdict == out[0]
