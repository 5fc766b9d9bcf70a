# SPDX-License-Identifier: GPL-2.0-or-later
"""scripts/bench-sip --quick --json: the SIP capacity bench runs end to end (docs/bench-sip.md).

50 calls held with frames and RTP checked per call, 20 calls/s for 5 s, sipp -> sipp at
50 calls/s; about 25 s. Real PJSIP (our engine) and real sipp on 127.0.0.1 only.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

try:
    import pjsua2  # noqa: F401
except Exception as exc:  # noqa: BLE001
    pytest.skip(f"pjsua2 is not importable ({exc}); run scripts/setup", allow_module_level=True)

pytestmark = [
    pytest.mark.pjsip,
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("sipp") is None, reason="sipp not installed (Debian package sip-tester)"),
]

KEYS = {
    "max_concurrent_calls", "cps_sustained", "sipp_ceiling_cps", "cpu_pct_per_100_calls",
    "rss_mb_per_100_calls", "engine", "min_frames_per_s_per_call", "cps_failures",
    "concurrency", "cps", "sipp_ceiling",
}  # fmt: skip


@pytest.mark.timeout(240)
def test_quick_run_passes_and_reports_every_figure(tmp_path: Path) -> None:
    proc = subprocess.run(
        [str(ROOT / "scripts" / "bench-sip"), "--quick", "--json", "--keep", str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, timeout=220,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout)  # stdout is the JSON object and nothing else
    assert KEYS <= result.keys(), sorted(KEYS - result.keys())

    # held concurrency: the one quick level (50 calls) passed, every call with frames and RTP
    conc = result["concurrency"]
    assert result["max_concurrent_calls"] == 50, conc
    (level,) = conc["levels"]
    assert level["passed"], level["failure"]
    assert level["connected"] == 50
    assert level["calls_without_frames"] == 0 and level["calls_without_rtp"] == 0
    assert level["min_frames_per_s"] >= conc["min_rate_required"]
    assert level["min_rtp_rx_per_s"] >= conc["min_rate_required"]
    assert result["min_frames_per_s_per_call"] == level["min_frames_per_s"]

    # calls per second: 20 cps for 5 s, every call answered, ended by us, with frames
    cps = result["cps"]
    assert result["cps_sustained"] == 20, cps
    assert result["cps_failures"] == {"20": 0}
    (rate,) = cps["tried"]
    assert rate["placed"] == 100 and rate["answered"] == 100 and rate["failures"] == 0
    assert rate["min_frames_per_call"] > 0

    # the sipp reference and the per-100-calls costs are numbers
    assert result["sipp_ceiling_cps"] == 50, result["sipp_ceiling"]
    assert result["cpu_pct_per_100_calls"] > 0
    assert isinstance(result["rss_mb_per_100_calls"], int | float)
    assert result["engine"].get("frame_port") is True
    assert result["engine"].get("call_capacity", 0) >= 1000
    assert result["sipp_uas_died"] == []


def test_help_runs_without_the_engine() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks.sip", "--help"], cwd=ROOT, capture_output=True,
        text=True, timeout=30,
    )  # fmt: skip
    assert proc.returncode == 0
    assert "--quick" in proc.stdout and "--json" in proc.stdout
