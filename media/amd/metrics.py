"""Scoring of AMD runs: per-clip outcomes in, the ``amd-eval`` summary out (pure).

Definitions (docs/amd.md, "Evaluation"):

* ``accuracy`` — verdict equals label, over all clips; a clip that ends with
  no verdict counts as wrong (column ``none`` of the confusion matrix).
* ``human_as_machine`` / ``machine_as_human`` — share of human (machine)
  clips given the other verdict.
* ``human_decision_after_speech_end_s`` — verdict time minus ``speech_end_s``
  over human clips judged human.
* ``machine_decision_s`` — verdict time from answer over machine clips judged
  machine.
* ``vm_drop_error_s`` — message start minus ``beep_end_s`` over machine clips
  with a beep that got a drop point; ``within_300ms`` is the share of *all*
  beeped machine clips whose message started 0–300 ms after the beep ended
  (a clip judged human never gets a message, and counts as a miss).
* ``cpu_us_per_frame`` — process CPU time per fed frame, while the session
  was still listening (a finished session is no longer fed).
"""

from __future__ import annotations

from typing import Any

import msgspec
import numpy as np

from media.amd.types import LABELS

PREDICTIONS: tuple[str, ...] = (*LABELS, "none")


class ClipTruth(msgspec.Struct, frozen=True):
    file: str
    label: str
    speech_end_s: float | None = None
    beep_start_s: float | None = None
    beep_end_s: float | None = None
    line: int = 0


class ClipOutcome(msgspec.Struct, frozen=True):
    truth: ClipTruth
    predicted: str  # a label or "none"
    decided_s: float | None
    detail: str
    drop_s: float | None
    drop_kind: str
    frames: int
    cpu_s: float


def _stats(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"median": None, "p95": None}
    arr = np.asarray(values, dtype=np.float64)
    return {"median": round(float(np.median(arr)), 4),
            "p95": round(float(np.percentile(arr, 95)), 4)}


def _rate(num: int, den: int) -> float | None:
    return round(num / den, 4) if den else None


def summarize(detector: str, outcomes: list[ClipOutcome]) -> dict[str, Any]:
    """The ``amd-eval --json`` object for one detector."""
    confusion = {lab: dict.fromkeys(PREDICTIONS, 0) for lab in LABELS}
    for o in outcomes:
        confusion[o.truth.label][o.predicted] += 1
    n = len(outcomes)
    correct = sum(confusion[lab][lab] for lab in LABELS)
    humans = sum(confusion["human"].values())
    machines = sum(confusion["machine"].values())
    hm_correct = confusion["human"]["human"] + confusion["machine"]["machine"]

    human_after: list[float] = []
    machine_at: list[float] = []
    drop_err: list[float] = []
    nobeep_after: list[float] = []
    beeped = within = 0
    for o in outcomes:
        t = o.truth
        if t.label == "human" and o.predicted == "human" and o.decided_s is not None:
            if t.speech_end_s is not None:
                human_after.append(o.decided_s - t.speech_end_s)
        if t.label == "machine" and o.predicted == "machine" and o.decided_s is not None:
            machine_at.append(o.decided_s)
        if t.label == "machine" and t.beep_end_s is not None:
            beeped += 1
            if o.predicted == "machine" and o.drop_s is not None:
                err = o.drop_s - t.beep_end_s
                drop_err.append(err)
                within += 0.0 <= err <= 0.3
        elif t.label == "machine" and o.drop_s is not None and t.speech_end_s is not None:
            nobeep_after.append(o.drop_s - t.speech_end_s)

    frames = sum(o.frames for o in outcomes)
    cpu = sum(o.cpu_s for o in outcomes)
    return {
        "detector": detector,
        "clips": n,
        "accuracy": _rate(correct, n),
        "human_as_machine": _rate(confusion["human"]["machine"], humans),
        "machine_as_human": _rate(confusion["machine"]["human"], machines),
        "accuracy_human_machine": _rate(hm_correct, humans + machines),
        "confusion": confusion,
        "human_decision_after_speech_end_s": _stats(human_after),
        "machine_decision_s": _stats(machine_at),
        "vm_drop_error_s": {**_stats(drop_err), "within_300ms": _rate(within, beeped),
                            "n": beeped},
        "vm_drop_nobeep_after_speech_end_s": {**_stats(nobeep_after), "n": len(nobeep_after)},
        "cpu_us_per_frame": round(cpu / frames * 1e6, 3) if frames else None,
        "frames": frames,
    }


def errors_of(outcomes: list[ClipOutcome]) -> list[dict[str, Any]]:
    """The misclassified clips, for ``--show-errors``."""
    return [
        {"file": o.truth.file, "label": o.truth.label, "predicted": o.predicted,
         "decided_s": o.decided_s, "detail": o.detail}
        for o in outcomes
        if o.predicted != o.truth.label
    ]


def paired_human_decisions(runs: dict[str, list[ClipOutcome]]) -> dict[str, Any]:
    """Human verdict time after speech end, over the human clips *every* detector
    judged human: a like-for-like comparison (each detector's own figure covers
    only the clips it got right, which differ between detectors)."""
    names = list(runs)
    if not names:
        return {}
    by_file = {name: {o.truth.file: o for o in outs} for name, outs in runs.items()}
    files = [
        o.truth.file for o in runs[names[0]]
        if o.truth.label == "human" and o.truth.speech_end_s is not None
        and all(by_file[n].get(o.truth.file) is not None
                and by_file[n][o.truth.file].predicted == "human" for n in names)
    ]
    out: dict[str, Any] = {"n": len(files)}
    for name in names:
        values = []
        for f in files:
            o = by_file[name][f]
            if o.decided_s is not None and o.truth.speech_end_s is not None:
                values.append(o.decided_s - o.truth.speech_end_s)
        out[name] = _stats(values)
    return out
