"""A reimplementation of Asterisk's ``app_amd`` decision rules, for comparison.

Written from the application's documented behaviour (the AMD() application
help and amd.conf parameters), not from its code. app_amd:

* marks each frame silent when its mean absolute sample value is below
  ``silence_threshold`` (256), and keeps a running total of consecutive
  silent milliseconds, reset by any non-silent frame;
* counts a *word* each time voice lasts ``min_word_length`` (100 ms) after at
  least ``between_words_silence`` (50 ms) of silence;
* says MACHINE when the initial silence reaches ``initial_silence`` (2500 ms)
  before any word (cause INITIALSILENCE), when the total voice since the first
  word reaches ``greeting`` (1500 ms, LONGGREETING), when ``maximum_number_of_words``
  (3) words have been counted (MAXWORDS) or when one word lasts
  ``maximum_word_length`` (5000 ms, MAXWORDLENGTH);
* says HUMAN when, after the first word, silence lasts
  ``after_greeting_silence`` (800 ms);
* says NOTSURE (TOOLONG) when ``total_analysis_time`` (5000 ms) passes first.

Mapping to our labels (docs/amd.md): MACHINE -> ``machine`` (including the
INITIALSILENCE cause: that is what a dialer reading AMDSTATUS does with dead
air), HUMAN -> ``human``, NOTSURE -> ``human`` (dialers route NOTSURE calls to
an agent rather than risk dropping a person). app_amd has no fax or silence
verdict and no beep detector; :class:`media.amd.session.AmdSession` therefore
starts a voicemail message at its machine verdict.
"""

from __future__ import annotations

from typing import Final

import msgspec
import numpy as np

from media.amd.types import SAMPLE_RATE, Label, Verdict

_IN_WORD: Final = 1
_IN_SILENCE: Final = 2


class AsteriskParams(msgspec.Struct, frozen=True, kw_only=True):
    """app_amd's parameters, all in milliseconds except the threshold; defaults are its own."""

    initial_silence: int = 2500
    greeting: int = 1500
    after_greeting_silence: int = 800
    total_analysis_time: int = 5000
    min_word_length: int = 100
    between_words_silence: int = 50
    maximum_number_of_words: int = 3
    silence_threshold: int = 256
    maximum_word_length: int = 5000


# app_amd status -> the label a dialer acts on
STATUS_LABEL: Final[dict[str, Label]] = {
    "MACHINE": "machine",
    "HUMAN": "human",
    "NOTSURE": "human",
}


class AsteriskAmd:
    """app_amd's algorithm as a sans-I/O streaming detector (``--detector asterisk``)."""

    name = "asterisk"

    def __init__(self, params: AsteriskParams | None = None) -> None:
        self.params = params or AsteriskParams()
        self._verdict: Verdict | None = None
        self._in_initial_silence = True
        self._in_greeting = False
        self._voice_ms = 0
        self._silence_ms = 0  # silenceDuration: last reading of the silence detector
        self._dsp_silence_ms = 0  # the silence detector's running total
        self._total_ms = 0
        self._words = 0
        self._state = _IN_WORD  # app_amd starts "in a word": the first word needs a gap first
        self._consecutive_voice_ms = 0

    @property
    def verdict(self) -> Verdict | None:
        return self._verdict

    def _decide(self, status: str, cause: str, now_ms: int) -> Verdict:
        self._verdict = Verdict(STATUS_LABEL[status], now_ms, f"{status}/{cause}")
        return self._verdict

    def feed(self, frame: bytes, now_ms: int) -> Verdict | None:
        if self._verdict is not None:
            return None
        p = self.params
        samples = np.frombuffer(frame, dtype="<i2")
        n = samples.size
        if n == 0:
            return None
        frame_ms = n * 1000 // SAMPLE_RATE
        self._total_ms += frame_ms
        if self._total_ms >= p.total_analysis_time:
            return self._decide("NOTSURE", f"TOOLONG-{self._total_ms}", now_ms)

        mean_abs = int(np.abs(samples.astype(np.int32)).sum()) // n
        if mean_abs < p.silence_threshold:
            self._dsp_silence_ms += frame_ms
        else:
            self._dsp_silence_ms = 0

        if self._dsp_silence_ms > 0:
            return self._on_silence(now_ms)
        return self._on_voice(frame_ms, now_ms)

    def _on_silence(self, now_ms: int) -> Verdict | None:
        p = self.params
        self._silence_ms = self._dsp_silence_ms
        if self._silence_ms >= p.between_words_silence:
            self._state = _IN_SILENCE
            self._consecutive_voice_ms = 0
        if self._in_initial_silence and self._silence_ms >= p.initial_silence:
            cause = f"INITIALSILENCE-{self._silence_ms}-{p.initial_silence}"
            return self._decide("MACHINE", cause, now_ms)
        if self._in_greeting and self._silence_ms >= p.after_greeting_silence:
            cause = f"HUMAN-{self._silence_ms}-{p.after_greeting_silence}"
            return self._decide("HUMAN", cause, now_ms)
        return None

    def _on_voice(self, frame_ms: int, now_ms: int) -> Verdict | None:
        p = self.params
        self._consecutive_voice_ms += frame_ms
        self._voice_ms += frame_ms
        if self._consecutive_voice_ms >= p.min_word_length and self._state == _IN_SILENCE:
            self._words += 1
            self._state = _IN_WORD
        if self._consecutive_voice_ms >= p.maximum_word_length:
            return self._decide("MACHINE", f"MAXWORDLENGTH-{self._consecutive_voice_ms}", now_ms)
        if self._words >= p.maximum_number_of_words:
            cause = f"MAXWORDS-{self._words}-{p.maximum_number_of_words}"
            return self._decide("MACHINE", cause, now_ms)
        if self._in_greeting and self._voice_ms >= p.greeting:
            return self._decide("MACHINE", f"LONGGREETING-{self._voice_ms}-{p.greeting}", now_ms)
        if self._voice_ms >= p.min_word_length:
            self._silence_ms = 0
        if self._consecutive_voice_ms >= p.min_word_length and not self._in_greeting:
            self._in_initial_silence = False
            self._in_greeting = True
        return None
