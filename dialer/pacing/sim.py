"""A discrete-event simulation of one outbound campaign, driving the real pacer.

The world: agents log in for their shifts; each dial rings and is answered by
a person (``live_answer_probability``, optionally varying by hour), by a
machine (``machine_share``) or by nobody until it gives up (at most the ring
timeout). With AMD on, an answer is classified after a delay, with false
positives (a person hung up on) and false negatives (a machine sent to an
agent). A person classified human (or any answer, with AMD off) needs an agent:
the longest-waiting Ready agent takes the call; if none is free within the
2-second grace the call is abandoned (:mod:`dialer.pacing.abandon`). Agents
talk, wrap up and become Ready again.

The pacer is :class:`dialer.pacing.controller.CampaignPacing`, exactly as the
daemon runs it, fed the same events; it decides after every event and at least
every 0.5 s of virtual time. The clock is virtual (epoch seconds from the
scenario's ``start_date``); nothing here reads a real one.
"""

from __future__ import annotations

import datetime as dt
import heapq
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from dialer.errors import ConfigError
from dialer.pacing.abandon import GRACE_S, is_abandoned
from dialer.pacing.controller import TICK_S, CampaignPacing
from dialer.pacing.distributions import Sampler, Uniforms
from dialer.pacing.scenario import Scenario

DecideHook = Callable[[Callable[[float], int], float], int]

# Event kinds (heap entries are (time, seq, kind, arg)).
ANSWER, NO_ANSWER, VERDICT, GRACE, TALK_END, WRAP_END, TICK, LOGIN, LOGOUT, SAMPLE, RESET = range(11)
LIVE, MACHINE, NOBODY = 0, 1, 2
AWAY, READY, BUSY, WRAP = 0, 1, 2, 3
SAMPLE_S = 60.0

PACERS = ("predictive", "progressive", "power", "vicidial")


@dataclass(frozen=True)
class PacerSpec:
    label: str  # as given: "power:2", "predictive:0.01"
    mode: str
    target: float
    ratio: float


def parse_pacer(spec: str, scenario: Scenario) -> PacerSpec:
    """``predictive[:TARGET]``, ``progressive``, ``power[:RATIO]`` or ``vicidial``."""
    name, _, arg = spec.partition(":")
    if name not in PACERS:
        raise ConfigError("--pacer", f"unknown pacer {spec!r}; use one of {', '.join(PACERS)}")
    target, ratio = scenario.pacer.target_abandon_rate, scenario.pacer.power_ratio
    if arg:
        try:
            value = float(arg)
        except ValueError:
            raise ConfigError("--pacer", f"{spec!r}: {arg!r} is not a number") from None
        if name == "power":
            if value < 1:
                raise ConfigError("--pacer", "power:R needs R >= 1")
            ratio = value
        elif name == "predictive":
            if not 0 < value <= 0.03:
                raise ConfigError("--pacer", "predictive:T needs 0 < T <= 0.03")
            target = value
        else:
            raise ConfigError("--pacer", f"{name} takes no argument")
    return PacerSpec(spec, name, target, ratio)


@dataclass
class Series:
    """Once a minute of virtual time during shifts (for --plot)."""

    t: list[float] = field(default_factory=list)
    dial_level: list[float] = field(default_factory=list)
    abandon_rate_day: list[float] = field(default_factory=list)
    abandon_rate_run: list[float] = field(default_factory=list)
    occupancy: list[float] = field(default_factory=list)  # over the last minute


@dataclass
class RunResult:
    pacer: str
    scenario: str
    hours: float
    occupancy: float
    agent_wait_s_per_call: float
    abandon_rate: float
    max_daily_abandon_rate: float
    connects_per_agent_hour: float
    dials: int
    live_answers: int
    abandoned: int
    days: list[dict[str, Any]]
    series: Series
    decisions: int

    def summary(self) -> dict[str, Any]:
        """The one-line JSON record of ``dialer simulate --json``."""
        return {
            "pacer": self.pacer,
            "occupancy": round(self.occupancy, 4),
            "agent_wait_s_per_call": round(self.agent_wait_s_per_call, 2),
            "abandon_rate": round(self.abandon_rate, 5),
            "max_daily_abandon_rate": round(self.max_daily_abandon_rate, 5),
            "connects_per_agent_hour": round(self.connects_per_agent_hour, 3),
            "dials": self.dials,
            "live_answers": self.live_answers,
            "abandoned": self.abandoned,
        }


def _hhmm(value: str) -> float:
    h, m = value.split(":")
    return int(h) * 3600.0 + int(m) * 60.0


class Simulation:
    """One run of one pacer on one scenario."""

    def __init__(self, scenario: Scenario, pacer: str = "predictive", *, seed: int | None = None,
                 hours: float | None = None, decide_hook: DecideHook | None = None) -> None:
        self.sc = scenario
        self.spec = parse_pacer(pacer, scenario)
        self.hours = float(hours if hours is not None else scenario.hours)
        if not self.hours > 0:
            raise ConfigError("--hours", "must be positive")
        rng = np.random.default_rng(scenario.seed if seed is None else seed)
        sc = scenario
        t_out = sc.ring_timeout_s
        self.u = Uniforms(rng)
        self.s_answer = Sampler(sc.answer_time, rng, upper=t_out)
        self.s_machine_answer = Sampler(sc.machine_answer_time, rng, upper=t_out)
        self.s_no_answer = Sampler(sc.no_answer_time, rng)
        self.s_amd_human = Sampler(sc.amd_delay, rng)
        self.s_amd_machine = Sampler(sc.amd_machine_delay, rng)
        self.s_talk = Sampler(sc.handle_time, rng, mean_s=sc.handle_time_mean_s)
        self.s_wrap = Sampler(sc.wrap_up, rng)
        self.s_machine_talk = Sampler(sc.machine_talk, rng)
        # What a UK dialer would estimate: the share of "machine" verdicts that were people.
        p, m = sc.live_answer_probability, sc.machine_share
        fp, fn = sc.amd_false_positive_rate, sc.amd_false_negative_rate
        machine_verdicts = p * fp + m * (1.0 - fn)
        fp_share = p * fp / machine_verdicts if machine_verdicts > 0 else 0.0
        self.ctrl = CampaignPacing(
            self.spec.mode, self.spec.target, self.spec.ratio,
            amd_enabled=sc.amd, rules=sc.rules, timezone="UTC", amd_false_positive_share=fp_share,
        )
        self.decide_hook = decide_hook
        self._build_schedule()

    # ------------------------------------------------------------ schedule

    def _build_schedule(self) -> None:
        sc = self.sc
        if sc.shifts:
            shifts = [(_hhmm(s.start), _hhmm(s.end), s.agents or sc.agents) for s in sc.shifts]
        else:
            start = _hhmm(sc.shift_start)
            end = min(start + sc.shift_hours * 3600.0, 86400.0)
            shifts = [(start, end, sc.agents)]
        first = min(s[0] for s in shifts)
        last = max(s[1] for s in shifts)
        day_len = last - first
        n_days = max(1, math.ceil(self.hours * 3600.0 / day_len - 1e-9))
        cut_last = first + (self.hours * 3600.0 - (n_days - 1) * day_len)
        day0 = dt.datetime.fromisoformat(sc.start_date).replace(tzinfo=dt.UTC).timestamp()
        self.day0 = day0
        self.n_agents = sum(s[2] for s in shifts)
        self.windows: list[tuple[float, float]] = []  # dialing windows
        self.logins: list[tuple[float, float, int, int]] = []  # (start, end, first agent, count)
        self.measure_from = -math.inf
        first_day = 0
        if sc.warmup_hours > 0:
            # A warm-up shift the day before: the pacer learns, the metrics start afresh after.
            first_day = -1
            self.measure_from = day0 + first
        for d in range(first_day, n_days):
            base = day0 + d * 86400.0
            cut = cut_last if d == n_days - 1 else last
            if d < 0:
                cut = min(last, first + sc.warmup_hours * 3600.0)
            first_agent = 0
            for start, end, count in shifts:
                end = min(end, cut)
                if end > start:
                    self.logins.append((base + start, base + end, first_agent, count))
                first_agent += count
            self.windows.append((base + first, base + min(last, cut) - sc.stop_dialing_before_end_s))

    # ------------------------------------------------------------ the run

    def run(self) -> RunResult:
        sc = self.sc
        ctrl = self.ctrl
        heap: list[tuple[float, int, int, Any]] = []
        seq = 0

        def push(t: float, kind: int, arg: Any) -> None:
            nonlocal seq
            seq += 1
            heapq.heappush(heap, (t, seq, kind, arg))

        if self.measure_from > -math.inf:
            push(self.measure_from, RESET, None)
        for start, end, first_agent, count in self.logins:
            for a in range(first_agent, first_agent + count):
                push(start, LOGIN, a)
                push(end, LOGOUT, a)
        for w_start, w_end in self.windows:
            push(w_start, TICK, w_end)
            push(w_start, SAMPLE, w_end)

        n = self.n_agents
        names = [f"agent{a}" for a in range(n)]
        state = [AWAY] * n
        since = [0.0] * n
        leaving = [False] * n
        agent_call = [0] * n
        ready: dict[int, None] = {}  # insertion order = longest waiting first
        t_ready = t_talk = t_wrap = 0.0
        # calls: id -> [true class, waiting since or -1]
        calls: dict[int, list[Any]] = {}
        waiting: dict[int, float] = {}
        dialing_until = -math.inf
        next_call = 0
        dials = live_answers = abandoned = connects_live = connects = 0
        day_live: dict[int, int] = {}
        day_abandoned: dict[int, int] = {}
        series = Series()
        last_sample = [0.0, 0.0]
        decisions = 0
        last_decision = -math.inf
        p_live_base = sc.live_answer_probability
        p_machine = sc.machine_share
        profile_h = [p[0] for p in sc.live_answer_profile]
        profile_m = [p[1] for p in sc.live_answer_profile]
        p_live = p_live_base
        fp_rate, fn_rate = sc.amd_false_positive_rate, sc.amd_false_negative_rate
        amd, rules, t_out = sc.amd, sc.rules, sc.ring_timeout_s
        max_lines = sc.max_lines
        day0 = self.day0
        decide = ctrl.decide
        hook = self.decide_hook

        def count_live(now: float, was_abandoned: bool) -> None:
            nonlocal live_answers, abandoned
            live_answers += 1
            d = int((now - day0) // 86400.0)
            day_live[d] = day_live.get(d, 0) + 1
            if was_abandoned:
                abandoned += 1
                day_abandoned[d] = day_abandoned.get(d, 0) + 1

        def set_state(a: int, new: int, now: float) -> None:
            nonlocal t_ready, t_talk, t_wrap
            old = state[a]
            spent = now - since[a]
            if old == READY:
                t_ready += spent
                del ready[a]
            elif old == BUSY:
                t_talk += spent
            elif old == WRAP:
                t_wrap += spent
            state[a] = new
            since[a] = now
            if new == READY:
                ready[a] = None

        def bridge(cid: int, a: int, now: float) -> None:
            nonlocal connects, connects_live
            klass = calls[cid][0]
            if state[a] != READY:
                ctrl.agent_ready(names[a], now)
            set_state(a, BUSY, now)
            ctrl.call_connected_to_agent(str(cid), now, names[a])
            agent_call[a] = cid
            connects += 1
            if klass == LIVE:
                connects_live += 1
                since_greeting = calls[cid][1]
                count_live(now, is_abandoned(now - since_greeting, rules=rules))
                talk = self.s_talk()
            else:
                talk = self.s_machine_talk()
            push(now + talk, TALK_END, a)

        def agent_free(a: int, now: float) -> None:
            if leaving[a]:
                set_state(a, AWAY, now)
                ctrl.agent_away(names[a], now)
                return
            if waiting:
                cid = next(iter(waiting))
                del waiting[cid]
                bridge(cid, a, now)
                return
            set_state(a, READY, now)
            ctrl.agent_ready(names[a], now)

        def needs_agent(cid: int, now: float) -> None:
            calls[cid][1] = now
            if ready:
                a = next(iter(ready))
                bridge(cid, a, now)
            else:
                waiting[cid] = now
                push(now + GRACE_S, GRACE, cid)

        def end_call(cid: int, outcome: str, now: float) -> None:
            calls.pop(cid, None)
            ctrl.call_ended(str(cid), outcome, now)

        while heap:
            now, _, kind, arg = heapq.heappop(heap)
            if kind == ANSWER:
                cid = arg
                klass = calls[cid][0]
                ctrl.call_answered(str(cid), now)
                if amd:
                    if klass == LIVE:
                        human = self.u() >= fp_rate
                    else:
                        human = self.u() < fn_rate
                    delay = self.s_amd_human() if human else self.s_amd_machine()
                    push(now + delay, VERDICT, (cid, human))
                else:
                    needs_agent(cid, now)
            elif kind == NO_ANSWER:
                end_call(arg, "no_answer", now)
            elif kind == VERDICT:
                cid, human = arg
                ctrl.call_amd(str(cid), "human" if human else "machine", now)
                if human:
                    needs_agent(cid, now)
                else:
                    if calls[cid][0] == LIVE:  # a person hung up on: AMD false positive
                        count_live(now, is_abandoned(None, amd_false_positive=True, rules=rules))
                    end_call(cid, "machine", now)
            elif kind == GRACE:
                cid = arg
                if cid in waiting:
                    del waiting[cid]
                    ctrl.call_abandoned(str(cid), now)
                    if calls[cid][0] == LIVE:
                        count_live(now, is_abandoned(None, rules=rules))
                    end_call(cid, "abandoned", now)
            elif kind == TALK_END:
                a = arg
                cid = agent_call[a]
                end_call(cid, "completed", now)
                wrap = self.s_wrap()
                if wrap > 0:
                    set_state(a, WRAP, now)
                    ctrl.agent_wrap_up(names[a], now)
                    push(now + wrap, WRAP_END, a)
                else:
                    agent_free(a, now)
            elif kind == WRAP_END:
                agent_free(arg, now)
            elif kind == TICK:
                # The timer: a decision at least every TICK_S. Events decide too, so the
                # tick only fires TICK_S after the last decision, whatever caused it.
                dialing_until = arg
                if profile_h:
                    hour = ((now - day0) % 86400.0) / 3600.0
                    p_live = p_live_base * float(np.interp(hour, profile_h, profile_m))
                due = last_decision + TICK_S
                if now < due:
                    if due <= arg:
                        push(due, TICK, arg)
                    continue
                if now + TICK_S <= arg:
                    push(now + TICK_S, TICK, arg)
            elif kind == LOGIN:
                leaving[arg] = False
                if state[arg] == AWAY:
                    since[arg] = now
                    agent_free(arg, now)
            elif kind == LOGOUT:
                a = arg
                if state[a] == READY:
                    set_state(a, AWAY, now)
                    ctrl.agent_away(names[a], now)
                elif state[a] != AWAY:
                    leaving[a] = True
            elif kind == RESET:
                t_ready = t_talk = t_wrap = 0.0
                dials = live_answers = abandoned = connects_live = connects = 0
                day_live.clear()
                day_abandoned.clear()
                series = Series()
                last_sample[0] = last_sample[1] = 0.0
                decisions = 0
            elif kind == SAMPLE:
                if now + SAMPLE_S <= arg:
                    push(now + SAMPLE_S, SAMPLE, arg)
                work = t_talk + t_wrap
                logged = work + t_ready
                for a in range(n):
                    if state[a] != AWAY:
                        logged += now - since[a]
                        if state[a] != READY:
                            work += now - since[a]
                d = int((now - day0) // 86400.0)
                dl, da = day_live.get(d, 0), day_abandoned.get(d, 0)
                series.t.append(now)
                series.dial_level.append(ctrl.dial_level())
                series.abandon_rate_day.append(da / dl if dl else 0.0)
                series.abandon_rate_run.append(abandoned / live_answers if live_answers else 0.0)
                dw, dlog = work - last_sample[0], logged - last_sample[1]
                series.occupancy.append(dw / dlog if dlog > 0 else 0.0)
                last_sample[0], last_sample[1] = work, logged

            # Decide, unless another event happens at this very instant.
            if now > dialing_until or (heap and heap[0][0] == now):
                continue
            decisions += 1
            last_decision = now
            new = hook(decide, now) if hook is not None else decide(now)
            if max_lines:
                new = min(new, max_lines - len(calls))
            for _ in range(new):
                cid = next_call
                next_call += 1
                dials += 1
                u = self.u()
                ctrl.call_dialed(str(cid), now)
                if u < p_live:
                    calls[cid] = [LIVE, -1.0]
                    push(now + self.s_answer(), ANSWER, cid)
                elif u < p_live + p_machine:
                    calls[cid] = [MACHINE, -1.0]
                    push(now + self.s_machine_answer(), ANSWER, cid)
                else:
                    calls[cid] = [NOBODY, -1.0]
                    push(now + min(self.s_no_answer(), t_out), NO_ANSWER, cid)

        logged = t_ready + t_talk + t_wrap
        days: list[dict[str, Any]] = []
        rates: list[float] = []
        for d in sorted(day_live):
            date = dt.datetime.fromtimestamp(day0 + d * 86400.0 + 43200.0, dt.UTC).date()
            lv, ab = day_live[d], day_abandoned.get(d, 0)
            rates.append(ab / lv if lv else 0.0)
            days.append({"date": date.isoformat(), "live_answers": lv, "abandoned": ab,
                         "abandon_rate": rates[-1]})
        return RunResult(
            pacer=self.spec.label,
            scenario=sc.name,
            hours=self.hours,
            occupancy=(t_talk + t_wrap) / logged if logged else 0.0,
            agent_wait_s_per_call=t_ready / connects if connects else 0.0,
            abandon_rate=abandoned / live_answers if live_answers else 0.0,
            max_daily_abandon_rate=max(rates, default=0.0),
            connects_per_agent_hour=connects_live / (logged / 3600.0) if logged else 0.0,
            dials=dials,
            live_answers=live_answers,
            abandoned=abandoned,
            days=days,
            series=series,
            decisions=decisions,
        )


def simulate(scenario: Scenario, pacer: str = "predictive", *, seed: int | None = None,
             hours: float | None = None, decide_hook: DecideHook | None = None) -> RunResult:
    return Simulation(scenario, pacer, seed=seed, hours=hours, decide_hook=decide_hook).run()
