# SPDX-License-Identifier: GPL-2.0-or-later
"""What a bench-sip run does: levels, rates, durations (the full run and ``--quick``)."""

from __future__ import annotations

from dataclasses import dataclass

FRAMES_PER_S = 50  # 20 ms frames
SATURATED_PCT = 95.0  # a thread using this much of one core is saturated
OVERLOAD_BACKLOG_S = 3.0  # cps: stop originating when this many seconds of calls wait for an answer


@dataclass(frozen=True)
class Plan:
    levels: tuple[int, ...] = (100, 200, 300, 400, 500, 600, 700, 850, 1000)
    hold_s: float = 10.0  # each concurrency level is measured over this window
    setup_cps: float = 200.0  # how fast new calls are added between levels
    min_rate: float = 45.0  # frames/s and RTP packets/s every call must reach (50 = all)
    cps_rates: tuple[float, ...] = (50, 100, 150, 200, 250, 300)
    cps_duration_s: float = 30.0
    cps_hold_s: float = 1.5
    ceiling_rates: tuple[float, ...] = (200, 400, 800, 1600, 3200, 6400)
    ceiling_duration_s: float = 4.0
    quick: bool = False


FULL = Plan()
QUICK = Plan(
    levels=(50,), hold_s=5.0, setup_cps=100.0, cps_rates=(20,), cps_duration_s=5.0,
    ceiling_rates=(50,), ceiling_duration_s=3.0, quick=True,
)
