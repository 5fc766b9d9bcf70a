"""amd-eval on a tiny synthetic corpus: manifest parsing, bad rows, metrics, output shapes."""

from __future__ import annotations

import json
import wave
from pathlib import Path

import numpy as np
import pytest

from media.amd import evaluate
from media.amd.metrics import ClipOutcome, ClipTruth, paired_human_decisions, summarize
from media.amd.testing import join, pcm, silence, speech, tone

HEADER = "file,label,speech_end_s,beep_start_s,beep_end_s\n"


def write_wav(path: Path, data: bytes, rate: int = 8000, channels: int = 1, width: int = 2) -> None:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(width)
        w.setframerate(rate)
        w.writeframes(data)


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    write_wav(tmp_path / "h.wav", pcm(join(silence(0.5), speech(0.6), silence(4))))
    write_wav(tmp_path / "m.wav", pcm(join(silence(0.3), speech(6.5), silence(0.3),
                                           tone(1000, 0.4), silence(2))))
    write_wav(tmp_path / "f.wav", pcm(join(silence(0.3), tone(2100, 3.0), silence(2))))
    write_wav(tmp_path / "s.wav", pcm(silence(6.0)))
    beep_end = 0.3 + 6.5 + 0.3 + 0.4
    rows = [
        "h.wav,human,1.1,,",
        f"m.wav,machine,6.8,7.1,{beep_end}",
        "f.wav,fax,,,",
        "s.wav,silence,,,",
    ]
    (tmp_path / "manifest.csv").write_text(HEADER + "\n".join(rows) + "\n")
    return tmp_path


def test_clean_corpus_json(corpus: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert evaluate.main([str(corpus), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["detector"] == "dialer" and doc["clips"] == 4
    assert doc["accuracy"] == 1.0
    assert doc["human_as_machine"] == 0.0 and doc["machine_as_human"] == 0.0
    assert doc["confusion"]["fax"]["fax"] == 1
    assert set(doc["human_decision_after_speech_end_s"]) == {"median", "p95"}
    assert doc["machine_decision_s"]["median"] is not None
    vm = doc["vm_drop_error_s"]
    assert vm["within_300ms"] == 1.0 and 0 <= vm["median"] <= 0.3
    assert doc["cpu_us_per_frame"] > 0
    assert doc["errors"] == []


def test_all_detectors_side_by_side(corpus: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert evaluate.main([str(corpus), "--detector", "all", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert [d["detector"] for d in doc["detectors"]] == ["dialer", "asterisk"]
    assert doc["detectors"][1]["confusion"]["silence"]["machine"] == 1  # INITIALSILENCE
    assert "paired_human_decision_after_speech_end_s" in doc


def test_table_output(corpus: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert evaluate.main([str(corpus), "--detector", "dialer,asterisk", "--show-errors"]) == 0
    out = capsys.readouterr().out
    assert "accuracy" in out and "dialer" in out and "asterisk" in out
    assert "confusion, asterisk" in out and "misclassified by asterisk" in out


def test_bad_rows_are_reported_and_the_rest_runs(
    corpus: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_wav(corpus / "wide.wav", pcm(silence(1.0)) * 2, rate=16000)
    write_wav(corpus / "stereo.wav", pcm(silence(1.0)), channels=2)
    write_wav(corpus / "bytes.wav", bytes(8000), width=1)
    good = pcm(silence(1.0))
    write_wav(corpus / "cut.wav", good)
    raw = (corpus / "cut.wav").read_bytes()
    (corpus / "cut.wav").write_bytes(raw[: len(raw) // 2])
    (corpus / "empty.wav").write_bytes(b"")
    write_wav(corpus / "short.wav", b"\0\0" * 100)
    with open(corpus / "manifest.csv", "a") as f:
        f.write("wide.wav,silence,,,\n")  # line 6
        f.write("stereo.wav,silence,,,\n")
        f.write("bytes.wav,silence,,,\n")
        f.write("cut.wav,silence,,,\n")
        f.write("empty.wav,silence,,,\n")  # line 10
        f.write("short.wav,silence,,,\n")
        f.write("missing.wav,human,1.0,,\n")
        f.write("h.wav,robot,1.0,,\n")
        f.write("h.wav,human,,,\n")
        f.write("h.wav,human,abc,,\n")  # line 15
        f.write("m.wav,machine,6.8,7.1,\n")
        f.write("f.wav,fax,,1.0,2.0\n")
        f.write(",human,1.0,,\n")
    assert evaluate.main([str(corpus), "--json"]) == 1
    captured = capsys.readouterr()
    doc = json.loads(captured.out)
    assert doc["clips"] == 4
    errors = {e["line"]: e for e in doc["errors"]}
    assert sorted(errors) == list(range(6, 19))
    assert "sample rate 16000" in errors[6]["error"]
    assert "2 channels" in errors[7]["error"]
    assert "8-bit" in errors[8]["error"]
    assert "truncated" in errors[9]["error"]
    assert "not a readable" in errors[10]["error"]
    assert "empty" in errors[11]["error"]
    assert "not found" in errors[12]["error"] and errors[12]["file"] == "missing.wav"
    assert "label 'robot'" in errors[13]["error"]
    assert "speech_end_s is required" in errors[14]["error"]
    assert "not a number" in errors[15]["error"]
    assert "both" in errors[16]["error"]
    assert "beep is given for label fax" in errors[17]["error"]
    assert "file is empty" in errors[18]["error"]
    assert "manifest.csv line 6: wide.wav: sample rate 16000" in captured.err


def test_usage_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert evaluate.main([str(tmp_path)]) == 2
    assert "manifest.csv not found" in capsys.readouterr().err
    (tmp_path / "manifest.csv").write_text("file,label\nx.wav,human\n")
    assert evaluate.main([str(tmp_path)]) == 2
    assert "lacks column" in capsys.readouterr().err
    (tmp_path / "manifest.csv").write_text(HEADER + "x.wav,human,1.0,,\n")
    assert evaluate.main([str(tmp_path)]) == 2  # nothing left to evaluate
    assert evaluate.main([str(tmp_path), "--detector", "magic"]) == 2
    assert "unknown detector" in capsys.readouterr().err


def test_bench_runs(corpus: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert evaluate.main([str(corpus), "--bench", "5", "--bench-seconds", "2", "--json"]) == 0
    (r,) = json.loads(capsys.readouterr().out)["bench"]
    assert r["calls"] == 5 and r["frames"] == 5 * 100 and r["us_per_frame"] > 0


def test_clips_out(corpus: Path, tmp_path: Path) -> None:
    log = tmp_path / "clips.jsonl"
    assert evaluate.main([str(corpus), "--clips-out", str(log)]) == 0
    rows = [json.loads(line) for line in log.read_text().splitlines()]
    assert len(rows) == 4 and {r["predicted"] for r in rows} == {"human", "machine", "fax",
                                                                 "silence"}


def outcome(label: str, predicted: str, decided: float | None, speech_end: float | None = None,
            beep_end: float | None = None, drop: float | None = None,
            file: str = "x") -> ClipOutcome:
    truth = ClipTruth(file, label, speech_end, None if beep_end is None else beep_end - 0.5,
                      beep_end)
    return ClipOutcome(truth, predicted, decided, "", drop, "beep" if drop else "", 10, 1e-5)


def test_metric_definitions() -> None:
    outs = [
        outcome("human", "human", 1.6, speech_end=1.0, file="a"),
        outcome("human", "machine", 3.0, speech_end=1.0, file="b"),
        outcome("machine", "machine", 5.0, speech_end=6.0, beep_end=7.0, drop=7.05, file="c"),
        outcome("machine", "machine", 5.0, speech_end=6.0, beep_end=7.0, drop=6.9, file="d"),
        outcome("machine", "human", 2.0, speech_end=6.0, beep_end=7.0, file="e"),
        outcome("fax", "none", None, file="f"),
    ]
    s = summarize("x", outs)
    assert s["clips"] == 6
    assert s["accuracy"] == round(3 / 6, 4)
    assert s["human_as_machine"] == 0.5
    assert s["machine_as_human"] == round(1 / 3, 4)
    assert s["confusion"]["fax"]["none"] == 1
    assert s["human_decision_after_speech_end_s"] == {"median": 0.6, "p95": 0.6}
    assert s["machine_decision_s"]["median"] == 5.0
    vm = s["vm_drop_error_s"]
    # one of three beeped machines starts 0-300 ms after the beep; the early one and
    # the one judged human do not
    assert vm["within_300ms"] == round(1 / 3, 4) and vm["n"] == 3
    assert vm["median"] == pytest.approx(np.median([0.05, -0.1]), abs=1e-4)
    assert s["cpu_us_per_frame"] == 1.0


def test_paired_human_decisions() -> None:
    runs = {
        "a": [outcome("human", "human", 1.5, 1.0, file="1"), outcome("human", "human", 1.6, 1.0,
                                                                     file="2")],
        "b": [outcome("human", "human", 1.8, 1.0, file="1"), outcome("human", "machine", 2.0,
                                                                     1.0, file="2")],
    }
    p = paired_human_decisions(runs)
    assert p["n"] == 1
    assert p["a"]["median"] == 0.5 and p["b"]["median"] == 0.8
