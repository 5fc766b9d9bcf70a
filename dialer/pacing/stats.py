"""What the pacer has learned about a campaign, from its own call and agent events.

All durations are seconds. Every estimator forgets (``half_life`` samples), so
the picture follows the answer rate and handle times as they drift through the
day. Nothing here knows the simulator's true distributions.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np

from dialer.pacing.estimators import Categorical, Histogram

# Outcome classes of one resolved dial, from the pacer's point of view.
LIVE, MACHINE, NONE = 0, 1, 2

RING_STEP_S = 1.0  # ring-time histograms: 1 s bins, aligned with the model's time grid
RING_TOP_S = 120.0  # nobody lets a line ring longer than two minutes
AMD_STEP_S = 0.25
AMD_TOP_S = 15.0
DEMAND_TOP_S = RING_TOP_S + AMD_TOP_S


@dataclass(frozen=True)
class Trust:
    """How many samples each estimate needs before predictive pacing may use it."""

    dials: int = 100  # resolved dials (live / machine / no answer)
    live: int = 20  # live answers (ring time, demand time)
    talks: int = 20  # finished talk periods (handle time)...
    talks_per_agent: float = 2.0  # ...and this many per working agent: the first calls to
    # end are the short ones, so early talk times understate the mean (survivorship)


class CampaignStats:
    """Forgetting estimates of the quantities the predictive model needs."""

    def __init__(self, dial_half_life: float = 600.0, talk_half_life: float = 300.0) -> None:
        # Share of resolved dials that became live / machine / nothing.
        self.outcomes = Categorical(3, dial_half_life, prior=[0.25, 0.15, 0.6])
        # Ring time (dial -> answer) of lines that turned out live, machine; and
        # how long unanswered lines lasted.
        self.ring_live = Histogram.linear(RING_STEP_S, RING_TOP_S, dial_half_life / 3)
        self.ring_machine = Histogram.linear(RING_STEP_S, RING_TOP_S, dial_half_life / 3)
        self.ring_none = Histogram.linear(RING_STEP_S, RING_TOP_S, dial_half_life)
        # AMD decision delay (answer -> verdict), by verdict.
        self.amd_human = Histogram.linear(AMD_STEP_S, AMD_TOP_S, dial_half_life / 3)
        self.amd_machine = Histogram.linear(AMD_STEP_S, AMD_TOP_S, dial_half_life / 3)
        # Dial -> the moment a live person needs an agent (human verdict, or the answer without AMD).
        self.demand = Histogram.linear(RING_STEP_S, DEMAND_TOP_S, dial_half_life / 3)
        # Agent side: talk (bridged -> call over) and wrap-up (call over -> ready).
        self.talk = Histogram.geometric(1.0, 4 * 3600.0, 96, talk_half_life)
        self.wrap = Histogram.geometric(0.5, 3600.0, 64, talk_half_life)
        # The last wrap-ups themselves: a fixed after-call-work timer must stay exact.
        self.recent_wraps: deque[float] = deque(maxlen=256)
        self.version = 0  # bumped on every sample, so the model knows when to refresh

    def trusted(self, trust: Trust, agents: int = 0) -> bool:
        return (
            self.outcomes.samples >= trust.dials
            and self.demand.samples >= trust.live
            and self.talk.samples >= max(trust.talks, trust.talks_per_agent * agents)
        )

    @property
    def live_share(self) -> float:
        """Probability that a dial reaches a live person (as far as AMD can tell)."""
        return float(self.outcomes.shares[LIVE])

    # ------------------------------------------------------------ samples

    def dial_live(self, ring_s: float, demand_s: float) -> None:
        self.outcomes.add(LIVE)
        self.ring_live.add(ring_s)
        self.demand.add(demand_s)
        self.version += 1

    def dial_machine(self, ring_s: float) -> None:
        self.outcomes.add(MACHINE)
        self.ring_machine.add(ring_s)
        self.version += 1

    def dial_none(self, ring_s: float) -> None:
        self.outcomes.add(NONE)
        self.ring_none.add(ring_s)
        self.version += 1

    def amd(self, human: bool, delay_s: float) -> None:
        (self.amd_human if human else self.amd_machine).add(delay_s)
        self.version += 1

    def wrap_quantiles(self, qs: list[float]) -> list[float]:
        """Quantiles of the recent wrap-up times (empty: none seen)."""
        if not self.recent_wraps:
            return []
        return [float(x) for x in np.quantile(np.fromiter(self.recent_wraps, float), qs)]

    def talked(self, talk_s: float) -> None:
        self.talk.add(talk_s)
        self.version += 1

    def wrapped(self, wrap_s: float) -> None:
        self.wrap.add(wrap_s)
        self.recent_wraps.append(wrap_s)
        self.version += 1
