"""Build a labelled AMD corpus with espeak-ng and sox (``scripts/make-amd-corpus``).

    python -m media.amd.corpus OUTDIR [N] [SEED] [--split tune|eval] [--jobs 2]

Writes ``OUTDIR/clipNNNN.wav`` (8 kHz mono 16-bit, starting at answer),
``OUTDIR/manifest.csv`` (``file,label,speech_end_s,beep_start_s,beep_end_s``)
and ``OUTDIR/meta.jsonl`` (every random choice, for error analysis). The
output depends only on N, SEED and the split. The timing model (leading
silences, pauses inside greetings, gap before the beep, how long a human
waits) is documented in docs/amd.md; the scripts and voices of each split
are in :mod:`media.amd.corpus_text`.

This module is an edge (it runs programs and writes files); the signal
pieces live in :mod:`media.amd.corpus_dsp`.
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import subprocess
import sys
import wave
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Final

import msgspec
import numpy as np

from media.amd import corpus_dsp as dsp
from media.amd.corpus_dsp import SR, Signal
from media.amd.corpus_text import POOLS, Pool

LABEL_SHARES: Final = (("human", 0.42), ("machine", 0.42), ("fax", 0.08), ("silence", 0.08))
HUMAN_KINDS: Final = (("hello", 0.5), ("named", 0.2), ("business", 0.3))
MACHINE_KINDS: Final = (("personal", 0.4), ("short", 0.12), ("carrier", 0.25), ("business", 0.23))
BEEP_FREQS: Final = (440, 480, 520, 600, 660, 800, 850, 950, 1000, 1100, 1200, 1400, 1500,
                     1600, 1800, 2000)
NOISE_KINDS: Final = ("white", "pink", "hum", "hiss")
MAX_BUSINESS_ANSWER_S: Final = 4.6  # a receptionist's practised answer
NO_BEEP_MIN_GREETING_S: Final = 6.0  # only long greetings go without a beep (docs/amd.md)


class Voice(msgspec.Struct, frozen=True):
    lang: str
    variant: str
    speed: int
    pitch: int
    gap: int

    def name(self) -> str:
        return f"{self.lang}+{self.variant} s{self.speed} p{self.pitch} g{self.gap}"


class Clip(msgspec.Struct):
    """One clip being assembled: a float signal plus its labels and a record of choices."""

    label: str
    kind: str
    audio: Signal
    speech_end_s: float | None = None
    beep_start_s: float | None = None
    beep_end_s: float | None = None
    meta: dict[str, Any] = msgspec.field(default_factory=dict)


def synth(text: str, voice: Voice) -> Signal:
    """espeak-ng at 22.05 kHz, resampled by sox to 8 kHz float, silence trimmed."""
    wav = subprocess.run(
        ["espeak-ng", "-v", f"{voice.lang}+{voice.variant}", "-s", str(voice.speed),
         "-p", str(voice.pitch), "-g", str(voice.gap), "--stdout", text],
        capture_output=True, check=True,
    ).stdout
    raw = subprocess.run(
        ["sox", "-D", "-t", "wav", "-", "-t", "raw", "-e", "floating-point", "-b", "32",
         "-r", str(SR), "-c", "1", "-"],
        input=wav, capture_output=True, check=True,
    ).stdout
    return dsp.trim(np.frombuffer(raw, dtype="<f4").astype(np.float64))


def telephone_channel(x: Signal, low_hz: int, high_hz: int) -> Signal:
    """Band-limit with sox's linear-phase sinc filter (its delay is compensated)."""
    raw = subprocess.run(
        ["sox", "-D", "-t", "raw", "-r", str(SR), "-e", "floating-point", "-b", "32", "-c", "1",
         "-", "-t", "raw", "-e", "floating-point", "-b", "32", "-", "sinc", f"{low_hz}-{high_hz}"],
        input=x.astype("<f4").tobytes(), capture_output=True, check=True,
    ).stdout
    y = np.frombuffer(raw, dtype="<f4").astype(np.float64)
    out = np.zeros_like(x)
    out[: min(x.size, y.size)] = y[: x.size]
    return out


def pick(rng: np.random.Generator, shares: tuple[tuple[str, float], ...]) -> str:
    names = [n for n, _ in shares]
    p = np.array([s for _, s in shares])
    return str(rng.choice(names, p=p / p.sum()))


def choose(rng: np.random.Generator, items: tuple[str, ...]) -> str:
    return items[int(rng.integers(len(items)))]


def fill(rng: np.random.Generator, pool: Pool, template: str) -> str:
    names = list(pool.names)
    i, j = rng.choice(len(names), size=2, replace=False)
    digits = "".join(str(d) for d in rng.integers(0, 10, size=7))
    spoken = " ".join(digits[:3]) + ", " + " ".join(digits[3:])
    return template.format(name=names[i], name2=names[j], company=choose(rng, pool.companies),
                           digits=spoken)


def random_voice(rng: np.random.Generator, pool: Pool, speed: tuple[int, int]) -> Voice:
    return Voice(
        lang=choose(rng, pool.languages),
        variant=choose(rng, pool.variants),
        speed=int(rng.integers(speed[0], speed[1] + 1)),
        pitch=int(rng.integers(25, 76)),
        gap=int(rng.choice([0, 0, 0, 1, 2])),
    )


def silence(seconds: float) -> Signal:
    return np.zeros(int(round(seconds * SR)))


def sentences(text: str) -> list[str]:
    return [s for s in re.split(r"(?<=[.?!])\s+", text.strip()) if s]


# ---------------------------------------------------------------- clip builders


def human_clip(rng: np.random.Generator, pool: Pool) -> Clip:
    kind = pick(rng, HUMAN_KINDS)
    level = float(rng.uniform(-30, -14))
    lead = float(min(0.15 + rng.gamma(2.0, 0.25), 2.5))
    if kind == "business":
        voice = random_voice(rng, pool, (165, 215))
        text = fill(rng, pool, choose(rng, pool.business))
        speech = synth(text, voice)
        for _ in range(4):  # receptionists are quick: re-speak faster if too long
            if speech.size <= MAX_BUSINESS_ANSWER_S * SR:
                break
            voice = msgspec.structs.replace(voice, speed=int(voice.speed * 1.15), gap=0)
            speech = synth(text, voice)
        speech = speech[: int(MAX_BUSINESS_ANSWER_S * SR)]
    else:
        voice = random_voice(rng, pool, (140, 200))
        text = fill(rng, pool, choose(rng, pool.hello if kind == "hello" else pool.named))
        speech = synth(text, voice)
        if kind == "hello" and rng.random() < 0.1:  # "Hello? ... Hello?"
            speech = np.concatenate([speech, silence(rng.uniform(0.25, 0.45)), speech])
            text = f"{text} .. {text}"
    speech = dsp.set_level(speech, level)
    parts = [silence(lead), speech]
    speech_end = lead + speech.size / SR
    wait = float(rng.uniform(1.8, 3.5))
    parts.append(silence(wait))
    again = ""
    if rng.random() < 0.65:
        again = fill(rng, pool, choose(rng, pool.again))
        parts.append(dsp.set_level(synth(again, voice), level + rng.uniform(-2, 4)))
    parts.append(silence(rng.uniform(1.0, 2.0)))
    audio = np.concatenate(parts)
    if audio.size < 7 * SR:
        audio = np.concatenate([audio, silence(7 - audio.size / SR)])
    meta = {"text": text, "again": again, "voice": voice.name(), "lead_s": round(lead, 3),
            "wait_s": round(wait, 3), "level_dbfs": round(level, 1)}
    return Clip("human", kind, audio, speech_end_s=speech_end, meta=meta)


def greeting_audio(rng: np.random.Generator, text: str, voice: Voice) -> tuple[Signal, list[float]]:
    """A greeting spoken in one go (espeak's own pauses) or sentence by sentence."""
    parts = sentences(text)
    if len(parts) == 1 or rng.random() < 0.4:
        return synth(text, voice), []
    out: list[Signal] = []
    pauses: list[float] = []
    for k, s in enumerate(parts):
        if k:
            pause = float(0.12 + 0.35 * rng.beta(2.0, 3.0))
            pauses.append(round(pause, 3))
            out.append(silence(pause))
        out.append(synth(s, voice))
    return np.concatenate(out), pauses


def beep_gap(rng: np.random.Generator) -> float:
    """Greeting end to beep: mostly 0.1-0.45 s, with a tail of slow systems (docs/amd.md)."""
    if rng.random() < 0.06:
        return float(rng.uniform(0.45, 0.9))
    return float(0.1 + 0.35 * rng.beta(2.0, 3.0))


def machine_clip(rng: np.random.Generator, pool: Pool) -> Clip:
    kind = pick(rng, MACHINE_KINDS)
    templates = {"personal": pool.vm_personal, "short": pool.vm_short,
                 "carrier": pool.vm_carrier, "business": pool.vm_business}[kind]
    speed = (140, 175) if kind == "carrier" else (140, 200)
    voice = random_voice(rng, pool, speed)
    text = fill(rng, pool, choose(rng, templates))
    greeting, pauses = greeting_audio(rng, text, voice)
    level = float(rng.uniform(-26, -14))
    greeting = dsp.set_level(greeting, level)
    if rng.random() < 0.4:  # the recording's own room hiss, present only while it plays
        hiss = dsp.line_noise(greeting.size, level - float(rng.uniform(30, 45)), rng, "white")
        greeting = greeting + hiss
    lead = float(min(0.1 + rng.gamma(2.0, 0.15), 1.5))
    g_dur = greeting.size / SR
    parts = [silence(lead), greeting]
    speech_end = lead + g_dur
    has_beep = not (g_dur >= NO_BEEP_MIN_GREETING_S and rng.random() < 0.3)
    meta: dict[str, Any] = {"text": text, "voice": voice.name(), "lead_s": round(lead, 3),
                            "pauses_s": pauses, "greeting_s": round(g_dur, 3),
                            "level_dbfs": round(level, 1)}
    clip = Clip("machine", kind, np.zeros(0), speech_end_s=speech_end, meta=meta)
    if has_beep:
        gap = beep_gap(rng)
        freq = float(np.clip(rng.choice(BEEP_FREQS) * rng.uniform(0.99, 1.01), 440, 2000))
        dur = float(rng.uniform(0.2, 0.6) if rng.random() < 0.7 else rng.uniform(0.6, 1.2))
        harmonic = float(rng.uniform(-45, -25)) if rng.random() < 0.3 else -99.0
        beep_db = float(rng.uniform(-22, -8))
        ramp_ms = float(rng.uniform(4, 12))
        beep = dsp.tone(freq, dur, beep_db, ramp_ms, harmonic)
        parts += [silence(gap), beep]
        clip.beep_start_s = speech_end + gap
        clip.beep_end_s = clip.beep_start_s + beep.size / SR
        meta.update(beep_gap_s=round(gap, 3), beep_hz=round(freq, 1), beep_s=round(dur, 3),
                    beep_dbfs=round(beep_db, 1), beep_ramp_ms=round(ramp_ms, 1),
                    beep_harmonic_db=round(harmonic, 1))
        parts.append(silence(rng.uniform(1.5, 3.0)))
    else:
        parts.append(silence(rng.uniform(2.5, 4.0)))
    clip.audio = np.concatenate(parts)
    if clip.audio.size < 6.5 * SR:
        clip.audio = np.concatenate([clip.audio, silence(6.5 - clip.audio.size / SR)])
    return clip


def fax_clip(rng: np.random.Generator) -> Clip:
    lead = float(rng.uniform(0.2, 1.5))
    level = float(rng.uniform(-20, -9))
    parts = [silence(lead)]
    if rng.random() < 0.5:  # answering fax: CED 2100 Hz, then V.21 flags
        kind = "ced"
        ced = float(rng.uniform(2.6, 4.0))
        parts += [dsp.tone(2100 + rng.uniform(-15, 15), ced, level, 5.0), silence(0.075),
                  dsp.fsk_flags(float(rng.uniform(1.0, 2.0)), level, rng)]
    else:  # calling tone CNG: 1100 Hz, 0.5 s on, 3 s off
        kind = "cng"
        while sum(p.size for p in parts) < 7 * SR:
            parts += [dsp.tone(1100 + rng.uniform(-30, 30), 0.5 * rng.uniform(0.9, 1.1), level,
                               5.0), silence(3.0)]
    audio = np.concatenate(parts)
    if audio.size < 7 * SR:
        audio = np.concatenate([audio, silence(7 - audio.size / SR)])
    return Clip("fax", kind, audio[: int(8 * SR)], meta={"lead_s": round(lead, 3)})


def silence_clip(rng: np.random.Generator) -> Clip:
    n = int(rng.uniform(7.0, 8.0) * SR)
    audio = np.zeros(n)
    count = int(rng.integers(1, 4)) if rng.random() < 0.3 else 0
    if count:
        audio += dsp.clicks(n, count, float(rng.uniform(-40, -28)), rng)
    return Clip("silence", "dead-air", audio, meta={"clicks": count})


def make_clip(seed: int, index: int, split: str, label: str) -> tuple[Clip, np.ndarray]:
    """Build clip ``index``: speech and tones, line noise, telephone band, maybe G.711."""
    rng = np.random.default_rng([seed, index, 0 if split == "tune" else 1])
    pool = POOLS[split]
    if label == "human":
        clip = human_clip(rng, pool)
    elif label == "machine":
        clip = machine_clip(rng, pool)
    elif label == "fax":
        clip = fax_clip(rng)
    else:
        clip = silence_clip(rng)
    speech_level = float(clip.meta.get("level_dbfs", -20.0))
    noise_db = float(min(rng.uniform(-72, -45), speech_level - rng.uniform(18, 30)))
    noise_kind = choose(rng, NOISE_KINDS)
    audio = clip.audio + dsp.line_noise(clip.audio.size, noise_db, rng, noise_kind)
    low, high = int(rng.integers(200, 351)), int(rng.integers(3200, 3501))
    audio = telephone_channel(audio, low, high)
    pcm = dsp.to_pcm16(audio)
    mulaw = bool(rng.random() < 0.85)
    if mulaw:
        pcm = dsp.mulaw_decode(dsp.mulaw_encode(pcm))
    clip.meta.update(noise_dbfs=round(noise_db, 1), noise=noise_kind, band=f"{low}-{high}",
                     mulaw=mulaw, kind=clip.kind)
    return clip, pcm


def write_wav(path: Path, pcm: np.ndarray) -> None:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(SR)
        w.writeframes(pcm.astype("<i2").tobytes())


def fmt(x: float | None) -> str:
    return "" if x is None else f"{x:.3f}"


def labels_for(n: int, seed: int) -> list[str]:
    counts = [int(round(n * share)) for _, share in LABEL_SHARES]
    counts[0] += n - sum(counts)
    labels = [name for (name, _), c in zip(LABEL_SHARES, counts, strict=True) for _ in range(c)]
    order = np.random.default_rng([seed, 999]).permutation(n)
    return [labels[i] for i in order]


def build(outdir: Path, n: int, seed: int, split: str, jobs: int) -> int:
    outdir.mkdir(parents=True, exist_ok=True)
    labels = labels_for(n, seed)

    def one(i: int) -> dict[str, Any]:
        clip, pcm = make_clip(seed, i, split, labels[i])
        name = f"clip{i:04d}.wav"
        write_wav(outdir / name, pcm)
        return {"file": name, "label": clip.label, "speech_end_s": fmt(clip.speech_end_s),
                "beep_start_s": fmt(clip.beep_start_s), "beep_end_s": fmt(clip.beep_end_s),
                "meta": clip.meta}

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as ex:
        rows = list(ex.map(one, range(n)))
    with open(outdir / "manifest.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["file", "label", "speech_end_s", "beep_start_s", "beep_end_s"])
        for r in rows:
            w.writerow([r["file"], r["label"], r["speech_end_s"], r["beep_start_s"],
                        r["beep_end_s"]])
    with open(outdir / "meta.jsonl", "w") as f:
        for r in rows:
            f.write(json.dumps({"file": r["file"], "label": r["label"], "split": split,
                                "seed": seed, **r["meta"]}) + "\n")
    return len(rows)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="make-amd-corpus", description=__doc__.split("\n")[0])
    ap.add_argument("outdir", type=Path)
    ap.add_argument("n", type=int, nargs="?", default=400)
    ap.add_argument("seed", type=int, nargs="?", default=1)
    ap.add_argument("--split", choices=sorted(POOLS), default="eval",
                    help="script/voice pool: tune (for tuning) or eval (held out; default)")
    ap.add_argument("--jobs", type=int, default=2, help="parallel clips (default 2)")
    args = ap.parse_args(argv)
    if args.n < 1:
        ap.error("N must be at least 1")
    try:
        count = build(args.outdir, args.n, args.seed, args.split, args.jobs)
    except FileNotFoundError as exc:
        print(f"make-amd-corpus: {exc.filename} not found (install espeak-ng and sox)",
              file=sys.stderr)
        return 1
    except subprocess.CalledProcessError as exc:
        err = exc.stderr.decode(errors="replace").strip() if exc.stderr else ""
        print(f"make-amd-corpus: {exc.cmd[0]} failed: {err}", file=sys.stderr)
        return 1
    print(f"wrote {count} clips to {args.outdir} (split {args.split}, seed {args.seed})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
