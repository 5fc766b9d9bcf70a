"""Pacing: how many lines to dial now, abandon accounting, and the campaign simulator.

- :mod:`dialer.pacing.abandon` - the definition of an abandoned call and the
  accumulators (30 days, calendar day, short window);
- :mod:`dialer.pacing.controller` - :class:`CampaignPacing`, the pure class the
  daemon and the simulator drive with events and ``decide(now)``;
- :mod:`dialer.pacing.model` - the predictive model;
- :mod:`dialer.pacing.vicidial` - VICIdial's ADAPT_TAPERED, for comparison;
- :mod:`dialer.pacing.sim` / :mod:`dialer.pacing.simulate` - the simulator and its CLI.

Sans-I/O (ARCHITECTURE.md habit 1): every call takes ``now``; nothing reads a clock.
"""

from dialer.pacing.abandon import GRACE_S, LEGAL_CAP, AbandonLedger, Tally, is_abandoned
from dialer.pacing.controller import MODES, TICK_S, CampaignPacing, PredictiveSettings

__all__ = [
    "GRACE_S", "LEGAL_CAP", "MODES", "TICK_S", "AbandonLedger", "CampaignPacing",
    "PredictiveSettings", "Tally", "is_abandoned",
]
