"""Recorded prompts the dialer plays: 8 kHz mono 16-bit WAVs rendered by scripts/make-prompts.

* ``voicemail.wav`` — left on an answering machine after the beep (or the end of
  its greeting): who called, why, and a number to call back.
* ``safe_harbor.wav`` — played to a person when no agent is free within 2 s of
  their greeting: it names the seller and gives a number to call back
  (16 CFR 310.4(b)(4)(iii)) and offers an opt-out (47 CFR 64.1200(a)(7)(i)).

Each ``NAME.wav`` is rendered from ``NAME.txt``; edit the text (company name,
number) and run ``scripts/make-prompts``.
"""

from __future__ import annotations

from pathlib import Path

PROMPTS_DIR = Path(__file__).resolve().parent
PROMPTS = ("voicemail", "safe_harbor")


def prompt_path(name: str) -> Path:
    """The WAV file of prompt ``name`` (``voicemail`` or ``safe_harbor``)."""
    if name not in PROMPTS:
        raise ValueError(f"unknown prompt {name!r} (known: {', '.join(PROMPTS)})")
    return PROMPTS_DIR / f"{name}.wav"
