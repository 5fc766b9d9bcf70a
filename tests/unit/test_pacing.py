"""CampaignPacing and the predictive model, with a fake clock (dialer/pacing/)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from dialer import events as ev
from dialer.pacing.abandon import AbandonLedger
from dialer.pacing.controller import TICK_S, CampaignPacing
from dialer.pacing.vicidial import VicidialAdaptive

T0 = dt.datetime(2024, 3, 4, 9, 0, tzinfo=dt.UTC).timestamp()


def teach(p: CampaignPacing, *, live: float = 0.3, machine: float = 0.2, handle: float = 120.0,
          n: int = 3000, seed: int = 0) -> None:
    """Feed the statistics as if a campaign had run for a while."""
    rng = np.random.default_rng(seed)
    s = p.stats
    for _ in range(n):
        u = rng.random()
        if u < live:
            ring = min(rng.lognormal(np.log(8.0), 0.45), 16.9)
            delay = rng.lognormal(np.log(1.5), 0.3)
            s.amd(True, delay)
            s.dial_live(ring, ring + delay)
        elif u < live + machine:
            s.amd(False, rng.lognormal(np.log(3.0), 0.3))
            s.dial_machine(min(rng.lognormal(np.log(12.0), 0.3), 16.9))
        else:
            s.dial_none(min(rng.lognormal(np.log(25.0), 0.5), 17.0))
    for _ in range(n // 3):
        s.talked(rng.lognormal(np.log(handle) - 0.27, 0.72))
        s.wrapped(10.0)


def staff(p: CampaignPacing, *, ready: int = 0, busy: int = 0, wrap: int = 0, now: float = T0,
          busy_for: float = 60.0, wrap_for: float = 2.0) -> None:
    for i in range(ready):
        p.agent_ready(f"r{i}", now - 5)
    for i in range(busy):
        p.agent_busy(f"b{i}", now - busy_for)
    for i in range(wrap):
        p.agent_wrap_up(f"w{i}", now - wrap_for)


def ring(p: CampaignPacing, count: int, now: float = T0, rung_for: float = 3.0) -> None:
    for i in range(count):
        p.call_dialed(f"c{i}", now - rung_for)


# ------------------------------------------------------------------ modes


@pytest.mark.parametrize(
    ("mode", "ratio", "ready", "busy", "ringing", "expected"),
    [
        ("progressive", 1.5, 3, 5, 0, 3),
        ("progressive", 1.5, 3, 5, 2, 1),
        ("progressive", 1.5, 3, 5, 4, 0),  # never more lines than free agents
        ("power", 1.5, 2, 2, 0, 4),  # round(1.5 * 4) = 6 lines, 2 of them bridged
        ("power", 2.0, 2, 3, 1, 6),  # 10 lines - 1 ringing - 3 bridged
        ("power", 2.0, 0, 4, 4, 0),
        ("predictive", 1.5, 4, 2, 1, 3),  # cold start: progressive
    ],
)
def test_modes(mode: str, ratio: float, ready: int, busy: int, ringing: int, expected: int) -> None:
    p = CampaignPacing(mode, power_ratio=ratio)
    staff(p, ready=ready, busy=busy)
    ring(p, ringing)
    assert p.decide(T0) == expected


@pytest.mark.parametrize("mode", ["progressive", "power", "predictive", "vicidial"])
def test_no_agents_no_dials(mode: str) -> None:
    p = CampaignPacing(mode)
    teach(p)
    assert p.decide(T0) == 0
    p.agent_ready("a", T0)
    p.agent_away("a", T0 + 1)
    assert p.decide(T0 + 1) == 0


def test_bad_settings() -> None:
    with pytest.raises(ValueError):
        CampaignPacing("turbo")
    with pytest.raises(ValueError):
        CampaignPacing("predictive", target_abandon_rate=0.05)
    with pytest.raises(ValueError):
        CampaignPacing("power", power_ratio=0.5)


def test_cold_start_is_progressive() -> None:
    p = CampaignPacing("predictive")
    staff(p, ready=3, busy=10, busy_for=115.0)
    assert p.decide(T0) == 3
    assert p.diagnostics(T0)["active"] == "progressive (cold start)"


# ------------------------------------------------------------------ predictive


def test_predictive_dials_ahead_of_agents_finishing() -> None:
    p = CampaignPacing("predictive")
    teach(p)
    staff(p, ready=0, busy=20, wrap=5, busy_for=110.0, wrap_for=1.0)
    # Five agents leave wrap-up in 9 s. Dialing now would bring some people in before
    # then, so the model waits...
    assert p.decide(T0) == 0
    # ...until the wrap-ups end about when a new dial's person would answer (30 % are live).
    n = p.decide(T0 + 4.0)
    assert p.diagnostics(T0)["active"] == "predictive"
    assert 5 <= n <= 5 / 0.3 + 3  # progressive would dial nothing: nobody is free yet


def test_predictive_holds_back_when_lines_cover_the_agents() -> None:
    p = CampaignPacing("predictive")
    teach(p)
    staff(p, ready=2, busy=18, busy_for=5.0)
    ring(p, 30)  # ~9 live answers on their way for 2 free agents
    assert p.decide(T0) == 0


@pytest.mark.parametrize("busy_for", [5.0, 60.0, 200.0])
def test_higher_target_never_dials_less(busy_for: float) -> None:
    got = []
    for target in (0.005, 0.01, 0.02, 0.03):
        p = CampaignPacing("predictive", target_abandon_rate=target)
        teach(p)
        staff(p, ready=1, busy=30, wrap=2, busy_for=busy_for)
        ring(p, 4)
        got.append(p.decide(T0))
    assert got == sorted(got)


def test_predictive_never_below_progressive() -> None:
    p = CampaignPacing("predictive")
    teach(p)
    staff(p, ready=10, busy=0)
    assert p.decide(T0) >= 10


def test_spent_budget_falls_back_to_progressive() -> None:
    ledger = AbandonLedger()
    ledger.record(T0 - 60, live=1000, abandoned=100)  # 10 % today: far over the 3 % cap
    p = CampaignPacing("predictive", ledger=ledger)
    teach(p)
    staff(p, ready=2, busy=20, busy_for=110.0)
    assert p.decide(T0) == 2
    assert p.diagnostics(T0)["active"] == "progressive (abandon budget spent)"


def test_feedback_lowers_theta_after_abandons() -> None:
    def run(abandons: int) -> CampaignPacing:
        p = CampaignPacing("predictive")
        teach(p)
        staff(p, ready=1, busy=20)
        for i in range(100):
            p.call_dialed(f"x{i}", T0)
            p.call_answered(f"x{i}", T0 + 5)
            p.call_amd(f"x{i}", "human", T0 + 6)
            if i < abandons:
                p.call_abandoned(f"x{i}", T0 + 8)
            else:
                p.call_connected_to_agent(f"x{i}", T0 + 6.5)
        return p

    bad, good = run(abandons=8), run(abandons=0)
    assert bad.theta(T0 + 10) < good.theta(T0 + 10)
    assert bad.diagnostics(T0 + 10)["feedback"] < 1.0 < good.diagnostics(T0 + 10)["feedback"]


# ------------------------------------------------------------------ events


def test_call_lifecycle_and_abandon_accounting() -> None:
    p = CampaignPacing("predictive")
    p.agent_ready("a1", T0)
    p.call_dialed("c1", T0)
    p.call_dialed("c2", T0)
    p.call_dialed("c3", T0)
    assert p.lines_in_progress == 3 and len(p.ringing) == 3
    p.call_answered("c1", T0 + 6)
    assert len(p.in_amd) == 1
    p.call_amd("c1", "human", T0 + 7.5)
    assert len(p.waiting) == 1
    p.call_connected_to_agent("c1", T0 + 8.0, "a1")  # 0.5 s after the greeting: in time
    assert p.busy == {"a1": T0 + 8.0} and not p.ready
    p.call_answered("c2", T0 + 9)
    p.call_amd("c2", "human", T0 + 10)
    p.call_abandoned("c2", T0 + 12)  # nobody free within 2 s
    p.call_ended("c3", "no_answer", T0 + 17)
    assert p.lines_in_progress == 0
    day = p.ledger.day(T0)
    assert (day.live, day.abandoned) == (2, 1)
    p.agent_wrap_up("a1", T0 + 100)
    p.agent_ready("a1", T0 + 110)
    assert p.stats.talk.samples == 1 and p.stats.wrap.samples == 1
    assert p.stats.talk.mean == pytest.approx(92.0)


def test_late_bridge_counts_as_abandoned() -> None:
    p = CampaignPacing("power")
    p.call_dialed("c", T0)
    p.call_answered("c", T0 + 5)
    p.call_amd("c", "human", T0 + 6)
    p.call_connected_to_agent("c", T0 + 8.5, "a")
    assert p.ledger.day(T0).abandoned == 1


def test_machines_need_no_agent_and_uk_counts_estimated_false_positives() -> None:
    us = CampaignPacing("predictive", rules="US", amd_false_positive_share=0.1)
    uk = CampaignPacing("predictive", rules="UK", amd_false_positive_share=0.1)
    for p in (us, uk):
        p.call_dialed("m", T0)
        p.call_answered("m", T0 + 10)
        p.call_amd("m", "machine", T0 + 13)
        assert p.lines_in_progress == 0
    assert us.ledger.day(T0).live == 0
    assert uk.ledger.day(T0).abandoned == pytest.approx(0.1)


def test_without_amd_an_answer_needs_an_agent_at_once() -> None:
    p = CampaignPacing("predictive", amd_enabled=False)
    p.call_dialed("c", T0)
    p.call_answered("c", T0 + 7)
    assert len(p.waiting) == 1
    assert p.stats.demand.samples == 1


def test_snapshot_is_a_pacing_updated_event() -> None:
    p = CampaignPacing("predictive")
    teach(p)
    staff(p, ready=2, busy=8)
    ring(p, 3)
    p.decide(T0)
    snap = p.snapshot(T0 + 1)
    event = ev.PacingUpdated(at=T0 + 1, campaign="c", **snap)
    assert event.ready_agents == 2 and event.lines_in_progress == 3
    assert event.dial_level == pytest.approx((3 + 8) / 10)
    assert 0.25 < event.answer_rate < 0.35
    assert p.next_decision_at() == T0 + TICK_S


# ------------------------------------------------------------------ vicidial


def test_vicidial_level_rises_with_idle_agents_and_is_clamped() -> None:
    v = VicidialAdaptive("UTC")
    for i in range(301):
        v.observe(T0 + i, ready=5, waiting=0, agents=10)
    assert v.level == 3.0
    v2 = VicidialAdaptive("UTC", initial_level=2.0)
    for i in range(16):
        v2.observe(T0 + i, ready=0, waiting=2, agents=10)
    assert v2.level == pytest.approx(2.0 * (1 - 2 / 10))


@pytest.mark.parametrize(
    ("hhmm", "expected"),
    [("10:00", 2.0), ("14:30", 2.0 * 0.67), ("20:00", 1.0), ("21:30", 1.0)],
)
def test_vicidial_tapers_when_today_is_over_the_drop_limit(hhmm: str, expected: float) -> None:
    start = dt.datetime.fromisoformat(f"2024-03-04T{hhmm}:00+00:00").timestamp()
    v = VicidialAdaptive("UTC", initial_level=2.0)
    for i in range(60):
        v.dialed(start - 100 + i)
    for i in range(20):
        v.live_answer(start - 50 + i, dropped=i < 2)  # 10 % of today's answers dropped
    for i in range(16):
        v.observe(start + i, ready=1, waiting=1, agents=10)  # differential 0
    assert v.level == pytest.approx(max(expected, 1.0))


def test_vicidial_places_level_times_agents_minus_lines() -> None:
    v = VicidialAdaptive(initial_level=2.0)
    assert v.lines(ready=2, talking=8, in_progress=5) == 20 - 5 - 8
    assert v.lines(ready=0, talking=10, in_progress=15) == 0
