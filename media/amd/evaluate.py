"""``dialer amd-eval DIR [--detector NAME|all|a,b] [--json]``: score AMD detectors on WAV clips.

DIR holds 8 kHz mono 16-bit WAV clips that start at answer, and
``manifest.csv`` with ``file,label,speech_end_s,beep_start_s,beep_end_s``.
Every clip is streamed through a fresh :class:`media.amd.session.AmdSession`
20 ms frame by frame, exactly as the SIP edge would (frame *k* is fed with
``now_ms = 20*(k+1)``, no look-ahead), until the session is done or the clip
ends. A bad row (missing file, wrong format, truncated or empty clip, bad
field) is reported with its line number and skipped; the rest still runs.

Exit status: 0 when every row was evaluated, 1 when some rows had errors,
2 on usage errors or when nothing could be evaluated.

This module is an edge: it reads files and the CPU clock (``time.process_time``
around the feed loop only).
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import sys
import time
import wave
from pathlib import Path
from typing import Any

from media.amd.metrics import (
    ClipOutcome,
    ClipTruth,
    errors_of,
    paired_human_decisions,
    summarize,
)
from media.amd.report import table
from media.amd.session import DETECTORS, make_session
from media.amd.types import FRAME_BYTES, FRAME_MS, LABELS, SAMPLE_RATE, DropPoint, Verdict

COLUMNS = ("file", "label", "speech_end_s", "beep_start_s", "beep_end_s")


class RowError(Exception):
    pass


def _time(row: dict[str, str], column: str) -> float | None:
    raw = (row.get(column) or "").strip()
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        raise RowError(f"{column} is not a number: {raw!r}") from None
    if not math.isfinite(value) or value < 0:
        raise RowError(f"{column} must be a time in seconds >= 0, got {raw!r}")
    return value


def parse_row(row: dict[str, str], line: int) -> ClipTruth:
    file = (row.get("file") or "").strip()
    if not file:
        raise RowError("file is empty")
    label = (row.get("label") or "").strip()
    if label not in LABELS:
        raise RowError(f"label {label!r} is not one of {', '.join(LABELS)}")
    speech_end = _time(row, "speech_end_s")
    beep_start = _time(row, "beep_start_s")
    beep_end = _time(row, "beep_end_s")
    if label in ("human", "machine") and speech_end is None:
        raise RowError(f"speech_end_s is required for label {label}")
    if (beep_start is None) != (beep_end is None):
        raise RowError("beep_start_s and beep_end_s must both be given or both be empty")
    if beep_start is not None and beep_end is not None:
        if label != "machine":
            raise RowError(f"a beep is given for label {label}")
        if beep_end <= beep_start:
            raise RowError("beep_end_s must be after beep_start_s")
    return ClipTruth(file, label, speech_end, beep_start, beep_end, line)


def read_clip(path: Path) -> list[bytes]:
    """The clip as 320-byte frames; a final partial frame is dropped."""
    if not path.is_file():
        raise RowError(f"file not found: {path}")
    try:
        with wave.open(str(path), "rb") as w:
            channels, width, rate = w.getnchannels(), w.getsampwidth(), w.getframerate()
            declared = w.getnframes()
            data = w.readframes(declared)
    except (wave.Error, EOFError) as exc:
        raise RowError(f"not a readable PCM WAV file ({exc})") from None
    problems = []
    if rate != SAMPLE_RATE:
        problems.append(f"sample rate {rate} Hz (need {SAMPLE_RATE})")
    if channels != 1:
        problems.append(f"{channels} channels (need mono)")
    if width != 2:
        problems.append(f"{8 * width}-bit samples (need 16-bit)")
    if problems:
        raise RowError(", ".join(problems))
    if len(data) < declared * 2:
        raise RowError(f"truncated: header declares {declared} samples, file holds "
                       f"{len(data) // 2}")
    if len(data) < FRAME_BYTES:
        raise RowError("empty: no complete 20 ms frame of audio")
    return [data[i : i + FRAME_BYTES] for i in range(0, len(data) - FRAME_BYTES + 1, FRAME_BYTES)]


def load(directory: Path, limit: int | None) -> tuple[list[tuple[ClipTruth, list[bytes]]],
                                                      list[dict[str, Any]]]:
    manifest = directory / "manifest.csv"
    clips: list[tuple[ClipTruth, list[bytes]]] = []
    errors: list[dict[str, Any]] = []
    with open(manifest, newline="") as f:
        reader = csv.DictReader(f)
        missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise RowError(f"{manifest}: header lacks column(s) {', '.join(missing)}")
        for row in reader:
            line = reader.line_num
            try:
                truth = parse_row(row, line)
                frames = read_clip(directory / truth.file)
            except RowError as exc:
                errors.append({"line": line, "file": (row.get("file") or "").strip(),
                               "error": str(exc)})
                continue
            clips.append((truth, frames))
            if limit is not None and len(clips) >= limit:
                break
    return clips, errors


def run_clip(name: str, truth: ClipTruth, frames: list[bytes]) -> ClipOutcome:
    session = make_session(name)
    verdict: Verdict | None = None
    drop: DropPoint | None = None
    now = 0
    fed = 0
    start = time.process_time()
    for frame in frames:
        now += FRAME_MS
        fed += 1
        out = session.feed(frame, now)
        if out is not None:
            if isinstance(out, Verdict):
                verdict = out
            else:
                drop = out
        if session.done:
            break
    cpu = time.process_time() - start
    return ClipOutcome(
        truth=truth,
        predicted=verdict.label if verdict else "none",
        decided_s=verdict.at_ms / 1000 if verdict else None,
        detail=verdict.detail if verdict else "",
        drop_s=drop.at_ms / 1000 if drop else None,
        drop_kind=drop.kind if drop else "",
        frames=fed,
        cpu_s=cpu,
    )


def bench(names: list[str], clips: list[tuple[ClipTruth, list[bytes]]], calls: int,
          seconds: float) -> list[dict[str, Any]]:
    """CPU of ``calls`` concurrent calls that are all in the AMD phase, all the time.

    Every 20 ms tick feeds one frame to each of ``calls`` sessions, round-robin
    as a media thread would; a session that is done is replaced at once by a
    new one on the next clip, so every call is always being analysed (the
    worst case: a campaign start, or every line answering at once). The
    result is CPU seconds per second of audio, i.e. the share of one core.
    """
    out = []
    ticks = int(seconds * 1000 / FRAME_MS)
    for name in names:
        sessions = [make_session(name) for _ in range(calls)]
        streams = [clips[i % len(clips)][1] for i in range(calls)]
        pos = [0] * calls
        cursor = calls
        fed = restarts = 0
        start = time.process_time()
        for _ in range(ticks):
            for i in range(calls):
                session, k = sessions[i], pos[i]
                if session.done or k >= len(streams[i]):
                    session = sessions[i] = make_session(name)
                    streams[i] = clips[cursor % len(clips)][1]
                    cursor += 1
                    restarts += 1
                    k = 0
                pos[i] = k + 1
                session.feed(streams[i][k], (k + 1) * FRAME_MS)
                fed += 1
        cpu = time.process_time() - start
        audio_s = ticks * FRAME_MS / 1000
        out.append({"detector": name, "calls": calls, "audio_s": audio_s, "frames": fed,
                    "sessions": calls + restarts,
                    "us_per_frame": round(cpu / fed * 1e6, 3),
                    "core_share": round(cpu / audio_s, 5)})
    return out


def detector_names(spec: str) -> list[str]:
    names = list(DETECTORS) if spec == "all" else [s.strip() for s in spec.split(",") if s.strip()]
    unknown = [n for n in names if n not in DETECTORS]
    if unknown or not names:
        raise ValueError(f"unknown detector(s) {', '.join(unknown) or spec!r}; "
                         f"known: {', '.join(DETECTORS)}, all")
    return names


def main(argv: list[str] | None = None) -> int:
    try:
        return _main(argv)
    except BrokenPipeError:  # e.g. piped into head: not an error of ours
        return 0


def _main(argv: list[str] | None) -> int:
    ap = argparse.ArgumentParser(prog="dialer amd-eval",
                                 description="Evaluate AMD detectors on a labelled WAV corpus.")
    ap.add_argument("dir", type=Path, help="directory with manifest.csv and the WAV clips")
    ap.add_argument("--detector", default="dialer",
                    help=f"{', '.join(DETECTORS)}, all, or a comma list (default dialer)")
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    ap.add_argument("--limit", type=int, default=None, help="evaluate the first N good rows")
    ap.add_argument("--show-errors", action="store_true",
                    help="list misclassified clips (in the JSON as 'misclassified')")
    ap.add_argument("--clips-out", type=Path, default=None,
                    help="write every clip's outcome as JSON lines to this file")
    ap.add_argument("--bench", type=int, metavar="CALLS", default=0,
                    help="instead of scoring, measure the CPU of CALLS concurrent calls "
                         "that are all in the AMD phase (e.g. 100)")
    ap.add_argument("--bench-seconds", type=float, default=60.0,
                    help="simulated audio time for --bench (default 60)")
    args = ap.parse_args(argv)
    try:
        names = detector_names(args.detector)
    except ValueError as exc:
        print(f"amd-eval: {exc}", file=sys.stderr)
        return 2
    if not (args.dir / "manifest.csv").is_file():
        print(f"amd-eval: {args.dir / 'manifest.csv'} not found", file=sys.stderr)
        return 2
    try:
        clips, errors = load(args.dir, args.limit)
    except (RowError, UnicodeDecodeError, csv.Error) as exc:
        print(f"amd-eval: {exc}", file=sys.stderr)
        return 2
    for e in errors:
        print(f"amd-eval: manifest.csv line {e['line']}: {e['file'] or '(no file)'}: {e['error']}",
              file=sys.stderr)
    if not clips:
        print("amd-eval: no clip could be evaluated", file=sys.stderr)
        return 2

    if args.bench > 0:
        results = bench(names, clips, args.bench, args.bench_seconds)
        if args.json:
            print(json.dumps({"bench": results, "errors": errors}, indent=2))
        else:
            for r in results:
                print(f"{r['detector']}: {r['calls']} calls in AMD for {r['audio_s']:.0f} s of "
                      f"audio ({r['sessions']} sessions): {r['us_per_frame']:.2f} us/frame, "
                      f"{100 * r['core_share']:.2f}% of one core")
        return 1 if errors else 0

    summaries = []
    runs: dict[str, list[ClipOutcome]] = {}
    clip_log = open(args.clips_out, "w") if args.clips_out else None  # noqa: SIM115
    try:
        for name in names:
            outcomes = runs[name] = [run_clip(name, truth, frames) for truth, frames in clips]
            summary = summarize(name, outcomes)
            if args.show_errors:
                summary["misclassified"] = errors_of(outcomes)
            summaries.append(summary)
            if clip_log is not None:
                for o in outcomes:
                    clip_log.write(json.dumps({"detector": name, **_plain(o)}) + "\n")
    finally:
        if clip_log is not None:
            clip_log.close()

    if args.json:
        if len(summaries) == 1:
            doc: dict[str, Any] = {**summaries[0], "errors": errors}
        else:
            doc = {"clips": len(clips), "errors": errors, "detectors": summaries,
                   "paired_human_decision_after_speech_end_s": paired_human_decisions(runs)}
        print(json.dumps(doc, indent=2))
    else:
        title = f"AMD evaluation: {len(clips)} clips in {args.dir}"
        if errors:
            title += f" ({len(errors)} bad row(s) skipped, see above)"
        print(table(summaries, title))
        if len(summaries) > 1:
            paired = paired_human_decisions(runs)
            print(f"\nhuman verdict after speech end on the {paired['n']} human clips every "
                  "detector judged human (median / p95 s):")
            for name in names:
                st = paired[name]
                print(f"  {name:<10} {_fmt(st['median'])} / {_fmt(st['p95'])}")
        if args.show_errors:
            for s in summaries:
                print(f"\nmisclassified by {s['detector']}:")
                for m in s["misclassified"]:
                    print(f"  {m['file']}: {m['label']} -> {m['predicted']} at "
                          f"{m['decided_s']} s ({m['detail']})")
    return 1 if errors else 0


def _fmt(x: float | None) -> str:
    return "-" if x is None else f"{x:.3f}"


def _plain(o: ClipOutcome) -> dict[str, Any]:
    t = o.truth
    return {"file": t.file, "label": t.label, "speech_end_s": t.speech_end_s,
            "beep_end_s": t.beep_end_s, "predicted": o.predicted, "decided_s": o.decided_s,
            "detail": o.detail, "drop_s": o.drop_s, "drop_kind": o.drop_kind,
            "frames": o.frames, "cpu_us": round(o.cpu_s * 1e6, 1)}


if __name__ == "__main__":
    sys.exit(main())
