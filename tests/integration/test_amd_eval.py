"""End to end: scripts/make-amd-corpus builds a small corpus with espeak-ng and sox, and
``dialer amd-eval --json`` scores it, reporting bad rows by line while the rest runs."""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys
import wave
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(
    not (shutil.which("espeak-ng") and shutil.which("sox")), reason="needs espeak-ng and sox"
)

KEYS = {
    "detector", "clips", "accuracy", "human_as_machine", "machine_as_human", "confusion",
    "human_decision_after_speech_end_s", "machine_decision_s", "vm_drop_error_s",
    "cpu_us_per_frame",
}


def dialer_cmd() -> list[str]:
    script = Path(sys.executable).parent / "dialer"
    return [str(script)] if script.exists() else [sys.executable, "-m", "dialer.cli"]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("amd") / "corpus"
    done = subprocess.run([str(ROOT / "scripts/make-amd-corpus"), str(out), "24", "11"],
                          capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr
    return out


def test_corpus_layout(corpus: Path) -> None:
    rows = list(csv.DictReader(open(corpus / "manifest.csv")))
    assert len(rows) == 24
    assert {r["label"] for r in rows} == {"human", "machine", "fax", "silence"}
    for r in rows:
        with wave.open(str(corpus / r["file"])) as w:
            assert (w.getframerate(), w.getnchannels(), w.getsampwidth()) == (8000, 1, 2)
        if r["label"] in ("human", "machine"):
            assert float(r["speech_end_s"]) > 0
        else:
            assert r["speech_end_s"] == "" and r["beep_end_s"] == ""
    assert len((corpus / "meta.jsonl").read_text().splitlines()) == 24


def test_generation_is_deterministic(tmp_path: Path) -> None:
    runs = []
    for name in ("a", "b"):
        subprocess.run([str(ROOT / "scripts/make-amd-corpus"), str(tmp_path / name), "6", "5",
                        "--split", "tune"], check=True, capture_output=True, timeout=120)
        runs.append(tmp_path / name)
    a, b = runs
    assert (a / "manifest.csv").read_text() == (b / "manifest.csv").read_text()
    for wav in sorted(a.glob("*.wav")):
        assert wav.read_bytes() == (b / wav.name).read_bytes(), wav.name


def test_eval_json_shape_and_bad_rows(corpus: Path, tmp_path: Path) -> None:
    work = tmp_path / "work"
    shutil.copytree(corpus, work)
    with wave.open(str(work / "wide.wav"), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(b"\0\0" * 16000)
    raw = (work / "clip0000.wav").read_bytes()
    (work / "cut.wav").write_bytes(raw[: len(raw) // 3])
    (work / "empty.wav").write_bytes(b"")
    with open(work / "manifest.csv", "a") as f:
        f.write("wide.wav,silence,,,\n")  # line 26
        f.write("cut.wav,human,1.0,,\n")
        f.write("empty.wav,silence,,,\n")
        f.write("gone.wav,machine,3.0,3.5,3.9\n")  # line 29

    done = subprocess.run([*dialer_cmd(), "amd-eval", str(work), "--json"],
                          capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert done.returncode == 1, done.stderr  # some rows were bad, the rest was scored
    doc = json.loads(done.stdout)
    assert KEYS <= set(doc)
    assert doc["detector"] == "dialer" and doc["clips"] == 24
    for key in ("accuracy", "human_as_machine", "machine_as_human"):
        assert 0.0 <= doc[key] <= 1.0
    assert set(doc["confusion"]) == {"human", "machine", "fax", "silence"}
    assert sum(sum(r.values()) for r in doc["confusion"].values()) == 24
    assert set(doc["human_decision_after_speech_end_s"]) == {"median", "p95"}
    assert {"median", "p95", "within_300ms"} <= set(doc["vm_drop_error_s"])
    assert doc["cpu_us_per_frame"] > 0
    lines = {e["line"]: e["error"] for e in doc["errors"]}
    assert sorted(lines) == [26, 27, 28, 29]
    assert "sample rate 16000" in lines[26]
    assert "truncated" in lines[27]
    assert "not a readable" in lines[28]
    assert "not found" in lines[29]
    assert "manifest.csv line 29: gone.wav" in done.stderr


def test_eval_side_by_side_table(corpus: Path) -> None:
    done = subprocess.run([*dialer_cmd(), "amd-eval", str(corpus), "--detector", "all"],
                          capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert "dialer" in done.stdout and "asterisk" in done.stdout
    assert "human taken for machine" in done.stdout
