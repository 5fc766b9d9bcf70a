"""CampaignPacing: one campaign's pacer, driven by the daemon's events or by the simulator.

Sans-I/O: every method takes ``now`` (epoch seconds) and nothing reads a clock.
The daemon calls the event methods as things happen, :meth:`CampaignPacing.decide`
at least every :data:`TICK_S` and after every event, and publishes
:meth:`CampaignPacing.snapshot` as a ``PacingUpdated`` event. The simulator in
:mod:`dialer.pacing.sim` drives exactly the same class.

Modes:
  - ``progressive``: one line per free agent; never abandons.
  - ``power``: ``power_ratio`` lines per working (Ready + talking) agent,
    counting calls already bridged, like a fixed dial level.
  - ``predictive``: the model in :mod:`dialer.pacing.model`, aimed at
    ``target_abandon_rate``. It runs progressive while its statistics are
    untrusted (cold start) and whenever an abandon window has no budget left.
  - ``vicidial``: VICIdial's ADAPT_TAPERED, for comparison in the simulator.

Abandons are counted in an :class:`~dialer.pacing.abandon.AbandonLedger`
(``self.ledger``) with the definition in :mod:`dialer.pacing.abandon`; persist
``ledger.to_dict()`` and pass ``AbandonLedger.from_dict(...)`` back in.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from dialer.pacing.abandon import GRACE_S, LEGAL_CAP, AbandonLedger, Rules, is_abandoned
from dialer.pacing.model import PredictiveModel
from dialer.pacing.stats import CampaignStats, Trust
from dialer.pacing.vicidial import VicidialAdaptive

TICK_S = 0.5  # decide at least this often (issue 4), and on every call or agent event
MODES = ("predictive", "progressive", "power", "vicidial")
HUMAN_VERDICTS = frozenset({"human", "person", "live"})


@dataclass(frozen=True)
class PredictiveSettings:
    """Knobs of the predictive mode. The defaults serve every campaign size."""

    refresh_s: float = 20.0  # rebuild the model's tables at most this often...
    refresh_samples: int = 200  # ...or after this many new samples, whichever is later
    feedback_gain: float = 0.005  # log-step of the correction per abandon (see _feedback)
    feedback_min: float = 0.25  # bounds of the correction factor on the target
    feedback_max: float = 4.0
    lookahead_s: float = 1800.0  # budget windows: steer to the target over this long...
    cap_lookahead_s: float = 300.0  # ...at least this long; the 3 % cap within this long
    min_theta_share: float = 0.05  # never plan for less than target * this...
    max_theta_share: float = 4.0  # ...nor more than target * this (before feedback)
    aim_sd: float = 0.5  # aim this many standard deviations of a day's rate under the target
    min_aim_share: float = 0.5  # ...but at least this share of the target (see aim())
    max_lines_per_agent: float = 6.0  # hard cap on lines in progress per working agent
    trust: Trust = Trust()


class CampaignPacing:
    """Pacing state and decisions for one campaign."""

    def __init__(
        self,
        mode: str = "predictive",
        target_abandon_rate: float = 0.025,
        power_ratio: float = 1.5,
        *,
        amd_enabled: bool = True,
        rules: Rules = "US",
        timezone: str = "UTC",
        amd_false_positive_share: float = 0.0,
        ledger: AbandonLedger | None = None,
        settings: PredictiveSettings | None = None,
    ) -> None:
        if mode not in MODES:
            raise ValueError(f"unknown pacing mode {mode!r}; use one of {', '.join(MODES)}")
        if not 0 < target_abandon_rate <= LEGAL_CAP:
            raise ValueError("target_abandon_rate must be in (0, 0.03]")
        if power_ratio < 1:
            raise ValueError("power_ratio must be at least 1")
        self.mode = mode
        self.target = target_abandon_rate
        self.power_ratio = power_ratio
        self.amd_enabled = amd_enabled
        self.rules: Rules = rules
        # UK only: share of AMD "machine" verdicts that were really people (an estimate).
        self.amd_false_positive_share = amd_false_positive_share
        self.settings = settings or PredictiveSettings()
        self.ledger = ledger or AbandonLedger(timezone)
        self.stats = CampaignStats()
        self.model = PredictiveModel(amd_enabled=amd_enabled)
        self.vicidial = VicidialAdaptive(timezone) if mode == "vicidial" else None
        # Agents: id -> time of entering the state.
        self.ready: dict[str, float] = {}
        self.busy: dict[str, float] = {}
        self.wrapping: dict[str, float] = {}
        # Lines: call id -> time of entering the stage; dial times for every open line.
        self.ringing: dict[str, float] = {}
        self.in_amd: dict[str, float] = {}
        self.waiting: dict[str, float] = {}
        self._dialed_at: dict[str, float] = {}
        self._answered_at: dict[str, float] = {}
        self._bridged: set[str] = set()
        self._log_feedback = 0.0
        self._aim = target_abandon_rate
        self._refreshed_at = -math.inf
        self._refreshed_version = -1
        self._refreshing = False
        self._last_decision = -math.inf
        self._trusted = False
        self._theta_cache: tuple[int, float, float] = (-1, -math.inf, 0.0)  # version, until, value
        self.active = "progressive"  # what the last decision actually ran, for snapshots
        # Occupancy: exponentially decayed agent-seconds (30 min), updated on every event.
        self._occ_t: float | None = None
        self._occ_work = 0.0
        self._occ_logged = 0.0
        # Live answers per logged-in agent-second, forgetting over ~500 live answers
        # (for the budget lookahead); per agent, so a night without agents changes nothing.
        self._lives_acc = 0.0
        self._agent_secs_acc = 0.0

    # ================================================================ agent events

    def _occupancy_tick(self, now: float) -> None:
        if self._occ_t is None:
            self._occ_t = now
            return
        dt = now - self._occ_t
        if dt <= 0:
            return
        keep = math.exp(-dt / 1800.0)
        working = len(self.busy) + len(self.wrapping)
        logged = working + len(self.ready)
        self._agent_secs_acc += logged * dt
        self._occ_work = self._occ_work * keep + working * (1.0 - keep) * 1800.0
        self._occ_logged = self._occ_logged * keep + logged * (1.0 - keep) * 1800.0
        self._occ_t = now

    def _leave(self, agent_id: str, now: float) -> None:
        """Take the agent out of its current state, learning what that state lasted."""
        if agent_id in self.busy:
            self.stats.talked(now - self.busy.pop(agent_id))
        elif agent_id in self.wrapping:
            self.stats.wrapped(now - self.wrapping.pop(agent_id))
        else:
            self.ready.pop(agent_id, None)

    def agent_ready(self, agent_id: str, now: float) -> None:
        self._occupancy_tick(now)
        if agent_id in self.busy:  # no wrap-up at all
            self.stats.wrapped(0.0)
        self._leave(agent_id, now)
        self.ready[agent_id] = now

    def agent_busy(self, agent_id: str, now: float) -> None:
        """The agent is talking (bridged to a customer, or on a call of their own)."""
        self._occupancy_tick(now)
        if agent_id in self.busy:
            return
        self._leave(agent_id, now)
        self.busy[agent_id] = now

    def agent_wrap_up(self, agent_id: str, now: float) -> None:
        self._occupancy_tick(now)
        if agent_id in self.wrapping:
            return
        self._leave(agent_id, now)
        self.wrapping[agent_id] = now

    def agent_away(self, agent_id: str, now: float) -> None:
        """Logged out, paused or otherwise not taking calls."""
        self._occupancy_tick(now)
        self.busy.pop(agent_id, None)
        self.wrapping.pop(agent_id, None)
        self.ready.pop(agent_id, None)

    # ================================================================ call events

    def call_dialed(self, call_id: str, now: float) -> None:
        self.ringing[call_id] = now
        self._dialed_at[call_id] = now
        if self.vicidial is not None:
            self.vicidial.dialed(now)

    def call_answered(self, call_id: str, now: float) -> None:
        if self.ringing.pop(call_id, None) is None:
            return
        self._answered_at[call_id] = now
        if self.amd_enabled:
            self.in_amd[call_id] = now
        else:
            # No AMD: the answer is the greeting; a person (or machine) needs an agent now.
            ring = now - self._dialed_at[call_id]
            self.stats.dial_live(ring, ring)
            self.waiting[call_id] = now

    def call_amd(self, call_id: str, verdict: str, now: float) -> None:
        """AMD's verdict: ``human`` needs an agent; anything else (machine, fax...) does not."""
        answered = self.in_amd.pop(call_id, None)
        if answered is None:
            return
        ring = answered - self._dialed_at[call_id]
        human = verdict.lower() in HUMAN_VERDICTS
        self.stats.amd(human, now - answered)
        if human:
            self.stats.dial_live(ring, now - self._dialed_at[call_id])
            self.waiting[call_id] = now
        else:
            self.stats.dial_machine(ring)
            self._forget(call_id)
            share = self.amd_false_positive_share
            if self.rules == "UK" and share > 0:
                # Ofcom counts AMD false positives: add the estimated share of a person.
                self._live_outcome(now, abandoned=share, live=share)

    def call_connected_to_agent(self, call_id: str, now: float, agent_id: str | None = None) -> None:
        """The customer and an agent hear each other (the agent is then busy)."""
        if agent_id is not None:
            self.agent_busy(agent_id, now)
        since = self.waiting.pop(call_id, None)
        if since is None:
            # Bridged straight from ringing or AMD (e.g. a progressive call with AMD off).
            if call_id in self.ringing or call_id in self.in_amd:
                self.ringing.pop(call_id, None)
                self.in_amd.pop(call_id, None)
                dialed = self._dialed_at.get(call_id, now)
                self.stats.dial_live(now - dialed, now - dialed)
                since = now
            else:
                return
        self._bridged.add(call_id)
        self._live_outcome(now, abandoned=float(is_abandoned(now - since, rules=self.rules)))

    def call_abandoned(self, call_id: str, now: float) -> None:
        """The dialer gave up on a live person (2 s passed with no agent: safe-harbor message)."""
        since = self.waiting.pop(call_id, None)
        if since is None:
            return
        self._forget(call_id)
        self._live_outcome(now, abandoned=float(is_abandoned(None, rules=self.rules)))

    def call_ended(self, call_id: str, outcome: str, now: float) -> None:
        """The call is over, for whatever reason (``outcome`` is informational)."""
        if call_id in self.ringing:
            self.stats.dial_none(now - self.ringing.pop(call_id))
        elif call_id in self.in_amd:
            # Hung up during AMD: nobody needs an agent; count it with the machines.
            answered = self.in_amd.pop(call_id)
            self.stats.dial_machine(answered - self._dialed_at[call_id])
        elif call_id in self.waiting:
            since = self.waiting.pop(call_id)
            hung_up = is_abandoned(None, hung_up_after_s=now - since, rules=self.rules)
            self._live_outcome(now, abandoned=float(hung_up))
        self._bridged.discard(call_id)
        self._forget(call_id)

    def _forget(self, call_id: str) -> None:
        self._dialed_at.pop(call_id, None)
        self._answered_at.pop(call_id, None)

    def _live_outcome(self, now: float, *, abandoned: float, live: float = 1.0) -> None:
        """Count ``live`` live answers, ``abandoned`` of them abandoned (fractions for estimates)."""
        a = abandoned
        self.ledger.record(now, live=live, abandoned=a)
        self._feedback(live, a)
        self._occupancy_tick(now)
        keep = 1.0 - live / 500.0
        self._lives_acc = self._lives_acc * keep + live
        self._agent_secs_acc *= keep
        if self.vicidial is not None and live >= 1.0:
            self.vicidial.live_answer(now, a > 0)

    def _feedback(self, live: float, abandoned: float) -> None:
        """Integral feedback on the plan: each abandon lowers it, each good answer raises it.

        A step of ``gain`` per abandon and ``gain * aim / (1 - aim)`` per
        connected live answer balance exactly at the aimed rate, so the
        correction settles where the model's own bias is cancelled.
        """
        s = self.settings
        t = self._aim
        step = s.feedback_gain * ((live - abandoned) * t / (1.0 - t) - abandoned)
        lo, hi = math.log(s.feedback_min), math.log(s.feedback_max)
        self._log_feedback = min(max(self._log_feedback + step, lo), hi)

    # ================================================================ decisions

    @property
    def working_agents(self) -> int:
        return len(self.ready) + len(self.busy) + len(self.wrapping)

    @property
    def lines_in_progress(self) -> int:
        return len(self.ringing) + len(self.in_amd) + len(self.waiting)

    def next_decision_at(self) -> float:
        """The latest time of the next decision (a timer, as data)."""
        return self._last_decision + TICK_S

    def live_rate(self, now: float) -> float:
        """Live answers per second expected now: the recent rate per agent x logged-in agents."""
        self._occupancy_tick(now)
        if self._agent_secs_acc <= 0:
            return 0.0
        return self._lives_acc / self._agent_secs_acc * self.working_agents

    def aim(self, now: float, rate: float | None = None) -> float:
        """The abandon rate the windows are steered to: under the target by half a standard
        deviation of a day's abandon rate, so that days land under the target.

        A day of ``L`` live answers at rate ``t`` has ``sd(rate) = sqrt(t / L)``;
        ``L`` is a usual day from the ledger's history (the median of the last
        week), or eight hours at the recent rate. Big campaigns aim close to the target, small ones lower.
        """
        target = min(self.target, LEGAL_CAP)
        if rate is None:
            rate = self.live_rate(now)
        lives = self.ledger.typical_day_live(now) or rate * 8 * 3600.0
        lives = max(lives, 1.0 / target)
        margin = self.settings.aim_sd * math.sqrt(1.0 / (target * lives))
        return target * max(self.settings.min_aim_share, 1.0 - margin)

    def theta(self, now: float) -> float:
        """The abandon rate the model may plan for now; 0 when a window's budget is spent.

        For the calendar day and the rolling 30 days (the binding one wins):

        - *steering*: the rate that brings the window to the target over the
          next stretch of live answers: what the rest of a typical day still
          brings (from the ledger's history), else ``lookahead_s`` of them. A
          window under its budget may spend it (up to ``max_theta_share`` x the
          target), one over it pays back; as a day ends the stretch shortens and
          the day's rate is pulled onto the target;
        - times the *feedback* factor that corrects the model's own bias
          (:meth:`_feedback`);
        - *the legal cap*: a window that could not get back under 3 % within the
          next ``cap_lookahead_s`` of live answers has spent its budget, and the
          campaign runs progressive until it recovers.
        """
        version, until, value = self._theta_cache
        if version == self.ledger.version and now < until:
            return value
        s = self.settings
        rate = self.live_rate(now)
        day = self.ledger.day(now)
        target = self._aim = self.aim(now, rate)
        # Early in a day a burst weighs heavily on a small count, but the day is young:
        # with history, spread the difference over half of what a day usually still brings.
        remaining = self.ledger.typical_day_live(now) - day.live
        look = max(rate * s.lookahead_s, 0.5 * remaining, 1.0 / target)
        look_cap = max(rate * s.cap_lookahead_s, 0.5 * remaining, 1.0 / LEGAL_CAP)
        steer = target * s.max_theta_share
        spent = False
        for tally in (day, self.ledger.rolling_30d(now)):
            steer = min(steer, target + tally.headroom(target) / look)
            spent = spent or LEGAL_CAP + tally.headroom(LEGAL_CAP) / look_cap < 0.0
        floor = target * s.min_theta_share
        value = 0.0 if spent else max(steer * math.exp(self._log_feedback), floor)
        self._theta_cache = (self.ledger.version, now + 1.0, value)
        return value

    def decide(self, now: float) -> int:
        """How many new dials to place now."""
        self._last_decision = now
        self._occupancy_tick(now)
        ready = len(self.ready)
        in_progress = self.lines_in_progress
        progressive = max(0, ready - in_progress)
        if not self.ready and not self.busy and not self.wrapping:
            self.active = self.mode
            return 0
        if self.mode == "progressive":
            self.active = "progressive"
            return progressive
        if self.mode == "power":
            self.active = "power"
            talking = len(self.busy)
            goal = round(self.power_ratio * (ready + talking))
            return max(0, goal - in_progress - talking)
        if self.mode == "vicidial":
            assert self.vicidial is not None
            self.active = "vicidial"
            self.vicidial.observe(
                now, ready=ready, waiting=len(self.waiting), agents=self.working_agents
            )
            return self.vicidial.lines(ready=ready, talking=len(self.busy), in_progress=in_progress)
        return self._decide_predictive(now, progressive)

    def _decide_predictive(self, now: float, progressive: int) -> int:
        s = self.settings
        if not self._trusted:
            self._trusted = self.stats.trusted(s.trust, self.working_agents)
            if not self._trusted:
                self.active = "progressive (cold start)"
                return progressive
        theta = self.theta(now)
        if theta <= 0.0:
            self.active = "progressive (abandon budget spent)"
            return progressive
        if self.model.tables is None:
            self.model.refresh(self.stats)
            self._refreshed_at, self._refreshed_version = now, self.stats.version
        elif self._refreshing or (
            now - self._refreshed_at >= s.refresh_s
            and self.stats.version - self._refreshed_version >= s.refresh_samples
        ):
            # Half the rebuild now, half at the next decision: each stays well under 1 ms.
            self._refreshing = not self.model.refresh_step(self.stats)
            if not self._refreshing:
                self._refreshed_at, self._refreshed_version = now, self.stats.version
        n_max = int(s.max_lines_per_agent * self.working_agents) - self.lines_in_progress
        n = self.model.plan(
            ready=len(self.ready),
            waiting=len(self.waiting),
            ring_elapsed=_elapsed(self.ringing, now),
            amd_elapsed=_elapsed(self.in_amd, now),
            busy_elapsed=_elapsed(self.busy, now),
            wrap_elapsed=_elapsed(self.wrapping, now),
            theta=theta,
            n_max=n_max,
        )
        self.active = "predictive"
        return max(n, progressive)

    # ================================================================ reporting

    def dial_level(self) -> float:
        """Lines per working agent: (lines in progress + bridged calls) / (Ready + talking)."""
        agents = len(self.ready) + len(self.busy)
        return (self.lines_in_progress + len(self.busy)) / agents if agents else 0.0

    def occupancy(self, now: float) -> float:
        self._occupancy_tick(now)
        return self._occ_work / self._occ_logged if self._occ_logged > 0 else 0.0

    def snapshot(self, now: float) -> dict[str, Any]:
        """The fields of ``dialer.events.PacingUpdated`` (without ``at`` and ``campaign``)."""
        return {
            "mode": self.mode,
            "dial_level": round(self.dial_level(), 4),
            "answer_rate": round(self.stats.live_share, 4),
            "abandon_rate_30d": round(self.ledger.rolling_30d(now).rate, 5),
            "abandon_rate_day": round(self.ledger.day(now).rate, 5),
            "occupancy": round(self.occupancy(now), 4),
            "lines_in_progress": self.lines_in_progress,
            "ready_agents": len(self.ready),
        }

    def diagnostics(self, now: float) -> dict[str, Any]:
        """More than the event carries: what ran, the short window, the feedback."""
        return {
            "active": self.active,
            "abandon_rate_short": self.ledger.short().rate,
            "theta": self.theta(now),
            "aim": self._aim,
            "feedback": math.exp(self._log_feedback),
            "vicidial_level": self.vicidial.level if self.vicidial else None,
            "trusted": self._trusted,
        }


def _elapsed(since: dict[str, float], now: float) -> np.ndarray[Any, np.dtype[np.float64]]:
    if not since:
        return np.zeros(0)
    return now - np.fromiter(since.values(), dtype=np.float64, count=len(since))


__all__ = ["CampaignPacing", "PredictiveSettings", "MODES", "TICK_S", "GRACE_S"]
