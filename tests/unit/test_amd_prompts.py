"""The recorded prompts exist in the format the media path plays, and say what they must."""

from __future__ import annotations

import re
import wave

import pytest

from media.prompts import PROMPTS, PROMPTS_DIR, prompt_path


@pytest.mark.parametrize("name", PROMPTS)
def test_prompt_format(name: str) -> None:
    with wave.open(str(prompt_path(name))) as w:
        assert (w.getframerate(), w.getnchannels(), w.getsampwidth()) == (8000, 1, 2)
        assert 3.0 < w.getnframes() / 8000 < 30.0


def test_safe_harbor_names_the_caller_and_a_number() -> None:
    # 16 CFR 310.4(b)(4)(iii): seller's name and a number to call back; opt-out offered
    text = (PROMPTS_DIR / "safe_harbor.txt").read_text()
    assert "Example Company" in text
    assert re.search(r"call us back at [0-9 ,]{7,}", text)
    assert "do-not-call" in text and "press 9" in text


def test_unknown_prompt() -> None:
    with pytest.raises(ValueError):
        prompt_path("jingle")
