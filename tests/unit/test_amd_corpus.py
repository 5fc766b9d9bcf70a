"""The corpus generator's pieces: held-out pools, G.711, tones, determinism."""

from __future__ import annotations

import re
import shutil

import numpy as np
import pytest

from media.amd import corpus_dsp as dsp
from media.amd.corpus import LABEL_SHARES, fill, labels_for, make_clip, sentences
from media.amd.corpus_text import EVAL, TUNE, Pool


def words(pool: Pool, field: str) -> set[str]:
    return set(getattr(pool, field))


@pytest.mark.parametrize(
    "field",
    ["languages", "variants", "names", "companies", "hello", "named", "business", "again",
     "vm_short", "vm_personal", "vm_carrier", "vm_business"],
)
def test_tune_and_eval_pools_share_nothing(field: str) -> None:
    assert words(TUNE, field).isdisjoint(words(EVAL, field))
    assert len(words(TUNE, field)) >= 4 and len(words(EVAL, field)) >= 4


def test_templates_fill_completely() -> None:
    rng = np.random.default_rng(0)
    for pool in (TUNE, EVAL):
        for field in ("named", "business", "vm_short", "vm_personal", "vm_carrier",
                      "vm_business"):
            for template in getattr(pool, field):
                text = fill(rng, pool, template)
                assert "{" not in text and "}" not in text
                for name in re.findall(r"[A-Z][a-z]+", text):
                    other = EVAL if pool is TUNE else TUNE
                    assert name not in other.names, (name, text)


def test_sentences() -> None:
    assert sentences("Hi. You've reached Tom! Leave a message?  Bye.") == [
        "Hi.", "You've reached Tom!", "Leave a message?", "Bye."]


def test_labels_are_deterministic_and_proportional() -> None:
    a = labels_for(400, 7)
    assert a == labels_for(400, 7)
    assert a != labels_for(400, 8)
    for label, share in LABEL_SHARES:
        assert abs(a.count(label) - 400 * share) <= 1


def test_mulaw_reference_points() -> None:
    # G.711 mu-law: 0 -> 0xFF, full positive -> 0x80, full negative -> 0x00
    codes = dsp.mulaw_encode(np.array([0, 32767, -32768, 1000, -1000], dtype=np.int16))
    assert list(codes[:3]) == [0xFF, 0x80, 0x00]
    back = dsp.mulaw_decode(codes)
    assert list(back[:3]) == [0, 32124, -32124]
    x = np.arange(-32768, 32768, 7, dtype=np.int16)
    err = np.abs(dsp.mulaw_decode(dsp.mulaw_encode(x)).astype(np.int32) - x)
    # the quantisation step grows with the magnitude: at most 1/16 of it, plus the bias
    assert np.all(err <= np.abs(x.astype(np.int32)) // 16 + 8)


def test_tone_level_and_ramps() -> None:
    x = dsp.tone(1000, 0.5, -20.0, ramp_ms=10)
    assert abs(20 * np.log10(np.sqrt(np.mean(x**2))) + 20.0) < 0.01
    assert abs(x[0]) < 1e-9 and abs(x[-1]) < 1e-3


def test_line_noise_level() -> None:
    rng = np.random.default_rng(1)
    for kind in ("white", "pink", "hum", "hiss"):
        n = dsp.line_noise(8000, -50.0, rng, kind)
        assert abs(20 * np.log10(np.sqrt(np.mean(n**2))) + 50.0) < 0.01


def test_trim_and_level() -> None:
    x = np.concatenate([np.zeros(800), dsp.tone(500, 0.3, -10.0), np.zeros(800)])
    t = dsp.trim(x)
    assert 0.28 * 8000 <= t.size <= 0.31 * 8000
    assert abs(dsp.active_rms_dbfs(dsp.set_level(t, -25.0)) + 25.0) < 0.5


@pytest.mark.skipif(not (shutil.which("espeak-ng") and shutil.which("sox")),
                    reason="needs espeak-ng and sox")
def test_a_clip_is_deterministic() -> None:
    a, pa = make_clip(5, 3, "tune", "machine")
    b, pb = make_clip(5, 3, "tune", "machine")
    assert np.array_equal(pa, pb) and a.meta == b.meta
    assert a.speech_end_s is not None and a.speech_end_s > 0
    assert pa.dtype == np.int16 and pa.size >= 6.5 * 8000
