"""Compliance gate: DNC, calling hours, attempt limits and redial locks.

Pure (ARCHITECTURE.md habit 1): every check takes an explicit ``now`` and the
results of any look-up (a DNC list) as data, and returns a :class:`Refusal` that
names and cites the rule, or ``None`` when the dial may go ahead.
"""

from dialer.compliance.refusals import Refusal, Rule

__all__ = ["Refusal", "Rule"]
